import CFreshetKernels
import Dispatch
import FreshetStorage
import Synchronization

/// An id the index can persist in its checkpoints.
public protocol IndexKey: Hashable, Sendable {
    func write(to writer: inout BinaryWriter)
    static func read(from reader: inout BinaryReader) throws -> Self
}

extension UInt64: IndexKey {
    public func write(to writer: inout BinaryWriter) { writer.u64(self) }
    public static func read(from reader: inout BinaryReader) throws -> UInt64 { try reader.u64() }
}

extension Int: IndexKey {
    public func write(to writer: inout BinaryWriter) { writer.i64(Int64(self)) }
    public static func read(from reader: inout BinaryReader) throws -> Int { Int(try reader.i64()) }
}

/// Parameters of the SPFresh index. Defaults follow SPANN/SPFresh's reference
/// implementation (see reference/spfresh.md) unless noted.
public struct SPFreshConfiguration: Sendable, Equatable {
    /// Fraction of points that become heads at build (SPANN: 10–20%).
    public var headFraction = 0.1
    /// Postings a vector is written to at most (RNG rule), ReplicaCount.
    public var replicaCount = 8
    /// RNG rule factor: skip head c when an accepted head s has `factor·D(c,s) < D(x,c)`.
    public var rngFactor: Float = 1.0
    /// Replica closure (SPANN's posting expansion, 1 + ε): a vector's further copies go
    /// only to heads within this factor of its nearest head's squared distance. Infinite
    /// (the reference implementation's behaviour) lets the RNG rule alone decide; values
    /// below 1 (or NaN) act as 1.
    public var replicaClosure: Float = .infinity
    /// `replicaClosure` as applied (at least 1).
    var replicaReach: Float { max(1, replicaClosure) }
    /// Candidate heads considered per insert (InternalResultNum).
    public var candidateHeads = 64
    /// Posting size cap, in vectors; a posting above it is split by a background worker.
    public var postingLimit = 128
    /// Heads searched per query (SearchInternalResultNum).
    public var searchHeads = 64
    /// Query-aware pruning: skip heads farther than ratio × the nearest head's distance.
    public var maxDistanceRatio: Float = 8
    /// A posting with at most this many live vectors is merged away.
    public var mergeThreshold = 10
    /// Neighbouring postings checked for reassignment after a split (ReassignK).
    public var reassignNeighbours = 64
    /// Heads scanned flat up to this count; beyond it a two-level tree indexes them.
    public var headIndexFlatLimit = 2048
    /// Coarse groups of heads a tree search visits when placing a vector (its
    /// `candidateHeads` nearest heads decide where it goes). Since the tree holds 2√H
    /// groups (2026-11-29) 12 groups are half the rows they were; measured at 1M ×
    /// 128-d: build 136 → 113 s and recall@10 higher at every width, so 12 stays.
    public var headIndexProbe = 12
    /// Coarse groups a query visits at least; raised to `searchHeads / 3` for wide
    /// searches. Narrow searches need few groups (1M × 128-d: 4 groups instead of 12
    /// doubled QPS at 16 heads for −0.01 recall@10; placement keeps 12, since a
    /// vector misplaced at build costs recall at every width).
    public var searchHeadIndexProbe = 4
    /// Head rows a query scans at least: the groups probed are raised until they hold
    /// this many on average (now ~7 groups at 1M, ~16 at 200K). Groups hold √H/2 heads
    /// (√H before 2026-11-29, when these figures were taken), so a fixed group count scans fewer
    /// rows the fewer heads there are: 200K × 128-d (163 heads a group) reached recall
    /// 0.957 in 50.5 µs probing 8 groups against 0.9585 in 56.7 µs with 4 (and 12
    /// heads); at 1M (367 a group) 4 groups stayed best. 1,280 rows keeps 4 there and
    /// takes 8 at 200K.
    public var searchHeadRows = 1_280
    /// Past this many bytes of head rows counted as f32 (4 bytes a dimension; they are
    /// held in f16), queries scan the heads' int8 codes and re-rank the best from the
    /// rows (see `HeadIndex.nearestForQuery`): rows that no longer fit the CPU's cache
    /// make the scan bound by memory traffic (1M × 128-d: 134K heads), while rows that
    /// fit scan faster whole. Measured when the rows were f32.
    public var quantizedHeadScanBytes = 16 << 20
    /// A posting whose in-memory appends reach this many entries is rewritten.
    public var flushEntries = 64
    /// Appended entries held in memory across all postings before the largest are flushed.
    public var maxDeltaEntries = 200_000
    /// Deletes and replacements (as a fraction of live vectors) that start a garbage sweep.
    public var sweepGarbageFraction = 0.1
    /// A swept posting is rewritten when at least this fraction of it is garbage.
    public var rewriteGarbageRatio = 0.3
    /// Postings fetched per wave when a query has a deadline (checked between waves).
    /// On an object store each wave is a sequential round trip, so the default equals
    /// `searchHeads`: a default query fetches its postings in one round trip, and only
    /// wider (filtered) probes pay a second.
    public var fetchWave = 64
    /// A search with a posting filter first considers this many times `searchHeads`
    /// nearest heads (then 4× more per round while too few can match) and probes the
    /// nearest `searchHeads` of them whose summaries can match. Past those it probes
    /// further heads that can match, nearest first, while a head's squared distance is
    /// below `filteredReach` × the `k`-th match's (or fewer than `k` were found), up to
    /// this many times `searchHeads` heads in all: when matches lie far from the query,
    /// head ranks there say little about where the nearest matches sit, and a posting's
    /// vectors can lie nearer the query than its head (`make bench-filter`, matches in a
    /// far cluster: recall 0.77 without the further heads, 0.60 with a reach of 1, 0.90
    /// with 2, at 84 → 59 QPS).
    public var filteredHeadsFactor = 4
    /// See `filteredHeadsFactor`.
    public var filteredReach: Float = 2
    /// Threads that compute placements for a large upsert batch (the RNG rule's head
    /// search is the foreground cost of an insert). 1 by default: under churn the
    /// background worker needs the other core (measured: 2 threads raised p99 during a
    /// 100% replacement without raising throughput on 2 cores).
    public var insertThreads = 1
    /// Background jobs (rewrites, splits with their reassignment, merges) run at once,
    /// each on its own head. Workers past the first run only while no search has begun
    /// for `searchQuietPeriod`: a bulk load gets both cores, a served index keeps one for
    /// its queries (measured on 2 cores, 200K × 128-d: two workers settled a 200K-vector
    /// ingest in 22 s instead of 38 s, but during a 100% replacement with queries between
    /// batches they raised p99 from 6 ms to 19 ms).
    public var backgroundWorkers = 2
    public var searchQuietPeriod: Duration = .seconds(1)

    public init() {}
}

/// Counters the index exposes to metrics and `explain_query`.
public struct SPFreshStatistics: Sendable, Equatable {
    public var heads = 0
    public var liveVectors = 0
    public var postingEntries = 0
    public var deltaEntries = 0
    public var splits = 0
    public var merges = 0
    public var reassigned = 0
    /// Vectors whose placement LIRE re-ran after a split (the candidates SPFresh's two
    /// conditions let through; `reassigned` of them moved).
    public var reassignChecked = 0
    public var rewrites = 0
    public var pendingJobs = 0
    public var checkpoints = 0
    /// Entries that are stale versions or deleted, awaiting the next rewrite (as last
    /// measured by `measure()`, which reads every posting).
    public var garbageEntries = 0
    /// Posting sizes (entries) in buckets of 16: [0-15, 16-31, …].
    public var postingSizeHistogram: [Int] = []
    /// The last background failure (storage errors are retried), if any.
    public var lastError: String?

    public var garbageRatio: Double { postingEntries == 0 ? 0 : Double(garbageEntries) / Double(postingEntries) }
}

/// What one search did, for `explain_query` and benchmarks.
public struct SPFreshSearchResult<ID: IndexKey>: Sendable {
    public var hits: [(id: ID, distance: Float)] = []
    public var headsProbed = 0
    public var postingsRead = 0
    /// Postings among the nearest heads passed over because their summary ruled the
    /// filter out.
    public var postingsSkipped = 0
    public var entriesScanned = 0
    /// The deadline passed before every probed posting was read; hits are partial.
    public var truncatedByDeadline = false
}

/// What a checkpoint wrote: the caller records `key` (e.g. in its manifest), then calls
/// `release(_:)` so objects only older checkpoints needed are deleted.
public struct SPFreshCheckpoint: Sendable, Equatable {
    public var key: String
    public var sequence: UInt64
    public var bytes: Int
    var retired: [UInt64]
    var superseded: [String]
}

