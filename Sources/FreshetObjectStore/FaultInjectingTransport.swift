import Synchronization

/// Wraps a transport and injects the failures object stores really produce — 503
/// SlowDown, timeouts, connection resets, a response lost after the request took
/// effect — plus a fixed latency per request (the benchmark's simulated distance).
///
/// Faults are drawn with a seeded generator so a failing test replays exactly.
public final class FaultInjectingTransport: HTTPTransport {
    public enum Fault: String, Sendable, CaseIterable {
        /// Answered 503 SlowDown without reaching the store.
        case slowDown
        /// Answered 500 InternalError after the request took effect.
        case internalErrorAfterApply
        /// The request never arrives; the caller waits out a timeout.
        case timeoutBeforeSend
        /// The connection is reset before the request is sent.
        case resetBeforeSend
        /// The request takes effect, then the connection drops before the response.
        case loseResponse
    }

    /// Which requests a fault may hit.
    public struct Target: Sendable {
        public var methods: Set<String>
        /// Only requests carrying a precondition header (If-Match / If-None-Match /
        /// ifGenerationMatch): the puts whose outcome must never be guessed.
        public var conditionalOnly: Bool
        public init(methods: Set<String> = ["GET", "PUT", "POST", "DELETE", "HEAD"], conditionalOnly: Bool = false) {
            self.methods = methods
            self.conditionalOnly = conditionalOnly
        }
    }

    private struct Rule: Sendable {
        var fault: Fault
        var probability: Double
        var target: Target
    }

    private struct State: Sendable {
        var rules: [Rule] = []
        var rng: UInt64
        var latency: Duration = .zero
        var injected: [Fault: Int] = [:]
        var requests = 0
    }

    public let base: any HTTPTransport
    private let state: Mutex<State>

    public init(wrapping base: any HTTPTransport, seed: UInt64 = 7) {
        self.base = base
        self.state = Mutex(State(rng: seed | 1))
    }

    /// Each matching request suffers `fault` with `probability`.
    public func inject(_ fault: Fault, probability: Double, target: Target = Target()) {
        state.withLock { $0.rules.append(Rule(fault: fault, probability: probability, target: target)) }
    }

    public func clearFaults() { state.withLock { $0.rules.removeAll() } }

    /// Adds `latency` before every request reaches the store.
    public func setLatency(_ latency: Duration) { state.withLock { $0.latency = latency } }

    /// How many of each fault were injected so far.
    public var injected: [Fault: Int] { state.withLock { $0.injected } }
    /// How many requests were sent through this transport (faulted or not).
    public var requestCount: Int { state.withLock { $0.requests } }

    public func send(_ request: ObjectRequest, timeout: Duration) async throws -> ObjectResponse {
        let conditional = request.header("if-match") != nil || request.header("if-none-match") != nil
            || request.url.contains("ifGenerationMatch=")
        let (fault, latency): (Fault?, Duration) = state.withLock { state in
            state.requests += 1
            var chosen: Fault? = nil
            for rule in state.rules where rule.target.methods.contains(request.method)
                && (!rule.target.conditionalOnly || conditional) {
                state.rng = state.rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let draw = Double(state.rng >> 11) / Double(1 << 53)
                if draw < rule.probability { chosen = rule.fault; break }
            }
            if let chosen { state.injected[chosen, default: 0] += 1 }
            return (chosen, state.latency)
        }
        if latency > .zero { try await Task.sleep(for: latency) }
        switch fault {
        case nil:
            return try await base.send(request, timeout: timeout)
        case .slowDown:
            let body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate (injected).</Message></Error>"
            return ObjectResponse(status: 503, headers: [("Retry-After", "0")], body: Array(body.utf8))
        case .internalErrorAfterApply:
            _ = try await base.send(request, timeout: timeout)
            let body = "<Error><Code>InternalError</Code><Message>We encountered an internal error (injected).</Message></Error>"
            return ObjectResponse(status: 500, body: Array(body.utf8))
        case .timeoutBeforeSend:
            throw TransportError(.timeout, sent: true, "\(request.method) \(request.url): injected timeout")
        case .resetBeforeSend:
            throw TransportError(.connectionLost, sent: true, "\(request.method) \(request.url): injected connection reset")
        case .loseResponse:
            _ = try await base.send(request, timeout: timeout)
            throw TransportError(.connectionLost, sent: true, "\(request.method) \(request.url): injected lost response")
        }
    }
}
