import FreshetIndex
import FreshetStorage
import Logging
import Synchronization

extension DocumentID: IndexKey {
    public func write(to writer: inout BinaryWriter) { writer.documentID(self) }
    public static func read(from reader: inout BinaryReader) throws -> DocumentID { try reader.documentID() }
}

/// One WAL entry's effect on the vector index.
struct VectorChange: Sendable {
    var sequence: UInt64
    /// Each upserted vector with its document's attributes (for its summary signature).
    var upserts: [(id: DocumentID, vector: [Float], attributes: [String: AttributeValue])] = []
    var deletes: [DocumentID] = []

    init(_ entry: WALEntry) {
        sequence = entry.sequence
        for operation in entry.operations {
            switch operation {
            case .put(let document):
                if let vector = document.vector { upserts.append((document.id, vector, document.attributes)) } else { deletes.append(document.id) }
            case .delete(let id): deletes.append(id)
            }
        }
    }

    var touched: [DocumentID] { upserts.map(\.id) + deletes }
    var bytes: Int { upserts.reduce(0) { $0 + $1.vector.count * 4 + 16 } + deletes.count * 16 }
}

/// Keeps a namespace's SPFresh index in step with its WAL.
///
/// Committed entries queue here in sequence order; a background task folds them into
/// the index (appends and version-map deletes — LIRE's splits and merges run on the
/// index's own worker). `indexed` is the last sequence folded. A query takes the
/// index's hits for everything folded and searches exhaustively the documents touched
/// by entries the index has not folded (or folded after the query's state), so every
/// acknowledged write is searchable immediately and exactly once.
///
/// Crash safety: compaction asks for a checkpoint at or past its snapshot sequence
/// before it deletes WAL entries, so recovery loads the newest checkpoint and replays
/// the WAL after it; an index is built from the namespace state only when none exists.
final class VectorIndexer: Sendable {
    struct Progress: Sendable {
        var indexed: UInt64
        var ready = false
        var pending: [VectorChange] = []
        var pendingBytes = 0
        /// Recently folded entries' touched ids (newest last), for queries whose state
        /// is older than the index.
        var recent: [(sequence: UInt64, ids: [DocumentID])] = []
        var failure: String?
        var checkpointSequence: UInt64 = 0
    }

    static var recentLimit: Int { 4096 }
    /// Ids an indexed query searches exhaustively at most before it scans instead.
    static var maxTailIDs: Int { 50_000 }

    let index: SPFreshIndex<DocumentID>
    let metric: DistanceMetric
    let dimensions: Int
    /// Filters matching at most this many documents are answered exactly (see
    /// `EngineConfiguration.filteredExactLimit`).
    let filteredExactLimit: Int
    let logger: Logger
    private let progress: Mutex<Progress>
    /// What posting summaries cover: chosen when the index is built, read back from its
    /// checkpoints (empty until then, and for checkpoints written before summaries).
    private let coverage = Mutex(SummaryCoverage(attributes: []))
    private let wake: AsyncStream<Void>.Continuation
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Object ids this writer allocates start here (see `objectIDFloor(epoch:)`).
    let objectIDFloor: UInt64

    /// Posting and checkpoint ids are unique per writer epoch: the epoch in the high 24
    /// bits, a counter (2^40 objects per epoch) below.
    static func objectIDFloor(epoch: UInt64) -> UInt64 { (epoch & 0xFF_FFFF) << 40 }

    /// Whether an index built here chooses attributes for its posting summaries.
    let postingSummaries: Bool

    init(store: PostingStore, metric: DistanceMetric, configuration: SPFreshConfiguration, filteredExactLimit: Int,
         postingSummaries: Bool = true, startingAt sequence: UInt64, objectIDFloor: UInt64 = 0, logger: Logger) {
        self.postingSummaries = postingSummaries
        self.objectIDFloor = objectIDFloor
        self.filteredExactLimit = filteredExactLimit
        index = SPFreshIndex(dimensions: store.dimensions, store: store, configuration: configuration)
        self.metric = metric
        dimensions = store.dimensions
        self.logger = logger
        progress = Mutex(Progress(indexed: sequence))
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wake = continuation
        task.withLock { $0 = Task.detached { [weak self] in
            for await _ in stream {
                guard let self else { return }
                await self.foldPending()
            }
        } }
    }

    /// Normalises for cosine (the index measures squared L2 on unit vectors).
    func prepared(_ vector: [Float]) -> [Float] {
        guard metric == .cosineDistance else { return vector }
        let norm = DistanceMetric.squaredNorm(vector).squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }

    /// Queues a committed entry (called in sequence order by the namespace actor).
    func enqueue(_ change: VectorChange) {
        progress.withLock { progress in
            guard change.sequence > progress.indexed, change.sequence > (progress.pending.last?.sequence ?? 0) else { return }
            progress.pending.append(change)
            progress.pendingBytes += change.bytes
        }
        wake.yield()
    }