/// An SPFresh index: SPANN's heads in memory and postings as immutable objects in a
/// `StorageBackend` (read through a cache), kept fresh in place by LIRE — inserts
/// append, deletes mark a version map, and a background worker rewrites postings,
/// splits oversized ones (reassigning vectors near the changed boundary by SPFresh's
/// two necessary conditions) and merges undersized ones. Never a global rebuild.
///
/// Appends since a posting was last written live in memory ("deltas"); a checkpoint
/// writes heads, deltas and the version map as one object that, with the caller's log
/// after the checkpoint's sequence, recovers the index after a crash. Distances are
/// squared L2; cosine is served by indexing normalised vectors.
///
/// A head's posting: its stored base object and the entries appended since.
struct PostingRef: Sendable {
    /// Stored object holding the posting's base (0 = none yet).
    var base: UInt64 = 0
    var baseCount = 0
    /// Entries appended since the base was written, boxed (nil when none): the
    /// references live in pages that a write copies whole after a search or the worker
    /// took a copy of the state, and a box costs that copy one retain per posting where
    /// four arrays inline cost four (measured: page copies were a fifth of ingest's CPU).
    private var box: DeltaBox?
    var delta: Posting {
        _read {
            if let box { yield box.posting } else { yield Posting.empty }
        }
        _modify {
            if box == nil {
                box = DeltaBox(Posting())
            } else if !isKnownUniquelyReferenced(&box) {
                box = DeltaBox(box!.posting)
            }
            yield &box!.posting
            deltaCount = box!.posting.count
            if deltaCount == 0 { box = nil }
        }
    }
    /// `delta.count`, kept beside the box so scans over many references read no box.
    private(set) var deltaCount = 0
    /// Bumped by every structural change, so background work detects races.
    var epoch: UInt32 = 0
    /// The OR of the signatures of the vectors it holds (see `SPFreshIndex.upsert`): a
    /// filter that needs a bit the summary lacks matches nothing here. A superset:
    /// appends add bits, rewrites recompute it from the entries they keep.
    var summary: UInt64 = 0
    var alive = false
    var total: Int { baseCount + deltaCount }
}

/// A posting's in-memory appends; mutated only while uniquely referenced (copied first
/// otherwise), under the index's lock.
final class DeltaBox: @unchecked Sendable {
    var posting: Posting
    init(_ posting: Posting) { self.posting = posting }
}


/// Thread-safe: any number of concurrent searches, writers and the background worker.
/// Searches run on a copy of the in-memory state (paged, so copies are cheap).
public final class SPFreshIndex<ID: IndexKey>: Sendable {
    /// What a query copies: heads, posting references and the per-slot tables.
    struct State: Sendable {
        var heads: HeadIndex
        var postings = PagedArray<PostingRef>(filler: PostingRef())
        var ids = SlotIDs<ID>()
        /// Per slot: a 31-bit version, the top bit set when deleted. (SPFresh uses 7 bits;
        /// a hot id updated 128 times before its postings are rewritten would then make an
        /// old copy look current.)
        var versions = PagedArray<UInt32>(filler: 0)
        /// Per slot: the caller's 64-bit signature of the current version's attributes
        /// (all ones when it gave none, so postings holding it are never skipped).
        var signatures = SignatureTable()
    }

    /// Per slot: its id, nil when free. The ids in one paged array and whether each slot
    /// holds one in a bitmap: an optional's tag would round a UInt64 id up to 16 bytes.
    struct SlotIDs<Key: IndexKey>: Sendable {
        private var ids: PagedArray<Key>?
        private var present = PagedArray<UInt64>(filler: 0)
        private(set) var count = 0

        subscript(slot: Int) -> Key? {
            get { present[slot >> 6] & (1 << UInt64(slot & 63)) != 0 ? ids![slot] : nil }
            set {
                precondition(slot < count, "slot \(slot) of \(count)")
                if let newValue {
                    if ids == nil {
                        ids = PagedArray(filler: newValue)
                        ids!.grow(to: count)
                    }
                    ids![slot] = newValue
                    present[slot >> 6] |= 1 << UInt64(slot & 63)
                } else {
                    present[slot >> 6] &= ~(1 << UInt64(slot & 63))
                }
            }
        }

        /// Adds a slot (free when `id` is nil). Free slots' entries hold the first id
        /// seen, as filler.
        mutating func append(_ id: Key?) {
            if let id, ids == nil { ids = PagedArray(filler: id) }
            ids?.grow(to: count + 1)
            count += 1
            present.grow(to: (count + 63) >> 6)
            self[count - 1] = id
        }
    }

    /// Per-slot signatures, stored only up to the last slot given one other than all
    /// ones: an index whose caller gives none (no filterable attributes) keeps no
    /// table, 8 bytes a vector.
    struct SignatureTable: Sendable {
        private var values = PagedArray<UInt64>(filler: ~0)
        var storedCount: Int { values.count }

        subscript(slot: Int) -> UInt64 {
            get { slot < values.count ? values[slot] : ~0 }
            set {
                if slot >= values.count {
                    guard newValue != ~0 else { return }
                    values.grow(to: slot + 1)
                }
                values[slot] = newValue
            }
        }
    }

    /// The OR of the current signatures of `posting`'s slots.
    static func summary(of posting: Posting, signatures: SignatureTable) -> UInt64 {
        var bits: UInt64 = 0
        for slot in posting.slots { bits |= signatures[Int(slot)] }
        return bits
    }

    struct Core: Sendable {
        var state: State
        var slotOf = SlotMap<ID>()
        var freeSlots: [Int32] = []
        var nextObjectID: UInt64 = 1
        var deltaEntries = 0
        var pending = Set<Int>()
        var sweepCursor = 0
        /// Where the next scan for the largest deltas starts (over the memory budget).
        var flushCursor = 0
        var sweepRemaining = 0
        var garbageHint = 0
        /// Objects replaced since the last checkpoint was captured.
        var retired: [UInt64] = []
        var lastCheckpointKey: String?
        /// The caller's bytes, kept in checkpoints (the engine records what its
        /// signatures cover).
        var metadata: [UInt8] = []
        var statistics = SPFreshStatistics()
        /// Heads a background job is working on (no two jobs take the same head).
        var running = Set<Int>()
        /// Per slot, `holderWidth` lanes: the heads whose postings should hold its
        /// current version (-1 pads; -2 in the first lane: not known, as after a
        /// restart, or more heads than lanes). A reassignment that keeps the version
        /// appends only to heads missing here, and a rewrite drops a current-version
        /// copy whose head is not here. Unknown means the old way: a move bumps the
        /// version and every copy of the vector is kept until then.
        var holders = PagedArray<Int32>(filler: -2)
    }

    static var holderWidth: Int { 8 }

    /// The heads `slot`'s current version was placed in, nil when not known.
    static func holders(_ core: Core, of slot: Int32) -> [Int]? {
        let start = Int(slot) * holderWidth
        guard start < core.holders.count, core.holders[start] != -2 else { return nil }
        var heads: [Int] = []
        for lane in start..<(start + holderWidth) {
            let head = core.holders[lane]
            if head < 0 { break }
            heads.append(Int(head))
        }
        return heads
    }

    /// Records where `slot`'s current version is placed (unknown past `holderWidth`).
    static func setHolders(_ core: inout Core, of slot: Int32, _ heads: [Int]) {
        let start = Int(slot) * holderWidth
        core.holders.grow(to: start + holderWidth)
        for lane in 0..<holderWidth {
            core.holders[start + lane] = heads.count > holderWidth ? -2 : lane < heads.count ? Int32(heads[lane]) : -1
        }
    }

    /// After a split: `slot`'s copy went from `head` to `newHead`.
    static func replaceHolder(_ core: inout Core, of slot: Int32, _ head: Int, with newHead: Int) {
        let start = Int(slot) * holderWidth
        guard start < core.holders.count, core.holders[start] != -2 else { return }
        for lane in start..<(start + holderWidth) where core.holders[lane] == Int32(head) {
            core.holders[lane] = Int32(newHead)
            return
        }
    }

    /// A copy in `head`'s posting of `slot`'s current version is garbage: the vector
    /// moved away from it (known holders that lack it).
    static func movedAway(_ core: Core, slot: Int32, from head: Int) -> Bool {
        movedAway(core.holders, slot: slot, from: head)
    }

    static func movedAway(_ holders: PagedArray<Int32>, slot: Int32, from head: Int) -> Bool {
        let start = Int(slot) * holderWidth
        guard start < holders.count, holders[start] != -2 else { return false }
        for lane in start..<(start + holderWidth) {
            let holder = holders[lane]
            if holder < 0 { break }
            if holder == Int32(head) { return false }
        }
        return true
    }

    public let dimensions: Int
    public let configuration: SPFreshConfiguration
    public let store: PostingStore
    let kernels: Kernels
    let core: Mutex<Core>
    private let wake: AsyncStream<Void>.Continuation
    private let wakeups: AsyncStream<Void>
    private let worker = Mutex<Task<Void, Never>?>(nil)
    /// When the last search began (uptime nanoseconds): workers past the first stand
    /// aside while searches run (see `backgroundWorkers`).
    private let lastSearch = Atomic<UInt64>(0)

    static var deletedFlag: UInt32 { 0x8000_0000 }
    static var versionMask: UInt32 { 0x7FFF_FFFF }

