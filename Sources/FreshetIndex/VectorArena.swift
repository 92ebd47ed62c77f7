import CFreshetKernels

/// How a scan measures distance.
public enum ArenaMetric: Sendable {
    case euclideanSquared
    case cosine
}

/// Vectors of one dimension stored row-major in fixed-size chunks, with an id per
/// slot. Scans run the batch kernels over contiguous rows instead of chasing one
/// heap array per document.
///
/// A value type: copies share storage, and a write to a copy duplicates only the chunk
/// it touches (plus the small chunk list and the id map), so a query can keep the
/// arena it started with while writes go on.
public struct VectorArena<ID: Hashable & Sendable>: Sendable {
    public let dimensions: Int
    /// Rows per chunk: 1,024 rows of 128-d are 512 KiB, small enough to duplicate on
    /// write, large enough for the kernels to stream.
    public static var chunkRows: Int { 1024 }

    // Internal, usable from inlinable code: the candidate scan below specialises for
    // the caller's id type (through generic metadata it cost ~0.3 µs a candidate).
    @usableFromInline var chunks: [[Float]] = []
    @usableFromInline var slotIDs: [[ID?]] = []
    @usableFromInline var slotOf: [ID: Int] = [:]
    private var freeSlots: [Int] = []
    /// Slots handed out so far at the end (the high-water mark).
    @usableFromInline var usedAtEnd = 0

    public init(dimensions: Int) {
        precondition(dimensions > 0, "an arena needs a positive dimension")
        self.dimensions = dimensions
    }

    public var count: Int { slotOf.count }

    public func contains(_ id: ID) -> Bool { slotOf[id] != nil }

    /// The slot holding `id`'s vector (stable until `id` is removed).
    public func slot(of id: ID) -> Int? { slotOf[id] }

    /// The stored vector of `id`.
    public func vector(of id: ID) -> [Float]? {
        guard let slot = slotOf[id] else { return nil }
        let (chunk, row) = (slot / Self.chunkRows, slot % Self.chunkRows)
        return Array(chunks[chunk][(row * dimensions)..<((row + 1) * dimensions)])
    }

    /// Inserts or replaces the vector of `id`. The caller checked the dimension.
    public mutating func set(_ id: ID, _ vector: [Float]) {
        precondition(vector.count == dimensions, "vector of \(vector.count) dimensions in a \(dimensions)-d arena")
        let slot: Int
        if let existing = slotOf[id] {
            slot = existing
        } else if let reused = freeSlots.popLast() {
            slot = reused
        } else {
            slot = usedAtEnd
            if slot == chunks.count * Self.chunkRows {
                chunks.append([Float](repeating: 0, count: Self.chunkRows * dimensions))
                slotIDs.append([ID?](repeating: nil, count: Self.chunkRows))
            }
            usedAtEnd += 1
        }
        let (chunk, row) = (slot / Self.chunkRows, slot % Self.chunkRows)
        let dimensions = self.dimensions
        chunks[chunk].withUnsafeMutableBufferPointer { rows in
            vector.withUnsafeBufferPointer { source in
                (rows.baseAddress! + row * dimensions).update(from: source.baseAddress!, count: dimensions)
            }
        }
        slotIDs[chunk][row] = id
        slotOf[id] = slot
    }

    /// Removes `id`; its slot is reused by a later insert.
    public mutating func remove(_ id: ID) {
        guard let slot = slotOf.removeValue(forKey: id) else { return }
        slotIDs[slot / Self.chunkRows][slot % Self.chunkRows] = nil
        freeSlots.append(slot)
    }

