/// Parameters of the SPFresh index. Defaults follow SPANN/SPFresh's reference
/// implementation (see reference/spfresh.md) unless noted.
public struct SPFreshConfiguration: Sendable, Equatable {
    /// Fraction of points that become heads (SPANN: 10–20%).
    public var headFraction = 0.1
    /// Postings a vector is written to at most (RNG rule), ReplicaCount.
    public var replicaCount = 8
    /// RNG rule factor: skip head c when an accepted head s has `factor·D(c,s) < D(x,c)`.
    public var rngFactor: Float = 1.0
    /// Candidate heads considered per insert (InternalResultNum).
    public var candidateHeads = 64
    /// Posting size cap, in vectors; a posting above it is split.
    public var postingLimit = 128
    /// Heads searched per query (SearchInternalResultNum).
    public var searchHeads = 64
    /// Query-aware pruning: skip heads farther than ratio × the nearest head's distance.
    public var maxDistanceRatio: Float = 8
    /// A posting with at most this many live vectors is merged into a neighbour.
    public var mergeThreshold = 10
    /// Neighbouring postings checked for reassignment after a split (ReassignK).
    public var reassignNeighbours = 64
    /// Heads scanned flat up to this count; beyond it a two-level tree indexes them.
    public var headIndexFlatLimit = 2048
    /// Coarse groups of heads a tree search visits.
    public var headIndexProbe = 12

    public init() {}
}

/// Counters the index exposes to metrics and `explain_query`.
public struct SPFreshStatistics: Sendable, Equatable {
    public var heads = 0
    public var liveVectors = 0
    public var postingEntries = 0
    public var splits = 0
    public var merges = 0
    public var reassigned = 0
    /// Entries that are stale versions or deleted, awaiting the next rewrite.
    public var garbageEntries = 0
    /// Posting sizes (entries) in buckets of 16: [0-15, 16-31, …].
    public var postingSizeHistogram: [Int] = []

    public var garbageRatio: Double { postingEntries == 0 ? 0 : Double(garbageEntries) / Double(postingEntries) }
}

/// An SPFresh index: SPANN's heads (in memory) and postings (vector lists per head),
/// kept fresh in place by LIRE — inserts append, deletes mark a version map, oversized
/// postings split, undersized ones merge, and vectors near a changed boundary are
/// reassigned — never by a global rebuild.
///
/// A value type updated by one owner at a time (the namespace's actor); queries run on
/// copies, which share every posting a later update does not touch. Distances are
/// squared L2; cosine is served by indexing normalised vectors.
public struct SPFreshIndex<ID: Hashable & Sendable>: Sendable {
    struct Posting: Sendable {
        var slots: [Int32] = []
        var versions: [UInt8] = []
        var vectors: [Float] = []
        var count: Int { slots.count }
    }

    public let dimensions: Int
    public let configuration: SPFreshConfiguration
    private(set) var heads: HeadIndex
    private var postings: [Posting] = []
    /// Per internal slot: the external id, its current version (7 bits) and a deleted flag (bit 7).
    private var ids: [ID?] = []
    private var versions: [UInt8] = []
    private var vectors: [[Float]] = []
    /// Per slot: the heads holding its current version.
    private var placements: [[Int32]] = []
    private var slotOf: [ID: Int32] = [:]
    private var freeSlots: [Int32] = []
    public private(set) var statistics = SPFreshStatistics()
    let kernels: Kernels

    static var deletedFlag: UInt8 { 0x80 }

    public init(dimensions: Int, configuration: SPFreshConfiguration = SPFreshConfiguration(), kernels: Kernels = .best) {
        self.dimensions = dimensions
        self.configuration = configuration
        self.kernels = kernels
        heads = HeadIndex(dimensions: dimensions, flatLimit: configuration.headIndexFlatLimit, coarseProbe: configuration.headIndexProbe)
    }

    public var count: Int { slotOf.count }

