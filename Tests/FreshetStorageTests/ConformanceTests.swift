import FreshetStorage
import FreshetStorageConformance
import XCTest

final class MemoryConformanceTests: XCTestCase {
    func testMemoryBackendConforms() async {
        let failures = await StorageConformance(backend: MemoryBackend(), prefix: "conf/").runAll()
        XCTAssertEqual(failures.map(\.description), [])
    }

    func testShardedBackendConforms() async {
        let shards: [(name: String, backend: any StorageBackend)] = (0..<4).map { ("shard-\($0)", MemoryBackend()) }
        let failures = await StorageConformance(backend: ShardedBackend(shards: shards), prefix: "conf/").runAll()
        XCTAssertEqual(failures.map(\.description), [])
    }

    func testFaultInjectingBackendWithoutFaultsConforms() async {
        let failures = await StorageConformance(backend: FaultInjectingBackend(wrapping: MemoryBackend()), prefix: "conf/").runAll()
        XCTAssertEqual(failures.map(\.description), [])
    }

    func testSuiteDetectsABrokenBackend() async {
        // A backend whose create-only put ignores its condition must fail the suite:
        // otherwise the suite proves nothing.
        let failures = await StorageConformance(backend: IgnoresConditions(), prefix: "conf/").runAll()
        XCTAssertTrue(failures.contains { $0.check == "createOnly" }, "\(failures)")
        XCTAssertTrue(failures.contains { $0.check == "createOnlyRace" }, "\(failures)")
    }
}

/// A deliberately wrong backend: drops every put condition.
private final class IgnoresConditions: StorageBackend {
    let base = MemoryBackend()
    var kind: BackendKind { BackendKind("broken") }
    var capabilities: StorageCapabilities { base.capabilities }
    func get(_ key: String) async throws -> StoredObject? { try await base.get(key) }
    func get(_ key: String, range: Range<Int>) async throws -> StoredObject? { try await base.get(key, range: range) }
    func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try await base.list(prefix: prefix, startAfter: startAfter, limit: limit)
    }
    func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try await base.put(key, body, condition: .none)
    }
    func delete(_ key: String) async throws { try await base.delete(key) }
    func write(batch: [BatchOperation]) async throws { try await base.write(batch: batch) }
}
