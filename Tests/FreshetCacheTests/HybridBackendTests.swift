import FreshetObjectStore
import FreshetRocksDB
import FreshetStorage
import FreshetStorageConformance
import XCTest

/// The hybrid backend with its cold tier on SeaweedFS (started by `make test`).
final class HybridBackendTests: XCTestCase {
    static let transport = AsyncHTTPTransport()

    func coldStore() throws -> S3Backend {
        let environment = ProcessInfo.processInfo.environment
        guard let endpoint = environment["FRESHET_TEST_S3_SEAWEED_ENDPOINT"], let bucket = environment["FRESHET_TEST_S3_BUCKET"],
              let key = environment["FRESHET_TEST_S3_ACCESS_KEY"], let secret = environment["FRESHET_TEST_S3_SECRET_KEY"] else {
            if environment["FRESHET_REQUIRE_SERVICES"] == "1" { XCTFail("the S3 test services are not configured; run `make test`") }
            throw XCTSkip("S3 test services not configured: start them with `python tests/services.py start`")
        }
        let configuration = try S3Configuration(bucket: bucket, prefix: "tests/hybrid-\(UInt64.random(in: 0...UInt64.max))/",
                                                endpoint: endpoint, addressing: .path,
                                                credentials: AWSCredentials(accessKeyID: key, secretAccessKey: secret))
        return S3Backend(configuration: configuration, transport: Self.transport)
    }

    func hotPath() -> String { NSTemporaryDirectory() + "freshet-hybrid-\(UInt64.random(in: 0...UInt64.max))" }

    func testHybridPassesConformance() async throws {
        let path = hotPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let hybrid = try await HybridBackend(cold: try coldStore(), hotPath: path)
        let failures = await StorageConformance(backend: hybrid, prefix: "conformance/").runAll()
        XCTAssertEqual(failures.map(\.description), [])
        hybrid.close()
    }

    /// Writes are in the cold tier when acknowledged; the hot tier serves reads, can
    /// be deleted at any time, and demotes idle objects.
    func testHotTierIsDisposableAndDemotes() async throws {
        let path = hotPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let cold = try coldStore()
        let posting = "namespaces/n/0000000000000001/index/postings/0000000000000001"
        var hybrid: HybridBackend? = try await HybridBackend(cold: cold, hotPath: path)
        let version = try await hybrid!.put(posting, [1, 2, 3])
        let inCold = try await cold.get(posting)
        XCTAssertEqual(inCold?.body, [1, 2, 3], "the write must be in the cold tier before it is acknowledged")
        _ = try await hybrid!.get(posting)
        XCTAssertEqual(hybrid!.statistics.storeReads, 0, "a fresh write is read hot")
        hybrid!.close()
        hybrid = nil
        try FileManager.default.removeItem(atPath: path)

        let rebuilt = try await HybridBackend(cold: cold, hotPath: path)
        let read = try await rebuilt.get(posting)
        XCTAssertEqual(read, StoredObject(body: [1, 2, 3], version: version), "with the hot tier gone, the cold tier serves")
        XCTAssertEqual(rebuilt.statistics.storeReads, 1)
        _ = try await rebuilt.get(posting)
        XCTAssertEqual(rebuilt.statistics.storeReads, 1, "the cold read promoted the object")
        let demoted = await rebuilt.hot.demote(idleSeconds: -1)
        XCTAssertEqual(demoted, 1)
        _ = try await rebuilt.get(posting)
        XCTAssertEqual(rebuilt.statistics.storeReads, 2, "a demoted object is read cold again")
        rebuilt.close()
    }
}
