import Crypto

/// AWS credentials: an access key, its secret, and a session token for temporary ones.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Never prints the secret.
    public var description: String { "AWSCredentials(\(accessKeyID), secret: ***\(sessionToken == nil ? "" : ", session token: ***"))" }
}

/// AWS Signature Version 4 for S3 requests (header form, signed payload).
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The hex SHA-256 of an empty payload.
    public static let emptyPayloadHash = hexSHA256([])

    public static func hexSHA256(_ bytes: [UInt8]) -> String { hex(Array(SHA256.hash(data: bytes))) }

    /// Signs a request.
    ///
    /// - Parameters:
    ///   - method: the HTTP method.
    ///   - encodedPath: the path exactly as sent (each segment URI-encoded, `/` kept).
    ///   - query: the query parameters, unencoded.
    ///   - headers: the headers to sign besides those this adds; must include `host`.
    ///   - payloadHash: the hex SHA-256 of the body.
    ///   - time: the signing time.
    /// - Returns: every header to send (the given ones plus `x-amz-date`,
    ///   `x-amz-content-sha256`, a session token if any, and `authorization`) and the
    ///   encoded query string to put after `?`.
    public func sign(method: String, encodedPath: String, query: [(String, String)], headers: [(String, String)],
                     payloadHash: String, time: UTCTimestamp) -> (headers: [(name: String, value: String)], query: String) {
        var all = headers.map { (name: $0.0.lowercased(), value: $0.1) }
        all.append(("x-amz-date", time.iso8601Basic))
        all.append(("x-amz-content-sha256", payloadHash))
        if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }
        let canonicalQuery = URIEncoding.canonicalQuery(query)
        let (signedHeaders, canonicalHeaders) = Self.canonicalHeaders(all)
        let canonicalRequest = [method, encodedPath.isEmpty ? "/" : encodedPath, canonicalQuery,
                                canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        let scope = "\(time.dateStamp)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", time.iso8601Basic, scope,
                            Self.hexSHA256(Array(canonicalRequest.utf8))].joined(separator: "\n")
        let signature = Self.hex(hmac(key: signingKey(dateStamp: time.dateStamp), Array(stringToSign.utf8)))
        all.append(("authorization", "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"))
        return (all, canonicalQuery)
    }

    /// The derived key: HMAC chain over date, region, service and "aws4_request".
    func signingKey(dateStamp: String) -> [UInt8] {
        var key = hmac(key: Array("AWS4\(credentials.secretAccessKey)".utf8), Array(dateStamp.utf8))
        key = hmac(key: key, Array(region.utf8))
        key = hmac(key: key, Array(service.utf8))
        return hmac(key: key, Array("aws4_request".utf8))
    }

    /// Lower-cased names sorted, values trimmed with inner runs of spaces collapsed,
    /// repeated names joined by commas.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (signed: String, canonical: String) {
        var grouped: [String: [String]] = [:]
        for (name, value) in headers {
            let trimmed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            grouped[name.lowercased(), default: []].append(trimmed)
        }
        let names = grouped.keys.sorted()
        let canonical = names.map { "\($0):\(grouped[$0]!.joined(separator: ","))\n" }.joined()
        return (names.joined(separator: ";"), canonical)
    }

    func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
