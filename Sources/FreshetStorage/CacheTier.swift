import Synchronization

/// One level of a node's object cache: memory (L1), local disk (L2), a shared Redis
/// (L3). A cache is never the truth: a tier that fails answers "miss" and counts the
/// error; the object store is asked instead.
public protocol CacheTier: Sendable {
    /// Short name for statistics: "memory", "disk", "redis".
    var name: String { get }
    /// The cached bytes for `key`, or nil on a miss (or a failure, counted).
    func value(for key: String) async -> [UInt8]?
    /// Stores bytes for `key`; may evict others to stay within budget.
    func store(_ value: [UInt8], for key: String) async
    /// Drops `key`.
    func remove(_ key: String) async
    /// Counters since start.
    var statistics: CacheTierStatistics { get }
}

/// A tier's counters. The hit rate is hits / (hits + misses).
public struct CacheTierStatistics: Sendable, Equatable {
    public var name: String
    public var hits = 0
    public var misses = 0
    public var stores = 0
    public var evictions = 0
    public var errors = 0
    /// Bytes held now (nil when the tier cannot tell, e.g. a shared Redis).
    public var bytes: Int?
    public var budget: Int?

    public init(name: String) { self.name = name }

    public var hitRate: Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }
}

/// A cached object: its version and full size travel with the bytes.
enum CachedObject {
    static func encode(_ object: StoredObject) -> [UInt8] {
        var writer = BinaryWriter(capacity: object.body.count + 32)
        writer.u8(1)
        writer.string(object.version.token)
        writer.varint(UInt64(object.size))
        writer.blob(object.body)
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) -> StoredObject? {
        var reader = BinaryReader(bytes, what: "cached object")
        guard (try? reader.u8()) == 1,
              let token = try? reader.string(),
              let size = try? reader.varint(),
              let body = try? reader.blob() else { return nil }
        return StoredObject(body: body, version: ObjectVersion(token), size: Int(size))
    }
}

/// L1: an LRU in process memory bounded by bytes.
public final class MemoryCacheTier: CacheTier {
    private struct State: Sendable {
        var cache: LRUCache<String, [UInt8]>
        var statistics: CacheTierStatistics
    }
    private let state: Mutex<State>
    public let budget: Int

    public init(budget: Int) {
        self.budget = budget
        var statistics = CacheTierStatistics(name: "memory")
        statistics.budget = budget
        self.state = Mutex(State(cache: LRUCache(budget: budget), statistics: statistics))
    }

    public var name: String { "memory" }

    public func value(for key: String) async -> [UInt8]? {
        state.withLock { state in
            let value = state.cache.value(for: key)
            if value == nil { state.statistics.misses += 1 } else { state.statistics.hits += 1 }
            return value
        }
    }

    public func store(_ value: [UInt8], for key: String) async {
        state.withLock { state in
            state.cache.set(value, for: key, cost: value.count + key.utf8.count + 64)
            state.statistics.stores += 1
        }
    }

    public func remove(_ key: String) async {
        state.withLock { _ = $0.cache.remove(key) }
    }

    public var statistics: CacheTierStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.bytes = state.cache.cost
            statistics.evictions = state.cache.evictions
            return statistics
        }
    }
}

/// A backend that reads immutable objects through cache tiers, fastest first.
///
/// Only keys whose `ObjectKind` is immutable (postings, snapshots, checkpoints: named
/// by version, never rewritten) are cached, so invalidation follows the manifest: a
/// key it no longer names is simply never asked for again, and ages out. Everything
/// else (manifest, WAL, catalog) goes to the store every time. A hit in a lower tier is
/// copied into the tiers above it; a miss everywhere reads the store and fills every
/// tier. Writes go to the store first (durable before acknowledged), then warm the tiers.
public final class TieredCacheBackend: StorageBackend {
    public let base: any StorageBackend
    public let tiers: [any CacheTier]
    let cacheable: @Sendable (String) -> Bool
    private let counters = Mutex((reads: 0, storeReads: 0))

    public init(base: any StorageBackend, tiers: [any CacheTier],
                cacheable: @escaping @Sendable (String) -> Bool = { ObjectKind.of($0).isImmutable }) {
        self.base = base
        self.tiers = tiers
        self.cacheable = cacheable
    }

    public var kind: BackendKind { base.kind }
    public var capabilities: StorageCapabilities { base.capabilities }

    /// Per-tier counters, plus how many cacheable reads reached the store.
    public var statistics: (tiers: [CacheTierStatistics], cacheableReads: Int, storeReads: Int) {
        let counts = counters.withLock { $0 }
        return (tiers.map(\.statistics), counts.reads, counts.storeReads)
    }

    public func get(_ key: String) async throws -> StoredObject? {
        guard cacheable(key) else { return try await base.get(key) }
        counters.withLock { $0.reads += 1 }
        for (level, tier) in tiers.enumerated() {
            if let bytes = await tier.value(for: key), let object = CachedObject.decode(bytes) {
                for upper in tiers[..<level] { await upper.store(bytes, for: key) }
                return object
            }
        }
        counters.withLock { $0.storeReads += 1 }
        guard let object = try await base.get(key) else { return nil }
        let bytes = CachedObject.encode(object)
        for tier in tiers { await tier.store(bytes, for: key) }
        return object
    }

    public func get(_ key: String, range: Range<Int>) async throws -> StoredObject? {
        guard cacheable(key) else { return try await base.get(key, range: range) }
        try StorageArguments.check(range: range)
        guard let whole = try await get(key) else { return nil }
        let clamped = StorageArguments.clamp(range, size: whole.body.count)
        return StoredObject(body: Array(whole.body[clamped]), version: whole.version, size: whole.size)
    }

    public func getMany(_ keys: [String]) async throws -> [StoredObject?] {
        var results = [StoredObject?](repeating: nil, count: keys.count)
        var missing: [Int] = []
        for (index, key) in keys.enumerated() {
            if cacheable(key) { results[index] = try await get(key) } else { missing.append(index) }
        }
        if !missing.isEmpty {
            let fetched = try await base.getMany(missing.map { keys[$0] })
            for (slot, object) in zip(missing, fetched) { results[slot] = object }
        }
        return results
    }

    public func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try await base.list(prefix: prefix, startAfter: startAfter, limit: limit)
    }

    public func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        let version = try await base.put(key, body, condition: condition)
        if cacheable(key) {
            let bytes = CachedObject.encode(StoredObject(body: body, version: version))
            for tier in tiers { await tier.store(bytes, for: key) }
        }
        return version
    }

    public func delete(_ key: String) async throws {
        try await base.delete(key)
        if cacheable(key) { for tier in tiers { await tier.remove(key) } }
    }

    public func write(batch: [BatchOperation]) async throws {
        try await base.write(batch: batch)
        for operation in batch where cacheable(operation.key) {
            for tier in tiers { await tier.remove(operation.key) }
        }
    }
}
