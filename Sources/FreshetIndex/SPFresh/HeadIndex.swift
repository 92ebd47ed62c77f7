import CFreshetKernels

/// The in-memory index over SPANN heads, addressed by stable head ids.
///
/// Heads live in groups, each a contiguous matrix the batch kernels stream. Up to
/// `flatLimit` heads form one group that a search scans whole. Past it a two-level tree
/// takes over: heads are grouped under 2√H balanced k-means centroids; a search ranks
/// the centroids and scans the heads of the nearest `coarseProbe` groups. Heads added,
/// moved or removed by LIRE are filed under their nearest centroid; the tree is rebuilt
/// when the head count has doubled since it was built, so groups stay balanced without
/// global work per update. A value type: copies share groups, and a change duplicates
/// only the group it touches.
struct HeadIndex: Sendable {
    struct Group: Sendable {
        var heads: [Int32] = []
        /// The rows in f16: a head routes queries and placements, and f16's relative
        /// error (2⁻¹¹) moves its distances far less than neighbouring heads differ, at
        /// half of f32's memory (1M × 128-d: 134K heads, 34 MB saved).
        var rows: [UInt16] = []
        let dimensions: Int
        /// The rows again as int8 codes of their offset from `center`, each row with its
        /// own scale (row r ≈ center + scales[r] × codes[r]), for `nearestForQuery`: a
        /// quarter of the f32 bytes, and residuals around the group's centroid keep the
        /// codes' 255 steps on the spread within the group.
        var codes: [Int8] = []
        var scales: [Float] = []
        var center: [Float]

        init(dimensions: Int, center: [Float]? = nil, capacity: Int = 0) {
            self.dimensions = dimensions
            self.center = center ?? [Float](repeating: 0, count: dimensions)
            reserve(capacity)
        }

        /// Room for `capacity` heads, exactly: arrays grown by doubling kept up to half
        /// their memory unused (these are the index's largest arrays after the slot tables).
        mutating func reserve(_ capacity: Int) {
            heads.reserveCapacity(capacity)
            rows.reserveCapacity(capacity * dimensions)
            codes.reserveCapacity(capacity * dimensions)
            scales.reserveCapacity(capacity)
        }

        func row(_ position: Int) -> [Float] {
            rows[(position * dimensions)..<((position + 1) * dimensions)].map { freshet_f16_to_f32($0) }
        }

        mutating func append(_ head: Int32, _ vector: [Float]) {
            // Grows by an eighth, not double, once full.
            if heads.count == heads.capacity { reserve(heads.count + max(8, heads.count / 8)) }
            heads.append(head)
            for value in vector { rows.append(freshet_f32_to_f16(value)) }
            var largest: Float = 0
            for (value, origin) in zip(vector, center) { largest = max(largest, abs(value - origin)) }
            let scale = largest / 127
            scales.append(scale)
            let inverse = scale > 0 ? 1 / scale : 0
            for (value, origin) in zip(vector, center) {
                codes.append(Int8(max(-127, min(127, ((value - origin) * inverse).rounded()))))
            }
        }

        /// Moves the last row to `position` (the last row is then dropped by `removeLast`).
        mutating func moveLast(to position: Int) {
            let last = heads.count - 1
            heads[position] = heads[last]
            scales[position] = scales[last]
            for d in 0..<dimensions {
                rows[position * dimensions + d] = rows[last * dimensions + d]
                codes[position * dimensions + d] = codes[last * dimensions + d]
            }
        }

        mutating func removeLast() {
            heads.removeLast()
            scales.removeLast()
            rows.removeLast(dimensions)
            codes.removeLast(dimensions)
        }
    }
    struct Location: Sendable {
        var group: Int32
        var position: Int32
        static let none = Location(group: -1, position: -1)
    }

    let dimensions: Int
    var flatLimit: Int
    var coarseProbe: Int
    private var centroids: Matrix
    private var groups: [Group]
    /// Per head id: its group and position; `.none` for a removed (free) id.
    private var location = PagedArray<Location>(filler: .none)
    private var builtAt = 0
    private(set) var count = 0
    /// Bumped by every change, so a rebuild made on a copy can tell whether the heads
    /// moved meanwhile.
    private(set) var revision: UInt64 = 0

    init(dimensions: Int, flatLimit: Int = 2048, coarseProbe: Int = 12) {
        self.dimensions = dimensions
        self.flatLimit = flatLimit
        self.coarseProbe = coarseProbe
        centroids = Matrix(dimensions: dimensions)
        groups = [Group(dimensions: dimensions)]
    }

    /// Head ids handed out so far (live or free); ids are below this.
    var capacity: Int { location.count }
    var isTree: Bool { centroids.count > 0 }

    func contains(_ head: Int) -> Bool { head < location.count && location[head].group >= 0 }

    func row(_ head: Int) -> [Float] {
        let at = location[head]
        precondition(at.group >= 0, "head \(head) was removed")
        return groups[Int(at.group)].row(Int(at.position))
    }

