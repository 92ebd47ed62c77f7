import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import FreshetEngine

/// A small async client for a Freshet (or turbopuffer-compatible) server, used by the
/// command line. Errors carry the server's status and message.
public struct FreshetClient: Sendable {
    public let baseURL: URL
    public let apiKey: String?
    let session: URLSession

    public init(baseURL: URL, apiKey: String? = nil, timeout: TimeInterval = 120) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: configuration)
    }

    public struct ServerError: Error, CustomStringConvertible {
        public var status: Int
        public var message: String
        public var description: String { "server answered \(status): \(message)" }
        /// Statuses the reference's clients retry.
        public var isRetryable: Bool { status == 408 || status == 409 || status == 429 || status >= 500 }
    }

    /// Sends a request and returns the parsed JSON body.
    public func send(_ method: String, _ path: String, query: [String: String] = [:], body: JSONValue? = nil) async throws -> JSONValue {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(JSONWriter.serialize(body))
        }
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let json = data.isEmpty ? JSONValue.null : ((try? JSONParser.parse([UInt8](data))) ?? .string(String(decoding: data, as: UTF8.self)))
        guard (200..<300).contains(status) else {
            throw ServerError(status: status, message: json["error"]?.stringValue ?? JSONWriter.string(json))
        }
        return json
    }

    /// Sends with retries on the statuses the reference's clients retry, backing off.
    public func sendRetrying(_ method: String, _ path: String, body: JSONValue? = nil, attempts: Int = 6) async throws -> JSONValue {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await send(method, path, body: body)
            } catch let error as ServerError where error.isRetryable && attempt < attempts {
                try await Task.sleep(for: .milliseconds(100 * (1 << attempt)))
            } catch let error as URLError where attempt < attempts {
                _ = error
                try await Task.sleep(for: .milliseconds(100 * (1 << attempt)))
            }
        }
    }

    public func write(namespace: String, _ body: JSONValue) async throws -> JSONValue {
        try await sendRetrying("POST", "v2/namespaces/\(namespace)", body: body)
    }

    public func query(namespace: String, _ body: JSONValue) async throws -> JSONValue {
        try await send("POST", "v2/namespaces/\(namespace)/query", body: body)
    }

    public func metadata(namespace: String) async throws -> JSONValue {
        try await send("GET", "v2/namespaces/\(namespace)/metadata")
    }

    public func deleteNamespace(_ namespace: String) async throws -> JSONValue {
        try await send("DELETE", "v2/namespaces/\(namespace)")
    }

    /// Every namespace id with `prefix`, following cursors.
    public func listNamespaces(prefix: String = "") async throws -> [String] {
        var names: [String] = []
        var cursor: String? = nil
        repeat {
            var query = ["page_size": "1000"]
            if !prefix.isEmpty { query["prefix"] = prefix }
            if let cursor { query["cursor"] = cursor }
            let page = try await send("GET", "v1/namespaces", query: query)
            names += page["namespaces"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            cursor = page["next_cursor"]?.stringValue
        } while cursor != nil
        return names
    }
}
