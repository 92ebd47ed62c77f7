import FreshetEngine
import Hummingbird
import NIOCore

enum HTTP {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONWriter.serialize(value))))
    }

    /// Reads and parses a JSON body (already inflated by the compression middleware).
    static func body(_ request: Request, _ configuration: ServerConfiguration) async throws -> JSONValue {
        try await bodyWithSize(request, configuration).0
    }

    /// The parsed body and its size in bytes.
    static func bodyWithSize(_ request: Request, _ configuration: ServerConfiguration) async throws -> (JSONValue, Int) {
        var request = request
        // A compressed body was already inflated (within its own limit) by the middleware.
        let inflated = request.headers[.contentEncoding].map { $0.lowercased() != "identity" } ?? false
        let limit = inflated ? configuration.maxDecompressedBytes : configuration.maxBodyBytes
        let buffer = try await request.collectBody(upTo: limit)
        if buffer.readableBytes == 0 { throw APIError(.unprocessableContent, "the request needs a JSON body") }
        let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
        return (try JSONParser.parse(bytes), bytes.count)
    }

    /// Runs `body` with a deadline; the error names the operation and the limit.
    static func withTimeout<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw EngineError(.timeout, "\(what) did not finish within \(seconds) s; a write may still commit, so read before retrying it")
            }
            return value
        }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}