    public init(dimensions: Int, store: PostingStore, configuration: SPFreshConfiguration = SPFreshConfiguration(), kernels: Kernels = .best) {
        precondition(dimensions > 0 && store.dimensions == dimensions, "index and posting store disagree on dimensions")
        self.dimensions = dimensions
        self.configuration = configuration
        self.store = store
        self.kernels = kernels
        core = Mutex(Core(state: State(heads: HeadIndex(dimensions: dimensions, flatLimit: configuration.headIndexFlatLimit, coarseProbe: configuration.headIndexProbe))))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    deinit {
        wake.finish()
        worker.withLock { $0?.cancel() }
    }

    public var count: Int { core.withLock { $0.slotOf.count } }

    /// Caller-defined bytes stored with every checkpoint and restored by `load`.
    public var metadata: [UInt8] {
        get { core.withLock { $0.metadata } }
        set { core.withLock { $0.metadata = newValue } }
    }
    public func contains(_ id: ID) -> Bool { core.withLock { $0.slotOf[id] != nil } }

    public var statistics: SPFreshStatistics {
        core.withLock { core in
            var statistics = core.statistics
            statistics.heads = core.state.heads.count
            statistics.liveVectors = core.slotOf.count
            statistics.deltaEntries = core.deltaEntries
            statistics.pendingJobs = core.pending.count + core.running.count
            var entries = 0
            var histogram: [Int] = []
            for head in 0..<core.state.postings.count where core.state.postings[head].alive {
                let total = core.state.postings[head].total
                entries += total
                let bucket = total / 16
                if histogram.count <= bucket { histogram += [Int](repeating: 0, count: bucket + 1 - histogram.count) }
                histogram[bucket] += 1
            }
            statistics.postingEntries = entries
            statistics.postingSizeHistogram = histogram
            return statistics
        }
    }

    /// Resident bytes of the in-memory part (heads, posting references with their
    /// deltas, per-slot tables), an estimate for metrics.
    public var memoryEstimate: Int {
        core.withLock { core in
            // Head rows in f16 and int8 codes, a scale, id and location each.
            let heads = core.state.heads.count * (dimensions * 3 + 16)
            let refs = core.state.postings.count * MemoryLayout<PostingRef>.stride
            let deltas = core.deltaEntries * (dimensions * 4 + 8)
            // Per slot: id, version, signature (if stored), holder lanes; the id → slot
            // map's buckets (an eighth or more of them empty).
            let slots = core.state.ids.count * (MemoryLayout<ID>.stride + 4) + core.state.signatures.storedCount * 8 + core.holders.count * 4
            let map = core.slotOf.buckets * (MemoryLayout<ID>.stride + 4)
            return heads + refs + deltas + slots + map
        }
    }

    // MARK: build

    /// Builds the index over `vectors` (row i is `ids[i]`) into an empty index:
    /// hierarchical balanced clustering picks heads (real data points nearest each
    /// leaf's centroid), every vector goes to up to `replicaCount` postings by the RNG
    /// rule, and each posting is written once. Oversized postings are queued for the
    /// background worker to split.
    public func build(ids: [ID], vectors: Matrix, signatures: [UInt64]? = nil, threads: Int = 2) async throws {
        precondition(ids.count == vectors.count && vectors.dimensions == dimensions)
        precondition(signatures == nil || signatures!.count == ids.count)
        precondition(core.withLock { $0.slotOf.isEmpty && $0.state.heads.count == 0 }, "build needs an empty index")
        guard !ids.isEmpty else { return }
        let leafSize = max(2, Int((1 / configuration.headFraction).rounded()))
        let leaves = BalancedKMeans.hierarchical(vectors, rows: Array(0..<ids.count), leafSize: leafSize, kernels: kernels)
        var heads = HeadIndex(dimensions: dimensions, flatLimit: configuration.headIndexFlatLimit, coarseProbe: configuration.headIndexProbe)
        var headRows: [[Float]] = []
        headRows.reserveCapacity(leaves.count)
        for leaf in leaves {
            var centroid = [Float](repeating: 0, count: dimensions)
            for row in leaf { let v = vectors.row(row); for d in 0..<dimensions { centroid[d] += v[d] } }
            for d in 0..<dimensions { centroid[d] /= Float(leaf.count) }
            var best = leaf[0], bestDistance = Float.infinity
            for row in leaf {
                let distance = kernels.l2SquaredUnchecked(centroid, vectors.row(row))
                if distance < bestDistance { bestDistance = distance; best = row }
            }
            headRows.append(vectors.row(best))
        }
        for row in headRows { _ = heads.add(row, rebuilding: false) }
        if heads.count > configuration.headIndexFlatLimit { heads.rebuild(kernels: kernels) }
        // Placement in parallel: each thread takes a stride of the rows.
        let frozen = heads
        let chosen = await withTaskGroup(of: [(Int, [Int])].self) { group in
            for thread in 0..<max(1, threads) {
                group.addTask { [self] in
                    let rows = Array(stride(from: thread, to: ids.count, by: max(1, threads)))
                    var out: [(Int, [Int])] = []
                    out.reserveCapacity(rows.count)
                    for start in stride(from: 0, to: rows.count, by: 4096) {
                        let part = Array(rows[start..<min(rows.count, start + 4096)])
                        let selections = Self.selectPostings(for: part.map { vectors.row($0) }, heads: frozen, configuration: configuration, kernels: kernels)
                        for (row, selection) in zip(part, selections) { out.append((row, selection)) }
                    }
                    return out
                }
            }
            var all = [[Int]](repeating: [], count: ids.count)
            for await part in group { for (row, selection) in part { all[row] = selection } }
            return all
        }
        var members = [[Int32]](repeating: [], count: heads.capacity)
        for (row, selection) in chosen.enumerated() { for head in selection { members[head].append(Int32(row)) } }
        // As SPANN's build: an oversized posting keeps the vectors nearest its head; a
        // vector dropped from every posting it was chosen for goes back to its first.
        var replicas = chosen.map(\.count)
        for head in 0..<members.count where members[head].count > configuration.postingLimit {
            let center = headRows[head]
            let ranked = members[head].map { ($0, kernels.l2SquaredUnchecked(center, vectors.row(Int($0)))) }.sorted { $0.1 < $1.1 }
            members[head] = ranked.prefix(configuration.postingLimit).map(\.0)
            for (row, _) in ranked.dropFirst(configuration.postingLimit) { replicas[Int(row)] -= 1 }
        }
        for row in 0..<replicas.count where replicas[row] == 0 { members[chosen[row][0]].append(Int32(row)) }
        // Write each posting once, a few at a time.
        let firstID = core.withLock { core -> UInt64 in
            defer { core.nextObjectID += UInt64(members.count) }
            return core.nextObjectID
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for (head, rows) in members.enumerated() where !rows.isEmpty {
                if inFlight >= 8 { try await group.next(); inFlight -= 1 }
                group.addTask { [self] in
                    var posting = Posting()
                    posting.slots.reserveCapacity(rows.count)
                    posting.vectors.reserveCapacity(rows.count * dimensions)
                    for row in rows { posting.append(slot: row, version: 0, vector: vectors.row(Int(row))) }
                    try await store.write(posting, id: firstID + UInt64(head))
                }
                inFlight += 1
            }
            try await group.waitForAll()
        }
        core.withLock { core in
            core.state.heads = heads
            for (head, rows) in members.enumerated() {
                var ref = PostingRef()
                ref.alive = true
                if !rows.isEmpty { ref.base = firstID + UInt64(head); ref.baseCount = rows.count }
                ref.summary = rows.reduce(0) { $0 | (signatures?[Int($1)] ?? ~0) }
                core.state.postings.append(ref)
                if rows.count > configuration.postingLimit { core.pending.insert(head) }
            }
            core.slotOf.reserveCapacity(ids.count, filler: ids[0])
            for (row, id) in ids.enumerated() {
                core.state.ids.append(id)
                core.state.versions.append(0)
                core.state.signatures[row] = signatures?[row] ?? ~0
                core.slotOf[id] = Int32(row)
            }
            var holders = [[Int]](repeating: [], count: ids.count)
            for (head, rows) in members.enumerated() { for row in rows { holders[Int(row)].append(head) } }
            for (row, heads) in holders.enumerated() { Self.setHolders(&core, of: Int32(row), heads) }
        }
        signal()
    }

    // MARK: updates

    /// Inserts or replaces vectors: each new version is appended to the postings the
    /// RNG rule picks; copies of an older version become garbage. Foreground work is
    /// append-only; splits and rewrites happen on the background worker.
    ///
    /// `signatures` (one per item) are the caller's 64-bit digests of each vector's
    /// attributes; postings keep the OR of their vectors' signatures, and a search's
    /// `postingFilter` skips postings whose summary rules its filter out. Without them
    /// every bit is set and nothing is skipped.
    public func upsert(_ items: [(id: ID, vector: [Float])], signatures: [UInt64]? = nil) {
        guard !items.isEmpty else { return }
        precondition(signatures == nil || signatures!.count == items.count)
        for item in items { precondition(item.vector.count == dimensions, "vector of \(item.vector.count) dimensions in a \(dimensions)-d index") }
        let heads = core.withLock { $0.state.heads }
        let selections = heads.count == 0 ? [] : selectPostings(for: items.map(\.vector), heads: heads)
        // Installed 64 at a time: a search waits for the lock to copy the state, and a
        // batch of 10,000 held it for 32–64 ms (measured during ingest: each append
        // after a search copied the state copies the posting's delta and page first).
        for chunk in stride(from: 0, to: items.count, by: 64) {
            core.withLock { core in
                for position in chunk..<min(items.count, chunk + 64) {
                    let item = items[position]
                    let slot = Self.claimSlot(&core, for: item.id)
                    core.state.signatures[Int(slot)] = signatures?[position] ?? ~0
                    var selection = position < selections.count ? selections[position] : []
                    if core.state.heads.count == 0 {
                        selection = [Self.addHead(&core, item.vector)]
                    } else if selection.isEmpty || selection.contains(where: { !core.state.heads.contains($0) }) {
                        // The heads changed under us (a merge removed one): choose again.
                        selection = Self.selectPostings(for: item.vector, heads: core.state.heads, configuration: configuration, kernels: kernels)
                    }
                    Self.place(&core, slot: slot, vector: item.vector, heads: selection, configuration: configuration)
                }
            }
        }
        signal()
    }

    /// Marks ids deleted; their copies are dropped when their postings are rewritten.
    public func delete(_ ids: [ID]) {
        guard !ids.isEmpty else { return }
        // 1,024 per lock hold, for the searches waiting on it (see `upsert`).
        for chunk in stride(from: 0, to: ids.count, by: 1024) {
            core.withLock { core in
                for id in ids[chunk..<min(ids.count, chunk + 1024)] {
                    guard let slot = core.slotOf.removeValue(forKey: id) else { continue }
                    core.state.versions[Int(slot)] = (core.state.versions[Int(slot)] & Self.versionMask) | Self.deletedFlag
                    core.state.ids[Int(slot)] = nil
                    core.freeSlots.append(slot)
                    core.garbageHint += 1
                }
                Self.maybeStartSweep(&core, configuration: configuration)
            }
        }
        signal()
    }

    private static func claimSlot(_ core: inout Core, for id: ID) -> Int32 {
        if let existing = core.slotOf[id] {
            core.state.versions[Int(existing)] = (core.state.versions[Int(existing)] &+ 1) & Self.versionMask
            core.garbageHint += 1
            return existing
        }
        let slot: Int32
        if let reused = core.freeSlots.popLast() {
            slot = reused
            core.state.versions[Int(slot)] = ((core.state.versions[Int(slot)] & Self.versionMask) &+ 1) & Self.versionMask
            core.state.ids[Int(slot)] = id
        } else {
            slot = Int32(core.state.ids.count)
            core.state.ids.append(id)
            core.state.versions.append(0)
        }
        core.slotOf[id] = slot
        return slot
    }

    private static func addHead(_ core: inout Core, _ vector: [Float]) -> Int {
        let head = core.state.heads.add(vector)
        core.state.postings.grow(to: head + 1)
        var ref = PostingRef()
        ref.alive = true
        ref.epoch = core.state.postings[head].epoch &+ 1
        core.state.postings[head] = ref
        return head
    }

    /// Places `slot`'s current version in `heads`' postings (and records them as its holders).
    private static func place(_ core: inout Core, slot: Int32, vector: [Float], heads: [Int], configuration: SPFreshConfiguration) {
        setHolders(&core, of: slot, heads)
        append(&core, slot: slot, vector: vector, heads: heads, configuration: configuration)
    }

    /// Moves `slot`'s current version to `heads`: with known holders it keeps its version
    /// and is appended only where it is missing (copies left elsewhere become garbage);
    /// else it gets a new version, placed in every head (old copies die by version).
    private static func move(_ core: inout Core, slot: Int32, vector: [Float], to heads: [Int], configuration: SPFreshConfiguration) {
        if let holders = holders(core, of: slot) {
            guard Set(holders) != Set(heads) else { return }
            setHolders(&core, of: slot, heads)
            append(&core, slot: slot, vector: vector, heads: heads.filter { !holders.contains($0) }, configuration: configuration)
        } else {
            core.state.versions[Int(slot)] = (core.state.versions[Int(slot)] &+ 1) & Self.versionMask
            place(&core, slot: slot, vector: vector, heads: heads, configuration: configuration)
        }
        core.statistics.reassigned += 1
    }

    /// Appends `slot`'s current version to `heads`' deltas; queues postings that need work.
    private static func append(_ core: inout Core, slot: Int32, vector: [Float], heads: [Int], configuration: SPFreshConfiguration) {
        let version = core.state.versions[Int(slot)]
        let signature = core.state.signatures[Int(slot)]
        for head in heads {
            core.state.postings[head].delta.append(slot: slot, version: version, vector: vector)
            core.state.postings[head].summary |= signature
            core.deltaEntries += 1
            if core.state.postings[head].total > configuration.postingLimit || core.state.postings[head].deltaCount >= configuration.flushEntries {
                core.pending.insert(head)
            }
        }
    }

    private static func maybeStartSweep(_ core: inout Core, configuration: SPFreshConfiguration) {
        guard core.sweepRemaining == 0,
              Double(core.garbageHint) >= configuration.sweepGarbageFraction * Double(max(core.slotOf.count, 1)) else { return }
        core.garbageHint = 0
        core.sweepRemaining = core.state.postings.count
    }

    /// Placements for a batch, split over `insertThreads` threads when it is large.
    func selectPostings(for vectors: [[Float]], heads: HeadIndex) -> [[Int]] {
        let threads = max(1, configuration.insertThreads)
        guard threads > 1, vectors.count >= 128 else {
            return Self.selectPostings(for: vectors, heads: heads, configuration: configuration, kernels: kernels)
        }
        let chunk = (vectors.count + threads - 1) / threads
        let parts = Mutex<[Int: [[Int]]]>([:])
        let settings = configuration, distances = kernels
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            let range = (part * chunk)..<min(vectors.count, (part + 1) * chunk)
            let selected = Self.selectPostings(for: Array(vectors[range]), heads: heads, configuration: settings, kernels: distances)
            parts.withLock { $0[part] = selected }
        }
        return parts.withLock { parts in (0..<threads).flatMap { parts[$0] ?? [] } }
    }

