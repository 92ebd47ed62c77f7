import Foundation
@testable import FreshetIndex
import FreshetStorage
import XCTest

/// Posting summaries: a filtered search passes over postings whose summary lacks the
/// filter's bits and probes the nearest ones that can match — through appends that
/// change a vector's signature, LIRE's rewrites and splits, and a checkpoint round trip.
final class SPFreshSummaryTests: XCTestCase {
    /// 40 clusters in 16-d; a document's category follows its cluster (cluster % 8), so
    /// categories are correlated with where vectors lie.
    struct Corpus {
        var vectors: [Int: [Float]] = [:]
        var category: [Int: Int] = [:]
        var cluster: [Int: Int] = [:]
        let centers: [[Float]]
        var seed: UInt64 = 7

        init() {
            var generator: UInt64 = 99
            func uniform() -> Float {
                generator = generator &* 6364136223846793005 &+ 1442695040888963407
                return Float(generator >> 40) / Float(1 << 24) * 40 - 20
            }
            centers = (0..<40).map { _ in (0..<16).map { _ in uniform() } }
        }

        mutating func noise() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(seed >> 40) / Float(1 << 24) * 2 - 1
        }

        mutating func point(near cluster: Int) -> [Float] { centers[cluster].map { $0 + noise() } }

        mutating func add(_ id: Int, cluster: Int) {
            vectors[id] = point(near: cluster)
            self.cluster[id] = cluster
            category[id] = cluster % 8
        }

        func signature(_ id: Int) -> UInt64 { 1 << UInt64(category[id]!) }

