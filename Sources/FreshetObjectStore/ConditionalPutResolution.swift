import FreshetStorage

/// Settles a conditional put whose outcome is unknown (a server error or a lost
/// response after the request was sent) by reading the object back.
///
/// Every put carries a random writer nonce in the object's metadata. If the object
/// now carries our nonce, our put took effect: success, at the version read. If not,
/// and the object is still in the state the condition required (absent for
/// create-only, at the expected version for CAS), our put did not happen and may be
/// sent again. Otherwise someone else's write won: the condition failed. A lost
/// response therefore never turns a success into a reported failure, and a retry
/// never writes twice.
public enum ConditionalPutResolution: Equatable, Sendable {
    case succeeded(ObjectVersion)
    case notApplied
    case conditionFailed

    /// What the object's current state says about our put.
    /// - Parameter current: the object's version and writer nonce, nil when absent.
    public static func resolve(condition: PutCondition, nonce: String,
                               current: (version: ObjectVersion, nonce: String?)?) -> ConditionalPutResolution {
        if let current, current.nonce == nonce { return .succeeded(current.version) }
        switch condition {
        case .none:
            return .notApplied
        case .ifAbsent:
            return current == nil ? .notApplied : .conditionFailed
        case .ifVersion(let expected):
            return current?.version == expected ? .notApplied : .conditionFailed
        }
    }

    /// A fresh writer nonce: 128 random bits, hex.
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64, low = generator.next() as UInt64
        return hex16(high) + hex16(low)
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
