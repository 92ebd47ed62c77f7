import Foundation
@testable import FreshetIndex
import FreshetStorage
import XCTest

/// Crash safety and concurrency of the SPFresh index: recovery from a checkpoint plus
/// the log after it, interrupted background work, and writers racing readers.
final class SPFreshDurabilityTests: XCTestCase {
    typealias Item = (id: Int, vector: [Float])

    func clustered(_ count: Int, dimensions: Int, seed: UInt64, offset: Int = 0) -> [Item] {
        var random = SplitMix64(state: seed)
        let centers = (0..<20).map { _ in (0..<dimensions).map { _ in Float(random.next() % 2000) / 100 - 10 } }
        return (0..<count).map { i in
            let center = centers[Int(random.next() % 20)]
            return (offset + i, center.map { $0 + Float(Int(random.next() % 2001) - 1000) / 1000 })
        }
    }

    func store(_ storage: any StorageBackend, dimensions: Int) -> PostingStore {
        PostingStore(storage: storage, prefix: "ix/", dimensions: dimensions, cacheBytes: 1 << 20)
    }

    /// Every expected id has a current copy in some posting and nothing else does (read
    /// from every posting, so it cannot be masked by search pruning); searches by each
    /// id's own vector find it (allowing 1% misses: the index is approximate) and never
    /// return a deleted id.
    func assertConsistent(_ index: SPFreshIndex<Int>, _ expected: [Int: [Float]], _ context: String,
                          file: StaticString = #filePath, line: UInt = #line) async throws {
        XCTAssertEqual(index.count, expected.count, "\(context): live count", file: file, line: line)
        let present = try await index.indexedIDs()
        let lost = Set(expected.keys).subtracting(present)
        let extra = present.subtracting(expected.keys)
        XCTAssertTrue(lost.isEmpty, "\(context): live ids with no current copy in any posting: \(lost.sorted().prefix(20))", file: file, line: line)
        XCTAssertTrue(extra.isEmpty, "\(context): deleted ids still in postings: \(extra.sorted().prefix(20))", file: file, line: line)
        var missing = 0
        for (id, vector) in expected {
            let hits = try await index.search(vector, k: 3).hits
            if !hits.contains(where: { $0.id == id }) { missing += 1 }
            for hit in hits where expected[hit.id] == nil {
                XCTFail("\(context): search returned \(hit.id), which is deleted", file: file, line: line)
            }
        }
        XCTAssertLessThanOrEqual(missing, expected.count / 100, "\(context): ids not found by their own vectors", file: file, line: line)
    }

    func testCrashDuringSplitsAndMergesRecoversFromCheckpointAndLog() async throws {
        let dimensions = 12
        let storage = MemoryBackend()
        let faulty = FaultInjectingBackend(wrapping: storage)
        var configuration = SPFreshConfiguration()
        configuration.postingLimit = 48
        configuration.flushEntries = 10_000  // only splits and merges write
        var expected: [Int: [Float]] = [:]
        let initial = clustered(2000, dimensions: dimensions, seed: 1)
        for item in initial { expected[item.id] = item.vector }
        let index = SPFreshIndex<Int>(dimensions: dimensions, store: store(faulty, dimensions: dimensions), configuration: configuration)
        try await index.build(ids: initial.map(\.id), vectors: Matrix(dimensions: dimensions, values: initial.flatMap(\.vector)))
        try await index.maintainUntilIdle()
        try await index.checkpointAndRelease(sequence: 10)

        // The caller's log after the checkpoint: inserts that force splits, deletes that
        // empty postings (merges).
        var log: [(sequence: UInt64, upserts: [Item], deletes: [Int])] = []
        let grown = clustered(1500, dimensions: dimensions, seed: 2, offset: 10_000)
        for (n, start) in stride(from: 0, to: grown.count, by: 250).enumerated() {
            log.append((11 + UInt64(n), Array(grown[start..<min(grown.count, start + 250)]), []))
        }
        log.append((20, [], Array(0..<900)))
        for entry in log {
            index.upsert(entry.upserts)
            index.delete(entry.deletes)
            for item in entry.upserts { expected[item.id] = item.vector }
            for id in entry.deletes { expected[id] = nil }
        }
        // The process dies in the middle of background work: some splits installed in
        // memory only, one with its first posting written and its second put failing.
        faulty.inject(.fail, on: .put, afterCalls: 9)
        do {
            try await index.maintainUntilIdle()
            XCTFail("the injected fault should have interrupted the background work")
        } catch {}
        let splitsBeforeCrash = index.statistics.splits
        XCTAssertGreaterThan(splitsBeforeCrash, 0, "the crash should come after some splits")

        // Recovery: load the checkpoint, replay the log after it. Never a rebuild.
        let (recovered, sequence) = try await SPFreshIndex<Int>.open(store: store(storage, dimensions: dimensions), configuration: configuration)
        XCTAssertEqual(sequence, 10)
        XCTAssertEqual(recovered.count, 2000, "the checkpoint holds the state at its sequence")
        let referenced = recovered.core.withLock { core in
            Set((0..<core.state.postings.count).map { core.state.postings[$0].base }.filter { $0 != 0 })
        }
        let stored = Set(try await recovered.store.storedIDs())
        XCTAssertEqual(stored, referenced, "objects written by interrupted work are collected on open")
        for entry in log where entry.sequence > sequence {
            recovered.upsert(entry.upserts)
            recovered.delete(entry.deletes)
        }
        try await recovered.maintainUntilIdle()
        XCTAssertGreaterThan(recovered.statistics.merges, 0, "deleting 900 clustered vectors should merge postings")
        try await assertConsistent(recovered, expected, "after recovery")
        // And once more through a checkpoint written by the recovered index.
        try await recovered.checkpointAndRelease(sequence: 20)
        let (again, againSequence) = try await SPFreshIndex<Int>.open(store: store(storage, dimensions: dimensions), configuration: configuration)
        XCTAssertEqual(againSequence, 20)
        try await assertConsistent(again, expected, "after a second reopen")
    }