    /// Builds the index over `items` from scratch: hierarchical balanced clustering picks
    /// heads (real data points nearest each leaf's centroid), then every vector goes to
    /// up to `replicaCount` postings by the RNG rule; oversized postings split.
    public static func build(_ items: [(id: ID, vector: [Float])], dimensions: Int,
                             configuration: SPFreshConfiguration = SPFreshConfiguration(), kernels: Kernels = .best) -> SPFreshIndex {
        var index = SPFreshIndex(dimensions: dimensions, configuration: configuration, kernels: kernels)
        guard !items.isEmpty else { return index }
        var points = Matrix(dimensions: dimensions)
        for item in items { points.append(item.vector) }
        let leafSize = max(2, Int((1 / configuration.headFraction).rounded()))
        let leaves = BalancedKMeans.hierarchical(points, rows: Array(0..<items.count), leafSize: leafSize, kernels: kernels)
        for leaf in leaves {
            var centroid = [Float](repeating: 0, count: dimensions)
            for row in leaf { let v = points.row(row); for d in 0..<dimensions { centroid[d] += v[d] } }
            for d in 0..<dimensions { centroid[d] /= Float(leaf.count) }
            var best = leaf[0], bestDistance = Float.infinity
            for row in leaf {
                let distance = kernels.l2SquaredUnchecked(centroid, points.row(row))
                if distance < bestDistance { bestDistance = distance; best = row }
            }
            index.heads.append(points.row(best))
            index.postings.append(Posting())
        }
        for item in items { index.insert(item.id, item.vector, splitting: false) }
        for posting in 0..<index.postings.count where index.postings[posting].count > configuration.postingLimit {
            index.split(posting)
        }
        index.refreshStatistics()
        return index
    }

    // MARK: queries

    /// The `k` nearest live ids to `query` with their squared distances, nearest first.
    /// `accept` filters ids (a filtered search); `searchHeads` overrides the default.
    public func search(_ query: [Float], k: Int, searchHeads: Int? = nil, accept: (ID) -> Bool = { _ in true }) -> [(id: ID, distance: Float)] {
        guard k > 0, !postings.isEmpty else { return [] }
        let probe = heads.nearest(to: query, n: searchHeads ?? configuration.searchHeads, kernels: kernels)
        guard let nearest = probe.first else { return [] }
        let limit = nearest.distance > 0 ? nearest.distance * configuration.maxDistanceRatio : .infinity
        var seen = Set<Int32>()
        var best: [(slot: Int32, distance: Float)] = []
        var worst = Float.infinity
        for (head, headDistance) in probe {
            if headDistance > limit, best.count == k { break }
            let posting = postings[head]
            for entry in 0..<posting.count {
                let slot = posting.slots[entry]
                guard posting.versions[entry] == versions[Int(slot)] else { continue }  // stale or deleted
                guard seen.insert(slot).inserted else { continue }
                let distance = posting.vectors.withUnsafeBufferPointer { rows in
                    query.withUnsafeBufferPointer { q in
                        kernels.l2SquaredRaw(q.baseAddress!, rows.baseAddress! + entry * dimensions, dimensions)
                    }
                }
                if best.count == k, distance >= worst { continue }
                guard let id = ids[Int(slot)], accept(id) else { continue }
                var low = 0, high = best.count
                while low < high {
                    let mid = (low + high) / 2
                    if best[mid].distance <= distance { low = mid + 1 } else { high = mid }
                }
                best.insert((slot, distance), at: low)
                if best.count > k { best.removeLast() }
                if best.count == k { worst = best[k - 1].distance }
            }
        }
        return best.map { (ids[Int($0.slot)]!, $0.distance) }
    }

    public func contains(_ id: ID) -> Bool { slotOf[id] != nil }

    // MARK: updates

    /// Inserts or replaces `id`: the new version is appended to the postings the RNG
    /// rule picks; copies of an older version become garbage.
    public mutating func insert(_ id: ID, _ vector: [Float]) {
        insert(id, vector, splitting: true)
    }

