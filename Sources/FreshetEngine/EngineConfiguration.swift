import FreshetIndex

/// Tuning of the namespace engine. Every default is documented with its reason.
public struct EngineConfiguration: Sendable {
    /// How many times a group commit retries after losing the WAL race to another
    /// writer before failing with `conflict`. Each retry re-reads the log, so a
    /// loser converges quickly; 32 covers heavy contention between a few writers.
    public var maxCommitConflicts = 32
    /// Attempts at one storage call that failed transiently (503, timeout, reset).
    public var storageAttempts = 6
    /// First backoff between storage attempts; doubles each time, with full jitter.
    public var storageBackoff: Duration = .milliseconds(20)
    /// Requests merged into one WAL entry at most. Bounds entry size and latency.
    public var maxRequestsPerCommit = 512
    /// Fold the WAL into a snapshot once this many entries accumulated…
    public var compactionMinEntries = 512
    /// …and they hold at least this many bytes, and at least half the last snapshot's
    /// size (so snapshot rewrites stay amortised linear in the data written).
    public var compactionMinBytes = 16 << 20

    /// A namespace gets an SPFresh index once it holds this many vectors; below it an
    /// exhaustive scan is as fast and exact.
    public var indexMinimumVectors = 2_000
    /// Parameters of each namespace's SPFresh index.
    public var index = SPFreshConfiguration()
    /// How postings store vectors: f16 halves what queries read and caches hold; the
    /// engine reranks every candidate with the exact distance from its own vectors.
    public var indexPostingEncoding = PostingEncoding.f16
    /// Enabling full-text search (or changing its options) on a namespace with more
    /// documents than this builds the index in the background; until it is ready,
    /// BM25 queries on the attribute are answered 202 ("retry"). Smaller builds
    /// happen as the schema change is applied.
    public var textInlineBuildLimit = 20_000
    /// Making an attribute filterable on a namespace with more documents than this
    /// builds its attribute index in the background; until it is ready its filters are
    /// evaluated per document (the answers are the same, only slower).
    public var attributeInlineBuildLimit = 100_000
    /// A filtered ANN query whose filter matches at most this many documents (counted
    /// exactly by the attribute indexes) computes their exact distances instead of
    /// probing the index: about as cheap as a probe below it, and exact (measured with
    /// `make bench-filter`, 200K × 128-d: ~0.2 µs a match against 0.5–0.9 ms for a filtered probe).
    public var filteredExactLimit = 4_000
    /// Whether a new vector index keeps posting summaries of its filterable attributes
    /// (see `SummaryCoverage`); off, every filtered probe reads the nearest postings
    /// whatever they hold. An index keeps what it was built with.
    public var postingSummaries = true
    /// Decoded postings each namespace's index keeps in memory.
    public var indexCacheBytes = 128 << 20
    /// The node's posting file cache, shared by every namespace's index: postings in
    /// local segment files that queries read by offset and scan in place (see
    /// `PostingFileCache`). Nil: postings are read through the storage backend.
    public var indexFileCache: PostingFileCache? = nil
    /// How long compaction waits for the index to fold up to its snapshot before it
    /// defers (the WAL the index still needs is then kept).
    public var indexCheckpointTimeout: Duration = .seconds(120)

    public init() {}
}
