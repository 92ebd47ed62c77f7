@testable import FreshetObjectStore
import FreshetStorage
import FreshetStorageConformance
import XCTest

/// The S3 backend against real S3 servers started by `make test`: SeaweedFS (checks
/// SigV4 signatures) and moto.
final class S3BackendTests: XCTestCase {
    static let transport = AsyncHTTPTransport()

    func backend(_ endpoint: String, label: String, multipartThreshold: Int = 64 << 20, partSize: Int = 16 << 20,
                 storageClasses: [ObjectKind: String] = [:], lifecycle: [LifecycleRule] = [],
                 transport: (any HTTPTransport)? = nil, retry: RetryPolicy = RetryPolicy()) throws -> S3Backend {
        let configuration = try TestServices.s3Configuration(
            endpoint: endpoint, prefix: TestServices.uniquePrefix(label), multipartThreshold: multipartThreshold,
            partSize: partSize, storageClasses: storageClasses, lifecycle: lifecycle, retry: retry)
        return S3Backend(configuration: configuration, transport: transport ?? Self.transport)
    }

    func runConformance(_ backend: S3Backend) async {
        let failures = await StorageConformance(backend: backend, prefix: "conformance/").runAll()
        XCTAssertEqual(failures.map(\.description), [], "S3 conformance failures at \(backend.configuration.endpoint)")
    }

    func testConformanceOnSeaweedFS() async throws {
        await runConformance(try backend("FRESHET_TEST_S3_SEAWEED_ENDPOINT", label: "seaweed"))
    }

    func testConformanceOnMoto() async throws {
        await runConformance(try backend("FRESHET_TEST_S3_MOTO_ENDPOINT", label: "moto"))
    }

    func testSeaweedFSRejectsAWrongSecret() async throws {
        var configuration = try backend("FRESHET_TEST_S3_SEAWEED_ENDPOINT", label: "badsig").configuration
        configuration.credentials.secretAccessKey += "-wrong"
        let wrong = S3Backend(configuration: configuration, transport: Self.transport)
        do {
            _ = try await wrong.put("x", [1])
            XCTFail("a put signed with the wrong secret succeeded: the server does not check signatures, or we do not sign")
        } catch let error as StorageError {
            XCTAssertTrue(error.message.contains("denied") || error.message.contains("Signature"), "\(error)")
        }
    }

    /// Bodies above the threshold go up in parts, under create-only and CAS conditions.
    func testMultipartUploadWithConditions() async throws {
        for endpoint in ["FRESHET_TEST_S3_SEAWEED_ENDPOINT", "FRESHET_TEST_S3_MOTO_ENDPOINT"] {
            let store = try backend(endpoint, label: "multipart", multipartThreshold: 5 << 20, partSize: 5 << 20)
            let body = (0..<(11 << 20) + 3).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
            let version = try await store.put("big", body, condition: .ifAbsent)
            XCTAssertTrue(version.token.contains("-3"), "\(endpoint): an 11 MiB body with 5 MiB parts is a 3-part upload, etag \(version)")
            let read = try await store.get("big")
            XCTAssertEqual(read?.body.count, body.count, endpoint)
            XCTAssertTrue(read?.body == body, "\(endpoint): multipart body differs")
            XCTAssertEqual(read?.version, version, endpoint)
            let ranged = try await store.get("big", range: (5 << 20) - 2..<(5 << 20) + 2)
            XCTAssertEqual(ranged?.body, Array(body[((5 << 20) - 2)..<((5 << 20) + 2)]), "\(endpoint): range across a part boundary")
            do {
                _ = try await store.put("big", body, condition: .ifAbsent)
                XCTFail("\(endpoint): create-only multipart over an existing object succeeded")
            } catch let error as StorageError {
                XCTAssertEqual(error.code, .conditionFailed, "\(endpoint): \(error)")
            }
            let replaced = try await store.put("big", Array(body.reversed()), condition: .ifVersion(version))
            XCTAssertNotEqual(replaced, version)
            do {
                _ = try await store.put("big", body, condition: .ifVersion(version))
                XCTFail("\(endpoint): stale multipart CAS succeeded")
            } catch let error as StorageError {
                XCTAssertEqual(error.code, .conditionFailed, "\(endpoint): \(error)")
            }
        }
    }

