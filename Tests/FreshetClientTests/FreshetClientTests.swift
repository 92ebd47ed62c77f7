import Foundation
import FreshetClient
import FreshetEngine
import FreshetServer
import FreshetStorage
import Hummingbird
import HummingbirdTesting
import XCTest

/// The Swift client against a real server listening on a loopback port.
final class FreshetClientTests: XCTestCase {
    func testRoundTripAgainstALiveServer() async throws {
        let lifecycle = ServerLifecycle()
        lifecycle.set(.ready)
        let router = FreshetServer.makeRouter(engine: Engine(storage: MemoryBackend()), configuration: ServerConfiguration(), lifecycle: lifecycle)
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let freshet = FreshetClient(baseURL: URL(string: "http://127.0.0.1:\(client.port!)")!)
            _ = try await freshet.write(namespace: "c", try JSONParser.parse(#"{"upsert_rows":[{"id":1,"v":"a"},{"id":2,"v":"b"}]}"#))
            let result = try await freshet.query(namespace: "c", try JSONParser.parse(#"{"rank_by":["v","desc"],"top_k":1}"#))
            XCTAssertEqual(result["rows"]?.arrayValue?.first?["id"], .int(2))
            let names = try await freshet.listNamespaces()
            XCTAssertEqual(names, ["c"])
            do {
                _ = try await freshet.metadata(namespace: "absent")
                XCTFail("expected a 404")
            } catch let error as FreshetClient.ServerError {
                XCTAssertEqual(error.status, 404)
                XCTAssertTrue(error.message.contains("does not exist"))
                XCTAssertFalse(error.isRetryable)
            }
        }
    }
}
