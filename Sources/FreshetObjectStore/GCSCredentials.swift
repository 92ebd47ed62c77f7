import _CryptoExtras
import Crypto
import Foundation
import FreshetStorage

/// A Google service account key (the JSON file `GOOGLE_APPLICATION_CREDENTIALS` names).
public struct GCSServiceAccount: Sendable, Decodable {
    public var clientEmail: String
    public var privateKey: String
    public var tokenURI: String

    enum CodingKeys: String, CodingKey {
        case clientEmail = "client_email", privateKey = "private_key", tokenURI = "token_uri", type
    }

    public init(clientEmail: String, privateKey: String, tokenURI: String = "https://oauth2.googleapis.com/token") {
        self.clientEmail = clientEmail
        self.privateKey = privateKey
        self.tokenURI = tokenURI
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decodeIfPresent(String.self, forKey: .type)
        guard type == nil || type == "service_account" else {
            throw StorageError(.invalidArgument, "GCS credentials file has type \(type!); a service_account key is needed")
        }
        clientEmail = try container.decode(String.self, forKey: .clientEmail)
        privateKey = try container.decode(String.self, forKey: .privateKey)
        tokenURI = try container.decodeIfPresent(String.self, forKey: .tokenURI) ?? "https://oauth2.googleapis.com/token"
    }

    /// Reads a key file.
    public static func load(path: String) throws -> GCSServiceAccount {
        guard let text = AWSCredentialChain.readTextFile(path) else {
            throw StorageError(.invalidArgument, "cannot read the GCS service account key at \(path)")
        }
        do {
            return try JSONDecoder().decode(GCSServiceAccount.self, from: Data(text.utf8))
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.invalidArgument, "\(path) is not a service account key (client_email, private_key): \(error)")
        }
    }

    /// The signed JWT assertion (RS256) exchanged for an access token.
    public func assertion(scope: String, issuedAt: Int64, lifetime: Int64 = 3600) throws -> String {
        let key: _RSA.Signing.PrivateKey
        do { key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKey) } catch {
            throw StorageError(.invalidArgument, "the service account's private_key is not a PEM RSA key: \(error)")
        }
        let header = #"{"alg":"RS256","typ":"JWT"}"#
        let claims = """
            {"iss":\(jsonString(clientEmail)),"scope":\(jsonString(scope)),"aud":\(jsonString(tokenURI)),"iat":\(issuedAt),"exp":\(issuedAt + lifetime)}
            """
        let signingInput = base64URL(Array(header.utf8)) + "." + base64URL(Array(claims.utf8))
        let signature = try key.signature(for: Array(signingInput.utf8), padding: .insecurePKCS1v1_5)
        return signingInput + "." + base64URL(Array(signature.rawRepresentation))
    }
}

/// Where a GCS backend gets its bearer tokens.
public enum GCSAuthentication: Sendable {
    /// No Authorization header (emulators such as fake-gcs-server).
    case none
    /// A fixed token (tests, or a token minted elsewhere).
    case staticToken(String)
    /// OAuth 2 JWT-bearer flow with a service account key; tokens cached until a
    /// minute before they expire.
    case serviceAccount(GCSServiceAccount)
}

/// Mints and caches access tokens for `GCSAuthentication.serviceAccount`.
actor GCSTokenSource {
    static let scope = "https://www.googleapis.com/auth/devstorage.read_write"
    let authentication: GCSAuthentication
    let transport: any HTTPTransport
    let policy: RetryPolicy
    var cached: (token: String, expires: Int64)? = nil

    init(authentication: GCSAuthentication, transport: any HTTPTransport, policy: RetryPolicy) {
        self.authentication = authentication
        self.transport = transport
        self.policy = policy
    }

    func token() async throws -> String? {
        switch authentication {
        case .none: return nil
        case .staticToken(let token): return token
        case .serviceAccount(let account):
            let now = UTCTimestamp.now().unixSeconds
            if let cached, cached.expires - 60 > now { return cached.token }
            let assertion = try account.assertion(scope: Self.scope, issuedAt: now)
            let form = "grant_type=\(URIEncoding.encode("urn:ietf:params:oauth:grant-type:jwt-bearer"))&assertion=\(assertion)"
            let runner = RequestRunner(transport: transport, policy: policy, service: "GCS token endpoint")
            let response = try await runner.run("token exchange", idempotent: true) {
                ObjectRequest(method: "POST", url: account.tokenURI,
                              headers: [("content-type", "application/x-www-form-urlencoded")], body: Array(form.utf8))
            }
            struct TokenResponse: Decodable { var access_token: String; var expires_in: Int64? }
            guard response.status == 200, let parsed = try? JSONDecoder().decode(TokenResponse.self, from: Data(response.body)) else {
                throw StorageError(.io, "GCS token exchange for \(account.clientEmail) failed: \(RequestRunner.describe(response))")
            }
            cached = (parsed.access_token, now + (parsed.expires_in ?? 3600))
            return parsed.access_token
        }
    }
}

func base64URL(_ bytes: [UInt8]) -> String {
    var text = base64(bytes)
    while text.hasSuffix("=") { text.removeLast() }
    return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
}

func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
