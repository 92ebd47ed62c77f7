import CFreshetChecksum

/// The frame around every object Freshet stores.
///
/// Layout: magic `FRSH`, format version (1 byte), object kind (1 byte), flags
/// (1 byte; bit 0 compressed, bit 1 encrypted — reserved for the encryption-at-rest
/// layer, which will transform the payload and set the bit), a reserved byte, the
/// payload, then a CRC-32C of everything before it. A reader rejects unknown versions,
/// kinds and flags instead of guessing. Each layer names its own kinds (the engine's
/// WAL entries and manifests, the index's postings and checkpoints).
public enum ObjectFrame {
    public static let magic: [UInt8] = Array("FRSH".utf8)
    public static let formatVersion: UInt8 = 2
    public static let headerSize = 8

    public static func seal(_ payload: [UInt8], kind: UInt8) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(headerSize + payload.count + 4)
        bytes += magic
        bytes += [formatVersion, kind, 0, 0]
        bytes += payload
        let crc = CRC32C.checksum(bytes[...])
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Verifies the frame and returns the payload; damage is a `.corrupt` storage error.
    public static func open(_ bytes: [UInt8], kind: UInt8, kindName: String, key: String) throws -> [UInt8] {
        Array(bytes[try verify(bytes, kind: kind, kindName: kindName, key: key)])
    }

    /// Verifies the frame and returns where the payload lies in `bytes`, for readers
    /// that decode in place instead of copying the payload out first.
    public static func verify(_ bytes: [UInt8], kind: UInt8, kindName: String, key: @autoclosure () -> String) throws -> Range<Int> {
        try bytes.withUnsafeBytes { try verify(raw: $0, kind: kind, kindName: kindName, key: key()) }
    }

    /// `verify` over bytes in a caller's buffer (a positioned read's), same checks;
    /// without `checksum`, all but the CRC (for bytes whose CRC a reader checked before).
    public static func verify(raw bytes: UnsafeRawBufferPointer, kind: UInt8, kindName: String, checksum: Bool = true, key: @autoclosure () -> String) throws -> Range<Int> {
        guard bytes.count >= headerSize + 4, magic.withUnsafeBytes({ $0.elementsEqual(bytes[0..<4]) }) else {
            throw StorageError(.corrupt, "object \(key()) is not a Freshet object (bad magic or too short: \(bytes.count) bytes)")
        }
        guard bytes[4] == formatVersion else {
            throw StorageError(.corrupt, "object \(key()) has format version \(bytes[4]); this build reads version \(formatVersion). Upgrade Freshet")
        }
        guard bytes[5] == kind else {
            throw StorageError(.corrupt, "object \(key()) holds kind \(bytes[5]), expected \(kindName)")
        }
        guard bytes[6] == 0 else {
            throw StorageError(.corrupt, "object \(key()) has flags \(bytes[6]) (compressed or encrypted) that this build cannot read")
        }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
        guard !checksum || freshet_crc32c(0, bytes.baseAddress, bytes.count - 4) == stored else {
            throw StorageError(.corrupt, "object \(key()) failed its checksum; the stored bytes are damaged")
        }
        return headerSize..<(bytes.count - 4)
    }
}
