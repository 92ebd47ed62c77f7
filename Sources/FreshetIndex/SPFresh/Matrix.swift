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
        var nearest = NearestHeap(capacity: n)
        for (row, distance) in squaredDistances(to: query, kernels: kernels).enumerated() { nearest.push(row, distance) }
        return nearest.sorted()
    }
}

/// The `capacity` smallest (distance, index) pairs pushed so far (ties by index), as a
/// bounded max-heap: a candidate no better than the worst kept costs one comparison,
/// so a scan of many candidates for few results stays linear with a small constant.
struct NearestHeap {
    let capacity: Int
    private var indices: [Int] = []
    private var distances: [Float] = []

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        indices.reserveCapacity(self.capacity)
        distances.reserveCapacity(self.capacity)
    }

    /// Whether (index, distance) orders after the entry at `slot`.
    @inline(__always) private func after(_ index: Int, _ distance: Float, _ slot: Int) -> Bool {
        distance != distances[slot] ? distance > distances[slot] : index > indices[slot]
    }

    @inline(__always) mutating func push(_ index: Int, _ distance: Float) {
        if indices.count < capacity {
            indices.append(index)
            distances.append(distance)
            var child = indices.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard after(index, distance, parent) else { break }
                indices[child] = indices[parent]
                distances[child] = distances[parent]
                child = parent
            }
            indices[child] = index
            distances[child] = distance
        } else if capacity > 0, distance <= distances[0], !after(index, distance, 0) {
            siftDown(index, distance)
        }
    }

    /// Replaces the root (the worst kept) and restores the heap.
    private mutating func siftDown(_ index: Int, _ distance: Float) {
        let count = indices.count
        var parent = 0
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count, !after(indices[child], distances[child], child + 1) { child += 1 }
            guard !after(index, distance, child) else { break }
            indices[parent] = indices[child]
            distances[parent] = distances[child]
            parent = child
        }
        indices[parent] = index
        distances[parent] = distance
    }

    /// The kept pairs, nearest first.
    func sorted() -> [(index: Int, distance: Float)] {
        zip(indices, distances).map { (index: $0, distance: $1) }
            .sorted { $0.distance != $1.distance ? $0.distance < $1.distance : $0.index < $1.index }
    }
}

extension Matrix {
    public mutating func append(contentsOf other: Matrix) {
        precondition(other.dimensions == dimensions)
        values.append(contentsOf: other.values)
    }
}
