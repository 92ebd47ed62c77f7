/// Spreads keys over several backends with a consistent-hash ring.
///
/// Single-key operations (including conditional puts) go to the key's owner and keep
/// that backend's guarantees. A batch touching several shards is applied shard by
/// shard and is therefore not atomic across shards. Listings merge every shard's page.
public final class ShardedBackend: StorageBackend {
    public let shards: [any StorageBackend]
    public let ring: HashRing

    /// - Parameters:
    ///   - shards: named backends; the names place them on the ring and must stay stable.
    ///   - virtualNodes: ring points per shard.
    public init(shards: [(name: String, backend: any StorageBackend)], virtualNodes: Int = 160) {
        precondition(!shards.isEmpty, "a sharded backend needs at least one shard")
        self.shards = shards.map(\.backend)
        self.ring = HashRing(members: shards.map(\.name), virtualNodes: virtualNodes)
    }

    public var kind: BackendKind { .sharded }
    public var capabilities: StorageCapabilities {
        let parts = shards.map(\.capabilities)
        return StorageCapabilities(
            atomicBatch: shards.count == 1 && parts[0].atomicBatch,
            durable: parts.allSatisfy(\.durable),
            strongReadAfterWrite: parts.allSatisfy(\.strongReadAfterWrite),
            maxObjectSize: parts.map(\.maxObjectSize).min()!
        )
    }

    /// The backend that owns `key`.
    public func shard(for key: String) -> any StorageBackend { shards[ring.owner(of: key)] }

    public func get(_ key: String) async throws -> StoredObject? {
        try await shard(for: key).get(key)
    }

    public func get(_ key: String, range: Range<Int>) async throws -> StoredObject? {
        try await shard(for: key).get(key, range: range)
    }

    public func getMany(_ keys: [String]) async throws -> [StoredObject?] {
        try await read(keys, verifiedByCaller: false)
    }

    public func getManyVerifiedByCaller(_ keys: [String]) async throws -> [StoredObject?] {
        try await read(keys, verifiedByCaller: true)
    }

    public func forgetCached(_ keys: [String]) async {
        for key in keys { await shard(for: key).forgetCached([key]) }
    }

    private func read(_ keys: [String], verifiedByCaller: Bool) async throws -> [StoredObject?] {
        var byShard: [Int: [(position: Int, key: String)]] = [:]
        for (position, key) in keys.enumerated() { byShard[ring.owner(of: key), default: []].append((position, key)) }
        var result = [StoredObject?](repeating: nil, count: keys.count)
        try await withThrowingTaskGroup(of: [(Int, StoredObject?)].self) { group in
            for (shardIndex, entries) in byShard {
                let backend = shards[shardIndex]
                group.addTask {
                    let wanted = entries.map(\.key)
                    let objects = try await verifiedByCaller ? backend.getManyVerifiedByCaller(wanted) : backend.getMany(wanted)
                    return Array(zip(entries.map(\.position), objects))
                }
            }
            for try await part in group { for (position, object) in part { result[position] = object } }
        }
        return result
    }

    public func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try StorageArguments.check(limit: limit)
        var merged: [ListedObject] = []
        var anyMore = false
        for backend in shards {
            let page = try await backend.list(prefix: prefix, startAfter: startAfter, limit: limit)
            merged.append(contentsOf: page.objects)
            if page.nextCursor != nil { anyMore = true }
        }
        merged.sort { SortedKeys.less($0.key, $1.key) }
        if merged.count > limit {
            merged.removeSubrange(limit...)
            anyMore = true
        }
        return ListPage(objects: merged, nextCursor: anyMore ? merged.last?.key : nil)
    }

    public func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try await shard(for: key).put(key, body, condition: condition)
    }

    public func delete(_ key: String) async throws {
        try await shard(for: key).delete(key)
    }

    public func write(batch: [BatchOperation]) async throws {
        var byShard: [Int: [BatchOperation]] = [:]
        for operation in batch { byShard[ring.owner(of: operation.key), default: []].append(operation) }
        for (shardIndex, operations) in byShard.sorted(by: { $0.key < $1.key }) {
            try await shards[shardIndex].write(batch: operations)
        }
    }
}