    /// Squared L2 between two heads, without copying either row.
    func distance(between a: Int, and b: Int, kernels: Kernels) -> Float {
        let (la, lb) = (location[a], location[b])
        return groups[Int(la.group)].rows.withUnsafeBufferPointer { ga in
            groups[Int(lb.group)].rows.withUnsafeBufferPointer { gb in
                freshet_l2sq_f16_f16(kernels.level.isa, ga.baseAddress! + Int(la.position) * dimensions, gb.baseAddress! + Int(lb.position) * dimensions, dimensions)
            }
        }
    }

    /// Squared L2 from `vector` to a head, without copying the head's row.
    func distance(to vector: [Float], from head: Int, kernels: Kernels) -> Float {
        let at = location[head]
        return groups[Int(at.group)].rows.withUnsafeBufferPointer { rows in
            vector.withUnsafeBufferPointer { v in
                freshet_l2sq_f32_f16(kernels.level.isa, v.baseAddress!, rows.baseAddress! + Int(at.position) * dimensions, dimensions)
            }
        }
    }

    /// Adds a head and returns its id. Ids are never reused: a placement computed
    /// against an older copy of the heads may name a removed head, and must find it
    /// removed rather than find a different head under the same id. Bulk loads pass
    /// `rebuilding: false` and call `rebuild()` once at the end.
    mutating func add(_ vector: [Float], rebuilding: Bool = true) -> Int {
        let head = location.count
        location.append(.none)
        file(head, vector)
        count += 1
        revision &+= 1
        if rebuilding { maybeRebuild() }
        return head
    }

    mutating func set(_ head: Int, _ vector: [Float]) {
        revision &+= 1
        unfile(head)
        file(head, vector)
    }

    mutating func remove(_ head: Int) {
        revision &+= 1
        unfile(head)
        count -= 1
    }

    /// Tree groups that hold `rows` heads on average (1 when flat).
    func groupsHolding(rows: Int) -> Int {
        guard isTree, count > 0 else { return 1 }
        return min(centroids.count, (rows * centroids.count + count - 1) / count)
    }

    /// Tree groups a search for the nearest `n` heads should scan to find them (at
    /// least `minimum`): twice the groups that hold `n` heads on average.
    func groupsToProbe(for n: Int, minimum: Int) -> Int {
        guard isTree, count > 0 else { return minimum }
        return min(centroids.count, max(minimum, 2 * n * centroids.count / count + 1))
    }

    /// The `n` heads nearest `query`, nearest first, with squared distances. `probe`
    /// overrides how many tree groups are scanned.
    func nearest(to query: [Float], n: Int, probe: Int? = nil, kernels: Kernels) -> [(index: Int, distance: Float)] {
        scan(query, keeping: n, probe: probe ?? coarseProbe, quantized: false, kernels: kernels).sorted()
    }

    /// The `n` heads nearest a query, for searches: the tree's groups scanned in their
    /// int8 codes, then the nearest `2n + 16` of that scan re-ranked from the f16 rows.
    /// A search's head scan reads rows the posting cache keeps out of the CPU's cache,
    /// so it is bound by memory traffic, which codes quarter (1M × 128-d: 134K heads,
    /// 69 MB of f32 rows; four groups were 1,468 rows, 80% of a 4-posting query's
    /// time in f32, half of a 12-posting query's in f16). Placement scans the f16 rows
    /// (`nearest(to:)`).
    func nearestForQuery(_ query: [Float], n: Int, probe: Int, kernels: Kernels) -> [(index: Int, distance: Float)] {
        guard n > 0 else { return [] }
        let nearest = scan(query, keeping: 2 * n + 16, probe: probe, quantized: true, kernels: kernels)
        var exact = NearestHeap(capacity: n)
        for (head, _) in nearest.sorted() { exact.push(head, distance(to: query, from: head, kernels: kernels)) }
        return exact.sorted()
    }

    /// The nearest `probe` groups' heads (all when flat) streamed through the batch
    /// kernel, from the f16 rows or the int8 codes, into a heap of `keeping`.
    private func scan(_ query: [Float], keeping: Int, probe: Int, quantized: Bool, kernels: Kernels) -> NearestHeap {
        var nearest = NearestHeap(capacity: keeping)
        let scanned: [Int] = isTree ? centroids.nearest(to: query, n: min(probe, centroids.count), kernels: kernels).map(\.index) : [0]
        // One distance buffer for every group, the rows streamed where they lie.
        var buffer = [Float](repeating: 0, count: scanned.reduce(0) { max($0, groups[$1].heads.count) })
        var offset = [Float](repeating: 0, count: dimensions)
        query.withUnsafeBufferPointer { q in
            buffer.withUnsafeMutableBufferPointer { out in
                for group in scanned {
                    groups[group].heads.withUnsafeBufferPointer { heads in
                        guard !heads.isEmpty else { return }
                        if quantized {
                            // The codes hold offsets from the group's center: so does the query.
                            for d in 0..<dimensions { offset[d] = q[d] - groups[group].center[d] }
                            groups[group].codes.withUnsafeBufferPointer { rows in
                                groups[group].scales.withUnsafeBufferPointer { scales in
                                    freshet_l2sq_f32_i8s_batch(kernels.level.isa, offset, rows.baseAddress, scales.baseAddress, heads.count, dimensions, out.baseAddress)
                                }
                            }
                        } else {
                            groups[group].rows.withUnsafeBufferPointer { rows in
                                freshet_l2sq_f32_f16_batch(kernels.level.isa, q.baseAddress, rows.baseAddress, heads.count, dimensions, out.baseAddress)
                            }
                        }
                        nearest.push(UnsafeBufferPointer(rebasing: out[0..<heads.count]), ids: heads)
                    }
                }
            }
        }
        return nearest
    }