    func testStorageClassPerKindAndLifecycleRules() async throws {
        let store = try backend("FRESHET_TEST_S3_MOTO_ENDPOINT", label: "classes",
                                storageClasses: [.posting: "STANDARD_IA", .snapshot: "GLACIER_IR"],
                                lifecycle: [LifecycleRule(id: "abort-uploads", abortIncompleteMultipartDays: 2),
                                            LifecycleRule(id: "cold-postings", prefix: "namespaces/",
                                                          transitions: [(days: 30, storageClass: "STANDARD_IA")])])
        let posting = "namespaces/a/0000000000000001/index/postings/0000000000000001"
        let manifest = "namespaces/a/manifest"
        try await store.put(posting, [1, 2, 3])
        try await store.put(manifest, [4])
        let postingClass = try await store.storageClass(of: posting)
        let manifestClass = try await store.storageClass(of: manifest)
        XCTAssertEqual(postingClass, "STANDARD_IA")
        XCTAssertNil(manifestClass, "kinds without a class use the bucket default")
        try await store.applyLifecycle()
        let rules = try await store.lifecycleRuleIDs()
        XCTAssertEqual(Set(rules), ["abort-uploads", "cold-postings"])
    }

    /// 503s, timeouts, resets and lost responses on every kind of request while
    /// create-only puts and a CAS counter run: every acknowledged put is there with
    /// its bytes, no put is reported failed that took effect, and the counter counts
    /// each increment exactly once.
    func testFaultInjectionLosesAndDuplicatesNothing() async throws {
        for endpoint in ["FRESHET_TEST_S3_SEAWEED_ENDPOINT", "FRESHET_TEST_S3_MOTO_ENDPOINT"] {
            let faulty = FaultInjectingTransport(wrapping: Self.transport, seed: 11)
            let fast = RetryPolicy(maxAttempts: 12, baseDelay: .milliseconds(2), maxDelay: .milliseconds(50), requestTimeout: .seconds(10))
            let store = try backend(endpoint, label: "faults", transport: faulty, retry: fast)
            faulty.inject(.loseResponse, probability: 0.25, target: .init(methods: ["PUT"], conditionalOnly: true))
            faulty.inject(.internalErrorAfterApply, probability: 0.1, target: .init(methods: ["PUT"], conditionalOnly: true))
            faulty.inject(.slowDown, probability: 0.15)
            faulty.inject(.resetBeforeSend, probability: 0.05)
            faulty.inject(.timeoutBeforeSend, probability: 0.05)

            var acknowledged: [String: [UInt8]] = [:]
            for index in 0..<40 {
                let key = "wal/\(index)"
                let body = Array("entry \(index)".utf8)
                _ = try await store.put(key, body, condition: .ifAbsent)
                acknowledged[key] = body
                // A second writer racing for the same slot must lose, even through faults.
                do {
                    _ = try await store.put(key, Array("impostor".utf8), condition: .ifAbsent)
                    XCTFail("\(endpoint): a second create-only put of \(key) succeeded")
                } catch let error as StorageError where error.code == .conditionFailed {}
            }
            // Three writers race a CAS counter. A lost response is settled by the writer
            // chain; an outcome that cannot be proven either way is reported as unknown
            // (never as a failure), and only those may differ from the count.
            let counter = "counter"
            try await store.put(counter, Array("0".utf8))
            let unknown = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        var unknown = 0
                        for _ in 0..<10 {
                            while true {
                                let current = try await store.get(counter)!
                                let value = Int(String(decoding: current.body, as: UTF8.self))!
                                do {
                                    _ = try await store.put(counter, Array(String(value + 1).utf8), condition: .ifVersion(current.version))
                                    break
                                } catch let error as StorageError where error.code == .conditionFailed {
                                    continue
                                } catch let error as StorageError where error.code == .ambiguousOutcome {
                                    unknown += 1
                                    break
                                }
                            }
                        }
                        return unknown
                    }
                }
                return try await group.reduce(0, +)
            }
            faulty.clearFaults()
            for (key, body) in acknowledged {
                let read = try await store.get(key)
                XCTAssertEqual(read?.body, body, "\(endpoint): acknowledged \(key) lost or overwritten")
            }
            let listed = try await store.listAll(prefix: "wal/")
            XCTAssertEqual(listed.count, 40, "\(endpoint): \(listed.count) WAL objects, 40 acknowledged")
            let final = try await store.get(counter).map { Int(String(decoding: $0.body, as: UTF8.self))! } ?? -1
            let settled = 30 - unknown
            XCTAssertTrue((settled...30).contains(final),
                          "\(endpoint): \(settled) acknowledged increments and \(unknown) unknown outcomes, counter says \(final)")
            XCTAssertLessThanOrEqual(unknown, 3, "\(endpoint): the writer chain should settle nearly every lost response")
            let injected = faulty.injected
            XCTAssertGreaterThan(injected[.loseResponse, default: 0], 5, "\(endpoint): too few lost responses to mean anything: \(injected)")
            XCTAssertGreaterThan(injected[.slowDown, default: 0], 5, "\(endpoint): \(injected)")
        }
    }
}
