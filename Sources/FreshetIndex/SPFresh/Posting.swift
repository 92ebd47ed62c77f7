import CFreshetKernels
import FreshetStorage
import Synchronization

/// How posting vectors are stored: f32 (exact), f16 (half the bytes to read and
/// cache; distances within f16 rounding), or i8 (a quarter, plus 4 bytes a vector:
/// each vector as int8 codes times its own scale, `max |x_i| / 127`, so the error of a
/// component is at most half a step of its vector's largest). Callers that need exact
/// distances recompute them — the engine does, from its own copy of every vector.
/// Decoding an i8 vector and encoding it again gives the same codes and scale, so
/// LIRE's rewrites (which move decoded vectors between postings) add no error.
public enum PostingEncoding: UInt8, Sendable, CaseIterable {
    case f32 = 0
    case f16 = 1
    case i8 = 2

    /// `f32`, `f16` or `i8`: the name in flags and config files.
    public var name: String { "\(self)" }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = match
    }
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
    /// i8 rows and their scales, as read from an i8 object (then `vectors` is empty).
    var codes: [Int8] = []
    var scales: [Float] = []

    static let empty = Posting()

    var count: Int { slots.count }
    var isEmpty: Bool { slots.isEmpty }
    /// How the rows are held (an empty posting counts as f32).
    var storedEncoding: PostingEncoding { !halves.isEmpty ? .f16 : !codes.isEmpty ? .i8 : .f32 }
    /// Rows held as f16 or i8 (read from storage; read-only).
    var isCompact: Bool { !halves.isEmpty || !codes.isEmpty }

    /// Approximate memory held, for cache budgets.
    func bytes(dimensions: Int) -> Int { 64 + count * 8 + vectors.count * 4 + halves.count * 2 + codes.count + scales.count * 4 }

    mutating func append(slot: Int32, version: UInt32, vector: [Float]) {
        precondition(!isCompact, "f16 and i8 postings are read-only; assemble a new posting instead")
        slots.append(slot)
        versions.append(version)
        vectors.append(contentsOf: vector)
    }

    mutating func append(_ other: Posting, from start: Int = 0, dimensions: Int) {
        guard start < other.count else { return }
        precondition(!isCompact && !other.isCompact, "f16 and i8 postings are read-only")
        slots += other.slots[start...]
        versions += other.versions[start...]
        vectors += other.vectors[(start * dimensions)...]
    }

    func vector(_ entry: Int, dimensions: Int) -> [Float] {
        let rows = (entry * dimensions)..<((entry + 1) * dimensions)
        switch storedEncoding {
        case .f16: return halves[rows].map { freshet_f16_to_f32($0) }
        case .i8: return codes[rows].map { Float($0) * scales[entry] }
        case .f32: return Array(vectors[rows])
        }
    }

    /// This posting with its vectors in `encoding` (what a reader of the object gets).
    func encoded(as encoding: PostingEncoding, dimensions: Int) -> Posting {
        guard encoding != .f32, !isCompact, !vectors.isEmpty else { return self }
        var copy = self
        copy.vectors = []
        if encoding == .f16 {
            copy.halves = vectors.map { freshet_f32_to_f16($0) }
            return copy
        }
        copy.codes = [Int8](repeating: 0, count: vectors.count)
        copy.scales = [Float](repeating: 0, count: count)
        for entry in 0..<count {
            let row = vectors[(entry * dimensions)..<((entry + 1) * dimensions)]
            let largest = row.reduce(Float(0)) { Swift.max($0, abs($1)) }
            // Non-finite components have no int8 form; such a vector keeps scale 0 (the
            // engine rejects them before they reach an index).
            guard largest.isFinite, largest > 0 else { continue }
            let scale = largest / 127
            copy.scales[entry] = scale
            for (offset, value) in row.enumerated() {
                copy.codes[entry * dimensions + offset] = Int8(Swift.max(-127, Swift.min(127, (value / scale).rounded())))
            }
        }
        return copy
    }

    /// Squared L2 from `query` to every row, into `out` (at least `count` long).
    func distances(from query: [Float], into out: inout [Float], dimensions: Int, kernels: Kernels) {
        withView { view in
            query.withUnsafeBufferPointer { query in
                out.withUnsafeMutableBufferPointer { out in
                    view.distances(from: query.baseAddress!, into: out.baseAddress!, dimensions: dimensions, kernels: kernels)
                }
            }
        }
    }

    /// Calls `body` with pointers to this posting's arrays (not called when empty).
    func withView(_ body: (PostingView) -> Void) {
        guard count > 0 else { return }
        slots.withUnsafeBufferPointer { slots in
            versions.withUnsafeBufferPointer { versions in
                let (slots, versions) = (slots.baseAddress!, versions.baseAddress!)
                switch storedEncoding {
                case .f16:
                    halves.withUnsafeBufferPointer { rows in
                        body(PostingView(count: count, slots: slots, versions: versions, rows: .f16(rows.baseAddress!)))
                    }
                case .i8:
                    codes.withUnsafeBufferPointer { rows in
                        scales.withUnsafeBufferPointer { scales in
                            body(PostingView(count: count, slots: slots, versions: versions, rows: .i8(rows.baseAddress!, scales.baseAddress!)))
                        }
                    }
                case .f32:
                    vectors.withUnsafeBufferPointer { rows in
                        body(PostingView(count: count, slots: slots, versions: versions, rows: .f32(rows.baseAddress!)))
                    }
                }
            }
        }
    }

    /// Frame kind of posting objects (the index's kinds are 16–31).
    static let frameKind: UInt8 = 16
    static let formatVersion: UInt8 = 2

    /// The stored form: format version, element encoding (0 = f32, 1 = f16, 2 = i8), the
    /// posting's object id (format 2; it names the object, so a read that a storage
    /// fault sent to another intact posting is caught — postings are read without the
    /// backend's own checks, see `StorageReader.getManyVerifiedByCaller`), dimensions,
    /// count, then the slots, versions and vectors (i8: the scales, then the codes) as
    /// contiguous little-endian arrays, framed and checksummed. Call on `encoded(as:)`'s
    /// result.
    func encode(dimensions: Int, id: UInt64) -> [UInt8] {
        var writer = BinaryWriter(capacity: 24 + bytes(dimensions: dimensions))
        writer.u8(Self.formatVersion)
        writer.u8(storedEncoding.rawValue)
        writer.u64(id)
        writer.u32(UInt32(dimensions))
        writer.u32(UInt32(count))
        writer.raw(slots)
        writer.raw(versions)
        switch storedEncoding {
        case .f16: writer.raw(halves)
        case .i8:
            writer.raw(scales)
            writer.raw(codes)
        case .f32: writer.raw(vectors)
        }
        return ObjectFrame.seal(writer.bytes, kind: Self.frameKind)
    }

    /// Reads a posting object; `id` is the object's id, checked against the one inside
    /// (format 1 objects, written before ids were stored, carry none).
    static func decode(_ bytes: [UInt8], dimensions: Int, key: String, id: UInt64) throws -> Posting {
        let payload = try ObjectFrame.verify(bytes, kind: frameKind, kindName: "posting", key: key)
        var reader = BinaryReader(bytes, from: payload.lowerBound, what: "posting \(key)")
        let format = try reader.u8(), encodingByte = try reader.u8()
        guard (1...formatVersion).contains(format), let encoding = PostingEncoding(rawValue: encodingByte) else {
            throw StorageError(.corrupt, "posting \(key) has format \(format) encoding \(encodingByte); this build reads formats 1–\(formatVersion) with f32, f16 or i8")
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
        case .i8:
            posting.scales = try reader.raw(Float.self, count: count)
            posting.codes = try reader.raw(Int8.self, count: count * dimensions)
        }
        return posting
    }
}

