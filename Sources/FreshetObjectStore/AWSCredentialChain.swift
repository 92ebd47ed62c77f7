import FreshetStorage

/// Finds AWS credentials and region the way the AWS CLI and SDKs do, minus the
/// network sources (instance metadata, SSO): first the environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then the shared
/// credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`),
/// then the shared config file (`AWS_CONFIG_FILE`, default `~/.aws/config`), for the
/// profile `AWS_PROFILE` (default `default`). The region comes from `AWS_REGION`,
/// `AWS_DEFAULT_REGION`, then the profile's `region` in the config file.
public struct AWSCredentialChain: Sendable {
    public var environment: [String: String]
    /// Reads a whole file, nil when absent (injectable for tests).
    public var readFile: @Sendable (String) -> String?

    public init(environment: [String: String], readFile: @escaping @Sendable (String) -> String? = AWSCredentialChain.readTextFile) {
        self.environment = environment
        self.readFile = readFile
    }

    public var profile: String { environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default" }

    private var home: String { environment["HOME"] ?? "/root" }

    /// The credentials, or an error that names every place looked in.
    public func credentials() throws -> AWSCredentials {
        if let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty {
            guard let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
                throw StorageError(.invalidArgument, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both")
            }
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret,
                                  sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        }
        let credentialsPath = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials"
        let configPath = environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config"
        for (path, section) in [(credentialsPath, profile), (configPath, profile == "default" ? "default" : "profile \(profile)")] {
            guard let text = readFile(path), let values = Self.parseINI(text)[section] else { continue }
            if let key = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] {
                return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: values["aws_session_token"])
            }
        }
        throw StorageError(.invalidArgument, """
            no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add profile \
            '\(profile)' with aws_access_key_id and aws_secret_access_key to \(credentialsPath) or \(configPath)
            """)
    }

    /// The region from the environment or the profile's config, if any.
    public func region() -> String? {
        for name in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let value = environment[name], !value.isEmpty { return value }
        }
        let configPath = environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config"
        let section = profile == "default" ? "default" : "profile \(profile)"
        return readFile(configPath).flatMap { Self.parseINI($0)[section]?["region"] }
    }

    /// `[section]` headers and `key = value` lines; `#`/`;` comments; names lower-cased.
    static func parseINI(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String? = nil
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmed(" \t\r")
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                let name = String(line.dropFirst().dropLast()).trimmed(" \t")
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let section = current, let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals]).trimmed(" \t").lowercased()
            let value = String(line[line.index(after: equals)...]).trimmed(" \t")
            sections[section]?[key] = value
        }
        return sections
    }

    @Sendable public static func readTextFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension StringProtocol {
    func trimmed(_ set: String) -> String {
        let characters = Set(set)
        var start = startIndex, end = endIndex
        while start < end, characters.contains(self[start]) { start = index(after: start) }
        while end > start, characters.contains(self[index(before: end)]) { end = index(before: end) }
        return String(self[start..<end])
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
