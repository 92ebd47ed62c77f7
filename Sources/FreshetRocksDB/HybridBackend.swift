import FreshetStorage

/// Hot tier on local RocksDB, cold tier on an object store (plan 2.4).
///
/// - Writes are durable in the cold tier before they are acknowledged; immutable
///   objects (postings, snapshots, checkpoints) then also land hot, since new data is
///   what queries read next.
/// - Reads of immutable objects are served hot when present and promoted on a cold
///   read; mutable objects (manifest, WAL, catalog) are always read cold, so several
///   nodes can share the cold tier.
/// - Placement: least recently used objects leave the hot tier when it passes its
///   byte budget, and objects idle longer than `demoteAfterIdleSeconds` are demoted
///   by a background task, so the hot tier holds what is both recent and used.
/// - The hot tier is disposable: losing it (or its directory) loses no data.
public final class HybridBackend: StorageBackend {
    public struct Policy: Sendable {
        /// Bytes the hot tier may hold. Default 8 GiB.
        public var hotBudget: Int
        /// Demote objects neither read nor written for this long. Default one day.
        public var demoteAfterIdleSeconds: Int64
        /// How often the background task demotes. Default 60 s.
        public var maintenanceInterval: Duration

        public init(hotBudget: Int = 8 << 30, demoteAfterIdleSeconds: Int64 = 86_400, maintenanceInterval: Duration = .seconds(60)) {
            self.hotBudget = hotBudget
            self.demoteAfterIdleSeconds = demoteAfterIdleSeconds
            self.maintenanceInterval = maintenanceInterval
        }
    }

    public static let kindName = BackendKind("hybrid")
    public let cold: any StorageBackend
    public let hot: DiskCacheTier
    public let policy: Policy
    let tiered: TieredCacheBackend
    private let maintenance: Task<Void, Never>

    public init(cold: any StorageBackend, hotPath: String, policy: Policy = Policy(), upperTiers: [any CacheTier] = []) async throws {
        self.cold = cold
        self.policy = policy
        let hot = try await DiskCacheTier(path: hotPath, budget: policy.hotBudget)
        self.hot = hot
        self.tiered = TieredCacheBackend(base: cold, tiers: upperTiers + [hot])
        let interval = policy.maintenanceInterval, idle = policy.demoteAfterIdleSeconds
        self.maintenance = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                await hot.demote(idleSeconds: idle)
            }
        }
    }

    /// Stops the background task and closes the hot tier.
    public func close() {
        maintenance.cancel()
        hot.close()
    }

    public var kind: BackendKind { Self.kindName }
    public var capabilities: StorageCapabilities { cold.capabilities }
    public var statistics: (tiers: [CacheTierStatistics], cacheableReads: Int, storeReads: Int) { tiered.statistics }

    public func get(_ key: String) async throws -> StoredObject? { try await tiered.get(key) }
    public func get(_ key: String, range: Range<Int>) async throws -> StoredObject? { try await tiered.get(key, range: range) }
    public func getMany(_ keys: [String]) async throws -> [StoredObject?] { try await tiered.getMany(keys) }
    public func getManyVerifiedByCaller(_ keys: [String]) async throws -> [StoredObject?] { try await tiered.getManyVerifiedByCaller(keys) }
    public func forgetCached(_ keys: [String]) async { await tiered.forgetCached(keys) }
    public func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try await cold.list(prefix: prefix, startAfter: startAfter, limit: limit)
    }
    public func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try await tiered.put(key, body, condition: condition)
    }
    public func delete(_ key: String) async throws { try await tiered.delete(key) }
    public func write(batch: [BatchOperation]) async throws { try await tiered.write(batch: batch) }
}
