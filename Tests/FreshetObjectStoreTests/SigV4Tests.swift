@testable import FreshetObjectStore
import XCTest

/// The signer against AWS's published SigV4 examples for S3 ("Examples: Signature
/// Calculations in AWS Signature Version 4"): same keys, same requests, same signatures.
final class SigV4Tests: XCTestCase {
    let signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    let time = UTCTimestamp(unixSeconds: 1_369_353_600)  // 2013-05-24T00:00:00Z

    func signature(_ headers: [(name: String, value: String)]) -> String {
        let authorization = headers.first { $0.name == "authorization" }!.value
        return String(authorization.split(separator: "=").last!)
    }

    func testTimestampFormats() {
        XCTAssertEqual(time.iso8601Basic, "20130524T000000Z")
        XCTAssertEqual(time.rfc1123, "Fri, 24 May 2013 00:00:00 GMT")
        XCTAssertEqual(UTCTimestamp(unixSeconds: 951_782_400).iso8601Basic, "20000229T000000Z")  // leap day
        XCTAssertEqual(UTCTimestamp(unixSeconds: 1_798_761_599).iso8601Basic, "20261231T235959Z")
    }

    func testGetObjectWithRange() {
        let signed = signer.sign(method: "GET", encodedPath: "/test.txt", query: [],
                                 headers: [("host", "examplebucket.s3.amazonaws.com"), ("range", "bytes=0-9")],
                                 payloadHash: SigV4Signer.emptyPayloadHash, time: time)
        XCTAssertEqual(signature(signed.headers), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        XCTAssertTrue(signed.headers.first { $0.name == "authorization" }!.value.contains(
            "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"))
    }

    func testPutObjectWithStorageClass() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let hash = SigV4Signer.hexSHA256(body)
        XCTAssertEqual(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let signed = signer.sign(method: "PUT", encodedPath: "/" + URIEncoding.encode("test$file.text", keepSlash: true), query: [],
                                 headers: [("host", "examplebucket.s3.amazonaws.com"), ("date", "Fri, 24 May 2013 00:00:00 GMT"),
                                           ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                                 payloadHash: hash, time: time)
        XCTAssertEqual(signature(signed.headers), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    func testGetBucketLifecycle() {
        let signed = signer.sign(method: "GET", encodedPath: "/", query: [("lifecycle", "")],
                                 headers: [("host", "examplebucket.s3.amazonaws.com")],
                                 payloadHash: SigV4Signer.emptyPayloadHash, time: time)
        XCTAssertEqual(signature(signed.headers), "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
        XCTAssertEqual(signed.query, "lifecycle=")
    }

    func testListObjects() {
        let signed = signer.sign(method: "GET", encodedPath: "/", query: [("prefix", "J"), ("max-keys", "2")],
                                 headers: [("host", "examplebucket.s3.amazonaws.com")],
                                 payloadHash: SigV4Signer.emptyPayloadHash, time: time)
        XCTAssertEqual(signature(signed.headers), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        XCTAssertEqual(signed.query, "max-keys=2&prefix=J")
    }

    func testSessionTokenIsSigned() {
        var withToken = signer
        withToken.credentials.sessionToken = "token/with+chars"
        let signed = withToken.sign(method: "GET", encodedPath: "/a", query: [], headers: [("host", "h")],
                                    payloadHash: SigV4Signer.emptyPayloadHash, time: time)
        XCTAssertEqual(signed.headers.first { $0.name == "x-amz-security-token" }?.value, "token/with+chars")
        XCTAssertTrue(signed.headers.first { $0.name == "authorization" }!.value.contains("x-amz-security-token"))
        XCTAssertFalse(String(describing: withToken.credentials).contains("wJalr"), "credentials must not print the secret")
    }

    func testURIEncoding() {
        XCTAssertEqual(URIEncoding.encode("a b/ä+~*", keepSlash: true), "a%20b/%C3%A4%2B~%2A")
        XCTAssertEqual(URIEncoding.encode("a/b"), "a%2Fb")
        XCTAssertEqual(URIEncoding.decode("a%20b/%C3%A4%2b"), "a b/ä+")
        XCTAssertEqual(URIEncoding.canonicalQuery([("b", "2"), ("a", "x y"), ("a", "1")]), "a=1&a=x%20y&b=2")
    }
}