    /// Loads the newest checkpoint and replays the WAL after it (`changes(from, to)`),
    /// or — when there is none, or compaction has deleted entries it would need (older
    /// than `oldestReplayable`) — builds the index from `state`. Then folds the queue.
    func start(state: NamespaceState, oldestReplayable: UInt64, changes: @escaping @Sendable (UInt64, UInt64) async throws -> [VectorChange]) async {
        do {
            let latest = try await SPFreshIndex<DocumentID>.latestCheckpointKey(in: index.store)
            if let latest, let sequence = SPFreshIndex<DocumentID>.sequence(ofCheckpointKey: latest), sequence + 1 >= oldestReplayable {
                // Only the objects allocated after the checkpoint can be a crashed
                // writer's garbage: collect those (and older checkpoints), not a listing
                // of every posting.
                let loaded = try await index.load(checkpointKey: latest, collectGarbage: false)
                let stored = try SummaryCoverage(decoding: index.metadata)
                coverage.withLock { $0 = stored }
                try await index.collectOrphans()
                index.reserveObjectIDs(atLeast: objectIDFloor)
                if loaded < state.sequence {
                    for change in try await changes(loaded + 1, state.sequence) { apply(change) }
                }
                logger.info("vector index loaded from checkpoint", metadata: ["checkpoint_sequence": "\(loaded)", "replayed_to": "\(state.sequence)"])
            } else {
                try await index.collectGarbage()  // a stale checkpoint and its postings, if any
                index.reserveObjectIDs(atLeast: objectIDFloor)
                let chosen = postingSummaries ? SummaryCoverage(choosingFor: state) : SummaryCoverage(attributes: [])
                coverage.withLock { $0 = chosen }
                index.metadata = chosen.encoded
                var ids: [DocumentID] = []
                var rows: [Float] = []
                var signatures: [UInt64] = []
                if let arena = state.vectors {
                    for (id, document) in state.documents where arena.contains(id) {
                        ids.append(id)
                        rows += prepared(arena.vector(of: id)!)
                        signatures.append(chosen.signature(of: document.attributes))
                    }
                }
                if !ids.isEmpty { try await index.build(ids: ids, vectors: Matrix(dimensions: dimensions, values: rows), signatures: signatures) }
                logger.info("vector index built", metadata: ["vectors": "\(ids.count)", "sequence": "\(state.sequence)"])
            }
            index.startBackgroundWork()
            progress.withLock { progress in
                progress.indexed = max(progress.indexed, state.sequence)
                progress.pending.removeAll { $0.sequence <= progress.indexed }
                progress.pendingBytes = progress.pending.reduce(0) { $0 + $1.bytes }
                progress.ready = true
            }
            wake.yield()
        } catch {
            logger.error("vector index failed to start; queries stay exhaustive", metadata: ["error": "\(error)"])
            progress.withLock { $0.failure = "\(error)" }
        }
    }

    private func apply(_ change: VectorChange) {
        index.delete(change.deletes)
        let coverage = self.coverage.withLock { $0 }
        index.upsert(change.upserts.map { ($0.id, prepared($0.vector)) }, signatures: change.upserts.map { coverage.signature(of: $0.attributes) })
    }

    private func foldPending() async {
        while true {
            let batch: [VectorChange] = progress.withLock { progress in
                progress.ready ? Array(progress.pending.prefix(64)) : []
            }
            guard let last = batch.last else { return }
            for change in batch { apply(change) }
            progress.withLock { progress in
                progress.pending.removeFirst(batch.count)
                progress.pendingBytes -= batch.reduce(0) { $0 + $1.bytes }
                progress.indexed = last.sequence
                progress.recent += batch.map { ($0.sequence, $0.touched) }
                if progress.recent.count > Self.recentLimit { progress.recent.removeFirst(progress.recent.count - Self.recentLimit) }
            }
            await Task.yield()
        }
    }

    var isReady: Bool { progress.withLock { $0.ready } }

    /// Status for namespace metadata: unindexed bytes are the queued entries' vectors.
    var status: (ready: Bool, indexed: UInt64, unindexedBytes: Int, failure: String?) {
        progress.withLock { ($0.ready, $0.indexed, $0.pendingBytes, $0.failure) }
    }

    /// Ids touched by entries in (`low`, `high`], from the queue and the recent
    /// history; nil when the history no longer reaches back to `low`.
    func touched(after low: UInt64, through high: UInt64) -> Set<DocumentID>? {
        progress.withLock { progress in
            guard low < high else { return [] }
            if low < progress.indexed {
                // Entries (low, indexed] must still be in the history.
                guard let first = progress.recent.first, first.sequence <= low + 1 else { return nil }
            }
            var ids = Set<DocumentID>()
            for entry in progress.recent where entry.sequence > low && entry.sequence <= high { ids.formUnion(entry.ids) }
            for change in progress.pending where change.sequence > low && change.sequence <= high { ids.formUnion(change.touched) }
            return ids
        }
    }

