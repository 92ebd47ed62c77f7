@testable import FreshetObjectStore
import FreshetStorage
import Synchronization
import XCTest

/// Azure Blob cannot run here (no emulator without npm), so the signer is checked
/// against Azure's documented string-to-sign examples and a signature computed
/// independently (Python's hmac), and the backend against recorded exchanges: the
/// requests it must send and the answers Azure documents for them.
final class AzureBackendTests: XCTestCase {
    static let key = "ZnJlc2hldCBhenVyZSBzaGFyZWQga2V5IHRlc3QgdmVjdG9yIDMyYg=="

    func testStringToSignFollowsTheDocumentedExamples() throws {
        let signer = try AzureSharedKeySigner(account: "myaccount", accountKey: Self.key)
        // "Authorize requests to Azure Storage (REST API)" tutorial, Get Container Metadata.
        let text = signer.stringToSign(
            method: "GET",
            headers: [("x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"), ("x-ms-version", "2015-02-21")],
            path: "/mycontainer", query: [("restype", "container"), ("comp", "metadata"), ("timeout", "20")])
        XCTAssertEqual(text, "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2015-02-21\n/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20")
        XCTAssertEqual(signer.authorization(method: "GET",
                                            headers: [("x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"), ("x-ms-version", "2015-02-21")],
                                            path: "/mycontainer", query: [("restype", "container"), ("comp", "metadata"), ("timeout", "20")]),
                       "SharedKey myaccount:IAIE6lOxuKQ+cV+iiXQWyFC3yvnUjq/6jCfDIVAQLlE=")
        // "Authorize with Shared Key", canonicalized resource: repeated parameters are
        // sorted and joined by commas; names lower-cased and sorted.
        let list = signer.stringToSign(method: "GET", headers: [], path: "/mycontainer",
                                       query: [("restype", "container"), ("comp", "list"), ("include", "snapshots"),
                                               ("include", "metadata"), ("include", "uncommittedblobs")])
        XCTAssertTrue(list.hasSuffix("\n/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\nrestype:container"), list)
        // Content-Length of zero signs as empty; x-ms- headers lower-cased, sorted, values trimmed.
        let put = signer.stringToSign(method: "PUT", headers: [("Content-Length", "0"), ("X-MS-Version", "2021-12-02"),
                                                               ("x-ms-date", "  Fri,  26 Jun 2015 23:39:12 GMT ")],
                                      path: "/c/b", query: [])
        XCTAssertEqual(put, "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2021-12-02\n/myaccount/c/b")
        XCTAssertThrowsError(try AzureSharedKeySigner(account: "myaccount", accountKey: "not base64!"))
    }

    func testConditionalPutSignsItsConditionAndNonce() throws {
        let signer = try AzureSharedKeySigner(account: "myaccount", accountKey: Self.key)
        let headers = [("content-length", "11"), ("content-type", "application/octet-stream"), ("if-none-match", "*"),
                       ("x-ms-blob-type", "BlockBlob"), ("x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"),
                       ("x-ms-meta-freshetwriter", "n1"), ("x-ms-version", "2021-12-02")]
        XCTAssertEqual(signer.authorization(method: "PUT", headers: headers, path: "/mycontainer/p/a%20b", query: []),
                       "SharedKey myaccount:wiKxMo8CKoTkzTdafoDPduQ7wYr/pDk0Qy8A4uSiM5w=")
    }

