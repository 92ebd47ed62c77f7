/// An error from a storage backend.
///
/// Codes are a struct over a private enum so new codes can be added without breaking
/// callers that switch on them. `isRetryable` tells the caller whether repeating the
/// same call may succeed (transient I/O) or not (a failed condition, a bad key).
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case conditionFailed, invalidArgument, unavailable, io, corrupt, ambiguousOutcome, closed
        }
        let base: Base
        /// A conditional put found the object present (create-only) or at another version (CAS).
        public static let conditionFailed = Code(base: .conditionFailed)
        /// The caller passed something the backend cannot accept (empty key, bad range).
        public static let invalidArgument = Code(base: .invalidArgument)
        /// The backend could not be reached or refused service for now; retry later.
        public static let unavailable = Code(base: .unavailable)
        /// The backend failed to read or write.
        public static let io = Code(base: .io)
        /// Stored bytes could not be decoded.
        public static let corrupt = Code(base: .corrupt)
        /// The call may or may not have taken effect (a response was lost); re-read to know.
        public static let ambiguousOutcome = Code(base: .ambiguousOutcome)
        /// The backend was closed.
        public static let closed = Code(base: .closed)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?
    public var file: String
    public var line: Int

    public init(
        _ code: Code, _ message: String, cause: (any Error & Sendable)? = nil,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    /// Whether repeating the same call can succeed.
    public var isRetryable: Bool {
        switch code.base {
        case .unavailable, .io, .ambiguousOutcome: return true
        case .conditionFailed, .invalidArgument, .corrupt, .closed: return false
        }
    }

    public var description: String {
        var text = "storage error (\(code)): \(message)"
        if let cause { text += " (cause: \(cause))" }
        return text
    }
}
