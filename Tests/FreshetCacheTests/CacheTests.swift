@testable import FreshetRedis
import FreshetRocksDB
import FreshetStorage
import Foundation
import FreshetStorageConformance
import NIOCore
import Synchronization
import XCTest

/// The cache tiers — memory, local disk (RocksDB), shared Redis (started by
/// `make test`) — and the backend that reads through them.
final class CacheTests: XCTestCase {
    func redisConfiguration() throws -> RedisClient.Configuration {
        let environment = ProcessInfo.processInfo.environment
        guard let address = environment["FRESHET_TEST_REDIS"], !address.isEmpty else {
            if environment["FRESHET_REQUIRE_SERVICES"] == "1" { XCTFail("FRESHET_TEST_REDIS is not set; run `make test`") }
            throw XCTSkip("FRESHET_TEST_REDIS is not set: start the test services with `python tests/services.py start`")
        }
        return try RedisClient.Configuration.parse(address)
    }

    func temporaryDirectory(_ label: String) -> String {
        let path = NSTemporaryDirectory() + "freshet-\(label)-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    // MARK: RESP

    func testRESPParsesWholeAndPartialReplies() throws {
        var buffer = ByteBuffer(string: "+OK\r\n-ERR bad\r\n:42\r\n$3\r\nab\r\r\n$-1\r\n*2\r\n$1\r\nx\r\n:7\r\n*-1\r\n")
        XCTAssertEqual(try RESP.parse(&buffer), .simple("OK"))
        XCTAssertEqual(try RESP.parse(&buffer), .error("ERR bad"))
        XCTAssertEqual(try RESP.parse(&buffer), .integer(42))
        XCTAssertEqual(try RESP.parse(&buffer), .bulk(Array("ab\r".utf8)))
        XCTAssertEqual(try RESP.parse(&buffer), .bulk(nil))
        XCTAssertEqual(try RESP.parse(&buffer), .array([.bulk([UInt8(ascii: "x")]), .integer(7)]))
        XCTAssertEqual(try RESP.parse(&buffer), .array(nil))
        XCTAssertEqual(buffer.readableBytes, 0)
        var partial = ByteBuffer(string: "*2\r\n$5\r\nhel")
        XCTAssertNil(try RESP.parse(&partial))
        XCTAssertEqual(partial.readableBytes, 11, "an incomplete reply consumes nothing")
        partial.writeString("lo\r\n$0\r\n\r\n")
        XCTAssertEqual(try RESP.parse(&partial), .array([.bulk(Array("hello".utf8)), .bulk([])]))
        var bad = ByteBuffer(string: "?x\r\n")
        XCTAssertThrowsError(try RESP.parse(&bad))
        var encoded = ByteBuffer()
        RESP.encode([Array("SET".utf8), Array("k".utf8), [0, 13, 10]], into: &encoded)
        XCTAssertEqual(encoded.readBytes(length: encoded.readableBytes), Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n".utf8) + [0, 13, 10] + Array("\r\n".utf8))
    }

    func testRedisURLParsing() throws {
        let full = try RedisClient.Configuration.parse("redis://user:secret@cache.internal:6380/2")
        XCTAssertEqual(full.host, "cache.internal")
        XCTAssertEqual(full.port, 6380)
        XCTAssertEqual(full.username, "user")
        XCTAssertEqual(full.password, "secret")
        XCTAssertEqual(full.database, 2)
        XCTAssertEqual(try RedisClient.Configuration.parse("127.0.0.1:16379").port, 16379)
        XCTAssertThrowsError(try RedisClient.Configuration.parse("redis://h:99999"))
        XCTAssertThrowsError(try RedisClient.Configuration.parse("redis://h/x"))
    }

    // MARK: Redis

    func testRedisClientRoundTripsBinaryValuesConcurrently() async throws {
        let client = RedisClient(configuration: try redisConfiguration())
        let prefix = "test:\(UInt64.random(in: 0...UInt64.max)):"
        let large = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131) }
        try await client.set(prefix + "large", large, expireSeconds: 60)
        let readLarge = try await client.get(prefix + "large")
        XCTAssertTrue(readLarge == large, "a 3 MiB binary value did not round-trip")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let value: [UInt8] = [UInt8(index % 256), 13, 10, 0, UInt8(index / 256)]
                    try await client.set(prefix + "k\(index)", value, expireSeconds: 60)
                    let read = try await client.get(prefix + "k\(index)")
                    XCTAssertEqual(read, value, "pipelined replies crossed for k\(index)")
                }
            }
            try await group.waitForAll()
        }
        let missing = try await client.get(prefix + "missing")
        XCTAssertNil(missing)
        try await client.delete([prefix + "large"])
        let deleted = try await client.get(prefix + "large")
        XCTAssertNil(deleted)
        do {
            _ = try await client.command("NOSUCHCOMMAND")
            XCTFail("an unknown command must fail")
        } catch let error as StorageError {
            XCTAssertTrue(error.message.contains("unknown command"), "\(error)")
        }
        // A killed connection fails what was in flight, then the client reconnects.
        _ = try? await client.command("CLIENT", "KILL", "TYPE", "normal")
        var recovered = false
        for _ in 0..<3 {
            if (try? await client.set(prefix + "after", [1], expireSeconds: 60)) != nil { recovered = true; break }
        }
        XCTAssertTrue(recovered, "the client did not reconnect after its connections were killed")
        await client.close()
    }

    func testRedisTierCountsAnUnreachableServerAsMisses() async throws {
        let tier = RedisCacheTier(client: RedisClient(configuration: .init(host: "127.0.0.1", port: 1, connectTimeout: .milliseconds(200))))
        await tier.store([1], for: "k")
        let value = await tier.value(for: "k")
        XCTAssertNil(value)
        XCTAssertEqual(tier.statistics.errors, 2)
        XCTAssertEqual(tier.statistics.misses, 1)
    }

    // MARK: memory and disk

    func testMemoryTierStaysWithinBudget() async {
        let tier = MemoryCacheTier(budget: 10_000)
        for index in 0..<100 { await tier.store([UInt8](repeating: 1, count: 900), for: "k\(index)") }
        let statistics = tier.statistics
        XCTAssertLessThanOrEqual(statistics.bytes ?? .max, 10_000)
        XCTAssertGreaterThan(statistics.evictions, 80)
        let recent = await tier.value(for: "k99")
        let old = await tier.value(for: "k0")
        XCTAssertNotNil(recent)
        XCTAssertNil(old)
    }

    func testDiskTierEvictsLeastRecentlyUsedAndSurvivesReopen() async throws {
        let path = temporaryDirectory("disk-cache")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var tier: DiskCacheTier? = try await DiskCacheTier(path: path, budget: 100_000)
        for index in 0..<20 { await tier!.store([UInt8](repeating: UInt8(index), count: 10_000), for: "k\(index)") }
        _ = await tier!.value(for: "k0")  // recently used: survives eviction
        for index in 20..<30 { await tier!.store([UInt8](repeating: UInt8(index), count: 10_000), for: "k\(index)") }
        let statistics = tier!.statistics
        XCTAssertLessThanOrEqual(statistics.bytes ?? .max, 100_000, "disk tier exceeded its budget")
        XCTAssertGreaterThan(statistics.evictions, 0)
        let k29 = await tier!.value(for: "k29"), k1 = await tier!.value(for: "k1")
        XCTAssertEqual(k29, [UInt8](repeating: 29, count: 10_000))
        XCTAssertNil(k1, "the least recently used entry should have been evicted")
        tier!.close()
        tier = nil
        let reopened = try await DiskCacheTier(path: path, budget: 100_000)
        let again = await reopened.value(for: "k29")
        XCTAssertEqual(again, [UInt8](repeating: 29, count: 10_000), "the disk cache should survive a restart")
        XCTAssertLessThanOrEqual(reopened.statistics.bytes ?? .max, 100_000)
        reopened.close()
    }

    // MARK: the tiered backend

    func testTieredBackendPassesConformance() async throws {
        let path = temporaryDirectory("tiered-conformance")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let disk = try await DiskCacheTier(path: path, budget: 64 << 20)
        let redis = RedisCacheTier(client: RedisClient(configuration: try redisConfiguration()),
                                   keyPrefix: "test:\(UInt64.random(in: 0...UInt64.max)):")
        // Cache everything here, so the suite exercises the cached paths too.
        let backend = TieredCacheBackend(base: MemoryBackend(), tiers: [MemoryCacheTier(budget: 16 << 20), disk, redis],
                                         cacheable: { $0.contains("/rt/") || $0.contains("/range/") || $0.contains("/many/") })
        let failures = await StorageConformance(backend: backend, prefix: "conformance/").runAll()
        XCTAssertEqual(failures.map(\.description), [])
        disk.close()
    }

    /// A second node with empty L1/L2 is served by the shared Redis; the store sees
    /// each immutable object once; mutable objects are never served from a cache.
    func testFleetSharesWarmDataAndMutableKeysStayFresh() async throws {
        let store = CountingBackend(base: MemoryBackend())
        let prefix = "test:\(UInt64.random(in: 0...UInt64.max)):"
        let redis = try redisConfiguration()
        func node() -> TieredCacheBackend {
            TieredCacheBackend(base: store, tiers: [MemoryCacheTier(budget: 1 << 20),
                                                    RedisCacheTier(client: RedisClient(configuration: redis), keyPrefix: prefix)])
        }
        let posting = "namespaces/n/0000000000000001/index/postings/00000000000000aa"
        let manifest = "namespaces/n/manifest"
        try await store.base.put(posting, [7, 7, 7])
        try await store.base.put(manifest, [1])
        let first = node(), second = node()
        _ = try await first.get(posting)
        _ = try await first.get(posting)
        let fromFleet = try await second.get(posting)
        XCTAssertEqual(fromFleet?.body, [7, 7, 7])
        XCTAssertEqual(store.gets(of: posting), 1, "the posting should be read from the store once for the whole fleet")
        let firstStats = first.statistics.tiers, secondStats = second.statistics.tiers
        XCTAssertEqual(firstStats[0].hits, 1)
        XCTAssertEqual(secondStats[0].misses, 1)
        XCTAssertEqual(secondStats[1].hits, 1, "node two should hit Redis")
        let ranged = try await second.get(posting, range: 1..<5)
        XCTAssertEqual(ranged, StoredObject(body: [7, 7], version: fromFleet!.version, size: 3))

        // Batches: one lookup per level, then one getMany for the rest.
        let postings = (0..<20).map { "namespaces/n/0000000000000001/index/postings/\(String(format: "%016x", $0 + 0x100))" }
        for (index, key) in postings.enumerated() { try await store.base.put(key, [UInt8(index)]) }
        let half = try await first.getMany(Array(postings[..<10]))
        XCTAssertEqual(half.map { $0?.body }, (0..<10).map { [UInt8($0)] })
        let third = node()
        let all = try await third.getMany(postings + [manifest, "namespaces/n/0000000000000001/index/postings/ffffffffffffffff"])
        XCTAssertEqual(all.prefix(20).map { $0?.body }, (0..<20).map { [UInt8($0)] })
        XCTAssertNil(all.last!, "an absent posting is absent")
        XCTAssertEqual(third.statistics.tiers[1].hits, 10, "the first ten come from Redis in one MGET")
        XCTAssertEqual(postings.map { store.gets(of: $0) }, [Int](repeating: 1, count: 20), "each posting read from the store once")
        let again = try await third.getMany(postings)
        XCTAssertEqual(again.map { $0?.body }, all.prefix(20).map { $0?.body })
        XCTAssertEqual(third.statistics.tiers[0].hits, 20, "then all from memory")

        _ = try await first.get(manifest)
        try await second.put(manifest, [2])
        let fresh = try await first.get(manifest)
        XCTAssertEqual(fresh?.body, [2], "the manifest must never be served from a cache")
        XCTAssertEqual(store.gets(of: manifest), 3, "every read of the manifest reaches the store (two gets, one getMany)")
    }
}

/// Counts reads that reach the store.
final class CountingBackend: StorageBackend {
    let base: any StorageBackend
    private let counts = Mutex([String: Int]())
    init(base: any StorageBackend) { self.base = base }
    func gets(of key: String) -> Int { counts.withLock { $0[key, default: 0] } }
    var kind: BackendKind { base.kind }
    var capabilities: StorageCapabilities { base.capabilities }
    func get(_ key: String) async throws -> StoredObject? {
        counts.withLock { $0[key, default: 0] += 1 }
        return try await base.get(key)
    }
    func get(_ key: String, range: Range<Int>) async throws -> StoredObject? {
        counts.withLock { $0[key, default: 0] += 1 }
        return try await base.get(key, range: range)
    }
    func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try await base.list(prefix: prefix, startAfter: startAfter, limit: limit)
    }
    func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try await base.put(key, body, condition: condition)
    }
    func delete(_ key: String) async throws { try await base.delete(key) }
    func write(batch: [BatchOperation]) async throws { try await base.write(batch: batch) }
}
