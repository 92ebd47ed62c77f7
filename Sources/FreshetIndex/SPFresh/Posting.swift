import CFreshetKernels
import FreshetStorage
import Synchronization

/// How posting vectors are stored: f32 (exact), or f16 (half the bytes to read and
/// cache; distances within f16 rounding, which callers that need exact distances
/// recompute — the engine does, from its own copy of every vector).
public enum PostingEncoding: UInt8, Sendable {
    case f32 = 0
    case f16 = 1
}

/// A decoded posting as the cache holds it: one reference to copy (a `Posting` copy
/// retains each of its arrays, which on a query's path means a cache miss apiece).
final class StoredPosting: Sendable {
    let posting: Posting
    init(_ posting: Posting) { self.posting = posting }
}

/// One posting list: the vectors assigned to a head, each with its slot (the index's
/// internal id) and the slot's version when it was written. An entry is live while its
/// version equals the slot's current version; anything else is garbage, skipped by
/// readers and dropped when the posting is rewritten.
struct Posting: Sendable {
    var slots: [Int32] = []
    var versions: [UInt32] = []
    /// f32 rows: in-memory deltas, postings being assembled, f32 objects.
    var vectors: [Float] = []
    /// f16 rows, as read from an f16 object (then `vectors` is empty).
    var halves: [UInt16] = []

    static let empty = Posting()

    var count: Int { slots.count }
    var isEmpty: Bool { slots.isEmpty }
    var isHalf: Bool { !halves.isEmpty }

    /// Approximate memory held, for cache budgets.
    func bytes(dimensions: Int) -> Int { 64 + count * 8 + vectors.count * 4 + halves.count * 2 }

    mutating func append(slot: Int32, version: UInt32, vector: [Float]) {
        precondition(halves.isEmpty, "f16 postings are read-only; assemble a new posting instead")
        slots.append(slot)
        versions.append(version)
        vectors.append(contentsOf: vector)
    }

    mutating func append(_ other: Posting, from start: Int = 0, dimensions: Int) {
        guard start < other.count else { return }
        precondition(halves.isEmpty && other.halves.isEmpty, "f16 postings are read-only")
        slots += other.slots[start...]
        versions += other.versions[start...]
        vectors += other.vectors[(start * dimensions)...]
    }

    func vector(_ entry: Int, dimensions: Int) -> [Float] {
        if isHalf { return halves[(entry * dimensions)..<((entry + 1) * dimensions)].map { freshet_f16_to_f32($0) } }
        return Array(vectors[(entry * dimensions)..<((entry + 1) * dimensions)])
    }

    /// This posting with its vectors in `encoding` (what a reader of the object gets).
    func encoded(as encoding: PostingEncoding) -> Posting {
        guard encoding == .f16, !isHalf else { return self }
        var copy = self
        copy.halves = vectors.map { freshet_f32_to_f16($0) }
        copy.vectors = []
        if copy.halves.isEmpty { return self }
        return copy
    }

    /// Squared L2 from `query` to every row, into `out` (at least `count` long).
    func distances(from query: [Float], into out: inout [Float], dimensions: Int, kernels: Kernels) {
        let count = self.count
        guard count > 0 else { return }
        out.withUnsafeMutableBufferPointer { out in
            query.withUnsafeBufferPointer { q in
                if isHalf {
                    halves.withUnsafeBufferPointer { rows in
                        freshet_l2sq_f32_f16_batch(kernels.level.isa, q.baseAddress, rows.baseAddress, count, dimensions, out.baseAddress)
                    }
                } else {
                    vectors.withUnsafeBufferPointer { rows in
                        freshet_l2sq_f32_batch(kernels.level.isa, q.baseAddress, rows.baseAddress, count, dimensions, out.baseAddress)
                    }
                }
            }
        }
    }

    /// Frame kind of posting objects (the index's kinds are 16–31).
    static let frameKind: UInt8 = 16
    static let formatVersion: UInt8 = 2

