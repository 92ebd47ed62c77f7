import FreshetStorage
import Synchronization

/// Who wrote an object: the writer nonce of the put that made this version, and the
/// nonces of the versions it replaced by CAS, newest first (at most
/// `WriterStamp.chainLimit`). Both travel in the object's metadata.
public struct WriterStamp: Sendable, Equatable {
    public static let chainLimit = 8
    public var writer: String?
    public var chain: [String]

    public init(writer: String?, chain: [String] = []) {
        self.writer = writer
        self.chain = chain
    }

    /// Parses the comma-separated chain header.
    public init(writer: String?, chainHeader: String?) {
        self.writer = writer.flatMap { $0.isEmpty ? nil : $0 }
        self.chain = (chainHeader ?? "").split(separator: ",").map { String($0).trimmed(" ") }.filter { !$0.isEmpty }
    }

    /// The chain a CAS over this version carries: this version's writer, then its chain.
    public var successorChain: [String] { Array(((writer.map { [$0] } ?? []) + chain).prefix(Self.chainLimit)) }
}

/// Settles a conditional put whose outcome is unknown (a server error or a lost
/// response after the request was sent) by reading the object back.
///
/// Every put carries a random writer nonce; a CAS also carries the chain of writers it
/// replaced. If the object now carries our nonce, our put took effect. If our nonce is
/// in its chain, our put took effect and another writer has since built on it
/// (`superseded`). If the object is still in the state the condition required (absent
/// for create-only, at the expected version for CAS), our put did not happen and may
/// be sent again. A condition failure is reported only when it is provable: for
/// create-only, an object created by someone else (no chain); for CAS, a history that
/// runs back to the version we expected without passing through our write. Anything else stays
/// `unknown` — never a guessed failure that could make a caller repeat a write that
/// happened, never a guessed success.
public enum ConditionalPutResolution: Equatable, Sendable {
    case succeeded(ObjectVersion)
    case superseded
    case notApplied
    case conditionFailed
    case unknown

    /// - Parameters:
    ///   - current: the object's version and stamp now, nil when absent.
    ///   - expected: the stamp of the version a CAS expected, if this process read it.
    public static func resolve(condition: PutCondition, nonce: String, current: (version: ObjectVersion, stamp: WriterStamp)?,
                               expected: WriterStamp? = nil) -> ConditionalPutResolution {
        if let current {
            if current.stamp.writer == nonce { return .succeeded(current.version) }
            if current.stamp.chain.contains(nonce) { return .superseded }
        }
        switch condition {
        case .none:
            return .notApplied
        case .ifAbsent:
            guard let current else { return .notApplied }
            return current.stamp.chain.isEmpty ? .conditionFailed : .unknown
        case .ifVersion(let version):
            guard let current else { return .unknown }  // deleted since: by whom, after what?
            if current.version == version { return .notApplied }
            // The chain is the CAS history back from the current version. If the version
            // we expected is in it and we are not, its successor was someone else's write.
            if let writer = expected?.writer, current.stamp.chain.contains(writer) { return .conditionFailed }
            return .unknown
        }
    }

    /// The version reported for a put that took effect and was overwritten since: it
    /// matches no stored version, so a CAS against it fails and the caller re-reads.
    public static func supersededVersion(nonce: String) -> ObjectVersion { ObjectVersion("superseded:\(nonce)") }

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

/// The stamps of versions this process has read or written, so a CAS can name the
/// writer it replaces. Bounded: old entries fall out (a CAS then carries a shorter
/// chain, which only makes some lost responses `unknown` instead of settled).
final class WriterStamps: Sendable {
    private let cache = Mutex(LRUCache<String, WriterStamp>(budget: 1 << 20))

    func record(_ key: String, _ version: ObjectVersion, _ stamp: WriterStamp) {
        cache.withLock { $0.set(stamp, for: key + "\u{0}" + version.token, cost: 64 + key.utf8.count) }
    }

    func lookup(_ key: String, _ version: ObjectVersion) -> WriterStamp? {
        cache.withLock { $0.value(for: key + "\u{0}" + version.token) }
    }

    /// The chain a put under `condition` carries.
    func chain(for key: String, condition: PutCondition) -> [String] {
        guard case .ifVersion(let version) = condition, let stamp = lookup(key, version) else { return [] }
        return stamp.successorChain
    }
}

/// Turns a resolution into the put's result.
func settle(_ resolution: ConditionalPutResolution, key: String, nonce: String, service: String,
            conditionFailed: () -> StorageError) throws -> ObjectVersion? {
    switch resolution {
    case .succeeded(let version): return version
    case .superseded: return ConditionalPutResolution.supersededVersion(nonce: nonce)
    case .conditionFailed: throw conditionFailed()
    case .unknown:
        throw StorageError(.ambiguousOutcome, "\(service) put of \(key): the response was lost and the object has changed since; read it to learn whether this write took effect")
    case .notApplied: return nil
    }
}

/// What one attempt of a put came to.
enum PutOutcome: Sendable {
    case stored(ObjectVersion)
    case conditionFailed
    /// Not applied and safe to send again (a conflicting concurrent conditional write).
    case retry(String)
}

extension WriterStamps {
    /// Runs a put to its end the same way on every object store: one nonce for all
    /// attempts; an attempt whose outcome is unknown settled by reading the object back
    /// (`ConditionalPutResolution`); a retry only when the put provably did not apply.
    ///
    /// - Parameters:
    ///   - attempt: sends the put with this nonce and writer chain.
    ///   - readBack: the object's version and stamp now, nil when absent.
    func put(key: String, condition: PutCondition, service: String, retry: RetryPolicy,
             attempt: (_ nonce: String, _ chain: [String]) async throws -> PutOutcome,
             readBack: () async throws -> (version: ObjectVersion, stamp: WriterStamp)?,
             conditionFailed: () -> StorageError) async throws -> ObjectVersion {
        let nonce = ConditionalPutResolution.makeNonce()
        let chain = self.chain(for: key, condition: condition)
        var expected: WriterStamp? = nil
        if case .ifVersion(let version) = condition { expected = lookup(key, version) }
        var attempts = 0
        while true {
            attempts += 1
            let outcome: PutOutcome
            do {
                outcome = try await attempt(nonce, chain)
            } catch let error as StorageError where error.code == .ambiguousOutcome {
                let resolution = ConditionalPutResolution.resolve(condition: condition, nonce: nonce,
                                                                  current: try await readBack(), expected: expected)
                if let version = try settle(resolution, key: key, nonce: nonce, service: service, conditionFailed: conditionFailed) {
                    return version
                }
                outcome = .retry(error.message)
            }
            switch outcome {
            case .stored(let version):
                record(key, version, WriterStamp(writer: nonce, chain: chain))
                return version
            case .conditionFailed:
                throw conditionFailed()
            case .retry(let reason):
                if attempts >= retry.maxAttempts {
                    throw StorageError(.unavailable, "\(service) put of \(key) kept failing: \(reason)")
                }
                try await Task.sleep(for: retry.delay(beforeRetry: attempts))
            }
        }
    }
}

/// The operations of a batch that take effect: the last one on each key, in order.
func effectiveOperations(_ batch: [BatchOperation]) throws -> [BatchOperation] {
    for operation in batch { try StorageArguments.check(key: operation.key) }
    var last: [String: Int] = [:]
    for (index, operation) in batch.enumerated() { last[operation.key] = index }
    return batch.enumerated().filter { last[$0.element.key] == $0.offset }.map(\.element)
}
