import Crypto
import FreshetStorage

/// Azure Storage Shared Key authorization (Blob service, version 2009-09-19 and later).
public struct AzureSharedKeySigner: Sendable {
    public var account: String
    let key: [UInt8]

    /// - Parameter accountKey: the account key as the portal shows it (base64).
    public init(account: String, accountKey: String) throws {
        guard let decoded = decodeBase64(accountKey), !decoded.isEmpty else {
            throw StorageError(.invalidArgument, "the Azure account key is not base64; copy it from the storage account's Access keys")
        }
        self.account = account
        self.key = decoded
    }

    /// The string to sign: the verb, eleven standard headers (Content-Length empty when
    /// zero), the canonicalized `x-ms-` headers and the canonicalized resource.
    public func stringToSign(method: String, headers: [(String, String)], path: String, query: [(String, String)]) -> String {
        func header(_ name: String) -> String {
            headers.first { $0.0.lowercased() == name }?.1 ?? ""
        }
        var contentLength = header("content-length")
        if contentLength == "0" { contentLength = "" }
        let standard = [method, header("content-encoding"), header("content-language"), contentLength, header("content-md5"),
                        header("content-type"), header("date"), header("if-modified-since"), header("if-match"),
                        header("if-none-match"), header("if-unmodified-since"), header("range")]
        var msHeaders: [String: String] = [:]
        for (name, value) in headers where name.lowercased().hasPrefix("x-ms-") {
            let trimmed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            msHeaders[name.lowercased()] = trimmed
        }
        let canonicalHeaders = msHeaders.keys.sorted().map { "\($0):\(msHeaders[$0]!)\n" }.joined()
        var resource = "/\(account)\(path)"
        var parameters: [String: [String]] = [:]
        for (name, value) in query { parameters[name.lowercased(), default: []].append(value) }
        for name in parameters.keys.sorted() {
            resource += "\n\(name):\(parameters[name]!.sorted().joined(separator: ","))"
        }
        return standard.joined(separator: "\n") + "\n" + canonicalHeaders + resource
    }

    /// `SharedKey account:signature` for the request.
    public func authorization(method: String, headers: [(String, String)], path: String, query: [(String, String)]) -> String {
        let text = stringToSign(method: method, headers: headers, path: path, query: query)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: key))
        return "SharedKey \(account):\(base64(Array(mac)))"
    }
}

/// Decodes standard base64 (padding optional); nil on any other character.
func decodeBase64(_ text: String) -> [UInt8]? {
    var values: [UInt8] = []
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"), UInt8(ascii: "-"): values.append(62)
        case UInt8(ascii: "/"), UInt8(ascii: "_"): values.append(63)
        case UInt8(ascii: "="), UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
        default: return nil
        }
    }
    var out: [UInt8] = []
    var index = 0
    while index + 1 < values.count {
        let chunk = Array(values[index..<min(index + 4, values.count)])
        out.append(chunk[0] << 2 | chunk[1] >> 4)
        if chunk.count > 2 { out.append((chunk[1] & 0xF) << 4 | chunk[2] >> 2) }
        if chunk.count > 3 { out.append((chunk[2] & 0x3) << 6 | chunk[3]) }
        index += 4
    }
    return out
}
