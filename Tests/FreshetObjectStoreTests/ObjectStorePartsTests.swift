@testable import FreshetObjectStore
import FreshetStorage
import XCTest

/// The pure parts of the object-store backends, without I/O.
final class ObjectStorePartsTests: XCTestCase {
    func testXMLListingWithEntities() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
              <Contents><Key>a&amp;b &lt;c&gt; &#228;&#x65E5;</Key><Size>12</Size><ETag>&quot;abc&quot;</ETag></Contents>
              <Contents><Key>z</Key><Size>0</Size><ETag>"d"</ETag><Owner/></Contents>
              <!-- a comment --><IsTruncated>true</IsTruncated><![CDATA[ignored <text>]]>
            </ListBucketResult>
            """
        let root = try XMLElement.parse(Array(xml.utf8))
        XCTAssertEqual(root.name, "ListBucketResult")
        XCTAssertEqual(root.all("Contents").map { $0.value("Key") }, ["a&b <c> ä日", "z"])
        XCTAssertEqual(root.all("Contents").first?.value("ETag"), "\"abc\"")
        XCTAssertEqual(root.value("IsTruncated"), "true")
        XCTAssertThrowsError(try XMLElement.parse(Array("<a><b></a>".utf8)))
        XCTAssertThrowsError(try XMLElement.parse(Array("<a>".utf8)))
        XCTAssertThrowsError(try XMLElement.parse(Array("<a>&bogus;</a>".utf8)))
    }

    func testBase64() {
        XCTAssertEqual(base64([]), "")
        XCTAssertEqual(base64(Array("f".utf8)), "Zg==")
        XCTAssertEqual(base64(Array("fo".utf8)), "Zm8=")
        XCTAssertEqual(base64(Array("foobar".utf8)), "Zm9vYmFy")
    }

    func testMultipartMachineUploadsEveryPartThenCompletes() {
        var machine = MultipartUploadMachine(size: 25, partSize: 10, concurrency: 2)
        XCTAssertEqual(machine.partRanges, [0..<10, 10..<20, 20..<25])
        XCTAssertEqual(machine.start(), [.create])
        XCTAssertEqual(machine.handle(.created(uploadID: "u")), [.upload(part: 1, range: 0..<10), .upload(part: 2, range: 10..<20)])
        XCTAssertEqual(machine.handle(.uploaded(part: 2, etag: "e2")), [.upload(part: 3, range: 20..<25)])
        XCTAssertEqual(machine.handle(.uploaded(part: 3, etag: "e3")), [])
        XCTAssertEqual(machine.handle(.uploaded(part: 1, etag: "e1")), [.complete(uploadID: "u", parts: [
            .init(number: 1, etag: "e1"), .init(number: 2, etag: "e2"), .init(number: 3, etag: "e3")])])
        XCTAssertEqual(machine.handle(.completed(etag: "final")), [.succeed(etag: "final")])
    }

    func testMultipartMachineAbortsAfterInFlightPartsOnFailure() {
        var machine = MultipartUploadMachine(size: 40, partSize: 10, concurrency: 2)
        _ = machine.start()
        _ = machine.handle(.created(uploadID: "u"))
        XCTAssertEqual(machine.handle(.uploadFailed(part: 1, reason: "boom")), [], "waits for part 2 in flight; launches nothing new")
        XCTAssertEqual(machine.handle(.uploaded(part: 2, etag: "e2")), [.abort(uploadID: "u")])
        XCTAssertEqual(machine.handle(.aborted), [.fail(reason: "part 1 failed: boom")])
    }

    func testMultipartMachineReportsFailedCreateAndComplete() {
        var machine = MultipartUploadMachine(size: 5, partSize: 10, concurrency: 4)
        _ = machine.start()
        XCTAssertEqual(machine.handle(.createFailed(reason: "denied")), [.fail(reason: "starting the multipart upload failed: denied")])
        var second = MultipartUploadMachine(size: 5, partSize: 10, concurrency: 4)
        _ = second.start()
        XCTAssertEqual(second.handle(.created(uploadID: "u")), [.upload(part: 1, range: 0..<5)])
        XCTAssertEqual(second.handle(.uploaded(part: 1, etag: "e")), [.complete(uploadID: "u", parts: [.init(number: 1, etag: "e")])])
        XCTAssertEqual(second.handle(.completeFailed(reason: "412")), [.fail(reason: "completing the multipart upload failed: 412")])
    }

    func testConditionalPutResolution() {
        let mine = "n1", v1 = ObjectVersion("v1"), v2 = ObjectVersion("v2")
        typealias R = ConditionalPutResolution
        func at(_ version: ObjectVersion, _ writer: String, _ chain: [String] = []) -> (version: ObjectVersion, stamp: WriterStamp) {
            (version, WriterStamp(writer: writer, chain: chain))
        }
        // Ours: success at the version read.
        XCTAssertEqual(R.resolve(condition: .ifAbsent, nonce: mine, current: at(v1, mine)), .succeeded(v1))
        XCTAssertEqual(R.resolve(condition: .ifVersion(v1), nonce: mine, current: at(v2, mine)), .succeeded(v2))
        // Ours, then built on by someone else: success, superseded.
        XCTAssertEqual(R.resolve(condition: .ifVersion(v1), nonce: mine, current: at(v2, "b", [mine, "a"])), .superseded)
        // Still in the required state: ours never happened.
        XCTAssertEqual(R.resolve(condition: .ifAbsent, nonce: mine, current: nil), .notApplied)
        XCTAssertEqual(R.resolve(condition: .ifVersion(v1), nonce: mine, current: at(v1, "a")), .notApplied)
        // Provably lost: created by another writer; built on our expected version by another.
        XCTAssertEqual(R.resolve(condition: .ifAbsent, nonce: mine, current: at(v1, "other")), .conditionFailed)
        XCTAssertEqual(R.resolve(condition: .ifVersion(v1), nonce: mine, current: at(v2, "b", ["a"]),
                                 expected: WriterStamp(writer: "a")), .conditionFailed)
        // Not provable either way: unknown, never a guess.
        XCTAssertEqual(R.resolve(condition: .ifVersion(v1), nonce: mine, current: at(v2, "c", ["b", "a"]),
                                 expected: WriterStamp(writer: "a")), .conditionFailed, "two CAS writes since, neither ours")
        XCTAssertEqual(R.resolve(condition: .ifVersion(v1), nonce: mine, current: at(v2, "b", ["c"]),
                                 expected: WriterStamp(writer: "a")), .unknown)
        XCTAssertEqual(R.resolve(condition: .ifVersion(v1), nonce: mine, current: at(v2, "b")), .unknown)
        XCTAssertEqual(R.resolve(condition: .ifVersion(v1), nonce: mine, current: nil), .unknown)
        XCTAssertEqual(R.resolve(condition: .ifAbsent, nonce: mine, current: at(v2, "b", ["c"])), .unknown)
        XCTAssertNotEqual(R.makeNonce(), R.makeNonce())
        XCTAssertEqual(WriterStamp(writer: "a", chainHeader: "b, c,,").chain, ["b", "c"])
        XCTAssertEqual(WriterStamp(writer: "w", chain: (0..<10).map(String.init)).successorChain.count, WriterStamp.chainLimit)
    }

    func testCredentialChainOrder() throws {
        let files: [String: String] = [
            "/home/u/.aws/credentials": "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n\n[work]\naws_access_key_id=WORK\naws_secret_access_key=WS\naws_session_token=T\n",
            "/home/u/.aws/config": "# comment\n[default]\nregion = eu-west-1\n[profile cfg]\naws_access_key_id = CFG\naws_secret_access_key = CS\nregion=ap-south-1\n",
        ]
        let read: @Sendable (String) -> String? = { files[$0] }
        let fromEnv = AWSCredentialChain(environment: ["HOME": "/home/u", "AWS_ACCESS_KEY_ID": "ENV", "AWS_SECRET_ACCESS_KEY": "ES"], readFile: read)
        XCTAssertEqual(try fromEnv.credentials(), AWSCredentials(accessKeyID: "ENV", secretAccessKey: "ES"))
        XCTAssertEqual(fromEnv.region(), "eu-west-1")
        let fromFile = AWSCredentialChain(environment: ["HOME": "/home/u"], readFile: read)
        XCTAssertEqual(try fromFile.credentials(), AWSCredentials(accessKeyID: "FILEKEY", secretAccessKey: "FILESECRET"))
        let profile = AWSCredentialChain(environment: ["HOME": "/home/u", "AWS_PROFILE": "work", "AWS_REGION": "us-west-2"], readFile: read)
        XCTAssertEqual(try profile.credentials(), AWSCredentials(accessKeyID: "WORK", secretAccessKey: "WS", sessionToken: "T"))
        XCTAssertEqual(profile.region(), "us-west-2")
        let config = AWSCredentialChain(environment: ["HOME": "/home/u", "AWS_PROFILE": "cfg"], readFile: read)
        XCTAssertEqual(try config.credentials().accessKeyID, "CFG")
        XCTAssertEqual(config.region(), "ap-south-1")
        let none = AWSCredentialChain(environment: ["HOME": "/nowhere", "AWS_PROFILE": "x"], readFile: read)
        XCTAssertThrowsError(try none.credentials()) { error in
            XCTAssertTrue("\(error)".contains("AWS_ACCESS_KEY_ID"), "the error says what to set: \(error)")
        }
        let half = AWSCredentialChain(environment: ["AWS_ACCESS_KEY_ID": "K"], readFile: read)
        XCTAssertThrowsError(try half.credentials())
    }

    func testObjectKinds() {
        XCTAssertEqual(ObjectKind.of("namespaces/a/manifest"), .manifest)
        XCTAssertEqual(ObjectKind.of("catalog/a"), .catalog)
        XCTAssertEqual(ObjectKind.of("namespaces/a/00000000000000ab/wal/00000000000000000001"), .wal)
        XCTAssertEqual(ObjectKind.of("namespaces/a/00000000000000ab/index/postings/00000000000000ff"), .posting)
        XCTAssertEqual(ObjectKind.of("namespaces/a/00000000000000ab/index/checkpoints/1-2"), .checkpoint)
        XCTAssertEqual(ObjectKind.of("namespaces/a/00000000000000ab/snapshot/1-2-3"), .snapshot)
        XCTAssertTrue(ObjectKind.posting.isImmutable)
        XCTAssertFalse(ObjectKind.manifest.isImmutable)
        XCTAssertFalse(ObjectKind.wal.isImmutable)
    }

    func testConfigurationValidation() throws {
        let credentials = AWSCredentials(accessKeyID: "k", secretAccessKey: "s")
        XCTAssertThrowsError(try S3Configuration(bucket: "Bad_Bucket!", credentials: credentials))
        XCTAssertThrowsError(try S3Configuration(bucket: "ok-bucket", endpoint: "ftp://x", credentials: credentials))
        XCTAssertThrowsError(try S3Configuration(bucket: "ok-bucket", credentials: credentials, partSize: 1 << 20))
        let aws = try S3Configuration(bucket: "ok-bucket", prefix: "deploy", region: "eu-west-1", credentials: credentials)
        XCTAssertEqual(aws.endpoint, "https://s3.eu-west-1.amazonaws.com")
        XCTAssertEqual(aws.addressing, .virtualHost)
        XCTAssertEqual(aws.prefix, "deploy/")
        let custom = try S3Configuration(bucket: "ok-bucket", endpoint: "http://127.0.0.1:9000/", credentials: credentials)
        XCTAssertEqual(custom.addressing, .path)
        XCTAssertEqual(custom.endpoint, "http://127.0.0.1:9000")
    }

    func testVirtualHostRequestsNameTheBucketInTheHost() throws {
        let configuration = try S3Configuration(bucket: "my-bucket", prefix: "p", region: "us-east-1",
                                                credentials: AWSCredentials(accessKeyID: "k", secretAccessKey: "s"))
        let backend = S3Backend(configuration: configuration, transport: AsyncHTTPTransportPlaceholder())
        let request = backend.request("GET", key: "a b/c")
        XCTAssertEqual(request.url, "https://my-bucket.s3.us-east-1.amazonaws.com/p/a%20b/c")
        XCTAssertEqual(request.header("host"), "my-bucket.s3.us-east-1.amazonaws.com")
        var pathStyle = configuration
        pathStyle.addressing = .path
        let listing = S3Backend(configuration: pathStyle, transport: AsyncHTTPTransportPlaceholder())
            .request("GET", key: nil, query: [("list-type", "2"), ("prefix", "p/x y")])
        XCTAssertEqual(listing.url, "https://s3.us-east-1.amazonaws.com/my-bucket?list-type=2&prefix=p%2Fx%20y")
    }
}

/// A transport for tests that only build requests; sending is a test bug.
struct AsyncHTTPTransportPlaceholder: HTTPTransport {
    func send(_ request: ObjectRequest, timeout: Duration) async throws -> ObjectResponse {
        XCTFail("this test must not send requests")
        return ObjectResponse(status: 500)
    }
}
