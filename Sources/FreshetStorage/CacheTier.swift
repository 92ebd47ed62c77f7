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
    /// Several lookups at once, in the order of `keys` (a tier with a batch command
    /// overrides this; the default runs the lookups concurrently).
    func values(for keys: [String]) async -> [[UInt8]?]
}

extension CacheTier {
    public func values(for keys: [String]) async -> [[UInt8]?] {
        if keys.isEmpty { return [] }
        if keys.count == 1 { return [await value(for: keys[0])] }
        return await withTaskGroup(of: (Int, [UInt8]?).self) { group in
            var results = [[UInt8]?](repeating: nil, count: keys.count)
            var next = 0
            func add(_ index: Int) { group.addTask { (index, await self.value(for: keys[index])) } }
            while next < min(16, keys.count) { add(next); next += 1 }
            while let (index, value) = await group.next() {
                results[index] = value
                if next < keys.count { add(next); next += 1 }
            }
            return results
        }
    }
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

    /// Each tier is asked once for all keys still missing (memory, then disk, then
    /// Redis in one batch), and whatever no tier had is read from the store in one
    /// `getMany` — so a query's postings cost one round trip per level, not per posting.
    public func getMany(_ keys: [String]) async throws -> [StoredObject?] {
        try await read(keys, verifiedByCaller: false)
    }

    /// `getMany` whose store reads go through the base's `getManyVerifiedByCaller`.
    public func getManyVerifiedByCaller(_ keys: [String]) async throws -> [StoredObject?] {
        try await read(keys, verifiedByCaller: true)
    }

    /// Every tier drops `keys`; the base forgets its own caches too.
    public func forgetCached(_ keys: [String]) async {
        let cached = keys.filter(cacheable)
        for tier in tiers { for key in cached { await tier.remove(key) } }
        await base.forgetCached(keys)
    }

    private func read(_ keys: [String], verifiedByCaller: Bool) async throws -> [StoredObject?] {
        var results = [StoredObject?](repeating: nil, count: keys.count)
        var pending: [Int] = []
        var direct: [Int] = []
        for (index, key) in keys.enumerated() {
            if cacheable(key) { pending.append(index) } else { direct.append(index) }
        }
        counters.withLock { $0.reads += pending.count }
        for (level, tier) in tiers.enumerated() where !pending.isEmpty {
            let found = await tier.values(for: pending.map { keys[$0] })
            var still: [Int] = []
            for (slot, bytes) in zip(pending, found) {
                if let bytes, let object = CachedObject.decode(bytes) {
                    results[slot] = object
                    for upper in tiers[..<level] { await upper.store(bytes, for: keys[slot]) }
                } else {
                    still.append(slot)
                }
            }
            pending = still
        }
        counters.withLock { $0.storeReads += pending.count }
        let fromStore = pending + direct
        if !fromStore.isEmpty {
            let wanted = fromStore.map { keys[$0] }
            let fetched = try await verifiedByCaller ? base.getManyVerifiedByCaller(wanted) : base.getMany(wanted)
            for (slot, object) in zip(fromStore, fetched) {
                results[slot] = object
                if let object, cacheable(keys[slot]) {
                    let bytes = CachedObject.encode(object)
                    for tier in tiers { await tier.store(bytes, for: keys[slot]) }
                }
            }
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