    /// SPANN's RNG rule over the nearest `candidateHeads` heads.
    static func selectPostings(for vector: [Float], heads: HeadIndex, configuration: SPFreshConfiguration, kernels: Kernels) -> [Int] {
        rngSelect(heads.nearest(to: vector, n: configuration.candidateHeads, kernels: kernels), heads: heads, configuration: configuration, kernels: kernels)
    }

    /// The RNG rule for many vectors, their head searches batched (256 at a time: a
    /// batch's groups then stay in cache while its queries scan them).
    static func selectPostings(for vectors: [[Float]], heads: HeadIndex, configuration: SPFreshConfiguration, kernels: Kernels) -> [[Int]] {
        var selections: [[Int]] = []
        selections.reserveCapacity(vectors.count)
        for start in stride(from: 0, to: vectors.count, by: 256) {
            let batch = Array(vectors[start..<min(vectors.count, start + 256)])
            for candidates in heads.nearest(toEach: batch, n: configuration.candidateHeads, kernels: kernels) {
                selections.append(rngSelect(candidates, heads: heads, configuration: configuration, kernels: kernels))
            }
        }
        return selections
    }

    /// Accepts candidate heads nearest first, skipping one an accepted head lies closer
    /// to than the vector does, up to `replicaCount`.
    static func rngSelect(_ candidates: [(index: Int, distance: Float)], heads: HeadIndex, configuration: SPFreshConfiguration, kernels: Kernels) -> [Int] {
        var chosen: [Int] = []
        chosen.reserveCapacity(configuration.replicaCount)
        let reach = configuration.replicaReach * (candidates.first(where: { $0.distance > 0 })?.distance ?? 0)
        for (head, distance) in candidates {
            if chosen.count == configuration.replicaCount || (!chosen.isEmpty && distance > reach) { break }
            let blocked = chosen.contains { accepted in
                configuration.rngFactor * heads.distance(between: head, and: accepted, kernels: kernels) < distance
            }
            if !blocked { chosen.append(head) }
        }
        if chosen.isEmpty, let first = candidates.first { chosen.append(first.index) }
        return chosen
    }

    // MARK: queries

