import Foundation
import FreshetIndex
import XCTest

/// Recall of the SPFresh index against an exact oracle on clustered data, through
/// build, growth and churn.
final class SPFreshIndexTests: XCTestCase {
    struct Data {
        var state: UInt64
        let centers: [[Float]]
        let dimensions: Int

        init(dimensions: Int, clusters: Int, seed: UInt64) {
            self.dimensions = dimensions
            state = seed
            var centers: [[Float]] = []
            var generator = seed
            func uniform() -> Float {
                generator = generator &* 6364136223846793005 &+ 1442695040888963407
                return Float(generator >> 40) / Float(1 << 24) * 20 - 10
            }
            for _ in 0..<clusters { centers.append((0..<dimensions).map { _ in uniform() }) }
            self.centers = centers
        }

        mutating func gaussian() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u1 = max(Float(state >> 40) / Float(1 << 24), 1e-7)
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u2 = Float(state >> 40) / Float(1 << 24)
            return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        }

        mutating func point() -> [Float] {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let center = centers[Int(state >> 33) % centers.count]
            return center.map { $0 + gaussian() }
        }
    }

    func exact(_ items: [Int: [Float]], _ query: [Float], k: Int) -> [Int] {
        let kernels = Kernels.best
        var scored = items.map { (id: $0.key, distance: kernels.l2SquaredUnchecked(query, $0.value)) }
        scored.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.id < $1.id }
        return scored.prefix(k).map(\.id)
    }

    func recall(_ index: SPFreshIndex<Int>, _ items: [Int: [Float]], queries: [[Float]], k: Int = 10, searchHeads: Int? = nil) -> Double {
        var total = 0.0
        for query in queries {
            let truth = Set(exact(items, query, k: k))
            let got = index.search(query, k: k, searchHeads: searchHeads).map(\.id)
            total += Double(got.filter { truth.contains($0) }.count) / Double(truth.count)
        }
        return total / Double(queries.count)
    }

    func testRecallStaysHighThroughBuildGrowthAndChurn() {
        var data = Data(dimensions: 24, clusters: 60, seed: 42)
        var items: [Int: [Float]] = [:]
        for id in 0..<4000 { items[id] = data.point() }
        var configuration = SPFreshConfiguration()
        configuration.postingLimit = 96
        var index = SPFreshIndex<Int>.build(items.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, dimensions: 24, configuration: configuration)
        let queries = (0..<100).map { _ in data.point() }
        let afterBuild = recall(index, items, queries: queries)
        XCTAssertGreaterThanOrEqual(afterBuild, 0.95, "recall@10 after build \(afterBuild) (tolerance: ≥ 0.95 against the exact oracle)")
        XCTAssertGreaterThan(index.statistics.heads, 200, "about 10% of points should become heads")
        // The measurement can tell a bad search from a good one: one head is not enough.
        let starved = recall(index, items, queries: queries, searchHeads: 1)
        XCTAssertLessThan(starved, 0.9, "searching a single posting should lose recall (got \(starved))")

        for id in 4000..<6000 {
            let vector = data.point()
            items[id] = vector
            index.insert(id, vector)
        }
        index.refreshStatistics()
        let afterGrowth = recall(index, items, queries: queries)
        XCTAssertGreaterThanOrEqual(afterGrowth, 0.95, "recall@10 after inserting 50% more: \(afterGrowth) (tolerance ≥ 0.95)")
        XCTAssertGreaterThan(index.statistics.splits, 0, "growth should have split postings")

        // Delete half and re-upsert it with new vectors.
        for id in stride(from: 0, to: 6000, by: 2) {
            index.delete(id)
            items[id] = nil
        }
        for id in stride(from: 0, to: 6000, by: 2) {
            let vector = data.point()
            items[id] = vector
            index.insert(id, vector)
        }
        index.mergeSmallPostings()
        let afterChurn = recall(index, items, queries: queries)
        XCTAssertGreaterThanOrEqual(afterChurn, 0.95, "recall@10 after deleting and re-upserting 50%: \(afterChurn) (tolerance ≥ 0.95)")
        XCTAssertEqual(index.count, items.count)
        let stats = index.statistics
        print("SPFresh recall@10: build \(afterBuild), +50% \(afterGrowth), churn \(afterChurn); \(stats.heads) heads, \(stats.splits) splits, \(stats.merges) merges, \(stats.reassigned) reassigned, garbage \(stats.garbageRatio)")
        XCTAssertEqual(stats.liveVectors, 6000)
        XCTAssertLessThanOrEqual(stats.postingSizeHistogram.count, configuration.postingLimit / 16 + 2, "postings stay near their cap: \(stats.postingSizeHistogram)")
    }

    func testRecallWithATreeHeadIndex() {
        var data = Data(dimensions: 16, clusters: 40, seed: 9)
        var items: [Int: [Float]] = [:]
        for id in 0..<3000 { items[id] = data.point() }
        var configuration = SPFreshConfiguration()
        configuration.headIndexFlatLimit = 64  // force the tree at this small scale
        var index = SPFreshIndex<Int>.build(items.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, dimensions: 16, configuration: configuration)
        for id in 3000..<4500 {
            let vector = data.point()
            items[id] = vector
            index.insert(id, vector)
        }
        let queries = (0..<60).map { _ in data.point() }
        let measured = recall(index, items, queries: queries)
        print("SPFresh recall@10 with a tree head index: \(measured), \(index.statistics.heads) heads")
        XCTAssertGreaterThanOrEqual(measured, 0.95, "recall@10 with the tree head index: \(measured) (tolerance ≥ 0.95)")
    }

    func testDeletedAndReplacedVectorsNeverComeBack() {
        var data = Data(dimensions: 8, clusters: 10, seed: 7)
        var items: [(id: Int, vector: [Float])] = []
        for id in 0..<1000 { items.append((id, data.point())) }
        var index = SPFreshIndex<Int>.build(items, dimensions: 8)
        let target = items[10].vector
        XCTAssertEqual(index.search(target, k: 1).first?.id, 10)
        index.delete(10)
        XCTAssertFalse(index.search(target, k: 50).contains { $0.id == 10 }, "a deleted id must not be returned")
        index.insert(11, target)  // id 11 moves onto 10's old position
        let hits = index.search(target, k: 5)
        XCTAssertEqual(hits.first?.id, 11)
        XCTAssertEqual(hits.filter { $0.id == 11 }.count, 1, "replicas and old versions are deduplicated")
        let filtered = index.search(target, k: 3, accept: { $0 % 2 == 0 })
        XCTAssertTrue(filtered.allSatisfy { $0.id % 2 == 0 })
    }
}