/// A posting's arrays where they lie: in a `Posting`, or in a read buffer holding
/// the stored object (scanned in place, never decoded into arrays).
struct PostingView {
    enum Rows {
        case f32(UnsafePointer<Float>)
        case f16(UnsafePointer<UInt16>)
        case i8(UnsafePointer<Int8>, UnsafePointer<Float>)
    }
    let count: Int
    let slots: UnsafePointer<Int32>
    let versions: UnsafePointer<UInt32>
    let rows: Rows

    var encoding: PostingEncoding {
        switch rows {
        case .f32: .f32
        case .f16: .f16
        case .i8: .i8
        }
    }

    /// Squared L2 from `query` to every row, into `out` (at least `count` long).
    func distances(from query: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, dimensions: Int, kernels: Kernels) {
        switch rows {
        case .f32(let rows): freshet_l2sq_f32_batch(kernels.level.isa, query, rows, count, dimensions, out)
        case .f16(let rows): freshet_l2sq_f32_f16_batch(kernels.level.isa, query, rows, count, dimensions, out)
        case .i8(let codes, let scales): freshet_l2sq_f32_i8s_batch(kernels.level.isa, query, codes, scales, count, dimensions, out)
        }
    }

    /// The view of a posting object in `bytes` (format 2, little-endian host), with
    /// the same checks as `Posting.decode`: frame and checksum, the id inside,
    /// dimensions, and sizes. Nil for an empty posting. Arrays must be 4-byte aligned
    /// in memory (`PostingReadBuffer` places them so); a misaligned buffer is an error.
    static func parse(_ bytes: UnsafeRawBufferPointer, dimensions: Int, id: UInt64, checksum: Bool = true, key: @autoclosure () -> String) throws -> PostingView? {
        let payload = try ObjectFrame.verify(raw: bytes, kind: Posting.frameKind, kindName: "posting", checksum: checksum, key: key())
        let header = 18
        guard payload.count >= header else { throw StorageError(.corrupt, "posting \(key()) is truncated (\(payload.count) bytes of payload)") }
        let base = payload.lowerBound
        let format = bytes[base], encodingByte = bytes[base + 1]
        guard format == 2, let encoding = PostingEncoding(rawValue: encodingByte) else {
            throw StorageError(.corrupt, "posting \(key()) has format \(format) encoding \(encodingByte); read in place are format 2 with f32, f16 or i8")
        }
        let stored = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 2, as: UInt64.self))
        guard stored == id else {
            throw StorageError(.corrupt, "object \(key()) holds posting \(String(stored, radix: 16)), not \(String(id, radix: 16)): storage returned another object")
        }
        let storedDimensions = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 10, as: UInt32.self)))
        let count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 14, as: UInt32.self)))
        guard storedDimensions == dimensions else {
            throw StorageError(.corrupt, "posting \(key()) holds \(storedDimensions)-d vectors in a \(dimensions)-d index")
        }
        let rowBytes = switch encoding {
        case .f32: dimensions * 4
        case .f16: dimensions * 2
        case .i8: 4 + dimensions
        }
        guard payload.count == header + count * (8 + rowBytes) else {
            throw StorageError(.corrupt, "posting \(key()) holds \(payload.count) bytes of payload, not the \(header + count * (8 + rowBytes)) its \(count) entries take")
        }
        guard count > 0 else { return nil }
        let arrays = bytes.baseAddress! + base + header
        guard Int(bitPattern: arrays) % 4 == 0 else {
            throw StorageError(.io, "posting \(key()) was read into a misaligned buffer")
        }
        let start = arrays + count * 8
        let rows: PostingView.Rows = switch encoding {
        case .f32: .f32(start.assumingMemoryBound(to: Float.self))
        case .f16: .f16(start.assumingMemoryBound(to: UInt16.self))
        case .i8: .i8((start + count * 4).assumingMemoryBound(to: Int8.self), start.assumingMemoryBound(to: Float.self))
        }
        return PostingView(count: count, slots: arrays.assumingMemoryBound(to: Int32.self),
                           versions: (arrays + count * 4).assumingMemoryBound(to: UInt32.self), rows: rows)
    }
}

