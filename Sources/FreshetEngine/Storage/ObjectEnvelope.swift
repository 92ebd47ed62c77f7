import FreshetStorage

/// The engine's object kinds inside the shared `ObjectFrame` (kinds 1–15 are the
/// engine's, 16–31 the index's). Damaged frames surface as `corruptData`.
enum ObjectEnvelope {
    enum Kind: UInt8 {
        case walEntry = 1
        case snapshot = 2
        case manifest = 3
        case catalogEntry = 4
        case foldedEntries = 5
        case textSegment = 6
    }

    static func seal(_ payload: [UInt8], kind: Kind) -> [UInt8] {
        ObjectFrame.seal(payload, kind: kind.rawValue)
    }

    /// Verifies the frame and returns the payload.
    static func open(_ bytes: [UInt8], kind: Kind, key: String) throws -> [UInt8] {
        do {
            return try ObjectFrame.open(bytes, kind: kind.rawValue, kindName: "\(kind)", key: key)
        } catch let error as StorageError {
            throw EngineError(.corruptData, error.message)
        }
    }
}
