import Synchronization

/// Wraps a backend and injects faults at the storage boundary, for tests of WAL
/// replay, recovery and retry logic.
///
/// Faults are scheduled by call number (1-based, counted per operation kind) or by
/// probability with a seeded generator, so a failing test replays exactly.
public final class FaultInjectingBackend: StorageBackend {
    public enum Operation: String, Sendable, CaseIterable {
        case get, rangedGet, getMany, list, put, delete, batch
    }

    public enum Fault: Sendable, Equatable {
        /// The call fails before reaching the backend.
        case fail
        /// The call reaches the backend and succeeds, then its response is lost: the
        /// caller sees `.ambiguousOutcome`.
        case loseResponse
    }

    private struct Scheduled: Sendable {
        var operation: Operation
        var callNumber: Int
        var fault: Fault
    }

    private struct State: Sendable {
        var counts: [Operation: Int] = [:]
        var scheduled: [Scheduled] = []
        var randomFaults: [Operation: (probability: Double, fault: Fault)] = [:]
        var rng: UInt64 = 0x9e37_79b9_7f4a_7c15
        var latency: Duration = .zero
        var injected = 0
    }

    public let base: any StorageBackend
    private let state = Mutex(State())

    public init(wrapping base: any StorageBackend, seed: UInt64 = 42) {
        self.base = base
        state.withLock { $0.rng = seed | 1 }
    }

    public var kind: BackendKind { .faultInjecting }
    public var capabilities: StorageCapabilities { base.capabilities }

    /// Makes the `callNumber`-th call (counting from the next one, 1-based) of `operation` fail.
    public func inject(_ fault: Fault, on operation: Operation, afterCalls: Int = 0) {
        state.withLock { state in
            let next = state.counts[operation, default: 0] + afterCalls + 1
            state.scheduled.append(Scheduled(operation: operation, callNumber: next, fault: fault))
        }
    }

    /// Makes each call of `operation` fail with `probability` (0 turns it off).
    public func injectRandomly(_ fault: Fault, on operation: Operation, probability: Double) {
        state.withLock { state in
            if probability <= 0 { state.randomFaults[operation] = nil } else { state.randomFaults[operation] = (probability, fault) }
        }
    }

    /// Adds `latency` before every call.
    public func setLatency(_ latency: Duration) { state.withLock { $0.latency = latency } }

    /// Removes every scheduled and random fault.
    public func clearFaults() {
        state.withLock { state in
            state.scheduled.removeAll()
            state.randomFaults.removeAll()
        }
    }

    /// How many faults have been injected so far.
    public var injectedCount: Int { state.withLock { $0.injected } }

    /// How many calls of `operation` have been made.
    public func calls(of operation: Operation) -> Int { state.withLock { $0.counts[operation, default: 0] } }

    private func decide(_ operation: Operation) -> (Fault?, Duration) {
        state.withLock { state in
            let number = state.counts[operation, default: 0] + 1
            state.counts[operation] = number
            var fault: Fault? = nil
            if let index = state.scheduled.firstIndex(where: { $0.operation == operation && $0.callNumber == number }) {
                fault = state.scheduled.remove(at: index).fault
            } else if let random = state.randomFaults[operation] {
                // xorshift64*: deterministic for a given seed and call order.
                state.rng ^= state.rng >> 12
                state.rng ^= state.rng << 25
                state.rng ^= state.rng >> 27
                let value = Double((state.rng &* 0x2545_f491_4f6c_dd1d) >> 11) / Double(1 << 53)
                if value < random.probability { fault = random.fault }
            }
            if fault != nil { state.injected += 1 }
            return (fault, state.latency)
        }
    }

    private func run<T>(_ operation: Operation, _ body: () async throws -> T) async throws -> T {
        let (fault, latency) = decide(operation)
        if latency > .zero { try await Task.sleep(for: latency) }
        switch fault {
        case .fail?:
            throw StorageError(.unavailable, "injected failure of \(operation.rawValue) call \(calls(of: operation))")
        case .loseResponse?:
            _ = try await body()
            throw StorageError(.ambiguousOutcome, "injected lost response of \(operation.rawValue) call \(calls(of: operation))")
        case nil:
            return try await body()
        }
    }

    public func get(_ key: String) async throws -> StoredObject? {
        try await run(.get) { try await base.get(key) }
    }

    public func get(_ key: String, range: Range<Int>) async throws -> StoredObject? {
        try await run(.rangedGet) { try await base.get(key, range: range) }
    }

    public func getMany(_ keys: [String]) async throws -> [StoredObject?] {
        try await run(.getMany) { try await base.getMany(keys) }
    }

    public func getManyVerifiedByCaller(_ keys: [String]) async throws -> [StoredObject?] {
        try await run(.getMany) { try await base.getManyVerifiedByCaller(keys) }
    }

    public func forgetCached(_ keys: [String]) async { await base.forgetCached(keys) }

    public func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try await run(.list) { try await base.list(prefix: prefix, startAfter: startAfter, limit: limit) }
    }

    public func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try await run(.put) { try await base.put(key, body, condition: condition) }
    }

    public func delete(_ key: String) async throws {
        try await run(.delete) { try await base.delete(key) }
    }

    public func write(batch: [BatchOperation]) async throws {
        try await run(.batch) { try await base.write(batch: batch) }
    }
}
