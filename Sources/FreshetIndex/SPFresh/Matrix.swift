import CFreshetKernels

/// A dense row-major matrix of f32 vectors, the unit the clustering and head search
/// stream through the batch kernels.
public struct Matrix: Sendable {
    public let dimensions: Int
    public private(set) var values: [Float]

    public init(dimensions: Int, values: [Float] = []) {
        precondition(dimensions > 0 && values.count % dimensions == 0, "a matrix needs whole rows")
        self.dimensions = dimensions
        self.values = values
    }

    public var count: Int { values.count / dimensions }

    public func row(_ index: Int) -> [Float] {
        Array(values[(index * dimensions)..<((index + 1) * dimensions)])
    }

    public mutating func append(_ row: [Float]) {
        precondition(row.count == dimensions, "row of \(row.count) in a \(dimensions)-d matrix")
        values.append(contentsOf: row)
    }

    public mutating func removeLast() {
        values.removeLast(dimensions)
    }

    public mutating func set(_ index: Int, _ row: [Float]) {
        precondition(row.count == dimensions)
        values.replaceSubrange((index * dimensions)..<((index + 1) * dimensions), with: row)
    }

    /// Squared L2 from `query` to every row.
    public func squaredDistances(to query: [Float], kernels: Kernels = .best) -> [Float] {
        let count = self.count
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            query.withUnsafeBufferPointer { q in values.withUnsafeBufferPointer { base in
                freshet_l2sq_f32_batch(kernels.level.isa, q.baseAddress, base.baseAddress, count, dimensions, out.baseAddress)
            } }
            initialized = count
        }
    }

    /// Indices and squared distances of the `n` rows nearest `query`, nearest first.
    public func nearest(to query: [Float], n: Int, kernels: Kernels = .best) -> [(index: Int, distance: Float)] {
        let distances = squaredDistances(to: query, kernels: kernels)
        return TopN.select(distances.enumerated().map { ($0.offset, $0.element) }, n: n)
    }
}

/// Partial selection of the n smallest distances (ties by index), without sorting all.
enum TopN {
    static func select(_ items: [(Int, Float)], n: Int) -> [(index: Int, distance: Float)] {
        guard n > 0 else { return [] }
        var best: [(index: Int, distance: Float)] = []
        best.reserveCapacity(n + 1)
        for (index, distance) in items {
            if best.count == n, let last = best.last, distance > last.distance || (distance == last.distance && index > last.index) { continue }
            var low = 0, high = best.count
            while low < high {
                let mid = (low + high) / 2
                let other = best[mid]
                if other.distance < distance || (other.distance == distance && other.index < index) { low = mid + 1 } else { high = mid }
            }
            best.insert((index, distance), at: low)
            if best.count > n { best.removeLast() }
        }
        return best
    }
}

extension Matrix {
    public mutating func append(contentsOf other: Matrix) {
        precondition(other.dimensions == dimensions)
        values.append(contentsOf: other.values)
    }

    /// Reserves room for `rows` rows.
    public mutating func reserve(rows: Int) { values.reserveCapacity(rows * dimensions) }
}
