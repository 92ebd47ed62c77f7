import ArgumentParser
import Foundation
import FreshetClient
import FreshetEngine

/// `freshet import`: loads rows (JSONL) or vectors (.npy or raw f32, with optional JSONL
/// attributes) through the API in batches, with progress and throughput, and resumes
/// after an interruption from a progress file (upserts are idempotent, so re-sending
/// the batch in flight at the interruption is harmless).
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load JSONL rows or .npy / raw f32 vectors into a namespace.")

    @OptionGroup var server: ServerOptions
    @Option(help: "Target namespace.") var namespace: String
    @Option(help: "JSONL file: one row object with an id per line.") var rows: String?
    @Option(help: "Vectors: a .npy file of float32 (N×D) or a raw little-endian f32 file (needs --dims).") var vectors: String?
    @Option(help: "Dimensions of a raw f32 file.") var dims: Int?
    @Option(help: "JSONL attributes for --vectors, line i for vector i (an \"id\" there overrides the index).") var attributes: String?
    @Option(help: "Id of vector 0 when ids come from positions.") var idOffset = 0
    @Option(help: "Rows per write request.") var batchSize = 1000
    @Option(help: "Distance metric for a new namespace.") var distanceMetric = "cosine_distance"
    @Option(help: "Progress file (default: INPUT.NAMESPACE.import-progress).") var progressFile: String?
    @Flag(help: "Start from the beginning even if a progress file exists.") var restart = false

    func validate() throws {
        if (rows == nil) == (vectors == nil) { throw ValidationError("give exactly one of --rows or --vectors") }
        if batchSize < 1 || batchSize > 100_000 { throw ValidationError("--batch-size must be 1...100000") }
        if attributes != nil, vectors == nil { throw ValidationError("--attributes goes with --vectors") }
    }

    func run() async throws {
        let client = try server.client()
        let input = rows ?? vectors!
        let progressPath = progressFile ?? "\(input).\(namespace).import-progress"
        var done = 0
        if !restart, let data = FileManager.default.contents(atPath: progressPath),
           let saved = Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) {
            done = saved
            FileHandle.standardError.write(Data("resuming after \(done) rows (from \(progressPath))\n".utf8))
        }
        var source: any RowSource
        if let rows {
            source = try JSONLRowSource(path: rows)
        } else {
            source = try VectorRowSource(path: vectors!, dims: dims, attributesPath: attributes, idOffset: idOffset)
        }
        try source.skip(done)
        let total = source.total
        let started = Date()
        var sentThisRun = 0
        var first = true
        while true {
            let batch = try source.next(batchSize)
            if batch.isEmpty { break }
            var body: [String: JSONValue] = ["upsert_rows": .array(batch)]
            if first, vectors != nil || batch.contains(where: { $0["vector"] != nil }) { body["distance_metric"] = .string(distanceMetric) }
            first = false
            _ = try await client.write(namespace: namespace, .object(body))
            done += batch.count
            sentThisRun += batch.count
            try String(done).write(toFile: progressPath, atomically: true, encoding: .utf8)
            Self.progress(done: done, total: total, rate: Double(sentThisRun) / max(Date().timeIntervalSince(started), 1e-3))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let seconds = Date().timeIntervalSince(started)
        print("imported \(sentThisRun) rows into \(namespace) in \(String(format: "%.1f", seconds)) s (\(Int(Double(sentThisRun) / max(seconds, 1e-3))) rows/s); \(done) in total")
        try? FileManager.default.removeItem(atPath: progressPath)
    }

    static func progress(done: Int, total: Int?, rate: Double) {
        var line = "\r"
        if let total, total > 0 {
            let width = 30
            let filled = min(width, done * width / total)
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(done)/\(total)"
        } else {
            line += "\(done) rows"
        }
        line += "  \(Int(rate)) rows/s   "
        FileHandle.standardError.write(Data(line.utf8))
    }
}

protocol RowSource {
    var total: Int? { get }
    mutating func skip(_ count: Int) throws
    mutating func next(_ count: Int) throws -> [JSONValue]
}

/// Reads lines without loading the whole file.
struct LineReader {
    let handle: FileHandle
    let path: String
    var buffer: [UInt8] = []
    var atEnd = false
    var lineNumber = 0

    init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("cannot open \(path)") }
        self.handle = handle
        self.path = path
    }

    mutating func nextLine() -> [UInt8]? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                lineNumber += 1
                return line
            }
            if atEnd {
                guard !buffer.isEmpty else { return nil }
                defer { buffer = [] }
                lineNumber += 1
                return buffer
            }
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { atEnd = true } else { buffer += chunk }
        }
    }

    /// The next non-blank line parsed as a JSON object.
    mutating func nextObject() throws -> [String: JSONValue]? {
        while let line = nextLine() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                guard case .object(let object) = try JSONParser.parse(line) else {
                    throw ValidationError("\(path) line \(lineNumber): expected a JSON object")
                }
                return object
            } catch let error as JSONParseError {
                throw ValidationError("\(path) line \(lineNumber): \(error)")
            }
        }
        return nil
    }
}