    func backend(_ transport: RecordedTransport, blockThreshold: Int = 64 << 20, blockSize: Int = 16 << 20) throws -> AzureBlobBackend {
        let configuration = try AzureConfiguration(
            account: "myaccount", container: "mycontainer", prefix: "deploy",
            authentication: .sharedKey(try AzureSharedKeySigner(account: "myaccount", accountKey: Self.key)),
            blockThreshold: blockThreshold, blockSize: blockSize,
            retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2)))
        return AzureBlobBackend(configuration: configuration, transport: transport)
    }

    func testPutGetDeleteRequests() async throws {
        let transport = RecordedTransport { request in
            switch request.method {
            case "PUT": return ObjectResponse(status: 201, headers: [("ETag", "\"0x8D1\"")])
            case "GET": return ObjectResponse(status: 206, headers: [("ETag", "\"0x8D1\""), ("Content-Range", "bytes 1-2/5")], body: [2, 3])
            case "DELETE": return ObjectResponse(status: 202)
            default: return ObjectResponse(status: 500)
            }
        }
        let store = try backend(transport)
        let version = try await store.put("p/a b", [1, 2, 3, 4, 5], condition: .ifAbsent)
        XCTAssertEqual(version, ObjectVersion("\"0x8D1\""))
        let read = try await store.get("p/a b", range: 1..<3)
        XCTAssertEqual(read, StoredObject(body: [2, 3], version: version, size: 5))
        try await store.delete("p/a b")
        let requests = transport.requests
        XCTAssertEqual(requests.map(\.method), ["PUT", "GET", "DELETE"])
        XCTAssertEqual(requests[0].url, "https://myaccount.blob.core.windows.net/mycontainer/deploy/p/a%20b")
        XCTAssertEqual(requests[0].header("if-none-match"), "*")
        XCTAssertEqual(requests[0].header("x-ms-blob-type"), "BlockBlob")
        XCTAssertNotNil(requests[0].header("x-ms-meta-freshetwriter"))
        XCTAssertEqual(requests[1].header("x-ms-range"), "bytes=1-2")
        // The authorization verifies against the request as sent.
        let signer = try AzureSharedKeySigner(account: "myaccount", accountKey: Self.key)
        for request in requests {
            let signed = request.headers.filter { $0.name != "authorization" }.map { ($0.name, $0.value) }
            XCTAssertEqual(request.header("authorization"),
                           signer.authorization(method: request.method, headers: signed,
                                                path: "/mycontainer/deploy/p/a%20b", query: []))
        }
    }

    func testConditionFailuresAndLostResponses() async throws {
        let state = Mutex<(nonce: String?, calls: Int)>((nil, 0))
        let transport = RecordedTransport { request in
            state.withLock { $0.calls += 1 }
            if request.method == "PUT" && request.url.hasSuffix("/taken") {
                return ObjectResponse(status: 409, body: Array("<Error><Code>BlobAlreadyExists</Code></Error>".utf8))
            }
            if request.method == "PUT" && request.url.hasSuffix("/stale") {
                return ObjectResponse(status: 412, body: Array("<Error><Code>ConditionNotMet</Code></Error>".utf8))
            }
            if request.method == "PUT" {
                // The blob is written, then the connection drops.
                state.withLock { $0.nonce = request.header("x-ms-meta-freshetwriter") }
                throw TransportError(.connectionLost, sent: true, "recorded: connection reset after the request")
            }
            if request.method == "HEAD" {
                let nonce = state.withLock { $0.nonce }
                return ObjectResponse(status: 200, headers: [("ETag", "\"0x9\""), ("Content-Length", "1"),
                                                             ("x-ms-meta-freshetwriter", nonce ?? "")])
            }
            return ObjectResponse(status: 500)
        }
        let store = try backend(transport)
        do {
            _ = try await store.put("taken", [1], condition: .ifAbsent)
            XCTFail("409 BlobAlreadyExists must fail the create-only put")
        } catch let error as StorageError { XCTAssertEqual(error.code, .conditionFailed) }
        do {
            _ = try await store.put("stale", [1], condition: .ifVersion(ObjectVersion("\"0x1\"")))
            XCTFail("412 must fail the CAS")
        } catch let error as StorageError { XCTAssertEqual(error.code, .conditionFailed) }
        let version = try await store.put("lost", [1], condition: .ifAbsent)
        XCTAssertEqual(version, ObjectVersion("\"0x9\""), "the lost response is settled by the blob's nonce")
        XCTAssertEqual(transport.requests.suffix(2).map(\.method), ["PUT", "HEAD"], "no blind retry of the conditional put")
    }

    func testListingFollowsMarkersAndStartAfter() async throws {
        @Sendable func page(_ names: [String], next: String?) -> ObjectResponse {
            let blobs = names.map { "<Blob><Name>deploy/\($0)</Name><Properties><Content-Length>1</Content-Length><Etag>e</Etag></Properties></Blob>" }.joined()
            return ObjectResponse(status: 200, body: Array("<?xml version=\"1.0\"?><EnumerationResults><Blobs>\(blobs)</Blobs><NextMarker>\(next ?? "")</NextMarker></EnumerationResults>".utf8))
        }
        let transport = RecordedTransport { request in
            if request.url.contains("marker=M2") { return page(["k/4"], next: nil) }
            return page(["k/1", "k/2"], next: "M2")
        }
        let store = try backend(transport)
        var seen: [String] = []
        var cursor: String? = nil
        repeat {
            let listed = try await store.list(prefix: "k/", startAfter: cursor, limit: 2)
            seen += listed.objects.map(\.key)
            cursor = listed.nextCursor
        } while cursor != nil
        XCTAssertEqual(seen, ["k/1", "k/2", "k/4"])
        let after = try await store.list(prefix: "k/", startAfter: "k/1", limit: 10)
        XCTAssertEqual(after.objects.map(\.key), ["k/2", "k/4"])
        XCTAssertNil(after.nextCursor)
        XCTAssertTrue(transport.requests.allSatisfy { $0.url.contains("restype=container") && $0.url.contains("comp=list")
            && $0.url.contains("prefix=deploy%2Fk%2F") })
    }

    func testLargeBodiesGoUpAsBlocksWithTheConditionOnTheList() async throws {
        let transport = RecordedTransport { request in
            if request.url.contains("comp=block&") || request.url.hasSuffix("comp=block") || request.url.contains("comp=block&blockid") {
                return ObjectResponse(status: 201)
            }
            if request.url.contains("comp=blocklist") { return ObjectResponse(status: 201, headers: [("ETag", "\"0xB\"")]) }
            return ObjectResponse(status: 500)
        }
        let store = try backend(transport, blockThreshold: 8, blockSize: 4)
        let version = try await store.put("big", Array(0..<10), condition: .ifAbsent)
        XCTAssertEqual(version, ObjectVersion("\"0xB\""))
        let blocks = transport.requests.filter { $0.url.contains("blockid=") }
        XCTAssertEqual(blocks.count, 3)
        XCTAssertEqual(blocks.map { $0.body.count }.sorted(), [2, 4, 4])
        let list = transport.requests.last!
        XCTAssertTrue(list.url.contains("comp=blocklist"))
        XCTAssertEqual(list.header("if-none-match"), "*")
        XCTAssertNotNil(list.header("x-ms-meta-freshetwriter"))
        XCTAssertEqual(String(decoding: list.body, as: UTF8.self).components(separatedBy: "<Latest>").count - 1, 3)
    }
}

/// Answers requests with a recorded exchange and keeps every request it saw.
final class RecordedTransport: HTTPTransport {
    let answer: @Sendable (ObjectRequest) throws -> ObjectResponse
    private let log = Mutex<[ObjectRequest]>([])

    init(_ answer: @escaping @Sendable (ObjectRequest) throws -> ObjectResponse) { self.answer = answer }

    var requests: [ObjectRequest] { log.withLock { $0 } }

    func send(_ request: ObjectRequest, timeout: Duration) async throws -> ObjectResponse {
        log.withLock { $0.append(request) }
        return try answer(request)
    }
}
