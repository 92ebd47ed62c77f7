/// The in-memory index over SPANN heads.
///
/// Few heads are scanned flat (one batch-kernel pass). Past `flatLimit` a two-level
/// tree takes over: heads are grouped under √H coarse centroids (balanced k-means), a
/// search ranks the coarse centroids and scans only the heads of the nearest
/// `coarseProbe` groups. Heads added, moved or removed by LIRE are filed under their
/// nearest centroid; the tree is rebuilt when the head count has doubled since it was
/// built, so groups stay balanced without global work per update.
struct HeadIndex: Sendable {
    struct Group: Sendable {
        var heads: [Int] = []
        var vectors: Matrix
    }

    let dimensions: Int
    var flatLimit: Int
    var coarseProbe: Int
    private(set) var vectors: Matrix
    private var centroids: Matrix
    private var groups: [Group] = []
    /// Per head: its group and position in that group.
    private var location: [(group: Int, position: Int)] = []
    private var builtAt = 0

    init(dimensions: Int, flatLimit: Int = 2048, coarseProbe: Int = 12) {
        self.dimensions = dimensions
        self.flatLimit = flatLimit
        self.coarseProbe = coarseProbe
        vectors = Matrix(dimensions: dimensions)
        centroids = Matrix(dimensions: dimensions)
    }

    var count: Int { vectors.count }
    var isTree: Bool { !groups.isEmpty }

    func row(_ head: Int) -> [Float] { vectors.row(head) }

    mutating func append(_ vector: [Float]) {
        vectors.append(vector)
        location.append((-1, -1))
        if isTree { file(count - 1) }
        maybeRebuild()
    }

    mutating func set(_ head: Int, _ vector: [Float]) {
        vectors.set(head, vector)
        if isTree {
            unfile(head)
            file(head)
        }
    }

    /// Removes `head` by moving the last head into its place (indices shift like the
    /// postings array they mirror).
    mutating func swapRemove(_ head: Int) {
        let last = count - 1
        if isTree { unfile(head) }
        if head != last {
            if isTree { unfile(last) }
            vectors.set(head, vectors.row(last))
            location[head] = location[last]
        }
        vectors.removeLast()
        location.removeLast()
        if isTree, head != last { file(head) }
    }

    /// The `n` heads nearest `query`, nearest first, with squared distances.
    func nearest(to query: [Float], n: Int, kernels: Kernels) -> [(index: Int, distance: Float)] {
        guard isTree else { return vectors.nearest(to: query, n: n, kernels: kernels) }
        let probe = centroids.nearest(to: query, n: min(coarseProbe, centroids.count), kernels: kernels)
        var candidates: [(Int, Float)] = []
        for (group, _) in probe {
            let members = groups[group]
            let distances = members.vectors.squaredDistances(to: query, kernels: kernels)
            for (position, head) in members.heads.enumerated() { candidates.append((head, distances[position])) }
        }
        return TopN.select(candidates, n: n)
    }

    private mutating func maybeRebuild() {
        if !isTree {
            if count > flatLimit { rebuild() }
        } else if count >= 2 * builtAt {
            rebuild()
        }
    }

    /// Groups every head under √H balanced k-means centroids.
    mutating func rebuild() {
        let k = max(2, Int(Double(count).squareRoot()))
        var kmeans = BalancedKMeans(k: k)
        kmeans.iterations = 6
        let (assignment, centroids) = kmeans.fit(vectors, rows: Array(0..<count))
        self.centroids = centroids
        groups = (0..<centroids.count).map { _ in Group(vectors: Matrix(dimensions: dimensions)) }
        for head in 0..<count {
            let group = assignment[head]
            location[head] = (group, groups[group].heads.count)
            groups[group].heads.append(head)
            groups[group].vectors.append(vectors.row(head))
        }
        builtAt = count
    }

    private mutating func file(_ head: Int) {
        let group = centroids.nearest(to: vectors.row(head), n: 1).first!.index
        location[head] = (group, groups[group].heads.count)
        groups[group].heads.append(head)
        groups[group].vectors.append(vectors.row(head))
    }

    private mutating func unfile(_ head: Int) {
        let (group, position) = location[head]
        guard group >= 0 else { return }
        let last = groups[group].heads.count - 1
        if position != last {
            let moved = groups[group].heads[last]
            groups[group].heads[position] = moved
            groups[group].vectors.set(position, groups[group].vectors.row(last))
            location[moved] = (group, position)
        }
        groups[group].heads.removeLast()
        groups[group].vectors.removeLast()
        location[head] = (-1, -1)
    }
}