struct JSONLRowSource: RowSource {
    var reader: LineReader
    let total: Int?

    init(path: String) throws {
        reader = try LineReader(path: path)
        var counter = try LineReader(path: path)
        var count = 0
        while let line = counter.nextLine() {
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { count += 1 }
        }
        total = count
    }

    mutating func skip(_ count: Int) throws {
        for _ in 0..<count where try reader.nextObject() == nil { break }
    }

    mutating func next(_ count: Int) throws -> [JSONValue] {
        var rows: [JSONValue] = []
        while rows.count < count, let object = try reader.nextObject() {
            guard object["id"] != nil else { throw ValidationError("\(reader.path) line \(reader.lineNumber): the row has no \"id\"") }
            rows.append(.object(object))
        }
        return rows
    }
}

struct VectorRowSource: RowSource {
    let handle: FileHandle
    let dims: Int
    let count: Int
    let dataOffset: UInt64
    var position = 0
    var attributes: LineReader?
    let idOffset: Int
    var total: Int? { count }

    init(path: String, dims: Int?, attributesPath: String?, idOffset: Int) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("cannot open \(path)") }
        self.handle = handle
        self.idOffset = idOffset
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        if path.hasSuffix(".npy") {
            let header = try NumpyHeader.read(handle, path: path)
            self.dims = header.dims
            self.count = header.rows
            self.dataOffset = UInt64(header.dataOffset)
        } else {
            guard let dims, dims > 0 else { throw ValidationError("a raw f32 file needs --dims") }
            guard size % (dims * 4) == 0 else { throw ValidationError("\(path) has \(size) bytes, not a whole number of \(dims)-d f32 vectors") }
            self.dims = dims
            self.count = size / (dims * 4)
            self.dataOffset = 0
        }
        if let attributesPath { attributes = try LineReader(path: attributesPath) }
    }

    mutating func skip(_ count: Int) throws {
        position = min(self.count, count)
        if var reader = attributes {
            for _ in 0..<position where try reader.nextObject() == nil { break }
            attributes = reader
        }
    }

    mutating func next(_ limit: Int) throws -> [JSONValue] {
        let n = min(limit, count - position)
        if n <= 0 { return [] }
        try handle.seek(toOffset: dataOffset + UInt64(position * dims * 4))
        let data = handle.readData(ofLength: n * dims * 4)
        guard data.count == n * dims * 4 else { throw ValidationError("vector file ended early at vector \(position)") }
        var rows: [JSONValue] = []
        rows.reserveCapacity(n)
        data.withUnsafeBytes { raw in
            for row in 0..<n {
                var vector: [JSONValue] = []
                vector.reserveCapacity(dims)
                for d in 0..<dims {
                    let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: (row * dims + d) * 4, as: UInt32.self))
                    vector.append(.double(Double(Float(bitPattern: bits))))
                }
                rows.append(.object(["id": .int(Int64(idOffset + position + row)), "vector": .array(vector)]))
            }
        }
        if var reader = attributes {
            for index in rows.indices {
                guard let extra = try reader.nextObject(), case .object(var object) = rows[index] else { continue }
                for (key, value) in extra { object[key] = value }
                rows[index] = .object(object)
            }
            attributes = reader
        }
        position += n
        return rows
    }
}

/// The header of a NumPy `.npy` file holding a C-order float32 matrix.
enum NumpyHeader {
    static func read(_ handle: FileHandle, path: String) throws -> (rows: Int, dims: Int, dataOffset: Int) {
        let prefix = [UInt8](handle.readData(ofLength: 10))
        guard prefix.count == 10, prefix[0] == 0x93, Array(prefix[1...5]) == Array("NUMPY".utf8) else {
            throw ValidationError("\(path) is not a .npy file")
        }
        let major = prefix[6]
        var headerLength: Int
        var offset: Int
        if major == 1 {
            headerLength = Int(prefix[8]) | Int(prefix[9]) << 8
            offset = 10
        } else {
            let more = [UInt8](handle.readData(ofLength: 2))
            headerLength = Int(prefix[8]) | Int(prefix[9]) << 8 | Int(more[0]) << 16 | Int(more[1]) << 24
            offset = 12
        }
        try handle.seek(toOffset: UInt64(offset))
        let header = String(decoding: handle.readData(ofLength: headerLength), as: UTF8.self)
        guard header.contains("'descr': '<f4'") else { throw ValidationError("\(path) must hold little-endian float32 ('<f4'); header: \(header)") }
        guard header.contains("'fortran_order': False") else { throw ValidationError("\(path) must be C-ordered") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw ValidationError("\(path): cannot read the shape from \(header)")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard shape.count == 2 else { throw ValidationError("\(path) must be a 2-d matrix, shape \(shape)") }
        return (shape[0], shape[1], offset + headerLength)
    }
}
