import Foundation
import FreshetRocksDB
import FreshetStorage
import FreshetStorageConformance
import XCTest

final class RocksDBBackendTests: XCTestCase {
    var directory: URL!

    override func setUp() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("freshet-rocks-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    func testConforms() async throws {
        let backend = try RocksDBBackend(configuration: RocksDBConfiguration(path: directory.path))
        let failures = await StorageConformance(backend: backend, prefix: "conf/").runAll()
        XCTAssertEqual(failures.map(\.description), [])
    }

    func testShardedOverRocksDBConforms() async throws {
        let shards: [(name: String, backend: any StorageBackend)] = try (0..<3).map {
            ("r\($0)", try RocksDBBackend(configuration: RocksDBConfiguration(path: directory.appendingPathComponent("s\($0)").path)))
        }
        let failures = await StorageConformance(backend: ShardedBackend(shards: shards), prefix: "conf/").runAll()
        XCTAssertEqual(failures.map(\.description), [])
    }

    func testDataAndVersionsSurviveReopen() async throws {
        var configuration = RocksDBConfiguration(path: directory.path)
        configuration.minBlobBytes = 16
        var backend: RocksDBBackend? = try RocksDBBackend(configuration: configuration)
        let big = [UInt8](repeating: 42, count: 100_000)
        let version = try await backend!.put("k/big", big)
        try await backend!.put("k/small", [1, 2, 3])
        backend!.close()
        backend = nil
        let reopened = try RocksDBBackend(configuration: configuration)
        let read = try await reopened.get("k/big")
        XCTAssertEqual(read?.body, big)
        XCTAssertEqual(read?.version, version, "versions must persist, or CAS after restart breaks")
        _ = try await reopened.put("k/big", [0], condition: .ifVersion(version))
    }

    func testSecondOpenOfTheSameDirectoryIsRefused() throws {
        let configuration = RocksDBConfiguration(path: directory.path)
        let first = try RocksDBBackend(configuration: configuration)
        XCTAssertThrowsError(try RocksDBBackend(configuration: configuration)) { error in
            XCTAssertEqual((error as? StorageError)?.code, .unavailable, "\(error)")
        }
        withExtendedLifetime(first) {}
    }

    func testStatisticsAreExposed() async throws {
        let backend = try RocksDBBackend(configuration: RocksDBConfiguration(path: directory.path))
        for index in 0..<100 { try await backend.put("s/\(index)", [UInt8](repeating: 1, count: 100)) }
        for index in 0..<100 { _ = try await backend.get("s/\(index)") }
        let stats = backend.statistics()
        XCTAssertNotNil(stats.estimatedKeys)
        XCTAssertGreaterThan(stats.counters["rocksdb.bytes.written", default: 0], 10_000, "\(stats.counters.keys.sorted().prefix(5))")
        XCTAssertGreaterThanOrEqual(stats.counters["rocksdb.number.keys.read", default: 0], 100)
    }

    func testUnknownOptionIsRejected() {
        XCTAssertThrowsError(try RocksDBConfiguration(path: "x", options: ["block_cach": "1G"])) { error in
            XCTAssertTrue("\(error)".contains("unknown RocksDB option block_cach"), "\(error)")
        }
        let configuration = try? RocksDBConfiguration(path: "x", options: ["block_cache": "1G", "compression": "zstd"])
        XCTAssertEqual(configuration?.blockCacheBytes, 1 << 30)
        XCTAssertEqual(configuration?.compression, .zstd)
    }
}
