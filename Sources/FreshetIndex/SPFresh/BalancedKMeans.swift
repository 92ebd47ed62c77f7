/// k-means with a balance penalty (SPANN's balanced clustering): a point's cost for a
/// cluster is its squared distance plus `lambda` × the cluster's current size relative
/// to the ideal, so clusters stay near n/k and postings stay near their target size.
public struct BalancedKMeans: Sendable {
    public var k: Int
    public var iterations = 8
    /// Weight of the size penalty, in units of the mean squared distance.
    public var balance: Float = 1.0
    public var seed: UInt64 = 1

    public init(k: Int) { self.k = k }

    /// Cluster assignments of `rows` (indices into `points`) and the centroids.
    public func fit(_ points: Matrix, rows: [Int], kernels: Kernels = .best) -> (assignment: [Int], centroids: Matrix) {
        let k = max(1, min(self.k, rows.count))
        var generator = SplitMix64(state: seed)
        var centroids = Matrix(dimensions: points.dimensions)
        // k-means++-lite: first center random, then farthest-of-a-sample, cheap and spread.
        centroids.append(points.row(rows[Int(generator.next() % UInt64(rows.count))]))
        while centroids.count < k {
            var bestRow = rows[0], bestDistance: Float = -1
            for _ in 0..<min(32, rows.count) {
                let candidate = rows[Int(generator.next() % UInt64(rows.count))]
                let distance = centroids.squaredDistances(to: points.row(candidate), kernels: kernels).min() ?? 0
                if distance > bestDistance { bestDistance = distance; bestRow = candidate }
            }
            centroids.append(points.row(bestRow))
        }
        var assignment = [Int](repeating: 0, count: rows.count)
        let ideal = Float(rows.count) / Float(k)
        for _ in 0..<iterations {
            var sizes = [Int](repeating: 0, count: k)
            var meanDistance: Float = 0
            var distances: [[Float]] = []
            distances.reserveCapacity(rows.count)
            for row in rows {
                let d = centroids.squaredDistances(to: points.row(row), kernels: kernels)
                meanDistance += d.min() ?? 0
                distances.append(d)
            }
            meanDistance = max(meanDistance / Float(rows.count), 1e-12)
            let penalty = balance * meanDistance / ideal
            for (position, d) in distances.enumerated() {
                var best = 0
                var bestCost = Float.infinity
                for cluster in 0..<k {
                    let cost = d[cluster] + penalty * Float(sizes[cluster])
                    if cost < bestCost { bestCost = cost; best = cluster }
                }
                assignment[position] = best
                sizes[best] += 1
            }
            var sums = [Float](repeating: 0, count: k * points.dimensions)
            for (position, row) in rows.enumerated() {
                let base = assignment[position] * points.dimensions
                let vector = points.row(row)
                for d in 0..<points.dimensions { sums[base + d] += vector[d] }
            }
            for cluster in 0..<k where sizes[cluster] > 0 {
                let scale = 1 / Float(sizes[cluster])
                centroids.set(cluster, (0..<points.dimensions).map { sums[cluster * points.dimensions + $0] * scale })
            }
        }
        return (assignment, centroids)
    }

    /// Hierarchical balanced clustering: splits `rows` with k = `branching` until every
    /// cluster holds at most `leafSize` rows; returns the leaves.
    public static func hierarchical(_ points: Matrix, rows: [Int], leafSize: Int, branching: Int = 16, kernels: Kernels = .best) -> [[Int]] {
        var leaves: [[Int]] = []
        var pending = [rows]
        var round: UInt64 = 0
        while let cluster = pending.popLast() {
            if cluster.count <= leafSize {
                if !cluster.isEmpty { leaves.append(cluster) }
                continue
            }
            round += 1
            var kmeans = BalancedKMeans(k: min(branching, (cluster.count + leafSize - 1) / leafSize))
            kmeans.k = max(2, kmeans.k)
            kmeans.seed = round
            kmeans.iterations = cluster.count > 50_000 ? 4 : 8
            let (assignment, _) = kmeans.fit(points, rows: cluster, kernels: kernels)
            var parts = [[Int]](repeating: [], count: kmeans.k)
            for (position, row) in cluster.enumerated() { parts[assignment[position]].append(row) }
            let nonEmpty = parts.filter { !$0.isEmpty }
            if nonEmpty.count == 1 {
                // Degenerate (duplicates): cut in halves so recursion ends.
                let half = cluster.count / 2
                pending.append(Array(cluster[..<half]))
                pending.append(Array(cluster[half...]))
            } else {
                pending.append(contentsOf: nonEmpty)
            }
        }
        return leaves
    }
}

/// A small, fast, seedable generator (SplitMix64): reproducible sampling for
/// clustering, recall measurement and benchmarks.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