    /// The `k` nearest live ids to `query` with their squared distances, nearest first.
    /// `accept` filters ids; `postingFilter` tells from a posting's summary whether it
    /// can hold a match (postings that cannot are passed over, and the nearest heads
    /// that can are probed instead); `searchHeads` overrides the default; past
    /// `deadline` the search stops reading postings and returns what it has.
    public func search(
        _ query: [Float], k: Int, searchHeads: Int? = nil, deadline: ContinuousClock.Instant? = nil,
        accept: (@Sendable (ID) -> Bool)? = nil, postingFilter: (@Sendable (UInt64) -> Bool)? = nil
    ) async throws -> SPFreshSearchResult<ID> {
        precondition(query.count == dimensions, "query of \(query.count) dimensions in a \(dimensions)-d index")
        var attempt = 0
        while true {
            attempt += 1
            lastSearch.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
            let state = core.withLock { $0.state }
            if let result = try await search(query, k: k, in: state, searchHeads: searchHeads ?? configuration.searchHeads, deadline: deadline,
                                             accept: accept, postingFilter: postingFilter) {
                return result
            }
            // A posting object was replaced and deleted while we read: use the new state.
            guard attempt < 4 else {
                throw StorageError(.corrupt, "posting objects referenced by the index are missing from storage")
            }
        }
    }

    private func search(
        _ query: [Float], k: Int, in state: State, searchHeads: Int, deadline: ContinuousClock.Instant?,
        accept: (@Sendable (ID) -> Bool)?, postingFilter: (@Sendable (UInt64) -> Bool)?
    ) async throws -> SPFreshSearchResult<ID>? {
        var result = SPFreshSearchResult<ID>()
        guard k > 0, state.heads.count > 0 else { return result }
        // A group per three wanted heads (GloVe: /4 lost 0.5 recall points at 80 heads, /2 cost more than it gained).
        let probe = max(configuration.searchHeadIndexProbe, searchHeads / 3, state.heads.groupsHolding(rows: configuration.searchHeadRows))
        var nearest: [(index: Int, distance: Float)]
        var further: [(index: Int, distance: Float)] = []
        if let postingFilter {
            // Keep the nearest heads whose postings can match, looking 4× further out
            // each round until there are `searchHeads` of them or no heads are left.
            var n = max(1, searchHeads * max(1, configuration.filteredHeadsFactor))
            while true {
                let wider = state.heads.nearest(to: query, n: n, probe: state.heads.groupsToProbe(for: n, minimum: probe), kernels: kernels)
                nearest = []
                further = []
                result.postingsSkipped = 0
                for head in wider {
                    if !postingFilter(state.postings[head.index].summary) {
                        if nearest.count < searchHeads { result.postingsSkipped += 1 }
                    } else if nearest.count < searchHeads {
                        nearest.append(head)
                    } else {
                        further.append(head)
                    }
                }
                if nearest.count >= searchHeads || n >= state.heads.count { break }
                n *= 4
            }
        } else {
            nearest = state.heads.count * dimensions * 4 > configuration.quantizedHeadScanBytes
                ? state.heads.nearestForQuery(query, n: searchHeads, probe: probe, kernels: kernels)
                : state.heads.nearest(to: query, n: searchHeads, probe: probe, kernels: kernels)
        }
        // Distance pruning assumes matches lie near the nearest head; the matches of a
        // summary-filtered search may all lie far beyond a stray one.
        if postingFilter == nil, let first = nearest.first, first.distance > 0 {
            let limit = first.distance * configuration.maxDistanceRatio
            if let cut = nearest.firstIndex(where: { $0.distance > limit }), cut >= 1 { nearest.removeSubrange(cut...) }
        }
        result.headsProbed = nearest.count
        var scanner = PostingScanner(query: query, k: k, dimensions: dimensions, kernels: kernels, versions: state.versions)
        if let accept {
            let ids = state.ids
            scanner.accept = { slot in ids[Int(slot)].map(accept) ?? false }
        }
        let wave = deadline == nil ? nearest.count : max(1, configuration.fetchWave)
        guard try await scanner.probe(nearest.map(\.index), postings: state.postings, store: store, wave: wave, deadline: deadline) else {
            return nil
        }
        // Filtered: heads that can match and lie nearer than the k-th match may hold nearer ones.
        let limit = searchHeads * max(1, configuration.filteredHeadsFactor)
        var next = 0
        while next < further.count, result.headsProbed < limit, !scanner.truncatedByDeadline {
            let bound = scanner.top.items.count < k ? Float.infinity : scanner.top.worst * configuration.filteredReach
            var batch: [Int] = []
            while next < further.count, batch.count < 8, result.headsProbed + batch.count < limit, further[next].distance < bound {
                batch.append(further[next].index)
                next += 1
            }
            // These heads are extra: past the deadline the search ends complete without them.
            guard !batch.isEmpty, deadline.map({ ContinuousClock.now < $0 }) ?? true else { break }
            result.headsProbed += batch.count
            guard try await scanner.probe(batch, postings: state.postings, store: store, wave: batch.count, deadline: deadline) else { return nil }
        }
        result.postingsRead = scanner.postingsRead
        result.entriesScanned = scanner.entriesScanned
        result.truncatedByDeadline = scanner.truncatedByDeadline
        result.hits = scanner.top.items.map { (state.ids[Int($0.slot)]!, $0.distance) }
        return result
    }

    /// Squared L2 from `query` to every vector of `posting` (one batch-kernel pass).
    func distances(from query: [Float], to posting: Posting) -> [Float] {
        var out = [Float](repeating: 0, count: posting.count)
        posting.distances(from: query, into: &out, dimensions: dimensions, kernels: kernels)
        return out
    }

    // MARK: background work

    /// Starts the background worker (idempotent). It runs splits, merges, rewrites and
    /// garbage sweeps whenever updates queue them.
    public func startBackgroundWork() {
        worker.withLock { task in
            guard task == nil else { return }
            let workers = max(1, configuration.backgroundWorkers)
            task = Task.detached { [weak self, wakeups] in
                for await _ in wakeups {
                    guard self != nil else { return }
                    await withTaskGroup(of: Void.self) { group in
                        for worker in 0..<workers {
                            group.addTask(executorPreference: MaintenanceExecutor.shared) { [weak self] in await self?.runPendingJobs(worker: worker) }
                        }
                    }
                    if Task.isCancelled { return }
                }
            }
        }
        signal()
    }

