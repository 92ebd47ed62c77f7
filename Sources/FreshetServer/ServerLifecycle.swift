import Synchronization

/// Readiness of this node: starting → ready → draining. `/readyz` answers 200 only
/// while ready, so load balancers route here only then.
public final class ServerLifecycle: Sendable {
    public enum Phase: UInt8, Sendable {
        case starting = 0, ready = 1, draining = 2
    }
    private let phase = Atomic<UInt8>(Phase.starting.rawValue)

    public init() {}

    public var current: Phase { Phase(rawValue: phase.load(ordering: .acquiring))! }
    public func set(_ new: Phase) { phase.store(new.rawValue, ordering: .releasing) }
}
