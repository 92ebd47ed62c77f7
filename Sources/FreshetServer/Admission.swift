import Synchronization

/// Per-namespace admission: at most `maxConcurrentQueries` queries run at once per
/// namespace (the reference's 16), up to `maxQueuedQueries` more wait, and anything
/// beyond is refused with 429 so clients back off and retry. Writes are admitted by
/// bytes in flight per namespace: a write that would push the total above
/// `maxPendingWriteBytes` gets 429 unless it sets `disable_backpressure`.
final class Admission: Sendable {
    struct Limits: Sendable {
        var maxConcurrentQueries = 16
        var maxQueuedQueries = 256
        var maxPendingWriteBytes = 1 << 30
    }

    private enum Decision { case run, wait, refuse }

    private struct Lane {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        var pendingWriteBytes = 0
    }

    let limits: Limits
    private let lanes = Mutex<[String: Lane]>([:])

    init(limits: Limits) { self.limits = limits }

    /// Runs `body` as one of the namespace's concurrent queries.
    func query<T>(_ namespace: String, _ body: () async throws -> T) async throws -> T {
        let decision: Decision = lanes.withLock { lanes in
            var lane = lanes[namespace, default: Lane()]
            defer { lanes[namespace] = lane }
            if lane.running < limits.maxConcurrentQueries {
                lane.running += 1
                return .run
            }
            return lane.waiting.count < limits.maxQueuedQueries ? .wait : .refuse
        }
        switch decision {
        case .refuse:
            var error = APIError(.tooManyRequests, "too many concurrent queries on namespace \(namespace) (limit \(limits.maxConcurrentQueries) running, \(limits.maxQueuedQueries) queued); retry with backoff")
            error.headers[.retryAfter] = "1"
            throw error
        case .wait:
            await withCheckedContinuation { continuation in
                let admitted: Bool = lanes.withLock { lanes in
                    var lane = lanes[namespace, default: Lane()]
                    defer { lanes[namespace] = lane }
                    if lane.running < limits.maxConcurrentQueries {
                        lane.running += 1
                        return true
                    }
                    lane.waiting.append(continuation)
                    return false
                }
                if admitted { continuation.resume() }
            }
        case .run:
            break
        }
        defer { releaseQuery(namespace) }
        return try await body()
    }

    private func releaseQuery(_ namespace: String) {
        let next: CheckedContinuation<Void, Never>? = lanes.withLock { lanes in
            guard var lane = lanes[namespace] else { return nil }
            defer { lanes[namespace] = lane.running == 0 && lane.waiting.isEmpty && lane.pendingWriteBytes == 0 ? nil : lane }
            if !lane.waiting.isEmpty { return lane.waiting.removeFirst() }  // hand the slot over
            lane.running -= 1
            return nil
        }
        next?.resume()
    }

    /// Runs `body` as a write of `bytes`, refusing it when the namespace has too much
    /// unacknowledged data in flight.
    func write<T>(_ namespace: String, bytes: Int, bypass: Bool, _ body: () async throws -> T) async throws -> T {
        let admitted: Bool = lanes.withLock { lanes in
            var lane = lanes[namespace, default: Lane()]
            if !bypass, lane.pendingWriteBytes > 0, lane.pendingWriteBytes + bytes > limits.maxPendingWriteBytes { return false }
            lane.pendingWriteBytes += bytes
            lanes[namespace] = lane
            return true
        }
        guard admitted else {
            var error = APIError(.tooManyRequests, "namespace \(namespace) has more than \(limits.maxPendingWriteBytes) bytes of writes in flight; retry with backoff, or set disable_backpressure")
            error.headers[.retryAfter] = "1"
            throw error
        }
        defer {
            lanes.withLock { lanes in
                guard var lane = lanes[namespace] else { return }
                lane.pendingWriteBytes -= bytes
                lanes[namespace] = lane.running == 0 && lane.waiting.isEmpty && lane.pendingWriteBytes == 0 ? nil : lane
            }
        }
        return try await body()
    }
}