/// Where postings live: immutable objects named by a never-reused id under
/// `<prefix>postings/`, read through a byte-bounded memory cache of decoded postings
/// and, when given one, a node-local `PostingFileCache` that queries scan in place.
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
        /// Postings a query scanned where the file cache read them.
        public var fileHits = 0
        /// Posting objects that failed their checks when read from storage and were
        /// read again past the caches (an error if the store's copy failed too).
        public var damagedReads = 0
    }

    public let storage: any StorageBackend
    public let prefix: String
    public let dimensions: Int
    public let encoding: PostingEncoding
    public let fileCache: PostingFileCache?
    let fileOwner: UInt32
    /// Counted apart from `state`: a query's scan takes no lock for it.
    private let fileHits = Atomic<Int>(0)
    /// The least precise encoding a query has scanned (raw values rank f32 < f16 < i8):
    /// postings keep the encoding they were written in, so after a change of
    /// `encoding` older ones may still be coarser.
    private let coarsestScanned: Atomic<UInt8>
    private struct State: Sendable {
        var cache: LRUCache<UInt64, StoredPosting>
        var statistics = Statistics()
    }
    private let state: Mutex<State>

    /// `prefix` ends with `/` (or is empty); `cacheBytes` bounds the decoded-posting
    /// cache; `fileCache` (shared by a node's indexes) keeps postings on local disk.
    public init(storage: any StorageBackend, prefix: String, dimensions: Int, cacheBytes: Int = 256 << 20, encoding: PostingEncoding = .f32,
                fileCache: PostingFileCache? = nil) {
        self.storage = storage
        self.fileCache = fileCache
        fileOwner = fileCache?.register() ?? 0
        self.encoding = encoding
        coarsestScanned = Atomic(encoding.rawValue)
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
            statistics.fileHits = fileHits.load(ordering: .relaxed)
            return statistics
        }
    }

    /// The least precise encoding this store writes or queries have scanned: how many
    /// extra candidates an exact rerank needs.
    public var coarsestEncoding: PostingEncoding {
        PostingEncoding(rawValue: coarsestScanned.load(ordering: .relaxed)) ?? encoding
    }

    func noteScanned(_ encoding: PostingEncoding) {
        var current = coarsestScanned.load(ordering: .relaxed)
        while encoding.rawValue > current {
            let (exchanged, original) = coarsestScanned.compareExchange(expected: current, desired: encoding.rawValue, ordering: .relaxed)
            if exchanged { return }
            current = original
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
        let posting = assembled.encoded(as: encoding, dimensions: dimensions)
        let body = posting.encode(dimensions: dimensions, id: id)
        let key = key(id)
        do {
            _ = try await storage.put(key, body, condition: .ifAbsent)
        } catch let error as StorageError where error.code == .conditionFailed || error.code == .ambiguousOutcome {
            guard try await storage.get(key)?.body == body else { throw error }
        }
        fileCache?.append(owner: fileOwner, id: id, object: body)
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
    /// ones from memory, the rest through `fetchBelowMemory`.
    func fetchInOrder(_ ids: [UInt64], caching: Bool = true) async throws -> [StoredPosting?] {
        var found = [StoredPosting?](repeating: nil, count: ids.count)
        var missing: [(position: Int, id: UInt64)] = []
        state.withLock { state in
            for (position, id) in ids.enumerated() where id != 0 {
                if let stored = state.cache.value(for: id) { found[position] = stored } else { missing.append((position, id)) }
            }
        }
        guard !missing.isEmpty else { return found }
        let below = try await fetchBelowMemory(missing.map { ($0.id, .untried) }, caching: caching)
        for (wanted, stored) in zip(missing, below) { found[wanted.position] = stored }
        return found
    }

    /// What a caller already knows of a posting's entry in the file cache.
    enum FileTier {
        case untried
        /// Held, but not in the page cache: read it waiting for the device.
        case onDevice
        /// Not held (or damaged and forgotten): go to storage.
        case absent
    }

    /// Postings not in the memory cache, in order (nil for a missing object): from the
    /// file cache, the rest with one `getMany` (then appended to the file cache and,
    /// with `caching`, to memory); objects that fail their checks are read once more
    /// past the caches.
    func fetchBelowMemory(_ wanted: [(id: UInt64, file: FileTier)], caching: Bool = true) async throws -> [StoredPosting?] {
        var found = [StoredPosting?](repeating: nil, count: wanted.count)
        var missing: [(position: Int, id: UInt64)] = []
        let buffer = fileCache == nil ? nil : PostingReadBuffer()
        for (position, (id, tier)) in wanted.enumerated() {
            var object: [UInt8]?
            if let fileCache, let buffer {
                switch tier {
                case .absent: break
                case .onDevice: object = await fileCache.readWaiting(owner: fileOwner, id: id)
                case .untried:
                    switch fileCache.readIfCached(owner: fileOwner, id: id, into: buffer) {
                    case .absent: break
                    case .read(let entry): object = Array(buffer.bytes(count: entry.length))
                    case .wouldBlock: object = await fileCache.readWaiting(owner: fileOwner, id: id)
                    }
                }
            }
            if let object, let posting = try? Posting.decode(object, dimensions: dimensions, key: key(id), id: id) {
                found[position] = StoredPosting(posting)
            } else {
                if object != nil { fileCache?.failed(owner: fileOwner, id: id) }
                missing.append((position, id))
            }
        }
        guard !missing.isEmpty else { return found }
        // Posting objects check themselves: the frame's CRC-32C and the id inside.
        let objects = try await storage.getManyVerifiedByCaller(missing.map { key($0.id) })
        var bytesRead = 0
        var decoded: [(UInt64, StoredPosting)] = []
        func keep(_ posting: Posting, _ body: [UInt8], for wanted: (position: Int, id: UInt64)) {
            let stored = StoredPosting(posting)
            found[wanted.position] = stored
            decoded.append((wanted.id, stored))
            fileCache?.append(owner: fileOwner, id: wanted.id, object: body)
        }
        var damaged: [Int] = []
        for (index, (wanted, object)) in zip(missing, objects).enumerated() {
            guard let object else { continue }
            bytesRead += object.body.count
            guard let posting = try? Posting.decode(object.body, dimensions: dimensions, key: key(wanted.id), id: wanted.id) else {
                damaged.append(index)
                continue
            }
            keep(posting, object.body, for: wanted)
        }
        if !damaged.isEmpty {
            // A damaged copy may sit in a cache tier (which keeps what it was given):
            // drop it and read again with the backend's own checks. Still damaged: the
            // stored object is, and the error says so.
            let keys = damaged.map { key(missing[$0].id) }
            state.withLock { $0.statistics.damagedReads += damaged.count }
            await storage.forgetCached(keys)
            let again = try await storage.getMany(keys)
            for (index, object) in zip(damaged, again) {
                let wanted = missing[index]
                guard let object else { continue }
                bytesRead += object.body.count
                keep(try Posting.decode(object.body, dimensions: dimensions, key: key(wanted.id), id: wanted.id), object.body, for: wanted)
            }
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

    /// For a query's scan: calls `scan` with `id`'s posting if it is local — decoded in
    /// memory, or read from the file cache into `buffer` without waiting for the device
    /// — and otherwise answers where it stands, for `fetchBelowMemory` (a damaged entry
    /// is forgotten: `absent`).
    func scanLocal(_ id: UInt64, buffer: PostingReadBuffer?, _ scan: (PostingView) -> Void) -> FileTier? {
        if let stored = state.withLock({ $0.cache.value(for: id) }) {
            stored.posting.withView(scan)
            return nil
        }
        guard let fileCache, let buffer else { return .absent }
        switch fileCache.readIfCached(owner: fileOwner, id: id, into: buffer) {
        case .absent: return .absent
        case .wouldBlock: return .onDevice
        case .read(let entry):
            do {
                let view = try PostingView.parse(buffer.bytes(count: entry.length), dimensions: dimensions, id: id, checksum: !entry.checked, key: key(id))
                if !entry.checked { fileCache.checked(entry) }
                if let view { scan(view) }
            } catch {
                fileCache.failed(owner: fileOwner, id: id)
                return .absent
            }
        }
        fileHits.add(1, ordering: .relaxed)
        return nil
    }

    func delete(_ ids: [UInt64]) async throws {
        guard !ids.isEmpty else { return }
        state.withLock { state in for id in ids { state.cache.remove(id) } }
        fileCache?.remove(owner: fileOwner, ids: ids)
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
