import FreshetEngine
@testable import FreshetObjectStore
import FreshetStorage
import XCTest

/// The engine on S3 (SeaweedFS) while the HTTP boundary injects 503s, timeouts,
/// resets and lost responses: every acknowledged write is there afterwards, exactly
/// once, and a write that failed is either absent or (when its outcome was unknown)
/// reported as such.
final class EngineOnObjectStoreTests: XCTestCase {
    func testStreamOfWritesThroughFaultsLosesAndDuplicatesNothing() async throws {
        let faulty = FaultInjectingTransport(wrapping: S3BackendTests.transport, seed: 99)
        let configuration = try TestServices.s3Configuration(
            endpoint: "FRESHET_TEST_S3_SEAWEED_ENDPOINT", prefix: TestServices.uniquePrefix("engine-faults"),
            retry: RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(2), maxDelay: .milliseconds(40), requestTimeout: .seconds(10)))
        let storage = S3Backend(configuration: configuration, transport: faulty)
        var engineConfiguration = EngineConfiguration()
        engineConfiguration.compactionMinEntries = 8
        engineConfiguration.compactionMinBytes = 1
        engineConfiguration.storageBackoff = .milliseconds(2)
        let engine = Engine(storage: storage, configuration: engineConfiguration)
        _ = try await engine.write(namespace: "faults", WriteRequest.parse(JSONParser.parse(#"{"upsert_rows":[{"id":0,"n":0}]}"#)))

        faulty.inject(.loseResponse, probability: 0.3, target: .init(methods: ["PUT"], conditionalOnly: true))
        faulty.inject(.internalErrorAfterApply, probability: 0.05, target: .init(methods: ["PUT"]))
        faulty.inject(.slowDown, probability: 0.1)
        faulty.inject(.resetBeforeSend, probability: 0.03)
        faulty.inject(.timeoutBeforeSend, probability: 0.03)
        var acknowledged: Set<Int> = [0]
        var unknown: Set<Int> = []
        for batch in 0..<30 {
            let ids = (1...5).map { batch * 5 + $0 }
            let rows = ids.map { #"{"id":\#($0),"n":\#($0 * 3)}"# }.joined(separator: ",")
            do {
                _ = try await engine.write(namespace: "faults", WriteRequest.parse(JSONParser.parse(#"{"upsert_rows":[\#(rows)]}"#)))
                acknowledged.formUnion(ids)
            } catch {
                unknown.formUnion(ids)  // failed or unknown: may or may not be present, never partially
            }
        }
        faulty.clearFaults()
        let injected = faulty.injected
        XCTAssertGreaterThan(injected[.loseResponse, default: 0], 1, "too few lost responses to mean anything: \(injected)")
        XCTAssertGreaterThan(acknowledged.count, 100, "most writes should get through the faults: \(acknowledged.count)")

        // A fresh engine (another node) reads what the store holds.
        let reader = Engine(storage: S3Backend(configuration: configuration, transport: S3BackendTests.transport))
        let result = try await reader.query(namespace: "faults", QueryRequest.parse(JSONParser.parse(
            #"{"rank_by":["id","asc"],"top_k":1000,"include_attributes":["n"]}"#)))
        let present = result.rows.map { Int($0.document.id.description)! }
        XCTAssertEqual(present.count, Set(present).count, "duplicated ids")
        XCTAssertTrue(acknowledged.isSubset(of: Set(present)), "acknowledged ids lost: \(acknowledged.subtracting(present).sorted())")
        XCTAssertTrue(Set(present).isSubset(of: acknowledged.union(unknown)), "ids present that were never written")
        for row in result.rows {
            let id = Int(row.document.id.description)!
            XCTAssertEqual(row.document.attributes["n"], .int(Int64(id * 3)), "id \(id) has the wrong attribute")
        }
        // Whole batches: an unknown batch is all there or all absent.
        for batch in 0..<30 {
            let ids = Set((1...5).map { batch * 5 + $0 })
            let there = ids.intersection(present)
            XCTAssertTrue(there.isEmpty || there == ids, "batch \(batch) is partly present: \(there.sorted())")
        }
        await engine.shutdown()
        await reader.shutdown()
    }
}
