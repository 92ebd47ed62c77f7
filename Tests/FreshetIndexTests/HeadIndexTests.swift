@testable import FreshetIndex
import XCTest

final class HeadIndexTests: XCTestCase {
    func testTreeSearchFindsWhatAFlatScanFindsThroughUpdates() {
        var random = SplitMix64(state: 5)
        func vector() -> [Float] { (0..<16).map { _ in random.float() * 4 } }
        var tree = HeadIndex(dimensions: 16, flatLimit: 200, coarseProbe: 12)
        var oracle: [Int: [Float]] = [:]
        for _ in 0..<1500 {
            let v = vector()
            oracle[tree.add(v)] = v
        }
        XCTAssertTrue(tree.isTree, "past the flat limit the heads must be indexed by the tree")
        // A query's minimum probe in rows: enough groups of the average size (rounded
        // up), never more groups than there are; a flat index is one group.
        let groups = tree.groupsToProbe(for: 1_000_000, minimum: 1)
        XCTAssertEqual(tree.groupsHolding(rows: 100), Int((100 * Double(groups) / 1500).rounded(.up)))
        XCTAssertEqual(tree.groupsHolding(rows: 1500 / groups), 1)
        XCTAssertEqual(tree.groupsHolding(rows: 1_000_000), groups)
        XCTAssertEqual(HeadIndex(dimensions: 16).groupsHolding(rows: 5000), 1)
        // Moves, removals and id reuse keep every head findable by its own vector.
        for head in stride(from: 0, to: 1500, by: 7) {
            let v = vector()
            tree.set(head, v)
            oracle[head] = v
        }
        for head in stride(from: 1400, to: 1300, by: -9) {
            tree.remove(head)
            oracle[head] = nil
        }
        XCTAssertFalse(tree.contains(1400))
        for _ in 0..<5 {
            let v = vector()
            let head = tree.add(v)
            XCTAssertNil(oracle[head], "a new head never takes a live head's id")
            XCTAssertTrue(tree.contains(head))
            oracle[head] = v
        }
        XCTAssertEqual(tree.count, oracle.count)
        for (head, v) in oracle where head % 13 == 0 {
            XCTAssertEqual(tree.nearest(to: v, n: 1, kernels: .best).first?.index, head, "head \(head) not found by its own vector")
        }
        var flat = Matrix(dimensions: 16)
        let ids = oracle.keys.sorted()
        for id in ids { flat.append(oracle[id]!) }
        var overlap = 0.0
        for _ in 0..<50 {
            let query = vector()
            let truth = Set(flat.nearest(to: query, n: 10).map { ids[$0.index] })
            overlap += Double(tree.nearest(to: query, n: 10, kernels: .best).filter { truth.contains($0.index) }.count) / 10
        }
        XCTAssertGreaterThanOrEqual(overlap / 50, 0.8, "tree head search recall@10 vs a flat scan: \(overlap / 50)")
        // A batched search answers each query exactly as a search of its own.
        let queries = (0..<40).map { _ in vector() }
        for (n, probe) in [(10, nil), (64, 3), (200, nil)] as [(Int, Int?)] {
            let batched = tree.nearest(toEach: queries, n: n, probe: probe, kernels: .best)
            for (query, got) in zip(queries, batched) {
                let alone = tree.nearest(to: query, n: n, probe: probe, kernels: .best)
                XCTAssertEqual(got.map(\.index), alone.map(\.index), "n \(n) probe \(String(describing: probe))")
                XCTAssertEqual(got.map(\.distance), alone.map(\.distance))
            }
        }
        // A query's int8 scan, re-ranked in full, finds what the full-precision scan
        // finds (moves and removals kept the codes in step), with f32 distances.
        var same = 0
        for query in queries {
            let quantized = tree.nearestForQuery(query, n: 10, probe: 12, kernels: .best)
            let full = tree.nearest(to: query, n: 10, probe: 12, kernels: .best)
            if quantized.map(\.index) == full.map(\.index) { same += 1 }
            for (head, distance) in quantized {
                XCTAssertEqual(distance, tree.distance(to: query, from: head, kernels: .best), "re-ranked in full precision")
            }
        }
        XCTAssertGreaterThanOrEqual(same, 38, "int8 head scans that matched the f32 scan: \(same) of 40")
    }

