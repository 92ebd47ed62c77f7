/// What an object is, read off its key by the layout in docs/ARCHITECTURE.md
/// ("Storage layout of a namespace"). Storage classes, lifecycle rules and caches
/// decide by kind; the engine's key builders are tested to classify as documented.
public enum ObjectKind: String, Sendable, CaseIterable {
    /// `namespaces/<ns>/manifest` — swapped by CAS, never cacheable.
    case manifest
    /// `catalog/<ns>` — listing entries.
    case catalog
    /// `…/wal/<seq>` — create-only, deleted after folding; a slot can be reused after
    /// garbage collection, so its bytes are not immutable.
    case wal
    /// `…/snapshot/<seq>-<epoch>-<nonce>` — unique per attempt, immutable.
    case snapshot
    /// `…/folded/<seq>` — the folded entries' nonces.
    case folded
    /// `…/index/postings/<id>` — one SPFresh posting, ids never reused, immutable.
    case posting
    /// `…/index/checkpoints/<seq>-<nonce>` — the index's state, immutable.
    case checkpoint
    /// Anything else (tests, tools).
    case other

    public static func of(_ key: String) -> ObjectKind {
        if key.hasPrefix("catalog/") { return .catalog }
        guard key.hasPrefix("namespaces/") else { return .other }
        if key.hasSuffix("/manifest") { return .manifest }
        if key.contains("/index/postings/") { return .posting }
        if key.contains("/index/checkpoints/") { return .checkpoint }
        if key.contains("/snapshot/") { return .snapshot }
        if key.contains("/wal/") { return .wal }
        if key.contains("/folded/") { return .folded }
        return .other
    }

    /// Whether a key of this kind always names the same bytes while it exists, so a
    /// copy may be cached without asking the store again.
    public var isImmutable: Bool {
        switch self {
        case .snapshot, .posting, .checkpoint: return true
        case .manifest, .catalog, .wal, .folded, .other: return false
        }
    }
}
