import _CryptoExtras
import Crypto
@testable import FreshetObjectStore
import Foundation
import FreshetStorage
import FreshetStorageConformance
import XCTest

/// The GCS backend against fake-gcs-server (started by `make test`).
final class GCSBackendTests: XCTestCase {
    static let transport = AsyncHTTPTransport()

    func backend(label: String, transport: (any HTTPTransport)? = nil, retry: RetryPolicy = RetryPolicy()) throws -> GCSBackend {
        let configuration = try GCSConfiguration(
            bucket: try TestServices.value("FRESHET_TEST_GCS_BUCKET"), prefix: TestServices.uniquePrefix(label),
            endpoint: try TestServices.value("FRESHET_TEST_GCS_ENDPOINT"), authentication: .none, retry: retry)
        return GCSBackend(configuration: configuration, transport: transport ?? Self.transport)
    }

    func testConformanceOnFakeGCS() async throws {
        let store = try backend(label: "gcs")
        let failures = await StorageConformance(backend: store, prefix: "conformance/").runAll()
        XCTAssertEqual(failures.map(\.description), [], "GCS conformance failures")
    }

    func testLostResponsesOnConditionalUploadsNeverDuplicate() async throws {
        let faulty = FaultInjectingTransport(wrapping: Self.transport, seed: 5)
        let store = try backend(label: "gcs-faults", transport: faulty,
                                retry: RetryPolicy(maxAttempts: 12, baseDelay: .milliseconds(2), maxDelay: .milliseconds(40)))
        faulty.inject(.loseResponse, probability: 0.3, target: .init(methods: ["POST"], conditionalOnly: true))
        faulty.inject(.slowDown, probability: 0.15)
        for index in 0..<30 {
            _ = try await store.put("slot/\(index)", [UInt8(index)], condition: .ifAbsent)
            do {
                _ = try await store.put("slot/\(index)", [0xFF], condition: .ifAbsent)
                XCTFail("a second create-only upload of slot/\(index) succeeded")
            } catch let error as StorageError where error.code == .conditionFailed {}
        }
        faulty.clearFaults()
        for index in 0..<30 {
            let read = try await store.get("slot/\(index)")
            XCTAssertEqual(read?.body, [UInt8(index)], "slot/\(index)")
        }
        XCTAssertGreaterThan(faulty.injected[.loseResponse, default: 0], 5, "\(faulty.injected)")
    }

    /// The JWT a service account exchanges for a token: RS256 over the documented
    /// claims, verifiable with the key's public half.
    func testServiceAccountAssertion() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let json = """
            {"type":"service_account","client_email":"freshet@example.iam.gserviceaccount.com",
             "private_key":\(jsonString(key.pemRepresentation)),"token_uri":"https://oauth2.example/token"}
            """
        let account = try JSONDecoder().decode(GCSServiceAccount.self, from: Data(json.utf8))
        let jwt = try account.assertion(scope: GCSTokenSource.scope, issuedAt: 1_700_000_000)
        let parts = jwt.split(separator: ".").map(String.init)
        XCTAssertEqual(parts.count, 3)
        func decode(_ part: String) -> Data {
            var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            return Data(base64Encoded: text)!
        }
        let header = try JSONSerialization.jsonObject(with: decode(parts[0])) as! [String: Any]
        XCTAssertEqual(header["alg"] as? String, "RS256")
        let claims = try JSONSerialization.jsonObject(with: decode(parts[1])) as! [String: Any]
        XCTAssertEqual(claims["iss"] as? String, "freshet@example.iam.gserviceaccount.com")
        XCTAssertEqual(claims["aud"] as? String, "https://oauth2.example/token")
        XCTAssertEqual(claims["scope"] as? String, "https://www.googleapis.com/auth/devstorage.read_write")
        XCTAssertEqual(claims["exp"] as? Int, 1_700_003_600)
        let signature = _RSA.Signing.RSASignature(rawRepresentation: decode(parts[2]))
        XCTAssertTrue(key.publicKey.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8), padding: .insecurePKCS1v1_5))
        XCTAssertFalse(key.publicKey.isValidSignature(signature, for: Data((parts[0] + "." + parts[1] + "x").utf8), padding: .insecurePKCS1v1_5))
        XCTAssertThrowsError(try JSONDecoder().decode(GCSServiceAccount.self, from: Data(#"{"type":"authorized_user","client_email":"a","private_key":"b"}"#.utf8)))
    }
}
