import FreshetStorage
import Synchronization

/// L3: a Redis shared by a fleet of nodes, so one node's store read warms the others.
///
/// Keys are namespaced (`keyPrefix`) and expire after `ttlSeconds` so a deployment
/// that stops naming an object stops paying for it; Redis's own `maxmemory` policy
/// (allkeys-lru) bounds the total. Any Redis failure is a miss, counted as an error.
public final class RedisCacheTier: CacheTier {
    public let client: RedisClient
    public let keyPrefix: String
    public let ttlSeconds: Int
    /// Values larger than this are not shared (Redis moves them whole on every hit).
    public let maxValueBytes: Int
    private let counters = Mutex(CacheTierStatistics(name: "redis"))

    public init(client: RedisClient, keyPrefix: String = "freshet:", ttlSeconds: Int = 7 * 86_400, maxValueBytes: Int = 64 << 20) {
        self.client = client
        self.keyPrefix = keyPrefix
        self.ttlSeconds = ttlSeconds
        self.maxValueBytes = maxValueBytes
    }

    public var name: String { "redis" }

    public func value(for key: String) async -> [UInt8]? {
        do {
            let value = try await client.get(keyPrefix + key)
            counters.withLock { if value == nil { $0.misses += 1 } else { $0.hits += 1 } }
            return value
        } catch {
            counters.withLock { $0.errors += 1; $0.misses += 1 }
            return nil
        }
    }

    /// One MGET for all keys: one round trip however many postings a query needs.
    public func values(for keys: [String]) async -> [[UInt8]?] {
        guard !keys.isEmpty else { return [] }
        do {
            let reply = try await client.command([Array("MGET".utf8)] + keys.map { Array((keyPrefix + $0).utf8) })
            guard case .array(let items?) = reply, items.count == keys.count else {
                counters.withLock { $0.errors += 1; $0.misses += keys.count }
                return Array(repeating: nil, count: keys.count)
            }
            let values = items.map(\.bytes)
            let hits = values.filter { $0 != nil }.count
            counters.withLock { $0.hits += hits; $0.misses += keys.count - hits }
            return values
        } catch {
            counters.withLock { $0.errors += 1; $0.misses += keys.count }
            return Array(repeating: nil, count: keys.count)
        }
    }

    public func store(_ value: [UInt8], for key: String) async {
        guard value.count <= maxValueBytes else { return }
        do {
            try await client.set(keyPrefix + key, value, expireSeconds: ttlSeconds)
            counters.withLock { $0.stores += 1 }
        } catch {
            counters.withLock { $0.errors += 1 }
        }
    }

    public func remove(_ key: String) async {
        do { try await client.delete([keyPrefix + key]) } catch { counters.withLock { $0.errors += 1 } }
    }

    public var statistics: CacheTierStatistics { counters.withLock { $0 } }
}
