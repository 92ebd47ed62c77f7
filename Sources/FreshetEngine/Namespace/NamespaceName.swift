/// A validated namespace id: `name`, or `provider:region:zone:name` for a placed
/// namespace (multi-region placement is routed by a later layer; the engine keeps the
/// full id so two placements of one name never share storage).
public struct NamespaceName: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let id: String
    public let name: String
    /// `provider`, `region`, `zone` when the id carries a placement.
    public let placement: (provider: String, region: String, zone: String)?

    public static let maxLength = 128

    public init(_ id: String) throws {
        let parts = id.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1:
            placement = nil
        case 4:
            for (label, part) in zip(["provider", "region", "zone"], parts.prefix(3)) {
                guard !part.isEmpty, part.utf8.allSatisfy(Self.isPlacementByte) else {
                    throw EngineError.invalid("namespace id \"\(id)\": the \(label) part must be non-empty lowercase letters, digits or '-'")
                }
            }
            placement = (parts[0], parts[1], parts[2])
        default:
            throw EngineError.invalid("namespace id \"\(id)\" must be a name or provider:region:zone:name")
        }
        let name = parts.last!
        if name.isEmpty || name.utf8.count > Self.maxLength {
            throw EngineError.invalid("namespace name must be 1 to \(Self.maxLength) characters of A-Z a-z 0-9 - _ . (got \(name.utf8.count) characters)")
        }
        if let bad = name.unicodeScalars.first(where: { !Self.isNameScalar($0) }) {
            throw EngineError.invalid("namespace name \"\(name.prefix(64))\" contains \"\(bad)\"; use only A-Z a-z 0-9 - _ .")
        }
        if name.allSatisfy({ $0 == "." }) {
            throw EngineError.invalid("namespace name \"\(name)\" is reserved; a name must contain a character other than '.'")
        }
        self.id = id
        self.name = name
    }

    public var description: String { id }

    public static func == (lhs: NamespaceName, rhs: NamespaceName) -> Bool { lhs.id == rhs.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
    public static func < (lhs: NamespaceName, rhs: NamespaceName) -> Bool { lhs.id.utf8.lexicographicallyPrecedes(rhs.id.utf8) }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": return true
        default: return false
        }
    }

    private static func isPlacementByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
    }
}

/// Where a namespace's objects live. Namespace ids are validated, so they are safe as
/// object-key segments; they are never used as file paths.
///
/// Everything but the manifest lives under the namespace's incarnation, so objects of
/// a deleted namespace (or a stale writer of one) can never be read, overwritten or
/// deleted by the next namespace of the same name.
struct NamespaceKeys: Sendable {
    let prefix: String
    init(_ namespace: NamespaceName) { prefix = "namespaces/\(namespace.id)/" }

    var manifest: String { prefix + "manifest" }
    func data(_ incarnation: UInt64) -> IncarnationKeys { IncarnationKeys(prefix: prefix + Self.hex(incarnation) + "/") }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    static let catalogPrefix = "catalog/"
    static func catalog(_ namespace: NamespaceName) -> String { catalogPrefix + namespace.id }

    /// Zero-padded to 20 digits so keys sort in sequence order.
    static func pad(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: 20 - digits.count) + digits
    }
}

/// The objects of one incarnation of a namespace.
struct IncarnationKeys: Sendable {
    let prefix: String
    var walPrefix: String { prefix + "wal/" }
    var snapshotPrefix: String { prefix + "snapshot/" }
    var foldedPrefix: String { prefix + "folded/" }
    func wal(_ sequence: UInt64) -> String { walPrefix + NamespaceKeys.pad(sequence) }
    /// Unique per attempt (sequence, epoch, nonce), written create-only: two compactors
    /// never share a snapshot key, so neither can delete the other's.
    func snapshot(_ sequence: UInt64, epoch: UInt64, nonce: UInt64) -> String {
        snapshotPrefix + NamespaceKeys.pad(sequence) + "-" + NamespaceKeys.hex(epoch) + "-" + NamespaceKeys.hex(nonce)
    }
    /// The (sequence, nonce) pairs one compaction folded, ending at `sequence`.
    func folded(_ sequence: UInt64) -> String { foldedPrefix + NamespaceKeys.pad(sequence) }
    var textPrefix: String { prefix + "text/" }
    /// An immutable full-text segment, unique per write.
    func textSegment(_ nonce: UInt64) -> String { textPrefix + NamespaceKeys.hex(nonce) }
}