    /// The `k` nearest ids to `query` among those `accept` lets through, best first,
    /// ties by the order `tieBreak` gives. The caller checked the query's dimension.
    public func nearest(
        to query: [Float], k: Int, metric: ArenaMetric, kernels: Kernels = .best,
        accept: (ID) -> Bool = { _ in true }, tieBreak: (ID, ID) -> Bool
    ) -> [(id: ID, distance: Float)] {
        guard k > 0, !slotOf.isEmpty else { return [] }
        precondition(query.count == dimensions, "query of \(query.count) dimensions in a \(dimensions)-d arena")
        var best: [(id: ID, distance: Float)] = []
        best.reserveCapacity(k + 1)
        var worst = Float.infinity
        var queryNorm: Float = 0
        var ignored: Float = 0
        query.withUnsafeBufferPointer { q in freshet_dot_norm_f32(kernels.level.isa, q.baseAddress, q.baseAddress, dimensions, &ignored, &queryNorm) }
        var scores = [Float](repeating: 0, count: Self.chunkRows)
        var scratch = [Float](repeating: 0, count: Self.chunkRows)
        let rowsInUse = usedAtEnd
        for (chunkIndex, chunk) in chunks.enumerated() {
            let rows = min(Self.chunkRows, rowsInUse - chunkIndex * Self.chunkRows)
            if rows <= 0 { break }
            query.withUnsafeBufferPointer { q in
                chunk.withUnsafeBufferPointer { base in
                    scores.withUnsafeMutableBufferPointer { out in
                        switch metric {
                        case .euclideanSquared:
                            freshet_l2sq_f32_batch(kernels.level.isa, q.baseAddress, base.baseAddress, rows, dimensions, out.baseAddress)
                        case .cosine:
                            scratch.withUnsafeMutableBufferPointer { norm in
                                freshet_dot_norm_f32_batch(kernels.level.isa, q.baseAddress, base.baseAddress, rows, dimensions, out.baseAddress, norm.baseAddress)
                            }
                        }
                    }
                }
            }
            let ids = slotIDs[chunkIndex]
            for row in 0..<rows {
                guard let id = ids[row] else { continue }
                var distance = scores[row]
                if case .cosine = metric {
                    let denominator = (queryNorm * scratch[row]).squareRoot()
                    distance = denominator > 0 ? 1 - distance / denominator : 1
                }
                if best.count == k, distance > worst { continue }
                if !accept(id) { continue }
                let candidate = (id: id, distance: distance)
                var low = 0, high = best.count
                while low < high {
                    let mid = (low + high) / 2
                    let other = best[mid]
                    if other.distance < distance || (other.distance == distance && tieBreak(other.id, id)) { low = mid + 1 } else { high = mid }
                }
                best.insert(candidate, at: low)
                if best.count > k { best.removeLast() }
                if best.count == k { worst = best[k - 1].distance }
            }
        }
        return best
    }

    /// The `k` nearest of the vectors in slots `candidates` to `query` (slots no longer
    /// holding a vector are skipped), best first, ties by `tieBreak`: distances computed
    /// in place, one kernel call per candidate, for a filter that leaves few documents
    /// (a caller that keeps slots skips hashing ids).
    @inlinable
    public func nearest<S: Sequence>(
        amongSlots candidates: S, to query: [Float], k: Int, metric: ArenaMetric, kernels: Kernels = .best,
        tieBreak: (ID, ID) -> Bool
    ) -> [(id: ID, distance: Float)] where S.Element == Int {
        guard k > 0 else { return [] }
        precondition(query.count == dimensions, "query of \(query.count) dimensions in a \(dimensions)-d arena")
        var best: [(id: ID, distance: Float)] = []
        best.reserveCapacity(k + 1)
        var worst = Float.infinity
        let dimensions = self.dimensions
        query.withUnsafeBufferPointer { q in
            var queryNorm: Float = 0, ignored: Float = 0
            if case .cosine = metric { freshet_dot_norm_f32(kernels.level.isa, q.baseAddress, q.baseAddress, dimensions, &ignored, &queryNorm) }
            for slot in candidates {
                guard slot >= 0, slot < usedAtEnd, let id = slotIDs[slot / Self.chunkRows][slot % Self.chunkRows] else { continue }
                let (chunk, row) = (slot / Self.chunkRows, slot % Self.chunkRows)
                let distance: Float = chunks[chunk].withUnsafeBufferPointer { rows in
                    let vector = rows.baseAddress! + row * dimensions
                    switch metric {
                    case .euclideanSquared:
                        return freshet_l2sq_f32(kernels.level.isa, q.baseAddress, vector, dimensions)
                    case .cosine:
                        var dot: Float = 0, norm: Float = 0
                        freshet_dot_norm_f32(kernels.level.isa, q.baseAddress, vector, dimensions, &dot, &norm)
                        let denominator = (queryNorm * norm).squareRoot()
                        return denominator > 0 ? 1 - dot / denominator : 1
                    }
                }
                if best.count == k, distance > worst { continue }
                var low = 0, high = best.count
                while low < high {
                    let mid = (low + high) / 2
                    if best[mid].distance < distance || (best[mid].distance == distance && tieBreak(best[mid].id, id)) { low = mid + 1 } else { high = mid }
                }
                best.insert((id, distance), at: low)
                if best.count > k { best.removeLast() }
                if best.count == k { worst = best[k - 1].distance }
            }
        }
        return best
    }
}