    /// `nearest(to:n:probe:kernels:)` for many queries at once, with the same answers:
    /// each query scans its own groups, but group by group rather than query by query,
    /// so a group's rows are read from memory once per batch and then from cache for
    /// every query that scans it (the head search was bound by reading head rows).
    func nearest(toEach queries: [[Float]], n: Int, probe: Int? = nil, kernels: Kernels) -> [[(index: Int, distance: Float)]] {
        var heaps = [NearestHeap](repeating: NearestHeap(capacity: n), count: queries.count)
        var scanners = [[Int32]](repeating: [], count: groups.count)
        for (query, vector) in queries.enumerated() {
            if isTree {
                for group in centroids.nearest(to: vector, n: min(probe ?? coarseProbe, centroids.count), kernels: kernels) {
                    scanners[group.index].append(Int32(query))
                }
            } else {
                scanners[0].append(Int32(query))
            }
        }
        var buffer = [Float](repeating: 0, count: groups.reduce(0) { max($0, $1.heads.count) })
        buffer.withUnsafeMutableBufferPointer { out in
            for (group, scanners) in scanners.enumerated() where !scanners.isEmpty {
                groups[group].heads.withUnsafeBufferPointer { heads in
                    guard !heads.isEmpty else { return }
                    groups[group].rows.withUnsafeBufferPointer { rows in
                        for query in scanners {
                            queries[Int(query)].withUnsafeBufferPointer { q in
                                freshet_l2sq_f32_f16_batch(kernels.level.isa, q.baseAddress, rows.baseAddress, heads.count, dimensions, out.baseAddress)
                            }
                            heaps[Int(query)].push(UnsafeBufferPointer(rebasing: out[0..<heads.count]), ids: heads)
                        }
                    }
                }
            }
        }
        return heaps.map { $0.sorted() }
    }

    /// Whether the heads outgrew their grouping: past the flat limit, or doubled since
    /// the tree was built.
    var wantsRebuild: Bool { isTree ? count >= 2 * builtAt : count > flatLimit }

    private mutating func maybeRebuild() {
        if wantsRebuild { rebuild() }
    }

    /// Groups every head under 2√H balanced k-means centroids.
    mutating func rebuild(kernels: Kernels = .best) {
        var all = Matrix(dimensions: dimensions)
        var ids: [Int32] = []
        ids.reserveCapacity(count)
        for group in groups {
            ids += group.heads
            for position in 0..<group.heads.count { all.append(group.row(position)) }
        }
        // 2√n groups of √n/2 heads: finer groups find a query's nearest heads with
        // fewer rows scanned (1M × 128-d, 134K heads: recall@10 at 12 postings 0.946 →
        // 0.961, at 32 0.989 → 0.995, same QPS per posting; GloVe 0.95 at ~7% more QPS).
        let k = max(2, Int(Double(ids.count).squareRoot() * 2))
        var kmeans = BalancedKMeans(k: k)
        kmeans.iterations = 6
        let (assignment, centroids) = kmeans.fit(all, rows: Array(0..<ids.count), kernels: kernels)
        self.centroids = centroids
        var sizes = [Int](repeating: 0, count: centroids.count)
        for group in assignment { sizes[group] += 1 }
        groups = (0..<centroids.count).map { Group(dimensions: dimensions, center: centroids.row($0), capacity: sizes[$0]) }
        for (row, head) in ids.enumerated() {
            let group = assignment[row]
            location[Int(head)] = Location(group: Int32(group), position: Int32(groups[group].heads.count))
            groups[group].append(head, all.row(row))
        }
        builtAt = ids.count
    }

    private mutating func file(_ head: Int, _ vector: [Float]) {
        let group = isTree ? centroids.nearest(to: vector, n: 1).first!.index : 0
        location[head] = Location(group: Int32(group), position: Int32(groups[group].heads.count))
        groups[group].append(Int32(head), vector)
    }

    private mutating func unfile(_ head: Int) {
        let at = location[head]
        precondition(at.group >= 0, "head \(head) was removed")
        let (group, position) = (Int(at.group), Int(at.position))
        let last = groups[group].heads.count - 1
        if position != last {
            let moved = groups[group].heads[last]
            groups[group].moveLast(to: position)
            location[Int(moved)] = Location(group: Int32(group), position: Int32(position))
        }
        groups[group].removeLast()
        location[head] = .none
    }
}