    /// Reassignment's shortcut for a neighbour's vector: a new head changes its postings
    /// only if the RNG rule accepts it after the holders nearer than it.
    func testANewHeadIsAcceptedUnlessANearerHolderBlocksIt() {
        var heads = HeadIndex(dimensions: 2)
        let near = heads.add([0, 0]), far = heads.add([10, 0]), new = heads.add([1, 0])
        let configuration = SPFreshConfiguration()
        func accepts(_ vector: [Float], _ holders: [Int], _ configuration: SPFreshConfiguration = configuration) -> Bool {
            SPFreshIndex<Int>.acceptsNewHead(vector, holders: holders, newHeads: [new], heads: heads, configuration: configuration, kernels: .best)
        }
        // Between the holder and the new head: D(new, near) = 1 is not below D(v, new) = 0.36.
        XCTAssertTrue(accepts([0.4, 0], [near, far]))
        // Behind the holder: the holder is nearer the new head (1) than the vector is (16).
        XCTAssertFalse(accepts([-3, 0], [near]))
        XCTAssertFalse(accepts([-3, 0], [near, far]))
        // Nearer than every holder: judged first, nothing can block it.
        XCTAssertTrue(accepts([1.2, 0], [far]))
        // The holders nearer than it already fill the replicas.
        var one = configuration
        one.replicaCount = 1
        XCTAssertFalse(accepts([0.4, 0], [near], one))
        // Unknown cases search the head index: a holder gone, or the new head a holder.
        var removed = heads
        removed.remove(far)
        XCTAssertTrue(SPFreshIndex<Int>.acceptsNewHead([-3, 0], holders: [near, far], newHeads: [new], heads: removed,
                                                       configuration: configuration, kernels: .best))
        XCTAssertTrue(accepts([-3, 0], [near, new]))
    }

    /// Replica closure: beyond `replicaClosure` × the nearest head's squared distance no
    /// further copy is placed, though the RNG rule alone would accept it; the shortcut
    /// for new heads applies the same bound.
    func testReplicaClosureBoundsFurtherCopies() {
        var heads = HeadIndex(dimensions: 2)
        let right = heads.add([1, 0]), left = heads.add([-3, 0])
        var configuration = SPFreshConfiguration()
        func select(_ configuration: SPFreshConfiguration) -> [Int] {
            SPFreshIndex<Int>.rngSelect(heads.nearest(to: [0, 0], n: 2, kernels: .best), heads: heads, configuration: configuration, kernels: .best)
        }
        // D(v, right) = 1, D(v, left) = 9, D(left, right) = 16: the RNG rule accepts both.
        XCTAssertEqual(select(configuration), [right, left])
        configuration.replicaClosure = 10
        XCTAssertEqual(select(configuration), [right, left])
        configuration.replicaClosure = 4
        XCTAssertEqual(select(configuration), [right], "9 is past 4 × 1")
        XCTAssertFalse(SPFreshIndex<Int>.acceptsNewHead([0, 0], holders: [right], newHeads: [left], heads: heads, configuration: configuration, kernels: .best))
        configuration.replicaClosure = .infinity
        XCTAssertTrue(SPFreshIndex<Int>.acceptsNewHead([0, 0], holders: [right], newHeads: [left], heads: heads, configuration: configuration, kernels: .best))
    }
}

final class NearestHeapTests: XCTestCase {
    func testSelectionEqualsAFullSortWithTiesByIndex() {
        var random = SplitMix64(state: 3)
        for trial in 0..<300 {
            let count = Int(random.next() % 400)
            // Few distinct values: ties everywhere.
            let items = (0..<count).map { ($0, Float(random.next() % UInt64(1 + trial % 7))) }.shuffled(using: &random)
            let n = Int(random.next() % 80)
            let expected = items.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.prefix(n)
            var heap = NearestHeap(capacity: n)
            for (index, distance) in items { heap.push(index, distance) }
            let got = heap.sorted()
            XCTAssertEqual(got.map(\.index), expected.map(\.0), "trial \(trial): \(count) items, n \(n)")
            XCTAssertEqual(got.map(\.distance), expected.map(\.1))
            // The same through the batch path, in two batches.
            var batched = NearestHeap(capacity: n)
            let ids = items.map { Int32($0.0) }, distances = items.map(\.1)
            let half = count / 2
            ids.withUnsafeBufferPointer { ids in
                distances.withUnsafeBufferPointer { distances in
                    batched.push(UnsafeBufferPointer(rebasing: distances[..<half]), ids: UnsafeBufferPointer(rebasing: ids[..<half]))
                    batched.push(UnsafeBufferPointer(rebasing: distances[half...]), ids: UnsafeBufferPointer(rebasing: ids[half...]))
                }
            }
            XCTAssertEqual(batched.sorted().map(\.index), expected.map(\.0), "trial \(trial) (batches)")
        }
        // NaN is kept and orders after every number (a non-finite row is still findable).
        var heap = NearestHeap(capacity: 3)
        heap.push(7, .nan)
        heap.push(2, 5)
        heap.push(4, .infinity)
        XCTAssertEqual(heap.sorted().map(\.index), [2, 4, 7])
    }
}