    private mutating func insert(_ id: ID, _ vector: [Float], splitting: Bool) {
        precondition(vector.count == dimensions, "vector of \(vector.count) dimensions in a \(dimensions)-d index")
        let slot: Int32
        if let existing = slotOf[id] {
            slot = existing
            versions[Int(slot)] = (versions[Int(slot)] &+ 1) & 0x7F
        } else if let reused = freeSlots.popLast() {
            slot = reused
            ids[Int(slot)] = id
            versions[Int(slot)] = (versions[Int(slot)] & 0x7F &+ 1) & 0x7F
            slotOf[id] = slot
        } else {
            slot = Int32(ids.count)
            ids.append(id)
            versions.append(0)
            vectors.append([])
            placements.append([])
            slotOf[id] = slot
        }
        vectors[Int(slot)] = vector
        if heads.count == 0 {
            heads.append(vector)
            postings.append(Posting())
        }
        place(slot, splitting: splitting)
    }

    /// Marks `id` deleted; its copies are dropped when their postings are rewritten.
    public mutating func delete(_ id: ID) {
        guard let slot = slotOf.removeValue(forKey: id) else { return }
        versions[Int(slot)] = (versions[Int(slot)] & 0x7F) | Self.deletedFlag
        ids[Int(slot)] = nil
        vectors[Int(slot)] = []
        placements[Int(slot)] = []
        freeSlots.append(slot)
    }

    /// Appends `slot`'s current version to the postings chosen by the RNG rule.
    private mutating func place(_ slot: Int32, splitting: Bool) {
        let vector = vectors[Int(slot)]
        let chosen = selectPostings(for: vector)
        placements[Int(slot)] = chosen.map { Int32($0) }
        var oversized: [Int] = []
        for head in chosen {
            postings[head].slots.append(slot)
            postings[head].versions.append(versions[Int(slot)])
            postings[head].vectors.append(contentsOf: vector)
            if postings[head].count > configuration.postingLimit { oversized.append(head) }
        }
        if splitting { for head in oversized where head < postings.count && postings[head].count > configuration.postingLimit { split(head) } }
    }

    /// SPANN's RNG rule over the nearest `candidateHeads` heads.
    func selectPostings(for vector: [Float]) -> [Int] {
        let candidates = heads.nearest(to: vector, n: configuration.candidateHeads, kernels: kernels)
        var chosen: [Int] = []
        for (head, distance) in candidates {
            if chosen.count == configuration.replicaCount { break }
            let headVector = heads.row(head)
            let blocked = chosen.contains { accepted in
                configuration.rngFactor * kernels.l2SquaredUnchecked(headVector, heads.row(accepted)) < distance
            }
            if !blocked { chosen.append(head) }
        }
        if chosen.isEmpty, let first = candidates.first { chosen.append(first.index) }
        return chosen
    }

    // MARK: LIRE

    /// Drops garbage from a posting; splits it with 2-means when still over the limit,
    /// then reassigns the vectors whose nearest head may have changed (SPFresh's two
    /// necessary conditions).
    mutating func split(_ head: Int) {
        let kept = compact(head)
        guard kept.count > configuration.postingLimit else { return }
        var local = Matrix(dimensions: dimensions)
        for slot in kept { local.append(vectors[Int(slot)]) }
        var kmeans = BalancedKMeans(k: 2)
        kmeans.seed = UInt64(head) &+ UInt64(statistics.splits)
        let (assignment, centroids) = kmeans.fit(local, rows: Array(0..<kept.count), kernels: kernels)
        let oldHead = heads.row(head)
        let newHead = postings.count
        heads.set(head, centroids.row(0))
        heads.append(centroids.row(1))
        postings[head] = Posting()
        postings.append(Posting())
        for (position, slot) in kept.enumerated() {
            let target = assignment[position] == 0 ? head : newHead
            if target == newHead, let at = placements[Int(slot)].firstIndex(of: Int32(head)) {
                placements[Int(slot)][at] = Int32(newHead)
            }
            postings[target].slots.append(slot)
            postings[target].versions.append(versions[Int(slot)])
            postings[target].vectors.append(contentsOf: vectors[Int(slot)])
        }
        statistics.splits += 1
        // Condition 1: a vector of the split posting that was closer to the old head
        // than to its new head may now belong elsewhere.
        var candidates: [Int32] = []
        for (position, slot) in kept.enumerated() {
            let vector = vectors[Int(slot)]
            let assigned = assignment[position] == 0 ? head : newHead
            if kernels.l2SquaredUnchecked(vector, oldHead) <= kernels.l2SquaredUnchecked(vector, heads.row(assigned)) {
                candidates.append(slot)
            }
        }
        // Condition 2: a vector in a nearby posting that is closer to a new head than
        // to the old one may now belong to the new head.
        let neighbours = heads.nearest(to: oldHead, n: configuration.reassignNeighbours, kernels: kernels)
        let newHeads = [heads.row(head), heads.row(newHead)]
        for (neighbour, _) in neighbours where neighbour != head && neighbour != newHead {
            let posting = postings[neighbour]
            for entry in 0..<posting.count {
                let slot = posting.slots[entry]
                guard posting.versions[entry] == versions[Int(slot)] else { continue }
                let vector = vectors[Int(slot)]
                let toOld = kernels.l2SquaredUnchecked(vector, oldHead)
                if newHeads.contains(where: { kernels.l2SquaredUnchecked(vector, $0) < toOld }) { candidates.append(slot) }
            }
        }
        for slot in Set(candidates) where ids[Int(slot)] != nil {
            reassign(slot)
        }
    }