    /// The stored form: format version, element encoding (0 = f32, 1 = f16), the
    /// posting's object id (format 2; it names the object, so a read that a storage
    /// fault sent to another intact posting is caught — postings are read without the
    /// backend's own checks, see `StorageReader.getManyVerifiedByCaller`), dimensions,
    /// count, then the slots, versions and vectors as contiguous little-endian arrays,
    /// framed and checksummed. Call on `encoded(as:)`'s result.
    func encode(dimensions: Int, id: UInt64) -> [UInt8] {
        var writer = BinaryWriter(capacity: 24 + count * 8 + vectors.count * 4 + halves.count * 2)
        writer.u8(Self.formatVersion)
        writer.u8(isHalf ? PostingEncoding.f16.rawValue : PostingEncoding.f32.rawValue)
        writer.u64(id)
        writer.u32(UInt32(dimensions))
        writer.u32(UInt32(count))
        writer.raw(slots)
        writer.raw(versions)
        if isHalf { writer.raw(halves) } else { writer.raw(vectors) }
        return ObjectFrame.seal(writer.bytes, kind: Self.frameKind)
    }

    /// Reads a posting object; `id` is the object's id, checked against the one inside
    /// (format 1 objects, written before ids were stored, carry none).
    static func decode(_ bytes: [UInt8], dimensions: Int, key: String, id: UInt64) throws -> Posting {
        let payload = try ObjectFrame.verify(bytes, kind: frameKind, kindName: "posting", key: key)
        var reader = BinaryReader(bytes, from: payload.lowerBound, what: "posting \(key)")
        let format = try reader.u8(), encodingByte = try reader.u8()
        guard (1...formatVersion).contains(format), let encoding = PostingEncoding(rawValue: encodingByte) else {
            throw StorageError(.corrupt, "posting \(key) has format \(format) encoding \(encodingByte); this build reads formats 1–\(formatVersion) with f32 or f16")
        }
        if format >= 2 {
            let stored = try reader.u64()
            guard stored == id else {
                throw StorageError(.corrupt, "object \(key) holds posting \(String(stored, radix: 16)), not \(String(id, radix: 16)): storage returned another object")
            }
        }
        let stored = Int(try reader.u32()), count = Int(try reader.u32())
        guard stored == dimensions else {
            throw StorageError(.corrupt, "posting \(key) holds \(stored)-d vectors in a \(dimensions)-d index")
        }
        var posting = Posting()
        posting.slots = try reader.raw(Int32.self, count: count)
        posting.versions = try reader.raw(UInt32.self, count: count)
        switch encoding {
        case .f32: posting.vectors = try reader.raw(Float.self, count: count * dimensions)
        case .f16: posting.halves = try reader.raw(UInt16.self, count: count * dimensions)
        }
        return posting
    }
}

/// Where postings live: immutable objects named by a never-reused id under
/// `<prefix>postings/`, read through a byte-bounded memory cache of decoded postings.
/// A rewrite writes a new object; the old one is deleted once no checkpoint needs it.
public final class PostingStore: Sendable {
    public struct Statistics: Sendable, Equatable {
        public var cacheHits = 0
        public var cacheMisses = 0
        public var cacheBytes = 0
        public var objectsRead = 0
        public var bytesRead = 0
        public var objectsWritten = 0
        public var bytesWritten = 0
        public var objectsDeleted = 0
    }

    public let storage: any StorageBackend
    public let prefix: String
    public let dimensions: Int
    public let encoding: PostingEncoding
    private struct State: Sendable {
        var cache: LRUCache<UInt64, StoredPosting>
        var statistics = Statistics()
    }
    private let state: Mutex<State>