    func testConcurrentWritersAndReadersLoseAndDuplicateNothing() async throws {
        let dimensions = 8
        let storage = MemoryBackend()
        var configuration = SPFreshConfiguration()
        configuration.postingLimit = 32
        configuration.flushEntries = 16
        configuration.backgroundWorkers = 2  // jobs on different heads race each other too
        let index = SPFreshIndex<Int>(dimensions: dimensions, store: store(storage, dimensions: dimensions), configuration: configuration)
        let seed = clustered(1000, dimensions: dimensions, seed: 3)
        try await index.build(ids: seed.map(\.id), vectors: Matrix(dimensions: dimensions, values: seed.flatMap(\.vector)))
        index.startBackgroundWork()
        let deadline = ContinuousClock.now + .seconds(3)
        let pool = clustered(4000, dimensions: dimensions, seed: 4, offset: 0)
        // Two writers own disjoint id ranges and keep their own truth.
        let results = try await withThrowingTaskGroup(of: [Int: [Float]]?.self) { group in
            for writer in 0..<2 {
                group.addTask {
                    var random = SplitMix64(state: UInt64(writer) + 100)
                    var mine: [Int: [Float]] = [:]
                    for item in seed where item.id % 2 == writer { mine[item.id] = item.vector }
                    while ContinuousClock.now < deadline {
                        var upserts: [Item] = []
                        var deletes: [Int] = []
                        for _ in 0..<20 {
                            let id = Int(random.next() % 2000) / 2 * 2 + writer
                            if random.next() % 4 == 0 {
                                upserts.removeAll { $0.id == id }
                                deletes.append(id)
                                mine[id] = nil
                            } else {
                                let vector = pool[Int(random.next() % UInt64(pool.count))].vector
                                upserts.removeAll { $0.id == id }
                                upserts.append((id, vector))
                                mine[id] = vector
                                deletes.removeAll { $0 == id }
                            }
                        }
                        index.delete(deletes)
                        index.upsert(upserts)
                        await Task.yield()
                    }
                    return mine
                }
            }
            for reader in 0..<2 {
                group.addTask {
                    var random = SplitMix64(state: UInt64(reader) + 200)
                    var searches = 0
                    while ContinuousClock.now < deadline {
                        let query = pool[Int(random.next() % UInt64(pool.count))].vector
                        let hits = try await index.search(query, k: 10).hits
                        XCTAssertEqual(Set(hits.map(\.id)).count, hits.count, "an id appears once in a result")
                        XCTAssertTrue(hits.allSatisfy { $0.id >= 0 && $0.id < 2000 })
                        XCTAssertEqual(hits.map(\.distance), hits.map(\.distance).sorted())
                        searches += 1
                    }
                    XCTAssertGreaterThan(searches, 10)
                    return nil
                }
            }
            var merged: [Int: [Float]] = [:]
            for try await result in group { if let result { merged.merge(result) { a, _ in a } } }
            return merged
        }
        await index.stopBackgroundWork()
        try await index.maintainUntilIdle()
        let stats = index.statistics
        print("concurrent run: \(stats.splits) splits, \(stats.merges) merges, \(stats.reassigned) reassigned, \(stats.rewrites) rewrites, \(results.count) live")
        XCTAssertGreaterThan(stats.splits + stats.rewrites, 0, "the background worker ran during the test")
        XCTAssertNil(stats.lastError)
        try await assertConsistent(index, results, "after concurrent updates")
        try await index.checkpointAndRelease(sequence: 1)
        let (reopened, _) = try await SPFreshIndex<Int>.open(store: store(storage, dimensions: dimensions), configuration: configuration)
        try await assertConsistent(reopened, results, "after checkpoint and reopen")
    }
}
