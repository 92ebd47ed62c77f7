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
/// bounded max-heap of 64-bit keys — the distance's bits above the index, so one integer
/// comparison orders two pairs (squared distances are ≥ 0, whose IEEE bits order as
/// unsigned integers; NaN orders after every number). A candidate no better than the
/// worst kept costs one comparison (against a cached bound). Batches are pushed through
/// raw pointers: the head search pushes thousands of candidates per call.
struct NearestHeap {
    let capacity: Int
    private var keys: [UInt64]
    private var size = 0
    /// The root's distance once full (+∞ before): anything farther is rejected at once.
    private var bound = Float.infinity

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        keys = [UInt64](repeating: 0, count: self.capacity)
    }

    @inline(__always) static func key(_ index: Int, _ distance: Float) -> UInt64 {
        UInt64(distance.bitPattern) << 32 | UInt64(UInt32(truncatingIfNeeded: index))
    }

    mutating func push(_ index: Int, _ distance: Float) {
        guard !(distance > bound) else { return }  // NaN is kept (it orders last)
        withStorage { heap in heap.push(Self.key(index, distance)) }
    }

    /// Pushes `ids[i]` (or `firstRow + i` without ids) at `candidates[i]` for every i.
    mutating func push(_ candidates: UnsafeBufferPointer<Float>, ids: UnsafeBufferPointer<Int32>? = nil, firstRow: Int = 0) {
        withStorage { heap in
            if let ids {
                for i in 0..<candidates.count where !(candidates[i] > heap.bound) { heap.push(Self.key(Int(ids[i]), candidates[i])) }
            } else {
                for i in 0..<candidates.count where !(candidates[i] > heap.bound) { heap.push(Self.key(firstRow + i, candidates[i])) }
            }
        }
    }

    private mutating func withStorage(_ body: (inout RawHeap) -> Void) {
        let capacity = self.capacity
        var size = self.size, bound = self.bound
        keys.withUnsafeMutableBufferPointer { buffer in
            var heap = RawHeap(keys: buffer.baseAddress!, capacity: capacity, size: size, bound: bound)
            body(&heap)
            (size, bound) = (heap.size, heap.bound)
        }
        (self.size, self.bound) = (size, bound)
    }

    /// The kept pairs, nearest first.
    func sorted() -> [(index: Int, distance: Float)] {
        keys[0..<size].sorted().map { key in
            (index: Int(Int32(bitPattern: UInt32(truncatingIfNeeded: key))), distance: Float(bitPattern: UInt32(key >> 32)))
        }
    }

    /// The heap over borrowed storage (valid inside `withStorage` only).
    private struct RawHeap {
        let keys: UnsafeMutablePointer<UInt64>
        let capacity: Int
        var size: Int
        var bound: Float

        @inline(__always) mutating func push(_ key: UInt64) {
            if size < capacity {
                var child = size
                size += 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard key > keys[parent] else { break }
                    keys[child] = keys[parent]
                    child = parent
                }
                keys[child] = key
                if size == capacity { bound = Float(bitPattern: UInt32(keys[0] >> 32)) }
            } else if capacity > 0, key < keys[0] {
                var parent = 0
                while true {
                    var child = 2 * parent + 1
                    guard child < size else { break }
                    if child + 1 < size, keys[child + 1] > keys[child] { child += 1 }
                    guard keys[child] > key else { break }
                    keys[parent] = keys[child]
                    parent = child
                }
                keys[parent] = key
                bound = Float(bitPattern: UInt32(keys[0] >> 32))
            }
        }
    }
}
