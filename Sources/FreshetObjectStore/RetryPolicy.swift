import FreshetStorage

/// How requests to an object store are retried: exponential backoff with full
/// jitter, on throttling (429/503), server errors (500/502/504), timeouts and broken
/// connections.
///
/// Only idempotent requests are repeated blindly. A conditional put whose outcome is
/// unknown (a server error or a lost response after it was sent) is never repeated
/// here: the caller gets `.ambiguousOutcome` and resolves it by re-reading the object
/// (see `ConditionalPutResolution`).
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included. Default 6: with 50 ms base and full
    /// jitter the last wait averages 0.8 s, a few seconds of outage in total.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// Deadline of a single request, connection included. Default 30 s: a 64 MiB part
    /// at a slow 5 MB/s still fits.
    public var requestTimeout: Duration

    public init(maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(50), maxDelay: Duration = .seconds(5),
                requestTimeout: Duration = .seconds(30)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.requestTimeout = requestTimeout
    }

    /// The wait before retry number `attempt` (1 = first retry): uniform in
    /// [0, min(maxDelay, baseDelay · 2^(attempt-1))].
    public func delay(beforeRetry attempt: Int) -> Duration {
        let ceiling = min(maxDelay, baseDelay * (1 << min(attempt - 1, 20)))
        let nanos = Double(ceiling.components.seconds) * 1e9 + Double(ceiling.components.attoseconds) / 1e9
        return .nanoseconds(Int64(Double.random(in: 0...max(nanos, 0))))
    }
}

/// What a response or a transport failure means for a retry.
enum RequestOutcome {
    /// A definitive answer (success or a client error): return it.
    case final
    /// The request was not applied (throttled, refused): safe to repeat.
    case retry
    /// The request may or may not have been applied.
    case maybeApplied

    static func of(status: Int) -> RequestOutcome {
        switch status {
        case 429, 503: return .retry
        case 408, 500, 502, 504: return .maybeApplied
        default: return .final
        }
    }
}

/// Sends requests through a transport under a retry policy.
struct RequestRunner: Sendable {
    let transport: any HTTPTransport
    let policy: RetryPolicy
    let service: String

    /// Sends the request `build` makes (rebuilt, so re-signed, for every attempt).
    ///
    /// - Parameter idempotent: whether repeating an attempt that may have been applied
    ///   is harmless. When false, such an attempt ends the call with `.ambiguousOutcome`.
    /// - Returns: the first final response (any status the caller must interpret).
    func run(_ what: String, idempotent: Bool, build: () throws -> ObjectRequest) async throws -> ObjectResponse {
        var attempt = 0
        var lastProblem = ""
        while true {
            attempt += 1
            try Task.checkCancellation()
            let request = try build()
            let outcome: RequestOutcome
            do {
                let response = try await transport.send(request, timeout: policy.requestTimeout)
                let classified = RequestOutcome.of(status: response.status)
                if classified == .final { return response }
                outcome = classified
                lastProblem = "HTTP \(response.status) \(Self.errorCode(in: response) ?? "")"
            } catch let error as TransportError {
                outcome = error.sent ? .maybeApplied : .retry
                lastProblem = error.description
            }
            if outcome == .maybeApplied && !idempotent {
                throw StorageError(.ambiguousOutcome, "\(service) \(what): the outcome is unknown (\(lastProblem)); read the object to learn it")
            }
            if attempt >= policy.maxAttempts {
                throw StorageError(.unavailable, "\(service) \(what) failed after \(attempt) attempts; last: \(lastProblem)")
            }
            try await Task.sleep(for: policy.delay(beforeRetry: attempt))
        }
    }

    /// The `<Code>` of an S3/Azure XML error body, or GCS's JSON `reason`, if any.
    static func errorCode(in response: ObjectResponse) -> String? {
        let text = response.bodyText
        return text.between("<Code>", "</Code>") ?? text.between("\"reason\": \"", "\"") ?? text.between("\"reason\":\"", "\"")
    }

    /// A short description of an unexpected response for error messages.
    static func describe(_ response: ObjectResponse) -> String {
        let text = response.bodyText
        let snippet = text.count > 300 ? String(text.prefix(300)) + "…" : text
        return "HTTP \(response.status)\(snippet.isEmpty ? "" : ": \(snippet)")"
    }
}

extension String {
    /// The text between the first `start` and the next `end` after it.
    func between(_ start: String, _ end: String) -> String? {
        let bytes = Array(utf8), open = Array(start.utf8), close = Array(end.utf8)
        guard let first = Self.find(open, in: bytes, from: 0) else { return nil }
        let from = first + open.count
        guard let last = Self.find(close, in: bytes, from: from) else { return nil }
        return String(decoding: bytes[from..<last], as: UTF8.self)
    }

    static func find(_ pattern: [UInt8], in bytes: [UInt8], from: Int) -> Int? {
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
        var index = from
        while index + pattern.count <= bytes.count {
            if bytes[index] == pattern[0] && Array(bytes[index..<(index + pattern.count)]) == pattern { return index }
            index += 1
        }
        return nil
    }
}