    /// `prefix` ends with `/` (or is empty); `cacheBytes` bounds the decoded-posting cache.
    public init(storage: any StorageBackend, prefix: String, dimensions: Int, cacheBytes: Int = 256 << 20, encoding: PostingEncoding = .f32) {
        self.storage = storage
        self.encoding = encoding
        self.prefix = prefix
        self.dimensions = dimensions
        state = Mutex(State(cache: LRUCache(budget: cacheBytes)))
    }

    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.cacheHits = state.cache.hits
            statistics.cacheMisses = state.cache.misses
            statistics.cacheBytes = state.cache.cost
            return statistics
        }
    }

    var postingsPrefix: String { prefix + "postings/" }

    func key(_ id: UInt64) -> String {
        let hex = String(id, radix: 16)
        return postingsPrefix + String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }

    static func id(fromKey key: Substring) -> UInt64? { UInt64(key, radix: 16) }

    /// Writes a new posting object. Ids are never reused, so a create-only put either
    /// creates it or finds the same bytes from an earlier attempt whose response was lost.
    func write(_ assembled: Posting, id: UInt64) async throws {
        let posting = assembled.encoded(as: encoding)
        let body = posting.encode(dimensions: dimensions, id: id)
        let key = key(id)
        do {
            _ = try await storage.put(key, body, condition: .ifAbsent)
        } catch let error as StorageError where error.code == .conditionFailed || error.code == .ambiguousOutcome {
            guard try await storage.get(key)?.body == body else { throw error }
        }
        state.withLock { state in
            state.cache.set(StoredPosting(posting), for: id, cost: posting.bytes(dimensions: dimensions))
            state.statistics.objectsWritten += 1
            state.statistics.bytesWritten += body.count
        }
    }

    /// Reads postings by id (cache first, then one batched read of the misses). A
    /// missing object is absent from the result. `caching: false` (LIRE's background
    /// reads) leaves what it reads out of the cache, so maintenance does not evict the
    /// postings queries keep hot.
    func fetch(_ ids: [UInt64], caching: Bool = true) async throws -> [UInt64: Posting] {
        var found: [UInt64: Posting] = [:]
        for (id, stored) in zip(ids, try await fetchInOrder(ids, caching: caching)) { if let stored { found[id] = stored.posting } }
        return found
    }

    /// The postings of `ids` in order (nil for a missing object or the id 0): cached
    /// ones from memory, the rest with one `getMany`.
    func fetchInOrder(_ ids: [UInt64], caching: Bool = true) async throws -> [StoredPosting?] {
        var found = [StoredPosting?](repeating: nil, count: ids.count)
        var missing: [(position: Int, id: UInt64)] = []
        state.withLock { state in
            for (position, id) in ids.enumerated() where id != 0 {
                if let stored = state.cache.value(for: id) { found[position] = stored } else { missing.append((position, id)) }
            }
        }
        guard !missing.isEmpty else { return found }
        // Posting objects check themselves: the frame's CRC-32C and the id inside.
        let objects = try await storage.getManyVerifiedByCaller(missing.map { key($0.id) })
        var bytesRead = 0
        var decoded: [(UInt64, StoredPosting)] = []
        for (wanted, object) in zip(missing, objects) {
            guard let object else { continue }
            bytesRead += object.body.count
            let stored = StoredPosting(try Posting.decode(object.body, dimensions: dimensions, key: key(wanted.id), id: wanted.id))
            found[wanted.position] = stored
            decoded.append((wanted.id, stored))
        }
        state.withLock { state in
            if caching {
                for (id, stored) in decoded { state.cache.set(stored, for: id, cost: stored.posting.bytes(dimensions: dimensions)) }
            }
            state.statistics.objectsRead += decoded.count
            state.statistics.bytesRead += bytesRead
        }
        return found
    }

    func delete(_ ids: [UInt64]) async throws {
        guard !ids.isEmpty else { return }
        state.withLock { state in for id in ids { state.cache.remove(id) } }
        for chunk in stride(from: 0, to: ids.count, by: 512) {
            try await storage.write(batch: ids[chunk..<min(ids.count, chunk + 512)].map { .delete(key: key($0)) })
        }
        state.withLock { $0.statistics.objectsDeleted += ids.count }
    }

    /// Ids of every stored posting object.
    func storedIDs() async throws -> [UInt64] {
        try await storage.listAll(prefix: postingsPrefix).compactMap { Self.id(fromKey: $0.key.dropFirst(postingsPrefix.count)) }
    }
}