    /// Re-runs placement for `slot` with a new version when its postings change.
    private mutating func reassign(_ slot: Int32) {
        let vector = vectors[Int(slot)]
        let chosen = Set(selectPostings(for: vector).map { Int32($0) })
        guard chosen != Set(placements[Int(slot)]) else { return }
        versions[Int(slot)] = (versions[Int(slot)] &+ 1) & 0x7F
        statistics.reassigned += 1
        place(slot, splitting: false)
    }

    /// Rewrites a posting without its garbage; returns the live slots it keeps.
    @discardableResult
    private mutating func compact(_ head: Int) -> [Int32] {
        let posting = postings[head]
        var rewritten = Posting()
        for entry in 0..<posting.count {
            let slot = posting.slots[entry]
            guard posting.versions[entry] == versions[Int(slot)], ids[Int(slot)] != nil,
                  !rewritten.slots.contains(slot) else { continue }
            rewritten.slots.append(slot)
            rewritten.versions.append(posting.versions[entry])
            rewritten.vectors.append(contentsOf: posting.vectors[(entry * dimensions)..<((entry + 1) * dimensions)])
        }
        postings[head] = rewritten
        return rewritten.slots
    }

    /// Merges postings that fell to `mergeThreshold` live vectors or fewer into their
    /// nearest neighbour and removes their heads; their vectors are re-placed.
    public mutating func mergeSmallPostings() {
        var head = 0
        while head < postings.count, postings.count > 1 {
            let live = compact(head)
            guard live.count <= configuration.mergeThreshold else { head += 1; continue }
            // Remove the head (swap with the last), then re-place its vectors.
            let last = postings.count - 1
            heads.swapRemove(head)
            if head != last {
                postings[head] = postings[last]
                let moved = postings[head]
                for entry in 0..<moved.count where moved.versions[entry] == versions[Int(moved.slots[entry])] {
                    let slot = Int(moved.slots[entry])
                    if let at = placements[slot].firstIndex(of: Int32(last)) { placements[slot][at] = Int32(head) }
                }
            }
            postings.removeLast()
            statistics.merges += 1
            for slot in live where ids[Int(slot)] != nil {
                versions[Int(slot)] = (versions[Int(slot)] &+ 1) & 0x7F
                place(slot, splitting: true)
                statistics.reassigned += 1
            }
            // Copies in other postings now carry a stale version; they are garbage.
        }
        refreshStatistics()
    }

    /// Recomputes the statistics that need a full pass (posting sizes, garbage).
    public mutating func refreshStatistics() {
        statistics.heads = postings.count
        statistics.liveVectors = slotOf.count
        var entries = 0, garbage = 0
        var histogram: [Int] = []
        for posting in postings {
            entries += posting.count
            for entry in 0..<posting.count where posting.versions[entry] != versions[Int(posting.slots[entry])] { garbage += 1 }
            let bucket = posting.count / 16
            if histogram.count <= bucket { histogram += [Int](repeating: 0, count: bucket + 1 - histogram.count) }
            histogram[bucket] += 1
        }
        statistics.postingEntries = entries
        statistics.garbageEntries = garbage
        statistics.postingSizeHistogram = histogram
    }
}
