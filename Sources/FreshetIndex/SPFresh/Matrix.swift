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
        guard n > 0, !items.isEmpty else { return [] }
        func before(_ a: (Int, Float), _ b: (Int, Float)) -> Bool { a.1 != b.1 ? a.1 < b.1 : a.0 < b.0 }
        var work = items
        if work.count > n {
            // Quickselect: move the n smallest to the front in expected linear time, then
            // sort only those (insertion into a sorted buffer costs O(count · n) when many
            // candidates arrive in descending order, as head scans do).
            var low = 0, high = work.count - 1
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: work.count)
            while low < high {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let pivotIndex = low + Int(state >> 33) % (high - low + 1)
                let pivot = work[pivotIndex]
                work.swapAt(pivotIndex, high)
                var store = low
                for i in low..<high where before(work[i], pivot) {
                    work.swapAt(i, store)
                    store += 1
                }
                work.swapAt(store, high)
                if store == n - 1 || store == n { break }
                if store < n - 1 { low = store + 1 } else { high = store - 1 }
            }
            work.removeSubrange(n...)
        }
        work.sort(by: before)
        return work.map { (index: $0.0, distance: $0.1) }
    }
}

extension Matrix {
    public mutating func append(contentsOf other: Matrix) {
        precondition(other.dimensions == dimensions)
        values.append(contentsOf: other.values)
    }
}
