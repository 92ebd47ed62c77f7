import CFreshetChecksum

/// Little-endian binary writing for stored objects (WAL entries, snapshots, index files).
public struct BinaryWriter: Sendable {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 1024) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }
    public mutating func f64(_ value: Double) { u64(value.bitPattern) }

    public mutating func floats(_ values: [Float]) {
        u32(UInt32(values.count))
        values.withUnsafeBytes { raw in
            // Little-endian hosts (x86-64, arm64) store floats in wire order already.
            bytes.append(contentsOf: raw)
        }
    }

    public mutating func string(_ value: String) {
        u32(UInt32(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    /// Appends the raw bytes of `values` without a length (the reader knows the count).
    public mutating func raw<T: BitwiseCopyable>(_ values: [T]) {
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    public mutating func blob(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    /// LEB128: 7 bits a byte, low first; small numbers (deltas, counts) take one byte.
    public mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}

/// Reads what `BinaryWriter` wrote; every read is bounds-checked and a short buffer is
/// reported as corrupt data, never trapped on.
public struct BinaryReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var position: Int
    public let what: String

    public init(_ bytes: [UInt8], from position: Int = 0, what: String) {
        self.bytes = bytes
        self.position = position
        self.what = what
    }

    public var isAtEnd: Bool { position == bytes.count }

    private mutating func take(_ count: Int) throws -> Range<Int> {
        guard count >= 0, position + count <= bytes.count else {
            throw StorageError(.corrupt, "\(what) is truncated at byte \(position) (needed \(count) more bytes)")
        }
        defer { position += count }
        return position..<(position + count)
    }

    private mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let range = try take(MemoryLayout<T>.size)
        return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: range.lowerBound, as: T.self)) }
    }

    public mutating func u8() throws -> UInt8 { try load(UInt8.self) }
    public mutating func u16() throws -> UInt16 { try load(UInt16.self) }
    public mutating func u32() throws -> UInt32 { try load(UInt32.self) }
    public mutating func u64() throws -> UInt64 { try load(UInt64.self) }
    public mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    public mutating func f64() throws -> Double { Double(bitPattern: try u64()) }

    public mutating func floats() throws -> [Float] {
        let count = Int(try u32())
        let range = try take(count * 4)
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[range]))
            }
            initialized = count
        }
    }

    /// Reads `count` values written by `BinaryWriter.raw`.
    public mutating func raw<T: BitwiseCopyable>(_: T.Type, count: Int) throws -> [T] {
        let range = try take(count * MemoryLayout<T>.stride)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[range]))
            }
            initialized = count
        }
    }

    public mutating func string() throws -> String {
        let range = try take(Int(try u32()))
        guard let string = String(validating: bytes[range], as: UTF8.self) else {
            throw StorageError(.corrupt, "\(what) holds invalid UTF-8 at byte \(range.lowerBound)")
        }
        return string
    }

    public mutating func blob() throws -> [UInt8] {
        Array(bytes[try take(Int(try u32()))])
    }

    public mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw StorageError(.corrupt, "\(what) ends inside a varint") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw StorageError(.corrupt, "\(what) holds an overlong varint at byte \(position)") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }
}

/// CRC-32C (Castagnoli), to detect damaged objects before decoding them. Runs on the
/// CPU's crc32 instruction where there is one (every object read is verified, so this
/// must run at memory speed), else on a table.
public enum CRC32C {
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { freshet_crc32c(0, $0.baseAddress, $0.count) }
    }

    /// The table implementation, for tests that compare the two.
    public static func portableChecksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { freshet_crc32c_portable(0, $0.baseAddress, $0.count) }
    }

    public static var usesHardware: Bool { freshet_crc32c_hardware() != 0 }
}