        /// The k nearest ids with `category`, exactly.
        func exact(_ query: [Float], category wanted: Int, k: Int) -> [Int] {
            let kernels = Kernels.best
            var scored: [(id: Int, distance: Float)] = []
            for (id, vector) in vectors where category[id] == wanted {
                scored.append((id, kernels.l2SquaredUnchecked(query, vector)))
            }
            scored.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.id < $1.id }
            return scored.prefix(k).map(\.id)
        }
    }

    func search(_ index: SPFreshIndex<Int>, _ corpus: Corpus, near cluster: Int, category wanted: Int, queries: Int = 20)
        async throws -> (recall: Double, skipped: Int)
    {
        var corpus = corpus
        var recall = 0.0, skipped = 0
        let categories = corpus.category
        for _ in 0..<queries {
            let query = corpus.point(near: cluster)
            let truth = Set(corpus.exact(query, category: wanted, k: 10))
            let result = try await index.search(
                query, k: 10, searchHeads: 24, accept: { categories[$0] == wanted },
                postingFilter: { $0 & (1 << UInt64(wanted)) != 0 })
            XCTAssertTrue(result.hits.allSatisfy { categories[$0.id] == wanted })
            recall += Double(result.hits.filter { truth.contains($0.id) }.count) / Double(max(truth.count, 1))
            skipped += result.postingsSkipped
        }
        return (recall / Double(queries), skipped)
    }

    /// Postings whose summary lacks a bit of a vector they hold a current copy of
    /// (reads every posting); must be none, or filtered searches would miss it.
    func summaryViolations(_ index: SPFreshIndex<Int>) async throws -> Int {
        let state = index.core.withLock { $0.state }
        var violations = 0
        for head in 0..<state.postings.count where state.postings[head].alive {
            let ref = state.postings[head]
            var postings = [ref.delta]
            if ref.base != 0, let base = try await index.store.fetch([ref.base])[ref.base] { postings.append(base) }
            var bits: UInt64 = 0
            for posting in postings {
                for entry in 0..<posting.count where posting.versions[entry] == state.versions[Int(posting.slots[entry])] {
                    bits |= state.signatures[Int(posting.slots[entry])]
                }
            }
            if bits & ~ref.summary != 0 { violations += 1 }
        }
        return violations
    }

    func testFilteredSearchSkipsPostingsThatCannotMatchAndKeepsRecall() async throws {
        var configuration = SPFreshConfiguration()
        configuration.postingLimit = 48
        configuration.flushEntries = 16
        let storage = MemoryBackend()
        let store = PostingStore(storage: storage, prefix: "ix/", dimensions: 16)
        let index = SPFreshIndex<Int>(dimensions: 16, store: store, configuration: configuration)
        var corpus = Corpus()
        for id in 0..<4000 { corpus.add(id, cluster: id % 40) }
        let ids = corpus.vectors.keys.sorted()
        try await index.build(ids: ids, vectors: Matrix(dimensions: 16, values: ids.flatMap { corpus.vectors[$0]! }),
                              signatures: ids.map(corpus.signature))
        try await index.maintainUntilIdle()
        var violations = try await summaryViolations(index)
        XCTAssertEqual(violations, 0, "after the build")

        // Near cluster 0 (category 0), asking for category 5: the nearest postings hold
        // none, so they are passed over for farther ones that do.
        var outcome = try await search(index, corpus, near: 0, category: 5)
        XCTAssertGreaterThanOrEqual(outcome.recall, 0.9, "recall@10 of a filtered search with summaries: \(outcome.recall)")
        XCTAssertGreaterThan(outcome.skipped, 0, "postings of other categories should be skipped")

        // Cluster 0's documents change category to 7 (same vectors, new signatures, so
        // the appends must add bit 7 to their postings' summaries); some are deleted;
        // new documents grow clusters until postings split.
        var changes: [(id: Int, vector: [Float])] = []
        for id in ids where corpus.cluster[id] == 0 {
            corpus.category[id] = 7
            changes.append((id, corpus.vectors[id]!))
        }
        index.upsert(changes, signatures: changes.map { corpus.signature($0.id) })
        let deleted = ids.filter { $0 % 13 == 0 }
        index.delete(deleted)
        for id in deleted {
            corpus.vectors[id] = nil
            corpus.category[id] = nil
        }
        var added: [(id: Int, vector: [Float])] = []
        for id in 4000..<6000 {
            corpus.add(id, cluster: id % 40)
            added.append((id, corpus.vectors[id]!))
        }
        index.upsert(added, signatures: added.map { corpus.signature($0.id) })
        outcome = try await search(index, corpus, near: 0, category: 7)
        XCTAssertGreaterThanOrEqual(outcome.recall, 0.9, "a changed signature is searchable at once: \(outcome.recall)")
        violations = try await summaryViolations(index)
        XCTAssertEqual(violations, 0, "after appends")
        try await index.maintainUntilIdle()
        XCTAssertGreaterThan(index.statistics.splits, 0, "the test should exercise splits")
        XCTAssertGreaterThan(index.statistics.rewrites, 0, "the test should exercise rewrites")
        violations = try await summaryViolations(index)
        XCTAssertEqual(violations, 0, "after rewrites, splits and merges")
        for (cluster, category) in [(0, 7), (0, 5), (3, 3), (12, 1)] {
            outcome = try await search(index, corpus, near: cluster, category: category)
            XCTAssertGreaterThanOrEqual(outcome.recall, 0.9, "after rewrites and splits, near \(cluster) for category \(category): \(outcome.recall)")
        }

        // Summaries, signatures and the caller's metadata survive a checkpoint.
        index.metadata = [1, 2, 3]
        try await index.checkpointAndRelease(sequence: 1)
        let (reopened, _) = try await SPFreshIndex<Int>.open(store: store, configuration: configuration)
        XCTAssertEqual(reopened.metadata, [1, 2, 3])
        violations = try await summaryViolations(reopened)
        XCTAssertEqual(violations, 0, "after reopening")
        outcome = try await search(reopened, corpus, near: 0, category: 5)
        XCTAssertGreaterThanOrEqual(outcome.recall, 0.9, "after reopening: \(outcome.recall)")
        XCTAssertGreaterThan(outcome.skipped, 0, "summaries should be restored, not reset to all bits")
    }
}
