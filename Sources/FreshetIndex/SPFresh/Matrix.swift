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
        squaredDistances(to: query, kernels: kernels).withUnsafeBufferPointer { nearest.push($0) }
        return nearest.sorted()
    }
}

/// The `capacity` smallest (distance, index) pairs pushed so far (ties by index), as a
/// bounded max-heap: a candidate no better than the worst kept costs one comparison
/// (against a cached bound), so a scan of many candidates for few results stays linear
/// with a small constant. Batches are pushed through raw pointers: the head search
/// pushes thousands of candidates per call.
struct NearestHeap {
    let capacity: Int
    private var indices: [Int]
    private var distances: [Float]
    private var size = 0
    /// The root's distance once full (+∞ before): anything farther is rejected at once.
    private var bound = Float.infinity

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        indices = [Int](repeating: 0, count: self.capacity)
        distances = [Float](repeating: 0, count: self.capacity)
    }

    mutating func push(_ index: Int, _ distance: Float) {
        guard distance <= bound else { return }
        withStorage { heap in heap.push(index, distance) }
    }

    /// Pushes `ids[i]` (or `firstRow + i` without ids) at `candidates[i]` for every i.
    mutating func push(_ candidates: UnsafeBufferPointer<Float>, ids: UnsafeBufferPointer<Int32>? = nil, firstRow: Int = 0) {
        withStorage { heap in
            if let ids {
                for i in 0..<candidates.count where candidates[i] <= heap.bound { heap.push(Int(ids[i]), candidates[i]) }
            } else {
                for i in 0..<candidates.count where candidates[i] <= heap.bound { heap.push(firstRow + i, candidates[i]) }
            }
        }
    }

    private mutating func withStorage(_ body: (inout RawHeap) -> Void) {
        let capacity = self.capacity
        var size = self.size, bound = self.bound
        indices.withUnsafeMutableBufferPointer { ip in
            distances.withUnsafeMutableBufferPointer { dp in
                var heap = RawHeap(indices: ip.baseAddress!, distances: dp.baseAddress!, capacity: capacity, size: size, bound: bound)
                body(&heap)
                (size, bound) = (heap.size, heap.bound)
            }
        }
        (self.size, self.bound) = (size, bound)
    }

    /// The kept pairs, nearest first (heapsort: the worst goes last, repeatedly).
    func sorted() -> [(index: Int, distance: Float)] {
        var copy = self
        let count = size
        copy.withStorage { heap in
            var end = heap.size
            while end > 1 {
                end -= 1
                let (index, distance) = (heap.indices[end], heap.distances[end])
                heap.indices[end] = heap.indices[0]
                heap.distances[end] = heap.distances[0]
                heap.siftDown(index, distance, count: end)
            }
        }
        return (0..<count).map { (index: copy.indices[$0], distance: copy.distances[$0]) }
    }

    /// The heap over borrowed storage (valid inside `withStorage` only).
    private struct RawHeap {
        let indices: UnsafeMutablePointer<Int>
        let distances: UnsafeMutablePointer<Float>
        let capacity: Int
        var size: Int
        var bound: Float

        /// Whether (index, distance) orders after the entry at `slot`.
        @inline(__always) func after(_ index: Int, _ distance: Float, _ slot: Int) -> Bool {
            distance != distances[slot] ? distance > distances[slot] : index > indices[slot]
        }

        @inline(__always) mutating func push(_ index: Int, _ distance: Float) {
            if size < capacity {
                var child = size
                size += 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard after(index, distance, parent) else { break }
                    indices[child] = indices[parent]
                    distances[child] = distances[parent]
                    child = parent
                }
                indices[child] = index
                distances[child] = distance
                if size == capacity { bound = distances[0] }
            } else if capacity > 0, !after(index, distance, 0) {
                siftDown(index, distance, count: size)
                bound = distances[0]
            }
        }

        /// Puts (index, distance) at the root of the first `count` entries and restores the heap.
        mutating func siftDown(_ index: Int, _ distance: Float, count: Int) {
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
    }
}

extension Matrix {
    public mutating func append(contentsOf other: Matrix) {
        precondition(other.dimensions == dimensions)
        values.append(contentsOf: other.values)
    }
}
