import FreshetEngine
@testable import FreshetServer
import FreshetStorage
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

/// The HTTP layer in-process: routes, status mapping and middleware, through the router.
final class RouterTests: XCTestCase {
    func makeApp(configure: (inout ServerConfiguration) -> Void = { _ in }) -> some ApplicationProtocol {
        var configuration = ServerConfiguration()
        configure(&configuration)
        let lifecycle = ServerLifecycle()
        lifecycle.set(.ready)
        let router = FreshetServer.makeRouter(engine: Engine(storage: MemoryBackend()), configuration: configuration, lifecycle: lifecycle)
        return Application(router: router)
    }


    func testWriteThenQueryThroughTheRouter() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/v2/namespaces/r", method: .post, body: ByteBuffer(string: #"{"upsert_rows":[{"id":1,"vector":[0,1]},{"id":2,"vector":[1,0]}]}"#)) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(try json(response.body)["rows_upserted"], .int(2))
            }
            try await client.execute(uri: "/v2/namespaces/r/query", method: .post, body: ByteBuffer(string: #"{"rank_by":["vector","ANN",[1,0.1]],"top_k":1}"#)) { response in
                XCTAssertEqual(response.status, .ok)
                let body = try json(response.body)
                XCTAssertEqual(body["rows"]?.arrayValue?.first?["id"], .int(2))
                XCTAssertEqual(body["performance"]?["exhaustive_search_count"], .int(2))
            }
        }
    }

    func testStatusMapping() async throws {
        try await makeApp().test(.router) { client in
            let cases: [(String, String, HTTPResponse.Status)] = [
                ("/v2/namespaces/x", "{", .unprocessableContent),
                ("/v2/namespaces/x", #"{"upsert_rows":[{"id":1},{"id":1}]}"#, .badRequest),
                ("/v2/namespaces/missing/query", #"{"rank_by":["id","asc"]}"#, .notFound),
                ("/v2/namespaces/a b", #"{"upsert_rows":[{"id":1}]}"#, .badRequest),
            ]
            for (uri, body, status) in cases {
                try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: body)) { response in
                    XCTAssertEqual(response.status, status, "\(uri) \(body): \(String(buffer: response.body))")
                    XCTAssertEqual(try json(response.body)["status"], .string("error"))
                    XCTAssertNotNil(response.headers[HTTPField.Name("x-request-id")!])
                }
            }
        }
    }

    func testReadinessFollowsTheLifecycle() async throws {
        let lifecycle = ServerLifecycle()
        let router = FreshetServer.makeRouter(engine: Engine(storage: MemoryBackend()), configuration: ServerConfiguration(), lifecycle: lifecycle)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { XCTAssertEqual($0.status, .serviceUnavailable) }
            lifecycle.set(.ready)
            try await client.execute(uri: "/readyz", method: .get) { XCTAssertEqual($0.status, .ok) }
            lifecycle.set(.draining)
            try await client.execute(uri: "/readyz", method: .get) { response in
                XCTAssertEqual(response.status, .serviceUnavailable)
                XCTAssertEqual(try json(response.body)["status"], .string("draining"))
            }
            try await client.execute(uri: "/healthz", method: .get) { XCTAssertEqual($0.status, .ok) }
        }
    }

    func testCORSHeadersWhenConfigured() async throws {
        try await makeApp { $0.corsOrigins = ["https://app.example"] }.test(.router) { client in
            try await client.execute(uri: "/v1/namespaces", method: .get, headers: [.origin: "https://app.example"]) { response in
                XCTAssertEqual(response.headers[.accessControlAllowOrigin], "https://app.example")
            }
        }
    }

    func testOpenModeIsRefusedOffLoopback() {
        var configuration = ServerConfiguration()
        configuration.host = "0.0.0.0"
        XCTAssertThrowsError(try configuration.validate()) { XCTAssertTrue("\($0)".contains("without API keys")) }
        configuration.apiKeys = ["k"]
        XCTAssertNoThrow(try configuration.validate())
    }

    func testStorageURLs() throws {
        XCTAssertEqual(try StorageLocation.parse("memory://"), .memory)
        XCTAssertEqual(try StorageLocation.parse("rocksdb://./data?block_cache=1G"), .rocksdb(path: "./data", options: ["block_cache": "1G"]))
        XCTAssertThrowsError(try StorageLocation.parse("ftp://x")) { XCTAssertTrue("\($0)".contains("unknown storage URL")) }
    }
}

func json(_ buffer: ByteBuffer) throws -> JSONValue {
    try JSONParser.parse(Array(buffer.readableBytesView))
}