    var indexedSequence: UInt64 { progress.withLock { $0.indexed } }

    /// An indexed search's rows and the tail it searched exhaustively.
    struct SearchOutcome: Sendable {
        var hits: [(id: DocumentID, distance: Float)]
        var exhaustiveCount: Int
        /// Postings passed over because their summaries rule the filter out.
        var postingsSkipped = 0
    }

    /// The attributes posting summaries cover (see `SummaryCoverage`).
    var summaryCoverage: SummaryCoverage { coverage.withLock { $0 } }

    /// The `k` nearest documents of `state` that pass the filter `plan`: the index's hits for
    /// everything it has folded, plus an exhaustive search of the documents touched by
    /// entries it has not folded (or folded past `state`). Distances are recomputed
    /// from `state`'s vectors with the namespace's metric, so they equal the exact
    /// path's. Nil when the index cannot answer for this state (the caller scans).
    func search(_ query: [Float], k: Int, state: NamespaceState, plan: FilterPlan,
                deadline: ContinuousClock.Instant? = nil) async throws -> SearchOutcome? {
        guard let arena = state.vectors, k > 0 else { return nil }
        let before = indexedSequence
        // Too much unfolded work (a burst of writes) makes the exact scan the cheaper answer.
        guard let early = touched(after: min(before, state.sequence), through: max(before, state.sequence)),
              early.count <= Self.maxTailIDs else { return nil }
        let documents = state.documents
        let accept: @Sendable (DocumentID) -> Bool = { id in
            guard let document = documents[id] else { return false }
            return plan.accepts(document)
        }
        // f16 and i8 postings rank by approximate distance: take more candidates (i8's
        // codes err more: three times k) and rerank them exactly below. By the coarsest
        // encoding scanned so far: postings keep theirs until rewritten.
        let extra = switch index.store.coarsestEncoding {
        case .f32: 0
        case .f16: k
        case .i8: 2 * k
        }
        let wanted = k + early.count + extra
        // Postings whose summaries rule the filter out are passed over for nearer ones that can match.
        let coverage = self.coverage.withLock { $0 }
        var postingFilter: (@Sendable (UInt64) -> Bool)?
        if let filter = plan.filter, let test = coverage.test(for: filter) {
            postingFilter = { summary in test.admits(summary) }
        }
        let result = try await index.search(prepared(query), k: wanted, deadline: deadline, accept: accept, postingFilter: postingFilter)
        let after = indexedSequence
        guard let excluded = touched(after: min(before, state.sequence), through: max(after, state.sequence)) else { return nil }
        let norm = DistanceMetric.squaredNorm(query)
        var merged: [(id: DocumentID, distance: Float)] = []
        for hit in result.hits where !excluded.contains(hit.id) {
            guard let vector = arena.vector(of: hit.id) else { continue }
            merged.append((hit.id, metric.distance(query: query, querySquaredNorm: norm, vector)))
        }
        let indexHits = merged.count
        var exhaustive = 0
        for id in excluded {
            guard let document = documents[id], let vector = arena.vector(of: id) else { continue }
            exhaustive += 1
            if !plan.accepts(document) { continue }
            merged.append((id, metric.distance(query: query, querySquaredNorm: norm, vector)))
        }
        // The index ran out of candidates (a narrow filter, a tiny namespace) while more
        // may exist: let the exact scan answer rather than return fewer than exist.
        if merged.count < k, result.hits.count < wanted || indexHits < result.hits.count { return nil }
        merged.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.id < $1.id }
        return SearchOutcome(hits: Array(merged.prefix(k)), exhaustiveCount: exhaustive, postingsSkipped: result.postingsSkipped)
    }

    /// Waits until everything through `sequence` is folded, then writes a checkpoint
    /// and deletes what older checkpoints alone needed. Returns the checkpoint's
    /// sequence (≥ `sequence`), or nil when the index is not ready or `timeout` passed.
    func checkpoint(atLeast sequence: UInt64, timeout: Duration) async throws -> UInt64? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (ready, indexed) = progress.withLock { ($0.ready, $0.indexed) }
            guard ready else { return nil }
            if indexed >= sequence {
                // Labelled with what was folded before the capture; the checkpoint may
                // hold a little more, and replaying an entry twice changes nothing.
                try await index.checkpointAndRelease(sequence: indexed)
                progress.withLock { $0.checkpointSequence = indexed }
                return indexed
            }
            if ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func stop() async {
        wake.finish()
        let running = task.withLock { task -> Task<Void, Never>? in defer { task = nil }; return task }
        running?.cancel()
        await running?.value
        await index.stopBackgroundWork()
    }
}
