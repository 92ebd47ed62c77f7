import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// One HTTP request to an object store, fully built and signed: the URL is already
/// percent-encoded exactly as it was signed.
public struct ObjectRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// An object store's answer: status, headers (names kept as sent) and the whole body.
public struct ObjectResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request got no response. `sent` tells whether the request may have reached
/// the server (and so may have taken effect).
public struct TransportError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// No connection could be made: the request never left.
        case connect
        /// The deadline passed before a response arrived.
        case timeout
        /// The connection broke (reset, closed) before the whole response arrived.
        case connectionLost
    }
    public var kind: Kind
    public var sent: Bool
    public var detail: String

    public init(_ kind: Kind, sent: Bool, _ detail: String) {
        self.kind = kind
        self.sent = sent
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue)\(sent ? " after the request was sent" : ""): \(detail)" }
}

/// Sends requests to an object store. Implementations are safe to share between tasks.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the complete response, or throws `TransportError`.
    func send(_ request: ObjectRequest, timeout: Duration) async throws -> ObjectResponse
}

/// The production transport: AsyncHTTPClient with a pooled connection per host.
public final class AsyncHTTPTransport: HTTPTransport {
    public let client: HTTPClient
    /// Responses larger than this are refused (the largest object plus headroom).
    public let maxResponseBytes: Int

    /// Creates a transport with its own client; call `shutdown()` when done.
    public init(maxResponseBytes: Int = 1 << 31, connectTimeout: Duration = .seconds(5)) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000
                                                     + connectTimeout.components.attoseconds / 1_000_000_000)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 128
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.maxResponseBytes = maxResponseBytes
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func send(_ request: ObjectRequest, timeout: Duration) async throws -> ObjectResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if !request.body.isEmpty || request.method == "PUT" || request.method == "POST" {
            outgoing.body = .bytes(ByteBuffer(bytes: request.body))
            outgoing.headers.replaceOrAdd(name: "content-length", value: String(request.body.count))
        }
        let nanoseconds = Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        var sent = false
        do {
            let response = try await client.execute(outgoing, timeout: .nanoseconds(nanoseconds))
            sent = true
            var buffer = try await response.body.collect(upTo: maxResponseBytes)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            return ObjectResponse(
                status: Int(response.status.code),
                headers: response.headers.map { (name: $0.name, value: $0.value) },
                body: bytes
            )
        } catch let error as HTTPClientError {
            switch error {
            case .connectTimeout:
                throw TransportError(.connect, sent: false, "connect to \(request.url) timed out")
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                throw TransportError(.timeout, sent: true, "\(request.method) \(request.url): no response within \(timeout)")
            default:
                throw TransportError(.connectionLost, sent: true, "\(request.method) \(request.url): \(error)")
            }
        } catch let error as TransportError {
            throw error
        } catch {
            if error is CancellationError { throw error }
            // Connection refused surfaces as an NIO channel error; a reset mid-response
            // as an I/O error. Only an error before the response began can be a refusal.
            let text = String(describing: error)
            let refused = !sent && (text.contains("refused") || String(describing: type(of: error)).contains("ConnectionError"))
            throw TransportError(refused ? .connect : .connectionLost, sent: !refused, "\(request.method) \(request.url): \(text)")
        }
    }
}
