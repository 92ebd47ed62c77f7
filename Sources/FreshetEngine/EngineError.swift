/// An error from the engine, classified so the server can pick an HTTP status without
/// knowing engine internals.
///
/// The message says what went wrong and what to do about it; it is shown to API users
/// as is for user errors.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Sendable {
            case invalidRequest, malformedRequest, namespaceNotFound, conflict, payloadTooLarge
            case unavailable, shuttingDown, timeout, internalError, corruptData, indexBuilding
        }
        let base: Base
        /// The request is well-formed but not acceptable (wrong dimension, duplicate id,
        /// unknown filter operator, type mismatch). HTTP 400.
        public static let invalidRequest = Code(base: .invalidRequest)
        /// The request body is not valid JSON or not the expected shape. HTTP 422.
        public static let malformedRequest = Code(base: .malformedRequest)
        /// The namespace does not exist. HTTP 404.
        public static let namespaceNotFound = Code(base: .namespaceNotFound)
        /// Concurrent writers kept winning the commit race; retry. HTTP 409.
        public static let conflict = Code(base: .conflict)
        /// The request exceeds a size limit. HTTP 413.
        public static let payloadTooLarge = Code(base: .payloadTooLarge)
        /// Storage is failing; retry later. HTTP 503.
        public static let unavailable = Code(base: .unavailable)
        /// The engine is shutting down and accepts no new work. HTTP 503.
        public static let shuttingDown = Code(base: .shuttingDown)
        /// The operation's deadline passed. HTTP 504.
        public static let timeout = Code(base: .timeout)
        /// A bug or an unexpected state. HTTP 500.
        public static let internalError = Code(base: .internalError)
        /// Stored data could not be decoded; never skipped silently. HTTP 500.
        public static let corruptData = Code(base: .corruptData)
        /// The query needs an index still being built after a schema change; retry
        /// shortly. HTTP 202, as the reference answers.
        public static let indexBuilding = Code(base: .indexBuilding)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    /// Whether the caller caused the error (and can fix it) rather than the service.
    public var isUserError: Bool {
        switch code.base {
        case .invalidRequest, .malformedRequest, .namespaceNotFound, .payloadTooLarge: return true
        case .conflict, .unavailable, .shuttingDown, .timeout, .internalError, .corruptData, .indexBuilding: return false
        }
    }

    public var description: String {
        var text = message
        if let cause, !isUserError { text += " (cause: \(cause))" }
        return text
    }

    static func invalid(_ message: String, file: String = #fileID, line: Int = #line) -> EngineError {
        EngineError(.invalidRequest, message, file: file, line: line)
    }

    static func malformed(_ message: String, file: String = #fileID, line: Int = #line) -> EngineError {
        EngineError(.malformedRequest, message, file: file, line: line)
    }
}