    /// Stops the background worker after its current job.
    public func stopBackgroundWork() async {
        let task = worker.withLock { task -> Task<Void, Never>? in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }

    func signal() { wake.yield() }

    /// One worker's loop: jobs until none is queued and no other worker has one in
    /// hand (its split may queue more). Workers past the first pause while searches run.
    private func runPendingJobs(worker: Int) async {
        var failures = 0
        let quiet = UInt64(configuration.searchQuietPeriod.components.seconds) * 1_000_000_000
            + UInt64(configuration.searchQuietPeriod.components.attoseconds / 1_000_000_000)
        while !Task.isCancelled {
            if worker > 0, DispatchTime.now().uptimeNanoseconds &- lastSearch.load(ordering: .relaxed) < quiet {
                guard core.withLock({ !$0.pending.isEmpty || !$0.running.isEmpty }) else { return }
                try? await Task.sleep(for: .milliseconds(10))
                continue
            }
            do {
                guard try await runOneJob() else {
                    guard jobsInHand else { return }
                    try? await Task.sleep(for: .milliseconds(1))
                    continue
                }
                failures = 0
            } catch {
                failures += 1
                core.withLock { $0.statistics.lastError = "\(error)" }
                try? await Task.sleep(for: .milliseconds(min(2000, 20 << min(failures, 6))))
            }
        }
    }

    /// Runs queued work until none is left, `backgroundWorkers` loops at once as the
    /// background workers do (tests and benchmarks call this directly); errors surface.
    public func maintainUntilIdle() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, configuration.backgroundWorkers) {
                group.addTask {
                    while true {
                        if try await self.runOneJob() { continue }
                        guard self.jobsInHand else { return }
                        try await Task.sleep(for: .milliseconds(1))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Whether some job is running: a worker that found nothing to take waits for it,
    /// since a split queues more work (and a queued head another job holds is taken
    /// once that job ends).
    private var jobsInHand: Bool { core.withLock { !$0.running.isEmpty } }

    private enum Job {
        case rewrite(Int, sweep: Bool)
    }

    /// Up to `keeping` postings with the most appended entries among `scanning`
    /// postings from `start` on (wrapping), and where the next scan starts. A bounded
    /// window: the scan runs under the lock searches and writers wait on (all 25K
    /// postings of a 200K-vector index at once held it for 12-19 ms).
    private static func largestDeltas(in postings: PagedArray<PostingRef>, from start: Int, scanning: Int, keeping: Int) -> ([Int], Int) {
        let count = postings.count
        guard count > 0 else { return ([], 0) }
        var sizes: [(head: Int, entries: Int)] = []
        var head = start % count
        for _ in 0..<min(scanning, count) {
            let entries = postings[head].deltaCount
            if entries > 0, postings[head].alive { sizes.append((head, entries)) }
            head = head + 1 == count ? 0 : head + 1
        }
        sizes.sort { $0.entries > $1.entries }
        return (sizes.prefix(keeping).map(\.head), head)
    }

    /// Picks and runs one job; false when there was nothing to do.
    private func runOneJob() async throws -> Bool {
        let job: Job? = core.withLock { core in
            if core.deltaEntries > configuration.maxDeltaEntries, core.pending.count < 64 {
                // Over the memory budget: flush the largest deltas first.
                // Window after window until one holds deltas (one does: the budget counts them).
                var scanned = 0
                while scanned < core.state.postings.count {
                    let (largest, next) = Self.largestDeltas(in: core.state.postings, from: core.flushCursor, scanning: 4096, keeping: 64)
                    core.flushCursor = next
                    scanned += 4096
                    for head in largest { core.pending.insert(head) }
                    if !largest.isEmpty { break }
                }
            }
            if let head = core.pending.first(where: { !core.running.contains($0) }) {
                core.pending.remove(head)
                core.running.insert(head)
                return .rewrite(head, sweep: false)
            }
            while core.sweepRemaining > 0 {
                core.sweepRemaining -= 1
                let head = core.sweepCursor % max(core.state.postings.count, 1)
                core.sweepCursor = head + 1
                if head < core.state.postings.count, core.state.postings[head].alive, !core.running.contains(head) {
                    core.running.insert(head)
                    return .rewrite(head, sweep: true)
                }
            }
            return nil
        }
        guard let job else { return false }
        switch job {
        case .rewrite(let head, let sweep):
            defer { core.withLock { _ = $0.running.remove(head) } }
            do {
                try await rewrite(head, sweep: sweep)
            } catch {
                core.withLock { _ = $0.pending.insert(head) }
                throw error
            }
        }
        return true
    }

    /// Reads a posting's base and the delta entries present now, drops garbage, then
    /// merges it away (few live vectors), splits it (over the limit) or writes it anew.
    private func rewrite(_ head: Int, sweep: Bool) async throws {
        // Only the version map is copied: a copy of the posting references would make
        // the next write to their page duplicate it.
        guard let (ref, versions) = core.withLock({ core -> (PostingRef, PagedArray<UInt32>)? in
            let ref = core.state.postings[head]
            return ref.alive ? (ref, core.state.versions) : nil
        }) else { return }
        var live = Posting()
        var seen = Set<Int32>()
        var scanned = 0
        func keep(_ posting: Posting) {
            for entry in 0..<posting.count {
                let slot = posting.slots[entry]
                scanned += 1
                guard posting.versions[entry] == versions[Int(slot)], seen.insert(slot).inserted else { continue }
                live.append(slot: slot, version: posting.versions[entry], vector: posting.vector(entry, dimensions: dimensions))
            }
        }
        if let base = try await base(of: ref, head: head) { keep(base) }
        keep(ref.delta)
        // Current copies of vectors that moved away (see `Core.holders`) go too.
        live = core.withLock { core in
            guard (0..<live.count).contains(where: { Self.movedAway(core, slot: live.slots[$0], from: head) }) else { return live }
            var kept = Posting()
            for entry in 0..<live.count where !Self.movedAway(core, slot: live.slots[entry], from: head) {
                kept.append(slot: live.slots[entry], version: live.versions[entry], vector: live.vector(entry, dimensions: dimensions))
            }
            return kept
        }
        let garbage = scanned - live.count
        if sweep, live.count > configuration.mergeThreshold, live.count <= configuration.postingLimit,
           Double(garbage) < configuration.rewriteGarbageRatio * Double(max(scanned, 1)) {
            return  // clean enough; nothing to write
        }
        let headCount = core.withLock { $0.state.heads.count }
        if live.count <= configuration.mergeThreshold, headCount > 1 {
            try merge(head, ref: ref, live: live)
        } else if live.count > configuration.postingLimit {
            try await split(head, ref: ref, live: live)
        } else {
            let id = core.withLock { core -> UInt64 in defer { core.nextObjectID += 1 }; return core.nextObjectID }
            if !live.isEmpty { try await store.write(live, id: id) }
            let installed = core.withLock { core -> Bool in
                var current = core.state.postings[head]
                guard current.alive, current.epoch == ref.epoch else { return false }
                var delta = Posting()
                delta.append(current.delta, from: ref.deltaCount, dimensions: dimensions)
                core.deltaEntries -= ref.deltaCount
                if current.base != 0 { core.retired.append(current.base) }
                current.base = live.isEmpty ? 0 : id
                current.baseCount = live.count
                current.delta = delta
                current.summary = Self.summary(of: live, signatures: core.state.signatures) | Self.summary(of: delta, signatures: core.state.signatures)
                current.epoch &+= 1
                core.state.postings[head] = current
                core.statistics.rewrites += 1
                if current.total > configuration.postingLimit || current.deltaCount >= configuration.flushEntries { core.pending.insert(head) }
                return true
            }
            if !installed, !live.isEmpty { try await store.delete([id]) }
        }
    }

    /// Removes a posting with few live vectors and moves them (see `move`) to where the
    /// RNG rule puts them among the remaining heads.
    private func merge(_ head: Int, ref: PostingRef, live: Posting) throws {
        // Placements for the vectors read so far, computed without the lock (searches
        // and writers wait on it) against the heads as they will be without this one.
        var remaining = core.withLock { $0.state.heads }
        remaining.remove(head)
        var placements: [Int32: (version: UInt32, heads: [Int])] = [:]
        let selections = Self.selectPostings(for: (0..<live.count).map { live.vector($0, dimensions: dimensions) }, heads: remaining,
                                             configuration: configuration, kernels: kernels)
        for entry in 0..<live.count { placements[live.slots[entry]] = (live.versions[entry], selections[entry]) }
        core.withLock { core in
            var current = core.state.postings[head]
            // Another worker's merge may have removed the only other head meanwhile: a
            // posting is never merged into nothing.
            guard current.alive, current.epoch == ref.epoch, core.state.heads.count > 1 else { return }
            // Entries appended after we read the posting move too.
            var moving = live
            moving.append(current.delta, from: ref.deltaCount, dimensions: dimensions)
            core.deltaEntries -= current.deltaCount
            if current.base != 0 { core.retired.append(current.base) }
            core.state.heads.remove(head)
            current = PostingRef()
            current.epoch = core.state.postings[head].epoch &+ 1
            core.state.postings[head] = current
            core.pending.remove(head)
            core.statistics.merges += 1
            var placed = Set<Int32>()
            for entry in 0..<moving.count {
                let slot = moving.slots[entry]
                guard moving.versions[entry] == core.state.versions[Int(slot)], core.state.ids[Int(slot)] != nil,
                      !Self.movedAway(core, slot: slot, from: head), placed.insert(slot).inserted else { continue }
                let vector = moving.vector(entry, dimensions: dimensions)
                // Precomputed for this very version, or chosen now.
                var selection = placements[slot].flatMap { $0.version == moving.versions[entry] ? $0.heads : nil } ?? []
                if selection.isEmpty || selection.contains(where: { !core.state.heads.contains($0) }) {
                    selection = Self.selectPostings(for: vector, heads: core.state.heads, configuration: configuration, kernels: kernels)
                }
                Self.move(&core, slot: slot, vector: vector, to: selection, configuration: configuration)
            }
        }
    }

    /// Splits an oversized posting with balanced 2-means into the old head id (moved to
    /// the first centroid) and a new head, then reassigns vectors whose best postings may
    /// have changed, using SPFresh's two necessary conditions to pick candidates.
    private func split(_ head: Int, ref: PostingRef, live: Posting) async throws {
        var local = Matrix(dimensions: dimensions, values: live.vectors)  // `live` is assembled in f32
        var kmeans = BalancedKMeans(k: 2)
        kmeans.seed = UInt64(head) &* 31 &+ UInt64(ref.epoch)
        var (assignment, centroids) = kmeans.fit(local, rows: Array(0..<live.count), kernels: kernels)
        if Set(assignment).count < 2 {
            // Identical vectors: halve so the posting still fits.
            assignment = (0..<live.count).map { $0 < live.count / 2 ? 0 : 1 }
            centroids = Matrix(dimensions: dimensions)
            centroids.append(local.row(0))
            centroids.append(local.row(live.count - 1))
        }
        local = Matrix(dimensions: dimensions)
        var parts = [Posting(), Posting()]
        for entry in 0..<live.count {
            parts[assignment[entry]].append(slot: live.slots[entry], version: live.versions[entry], vector: live.vector(entry, dimensions: dimensions))
        }
        let ids = core.withLock { core -> (UInt64, UInt64) in defer { core.nextObjectID += 2 }; return (core.nextObjectID, core.nextObjectID + 1) }
        try await store.write(parts[0], id: ids.0)
        try await store.write(parts[1], id: ids.1)
        let newCentroids = [centroids.row(0), centroids.row(1)]
        let installed = core.withLock { core -> (old: [Float], newHead: Int, heads: HeadIndex)? in
            let current = core.state.postings[head]
            guard current.alive, current.epoch == ref.epoch else { return nil }
            let old = core.state.heads.row(head)
            core.state.heads.set(head, newCentroids[0])
            // A tree rebuild (when the heads have doubled) runs after, outside the lock.
            let newHead = core.state.heads.add(newCentroids[1], rebuilding: false)
            core.state.postings.grow(to: newHead + 1)
            var first = PostingRef(), second = PostingRef()
            first.alive = true; second.alive = true
            first.base = ids.0; first.baseCount = parts[0].count; first.epoch = current.epoch &+ 1
            second.base = ids.1; second.baseCount = parts[1].count; second.epoch = core.state.postings[newHead].epoch &+ 1
            // Entries appended after we read the posting go to the nearer new head.
            for entry in ref.deltaCount..<current.deltaCount {
                let vector = current.delta.vector(entry, dimensions: dimensions)
                let (slot, version) = (current.delta.slots[entry], current.delta.versions[entry])
                if kernels.l2SquaredUnchecked(vector, newCentroids[0]) <= kernels.l2SquaredUnchecked(vector, newCentroids[1]) {
                    first.delta.append(slot: slot, version: version, vector: vector)
                } else {
                    second.delta.append(slot: slot, version: version, vector: vector)
                    if version == core.state.versions[Int(slot)] { Self.replaceHolder(&core, of: slot, head, with: newHead) }
                }
            }
            for entry in 0..<parts[1].count where parts[1].versions[entry] == core.state.versions[Int(parts[1].slots[entry])] {
                Self.replaceHolder(&core, of: parts[1].slots[entry], head, with: newHead)
            }
            core.deltaEntries -= ref.deltaCount
            if current.base != 0 { core.retired.append(current.base) }
            for side in 0..<2 {
                let delta = side == 0 ? first.delta : second.delta
                let bits = Self.summary(of: parts[side], signatures: core.state.signatures) | Self.summary(of: delta, signatures: core.state.signatures)
                if side == 0 { first.summary = bits } else { second.summary = bits }
            }
            core.state.postings[head] = first
            core.state.postings[newHead] = second
            for (target, posting) in [(head, first), (newHead, second)] where posting.total > configuration.postingLimit {
                core.pending.insert(target)
            }
            core.statistics.splits += 1
            return (old, newHead, core.state.heads)
        }
        guard let installed else {
            try await store.delete([ids.0, ids.1])
            return
        }
        rebuildHeadsIfWanted()
        try await reassign(afterSplitOf: head, newHead: installed.newHead, oldCentroid: installed.old, newCentroids: newCentroids,
                           parts: parts, assignment: assignment, heads: installed.heads)
    }

    /// Regroups the head tree once the heads have doubled: on a copy, without holding
    /// the lock searches and writers need (it is k-means over every head), installed if
    /// the heads did not change meanwhile (else the next split tries again).
    private func rebuildHeadsIfWanted() {
        guard var heads = core.withLock({ $0.state.heads.wantsRebuild ? $0.state.heads : nil }) else { return }
        let revision = heads.revision
        heads.rebuild(kernels: kernels)
        core.withLock { core in
            if core.state.heads.revision == revision { core.state.heads = heads }
        }
    }

    /// LIRE's reassignment after a split. Condition 1: a vector of the split posting is a
    /// candidate only if it was at least as close to the old head as to its new head.
    /// Condition 2: a vector of one of the `reassignNeighbours` nearest postings is a
    /// candidate only if a new head is closer to it than the old head was. Candidates
    /// re-run the RNG rule; a vector whose postings changed moves (see `move`): appended
    /// where it is missing, its copies elsewhere left as garbage for the next rewrite.
    private func reassign(
        afterSplitOf head: Int, newHead: Int, oldCentroid: [Float], newCentroids: [[Float]],
        parts: [Posting], assignment: [Int], heads: HeadIndex
    ) async throws {
        // Candidate slot → its version, vector and the posting it was found in.
        var candidates: [Int32: (version: UInt32, vector: [Float], foundIn: Int)] = [:]
        for (side, part) in parts.enumerated() where !part.isEmpty {
            let target = side == 0 ? head : newHead
            let toOld = distances(from: oldCentroid, to: part)
            let toNew = distances(from: newCentroids[side], to: part)
            for entry in 0..<part.count where toOld[entry] <= toNew[entry] {
                candidates[part.slots[entry]] = (part.versions[entry], part.vector(entry, dimensions: dimensions), target)
            }
        }
        let neighbours = heads.nearest(to: oldCentroid, n: configuration.reassignNeighbours, kernels: kernels)
            .map(\.index).filter { $0 != head && $0 != newHead }
        // Their references as of now (not a copy of every page: see `rewrite`), with the
        // version map of the same moment (their appends may hold slots newer than the
        // split's copy of it).
        let (refs, versions) = core.withLock { core in (neighbours.map { core.state.postings[$0] }, core.state.versions) }
        let fetched = try await store.fetch(refs.compactMap { $0.base == 0 ? nil : $0.base }, caching: false)
        for (neighbour, ref) in zip(neighbours, refs) where ref.alive {
            let own = heads.row(neighbour)
            var postings = [ref.delta]
            if ref.base != 0, let base = fetched[ref.base] { postings.append(base) }
            for posting in postings where !posting.isEmpty {
                let toOld = distances(from: oldCentroid, to: posting)
                let toFirst = distances(from: newCentroids[0], to: posting)
                let toSecond = distances(from: newCentroids[1], to: posting)
                let toOwn = distances(from: own, to: posting)
                for entry in 0..<posting.count {
                    let slot = posting.slots[entry]
                    // Condition 2, and (cheaper to act on) only when the new head would
                    // also beat the head of the posting the vector sits in.
                    let nearestNew = min(toFirst[entry], toSecond[entry])
                    guard nearestNew < toOld[entry], nearestNew < toOwn[entry], candidates[slot] == nil,
                          posting.versions[entry] == versions[Int(slot)] else { continue }
                    candidates[slot] = (posting.versions[entry], posting.vector(entry, dimensions: dimensions), neighbour)
                }
            }
        }
        let inSplit = Set(parts[0].slots).union(parts[1].slots)
        // Copies the vectors moved away from (garbage not yet rewritten) are no
        // candidates; the others' holders say where a neighbour's vector is now.
        var holders: [Int32: [Int]] = [:]
        let heads = core.withLock { core in
            candidates = candidates.filter { !Self.movedAway(core, slot: $0.key, from: $0.value.foundIn) }
            for slot in candidates.keys where !inSplit.contains(slot) { holders[slot] = Self.holders(core, of: slot) }
            return core.state.heads
        }
        guard !candidates.isEmpty else { return }
        var moves: [(slot: Int32, version: UInt32, vector: [Float], selection: [Int])] = []
        // A neighbour's vector whose holders are known changes postings only if the RNG
        // rule now accepts a new head: checked against its holders (a few distances)
        // before any head-index search.
        let checked = candidates.filter { slot, candidate in
            guard let held = holders[slot] else { return true }
            return Self.acceptsNewHead(candidate.vector, holders: held, newHeads: [head, newHead], heads: heads,
                                       configuration: configuration, kernels: kernels)
        }
        let selections = Self.selectPostings(for: checked.map(\.value.vector), heads: heads, configuration: configuration, kernels: kernels)
        for ((slot, candidate), selection) in zip(checked, selections) {
            // A vector moves when its posting is no longer among its RNG choices (as in
            // SPFresh), or when it now belongs to a new head that lacks it.
            let wantsNewHead = !inSplit.contains(slot) && (selection.contains(head) || selection.contains(newHead))
            if !selection.contains(candidate.foundIn) || wantsNewHead {
                moves.append((slot, candidate.version, candidate.vector, selection))
            }
        }
        core.withLock { $0.statistics.reassignChecked += candidates.count }
        // Installed 32 at a time: each move stands alone (its appends and holders), and
        // a query waiting for the lock should not wait for 150 of them.
        for start in stride(from: 0, to: moves.count, by: 32) {
            core.withLock { core in
                install(moves[start..<min(moves.count, start + 32)], into: &core)
            }
        }
    }

    /// Whether the RNG rule would accept one of `newHeads` for a vector placed at
    /// `holders` (its accepted heads): a new head is judged after the holders nearer
    /// than it, which accept the same way as before, so it is accepted unless one of
    /// them blocks it or they already fill `replicaCount`. True (search the head
    /// index) when that cannot be told: a holder is gone or is itself a new head.
    static func acceptsNewHead(
        _ vector: [Float], holders: [Int], newHeads: [Int], heads: HeadIndex, configuration: SPFreshConfiguration, kernels: Kernels
    ) -> Bool {
        guard !holders.isEmpty, holders.allSatisfy({ heads.contains($0) && !newHeads.contains($0) }) else { return true }
        let toHolders = holders.map { heads.distance(to: vector, from: $0, kernels: kernels) }
        let nearestHolder = toHolders.filter { $0 > 0 }.min() ?? .infinity
        for candidate in newHeads where heads.contains(candidate) {
            let distance = heads.distance(to: vector, from: candidate, kernels: kernels)
            if distance > configuration.replicaReach * nearestHolder { continue }
            let nearer = holders.indices.filter { toHolders[$0] < distance }
            if nearer.count >= configuration.replicaCount { continue }
            let blocked = nearer.contains { configuration.rngFactor * heads.distance(between: candidate, and: holders[$0], kernels: kernels) < distance }
            if !blocked { return true }
        }
        return false
    }

    /// Moves vectors (under the lock) to their new postings.
    private func install(_ moves: ArraySlice<(slot: Int32, version: UInt32, vector: [Float], selection: [Int])>, into core: inout Core) {
        for move in moves {
            // Skip vectors written or deleted since we looked: their new version is placed.
            guard core.state.versions[Int(move.slot)] == move.version, core.state.ids[Int(move.slot)] != nil else { continue }
            var selection = move.selection
            if selection.contains(where: { !core.state.heads.contains($0) }) {
                selection = Self.selectPostings(for: move.vector, heads: core.state.heads, configuration: configuration, kernels: kernels)
            }
            Self.move(&core, slot: move.slot, vector: move.vector, to: selection, configuration: configuration)
        }
    }

    // MARK: statistics

    /// Every id with a current copy in some posting (reads every posting): the
    /// consistency check behind the crash and concurrency tests — each live id must be
    /// here, and nothing else.
    public func indexedIDs() async throws -> Set<ID> {
        let state = core.withLock { $0.state }
        var found = Set<ID>()
        try await forEachPosting(in: state) { _, posting in
            for entry in 0..<posting.count where posting.versions[entry] == state.versions[Int(posting.slots[entry])] {
                if let id = state.ids[Int(posting.slots[entry])] { found.insert(id) }
            }
        }
        return found
    }

    /// Reads every posting to measure garbage — stale versions and copies the vector
    /// moved away from (the other figures come from memory).
    public func measure() async throws -> SPFreshStatistics {
        let (state, holders) = core.withLock { ($0.state, $0.holders) }
        var garbage = 0
        try await forEachPosting(in: state) { head, posting in
            for entry in 0..<posting.count {
                let slot = posting.slots[entry]
                if posting.versions[entry] != state.versions[Int(slot)] || Self.movedAway(holders, slot: slot, from: head) { garbage += 1 }
            }
        }
        core.withLock { $0.statistics.garbageEntries = garbage }
        return statistics
    }

    /// Checks the holders (see `Core.holders`) against the postings: `missing` counts a
    /// live slot's holder whose posting lacks a current copy (a vector could then be
    /// lost when its other copies are rewritten away) and `strays` current copies in a
    /// posting that is not a holder (garbage awaiting a rewrite). Reads every posting.
    func auditHolders() async throws -> (missing: Int, strays: Int, known: Int) {
        let (state, holders, slotOf) = core.withLock { ($0.state, $0.holders, $0.slotOf) }
        var copies: [Int32: Set<Int>] = [:]
        var strays = 0
        try await forEachPosting(in: state) { head, posting in
            for entry in 0..<posting.count where posting.versions[entry] == state.versions[Int(posting.slots[entry])] {
                copies[posting.slots[entry], default: []].insert(head)
                if Self.movedAway(holders, slot: posting.slots[entry], from: head) { strays += 1 }
            }
        }
        var missing = 0, known = 0
        for slot in slotOf.values {
            let start = Int(slot) * Self.holderWidth
            guard start < holders.count, holders[start] != -2 else { continue }
            known += 1
            for lane in start..<(start + Self.holderWidth) where holders[lane] >= 0 {
                if !(copies[slot]?.contains(Int(holders[lane])) ?? false) { missing += 1 }
            }
        }
        return (missing, strays, known)
    }

    /// The stored base of `head`'s posting (nil when it has none yet). A referenced
    /// object that storage no longer has is corruption, never skipped.
    private func base(of ref: PostingRef, head: Int) async throws -> Posting? {
        guard ref.base != 0 else { return nil }
        guard let base = try await store.fetch([ref.base], caching: false)[ref.base] else {
            throw StorageError(.corrupt, "posting object \(store.key(ref.base)) referenced by head \(head) is missing")
        }
        return base
    }

    /// Calls `body` with each live head's delta and stored base, reading bases 256 per
    /// batch.
    private func forEachPosting(in state: State, _ body: (Int, Posting) -> Void) async throws {
        let heads = (0..<state.postings.count).filter { state.postings[$0].alive }
        for start in stride(from: 0, to: heads.count, by: 256) {
            let batch = heads[start..<min(heads.count, start + 256)]
            let wanted = batch.compactMap { state.postings[$0].base == 0 ? nil : state.postings[$0].base }
            let fetched = try await store.fetch(wanted, caching: false)
            for head in batch {
                let ref = state.postings[head]
                body(head, ref.delta)
                guard ref.base != 0 else { continue }
                guard let base = fetched[ref.base] else {
                    throw StorageError(.corrupt, "posting object \(store.key(ref.base)) referenced by head \(head) is missing")
                }
                body(head, base)
            }
        }
    }
}

/// Scans postings for one query: batch distances, then version checks (stale and
/// deleted copies skipped) and the optional filter for entries that would enter the
/// top `k`. Not generic over the id type, so the hot loop is compiled specialised.
struct PostingScanner {
    let query: [Float]
    let dimensions: Int
    let kernels: Kernels
    let versions: PagedArray<UInt32>
    var accept: ((Int32) -> Bool)?
    var top: TopSlots
    private(set) var postingsRead = 0
    private(set) var entriesScanned = 0
    private(set) var truncatedByDeadline = false
    /// The least precise encoding scanned (raw value), reported to the store.
    private var coarsest: UInt8 = 0
    private var distances: [Float] = []
    /// Where file-cached postings are read to be scanned (made on first use).
    private var buffer: PostingReadBuffer?

    init(query: [Float], k: Int, dimensions: Int, kernels: Kernels, versions: PagedArray<UInt32>) {
        (self.query, self.dimensions, self.kernels, self.versions) = (query, dimensions, kernels, versions)
        top = TopSlots(k: k)
    }

    /// Scans the postings of `heads`, `wave` heads at a time: bases held locally (in
    /// memory, or page-cached in the file cache) where they lie, the rest with one
    /// fetch per wave that skips the tiers already tried; past `deadline` it stops
    /// between waves. False when a base object is missing (it was replaced and deleted
    /// while the caller's state was current): retry on a new state.
    mutating func probe(
        _ heads: [Int], postings: PagedArray<PostingRef>, store: PostingStore, wave: Int, deadline: ContinuousClock.Instant?
    ) async throws -> Bool {
        if store.fileCache != nil, buffer == nil { buffer = PostingReadBuffer() }
        var start = 0
        var remote: [(id: UInt64, file: PostingStore.FileTier)] = []
        while start < heads.count {
            let end = min(heads.count, start + wave)
            remote.removeAll(keepingCapacity: true)
            for head in heads[start..<end] {
                let ref = postings[head]
                if ref.base != 0 {
                    if let tier = store.scanLocal(ref.base, buffer: buffer, { scan($0) }) {
                        remote.append((ref.base, tier))
                    } else {
                        postingsRead += 1
                    }
                }
                if ref.deltaCount > 0 { scan(ref.delta) }
            }
            if !remote.isEmpty {
                for stored in try await store.fetchBelowMemory(remote) {
                    guard let stored else { return false }
                    scan(stored.posting)
                    postingsRead += 1
                }
            }
            start = end
            if let deadline, start < heads.count, ContinuousClock.now >= deadline {
                truncatedByDeadline = true
                break
            }
        }
        if let scanned = PostingEncoding(rawValue: coarsest) { store.noteScanned(scanned) }
        return true
    }

    mutating func scan(_ posting: Posting) {
        posting.withView { scan($0) }
    }

    mutating func scan(_ posting: PostingView) {
        let count = posting.count
        entriesScanned += count
        coarsest = max(coarsest, posting.encoding.rawValue)
        if distances.count < count { distances = [Float](repeating: 0, count: count) }
        query.withUnsafeBufferPointer { query in
            distances.withUnsafeMutableBufferPointer { out in
                posting.distances(from: query.baseAddress!, into: out.baseAddress!, dimensions: dimensions, kernels: kernels)
            }
        }
        for entry in 0..<count {
            let distance = distances[entry]
            guard distance < top.worst else { continue }
            let slot = posting.slots[entry]
            guard posting.versions[entry] == versions[Int(slot)] else { continue }  // stale or deleted
            if let accept, !accept(slot) { continue }
            top.insert(slot: slot, distance: distance)
        }
    }
}

/// The best `k` (slot, distance) pairs seen so far, nearest first; a slot enters once.
struct TopSlots {
    let k: Int
    private(set) var items: [(slot: Int32, distance: Float)] = []
    private(set) var worst = Float.infinity

    init(k: Int) {
        self.k = k
        items.reserveCapacity(k + 1)
    }

    mutating func insert(slot: Int32, distance: Float) {
        guard distance < worst else { return }
        if items.contains(where: { $0.slot == slot }) { return }
        var low = 0, high = items.count
        while low < high {
            let mid = (low + high) / 2
            if items[mid].distance <= distance { low = mid + 1 } else { high = mid }
        }
        items.insert((slot, distance), at: low)
        if items.count > k { items.removeLast() }
        if items.count == k { worst = items[k - 1].distance }
    }
}
