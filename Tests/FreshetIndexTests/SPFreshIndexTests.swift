import Foundation
@testable import FreshetIndex
import FreshetStorage
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

    func makeIndex(dimensions: Int, configuration: SPFreshConfiguration = SPFreshConfiguration(), storage: any StorageBackend = MemoryBackend()) -> SPFreshIndex<Int> {
        SPFreshIndex<Int>(dimensions: dimensions, store: PostingStore(storage: storage, prefix: "ix/", dimensions: dimensions), configuration: configuration)
    }

    func build(_ items: [Int: [Float]], dimensions: Int, configuration: SPFreshConfiguration = SPFreshConfiguration(),
               storage: any StorageBackend = MemoryBackend()) async throws -> SPFreshIndex<Int> {
        let index = makeIndex(dimensions: dimensions, configuration: configuration, storage: storage)
        let sorted = items.sorted { $0.key < $1.key }
        try await index.build(ids: sorted.map(\.key), vectors: Matrix(dimensions: dimensions, values: sorted.flatMap(\.value)))
        try await index.maintainUntilIdle()
        return index
    }

    /// Upserts fresh points under `ids`, recording them in `items`.
    func upsertNew(_ ids: some Sequence<Int>, into index: SPFreshIndex<Int>, items: inout [Int: [Float]], data: inout Data) {
        var upserts: [(id: Int, vector: [Float])] = []
        for id in ids {
            let vector = data.point()
            items[id] = vector
            upserts.append((id, vector))
        }
        index.upsert(upserts)
    }

    func recall(_ index: SPFreshIndex<Int>, _ items: [Int: [Float]], queries: [[Float]], k: Int = 10, searchHeads: Int? = nil) async throws -> Double {
        var total = 0.0
        for query in queries {
            let truth = Set(exact(items, query, k: k))
            let got = try await index.search(query, k: k, searchHeads: searchHeads).hits.map(\.id)
            XCTAssertEqual(Set(got).count, got.count, "an id appears once in a result")
            total += Double(got.filter { truth.contains($0) }.count) / Double(truth.count)
        }
        return total / Double(queries.count)
    }

    func testRecallStaysHighThroughBuildGrowthAndChurn() async throws {
        var data = Data(dimensions: 24, clusters: 60, seed: 42)
        var items: [Int: [Float]] = [:]
        for id in 0..<4000 { items[id] = data.point() }
        var configuration = SPFreshConfiguration()
        configuration.postingLimit = 96
        let storage = MemoryBackend()
        let index = try await build(items, dimensions: 24, configuration: configuration, storage: storage)
        let queries = (0..<100).map { _ in data.point() }
        let afterBuild = try await recall(index, items, queries: queries)
        XCTAssertGreaterThanOrEqual(afterBuild, 0.95, "recall@10 after build \(afterBuild) (tolerance: ≥ 0.95 against the exact oracle)")
        XCTAssertGreaterThan(index.statistics.heads, 200, "about 10% of points should become heads")
        // The measurement can tell a bad search from a good one: one head is not enough.
        let starved = try await recall(index, items, queries: queries, searchHeads: 1)
        XCTAssertLessThan(starved, 0.9, "searching a single posting should lose recall (got \(starved))")

        for batch in stride(from: 4000, to: 6000, by: 100) {
            upsertNew(batch..<(batch + 100), into: index, items: &items, data: &data)
        }
        try await index.maintainUntilIdle()
        let afterGrowth = try await recall(index, items, queries: queries)
        XCTAssertGreaterThanOrEqual(afterGrowth, 0.95, "recall@10 after inserting 50% more: \(afterGrowth) (tolerance ≥ 0.95)")
        XCTAssertGreaterThan(index.statistics.splits, 0, "growth should have split postings")

        // Delete half and re-upsert it with new vectors.
        let half = Array(stride(from: 0, to: 6000, by: 2))
        index.delete(half)
        for id in half { items[id] = nil }
        XCTAssertEqual(index.count, 3000)
        upsertNew(half, into: index, items: &items, data: &data)
        try await index.maintainUntilIdle()
        let afterChurn = try await recall(index, items, queries: queries)
        XCTAssertGreaterThanOrEqual(afterChurn, 0.95, "recall@10 after deleting and re-upserting 50%: \(afterChurn) (tolerance ≥ 0.95)")
        XCTAssertEqual(index.count, items.count)
        let stats = try await index.measure()
        print("SPFresh recall@10: build \(afterBuild), +50% \(afterGrowth), churn \(afterChurn); \(stats.heads) heads, \(stats.splits) splits, \(stats.merges) merges, \(stats.reassigned) reassigned, \(stats.rewrites) rewrites, garbage \(stats.garbageRatio)")
        XCTAssertEqual(stats.liveVectors, 6000)
        XCTAssertGreaterThan(stats.reassigned, 0, "splits should have reassigned boundary vectors")
        XCTAssertLessThanOrEqual(stats.postingSizeHistogram.count, configuration.postingLimit / 16 + 1, "postings stay at or under their cap: \(stats.postingSizeHistogram)")
        XCTAssertLessThan(stats.garbageRatio, 0.5, "the sweep rewrites postings that are mostly garbage")
        // Postings really live in storage, and only referenced objects remain after a checkpoint.
        let checkpoint = try await index.checkpointAndRelease(sequence: 1)
        let stored = try await storage.listAll(prefix: "ix/postings/").count
        XCTAssertGreaterThan(stored, stats.heads / 2, "postings are objects in the backend")
        XCTAssertGreaterThan(checkpoint.bytes, 6000 * 2)
    }

    func testRecallWithATreeHeadIndex() async throws {
        var data = Data(dimensions: 16, clusters: 40, seed: 9)
        var items: [Int: [Float]] = [:]
        for id in 0..<3000 { items[id] = data.point() }
        var configuration = SPFreshConfiguration()
        configuration.headIndexFlatLimit = 64  // force the tree at this small scale
        let index = try await build(items, dimensions: 16, configuration: configuration)
        upsertNew(3000..<4500, into: index, items: &items, data: &data)
        try await index.maintainUntilIdle()
        let queries = (0..<60).map { _ in data.point() }
        let measured = try await recall(index, items, queries: queries)
        print("SPFresh recall@10 with a tree head index: \(measured), \(index.statistics.heads) heads")
        XCTAssertGreaterThanOrEqual(measured, 0.95, "recall@10 with the tree head index: \(measured) (tolerance ≥ 0.95)")
        // The same index state searched through the int8 head scan (used when head rows
        // outgrow the CPU's cache) keeps recall.
        configuration.quantizedHeadScanBytes = 0
        let quantized = makeIndex(dimensions: 16, configuration: configuration, storage: index.store.storage)
        let checkpoint = try await index.checkpoint(sequence: 1)
        _ = try await quantized.load(checkpointKey: checkpoint.key, collectGarbage: false)
        let measuredQuantized = try await recall(quantized, items, queries: queries)
        XCTAssertGreaterThanOrEqual(measuredQuantized, measured - 0.02, "recall@10 through the int8 head scan: \(measuredQuantized) vs \(measured)")
    }

    /// Reassignment moves a vector without a new version: it is appended only to the
    /// chosen postings that lack it, every posting its holders name keeps a current copy
    /// (else a rewrite elsewhere could drop its last one), and copies it left behind are
    /// garbage that rewrites drop. After a restart holders are unknown and moves fall
    /// back to new versions.
    func testReassignmentMovesKeepVersionsAndEveryHolderHasItsCopy() async throws {
        var data = Data(dimensions: 24, clusters: 40, seed: 5)
        var items: [Int: [Float]] = [:]
        for id in 0..<3000 { items[id] = data.point() }
        var configuration = SPFreshConfiguration()
        configuration.postingLimit = 64
        let storage = MemoryBackend()
        let index = try await build(items, dimensions: 24, configuration: configuration, storage: storage)
        // Growth only (no id is written twice): every slot's version stays 0 unless a
        // move bumped it.
        for batch in stride(from: 3000, to: 6000, by: 250) {
            upsertNew(batch..<(batch + 250), into: index, items: &items, data: &data)
            try await Task.sleep(for: .milliseconds(5))
        }
        try await index.maintainUntilIdle()
        let stats = try await index.measure()
        XCTAssertGreaterThan(stats.splits, 10, "growth should split postings")
        XCTAssertGreaterThan(stats.reassigned, 0, "splits should move boundary vectors")
        let bumped = index.core.withLock { core in core.slotOf.values.filter { core.state.versions[Int($0)] != 0 }.count }
        XCTAssertEqual(bumped, 0, "moves keep the vector's version (\(stats.reassigned) moves)")
        let audit = try await index.auditHolders()
        XCTAssertEqual(audit.known, 6000, "every slot knows its holders")
        XCTAssertEqual(audit.missing, 0, "every holder's posting has the vector's current copy")
        let indexed = try await index.indexedIDs()
        XCTAssertEqual(indexed, Set(items.keys))
        let queries = (0..<60).map { _ in data.point() }
        let measured = try await recall(index, items, queries: queries)
        XCTAssertGreaterThanOrEqual(measured, 0.95, "recall@10 after growth with moves: \(measured) (tolerance ≥ 0.95)")

        // Restarted: holders are unknown, so moves bump versions; nothing is lost.
        let checkpoint = try await index.checkpointAndRelease(sequence: 1)
        let reopened = makeIndex(dimensions: 24, configuration: configuration, storage: storage)
        _ = try await reopened.load(checkpointKey: checkpoint.key)
        let movedBefore = reopened.statistics.reassigned
        let unknown = try await reopened.auditHolders()
        XCTAssertEqual(unknown.known, 0, "holders are not in checkpoints")
        for batch in stride(from: 6000, to: 8000, by: 250) {
            upsertNew(batch..<(batch + 250), into: reopened, items: &items, data: &data)
        }
        try await reopened.maintainUntilIdle()
        XCTAssertGreaterThan(reopened.statistics.reassigned, movedBefore, "growth after the restart moved vectors too")
        let after = try await reopened.auditHolders()
        XCTAssertEqual(after.missing, 0)
        XCTAssertGreaterThanOrEqual(after.known, 2000, "new inserts (and moved vectors) know their holders again")
        let reindexed = try await reopened.indexedIDs()
        XCTAssertEqual(reindexed, Set(items.keys))
        let recalled = try await recall(reopened, items, queries: queries)
        XCTAssertGreaterThanOrEqual(recalled, 0.95, "recall@10 after a restart and growth: \(recalled) (tolerance ≥ 0.95)")
    }

    func testDeletedAndReplacedVectorsNeverComeBack() async throws {
        var data = Data(dimensions: 8, clusters: 10, seed: 7)
        var items: [Int: [Float]] = [:]
        for id in 0..<1000 { items[id] = data.point() }
        let index = try await build(items, dimensions: 8)
        let target = items[10]!
        let first = try await index.search(target, k: 1).hits.first?.id
        XCTAssertEqual(first, 10)
        index.delete([10])
        let afterDelete = try await index.search(target, k: 50).hits
        XCTAssertFalse(afterDelete.contains { $0.id == 10 }, "a deleted id must not be returned")
        index.upsert([(11, target)])  // id 11 moves onto 10's old position
        let hits = try await index.search(target, k: 5).hits
        XCTAssertEqual(hits.first?.id, 11)
        XCTAssertEqual(hits.filter { $0.id == 11 }.count, 1, "replicas and old versions are deduplicated")
        let filtered = try await index.search(target, k: 3, accept: { $0 % 2 == 0 }).hits
        XCTAssertTrue(filtered.allSatisfy { $0.id % 2 == 0 })
        // An empty index grows from its first insert.
        let empty = makeIndex(dimensions: 8)
        index.upsert([])
        empty.upsert([(1, target), (2, items[3]!)])
        let found = try await empty.search(target, k: 2).hits.map(\.id)
        XCTAssertEqual(found, [1, 2])
    }

    func testCompactPostingsKeepRecallAndCutTheBytes() async throws {
        var data = Data(dimensions: 32, clusters: 30, seed: 21)
        var items: [Int: [Float]] = [:]
        for id in 0..<3000 { items[id] = data.point() }
        let queries = (0..<60).map { _ in data.point() }
        var written: [PostingEncoding: Int] = [:]
        for encoding in [PostingEncoding.f32, .f16, .i8] {
            let storage = MemoryBackend()
            let index = SPFreshIndex<Int>(dimensions: 32, store: PostingStore(storage: storage, prefix: "ix/", dimensions: 32, encoding: encoding))
            let sorted = items.sorted { $0.key < $1.key }
            try await index.build(ids: sorted.map(\.key), vectors: Matrix(dimensions: 32, values: sorted.flatMap(\.value)))
            var more = items
            upsertNew(3000..<4000, into: index, items: &more, data: &data)
            try await index.maintainUntilIdle()
            let measured = try await recall(index, more, queries: queries)
            XCTAssertGreaterThanOrEqual(measured, 0.95, "\(encoding) postings: recall@10 \(measured)")
            written[encoding] = index.store.statistics.bytesWritten
            let anyPosting = try await storage.listAll(prefix: "ix/postings/").first!
            let decoded = try Posting.decode(try await storage.get(anyPosting.key)!.body, dimensions: 32, key: anyPosting.key,
                                             id: PostingStore.id(fromKey: anyPosting.key.dropFirst("ix/postings/".count))!)
            XCTAssertEqual(decoded.storedEncoding, encoding)
        }
        XCTAssertLessThan(Double(written[.f16]!), 0.7 * Double(written[.f32]!), "f16 postings write about half the bytes: \(written)")
        XCTAssertLessThan(Double(written[.i8]!), 0.45 * Double(written[.f32]!), "i8 postings write about a third of the bytes: \(written)")
    }

    /// Keys that collide on purpose: a hash of a quarter of the bits.
    struct Crowded: Hashable, Sendable {
        let value: Int
        func hash(into hasher: inout Hasher) { hasher.combine(value / 4) }
    }

    func testSlotMapAgreesWithADictionaryThroughInsertsUpdatesAndRemovals() {
        var random = SystemRandomNumberGenerator()
        var map = SlotMap<Crowded>()
        var reference: [Crowded: Int32] = [:]
        XCTAssertNil(map[Crowded(value: 1)])
        map.reserveCapacity(100, filler: Crowded(value: 0))
        XCTAssertGreaterThanOrEqual(map.buckets, 100)
        for step in 0..<60_000 {
            let key = Crowded(value: Int.random(in: 0..<3_000, using: &random))
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5:
                let slot = Int32(step)
                map[key] = slot
                reference[key] = slot
            case 5..<8:
                XCTAssertEqual(map.removeValue(forKey: key), reference.removeValue(forKey: key), "step \(step)")
            default:
                XCTAssertEqual(map[key], reference[key], "step \(step)")
            }
            if step % 5_000 == 0 {
                XCTAssertEqual(map.count, reference.count)
                XCTAssertLessThanOrEqual(map.count * 8, map.buckets * 7, "filled to at most 7/8")
            }
        }
        XCTAssertEqual(map.count, reference.count)
        XCTAssertEqual(map.values.sorted(), reference.values.sorted())
        for value in 0..<3_000 { XCTAssertEqual(map[Crowded(value: value)], reference[Crowded(value: value)], "key \(value)") }
        // Sized up front for a build: 1M ids take 8/7 of a bucket each, not a power of two.
        var sized = SlotMap<UInt64>()
        sized.reserveCapacity(1_000_000, filler: 0)
        XCTAssertLessThan(sized.buckets, 1_200_000)
        for id in UInt64(0)..<1_000_000 { sized[id] = Int32(id) }
        XCTAssertEqual(sized.buckets, 1_000_000 * 8 / 7 + 16, "no rehash while filling what was reserved")
        XCTAssertEqual(sized[999_999], 999_999)
    }

    func testSlotIDsKeepFreeSlotsApartInABitmap() {
        var ids = SPFreshIndex<UInt64>.SlotIDs<UInt64>()
        ids.append(nil)
        ids.append(nil)
        XCTAssertNil(ids[0])
        ids[1] = 7  // the first id arrives in a free slot
        ids.append(9)
        for slot in 3..<200 { ids.append(slot % 3 == 0 ? nil : UInt64(slot) * 10) }
        XCTAssertEqual(ids.count, 200)
        XCTAssertEqual([ids[0], ids[1], ids[2]], [nil, 7, 9])
        for slot in 3..<200 { XCTAssertEqual(ids[slot], slot % 3 == 0 ? nil : UInt64(slot) * 10, "slot \(slot)") }
        ids[64] = nil
        ids[63] = 1
        XCTAssertNil(ids[64])
        XCTAssertEqual(ids[63], 1)
        XCTAssertEqual(ids[65], 650)
        var copy = ids
        copy[2] = nil
        XCTAssertEqual(ids[2], 9, "copies are values")
    }

    func testInt8PostingsRoundTripWithoutDrift() throws {
        var data = Data(dimensions: 13, clusters: 3, seed: 5)
        var posting = Posting()
        for slot in 0..<40 { posting.append(slot: Int32(slot), version: 1, vector: data.point()) }
        posting.append(slot: 40, version: 1, vector: [Float](repeating: 0, count: 13))
        let once = posting.encoded(as: .i8, dimensions: 13)
        let stored = try Posting.decode(once.encode(dimensions: 13, id: 9), dimensions: 13, key: "p", id: 9)
        XCTAssertEqual(stored.codes, once.codes)
        XCTAssertEqual(stored.scales, once.scales)
        // Each component within half a step of its vector's scale; the zero vector exact.
        for entry in 0..<posting.count {
            let exact = posting.vector(entry, dimensions: 13), decoded = stored.vector(entry, dimensions: 13)
            for (a, b) in zip(exact, decoded) { XCTAssertLessThanOrEqual(abs(a - b), stored.scales[entry] * 0.5001, "entry \(entry)") }
        }
        XCTAssertEqual(stored.vector(40, dimensions: 13), [Float](repeating: 0, count: 13))
        // LIRE moves decoded vectors into new postings: encoding them again changes nothing.
        var moved = Posting()
        for entry in 0..<stored.count { moved.append(slot: stored.slots[entry], version: 1, vector: stored.vector(entry, dimensions: 13)) }
        let again = moved.encoded(as: .i8, dimensions: 13)
        XCTAssertEqual(again.codes, stored.codes)
        XCTAssertEqual(again.scales, stored.scales)
        // The batch kernel over the codes gives the decoded vectors' distances.
        let query = data.point()
        var out = [Float](repeating: 0, count: stored.count)
        stored.distances(from: query, into: &out, dimensions: 13, kernels: Kernels())
        for entry in 0..<stored.count {
            let expected = zip(query, stored.vector(entry, dimensions: 13)).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            XCTAssertEqual(out[entry], expected, accuracy: 1e-3 * max(1, expected))
        }
    }

    func testADeadlineStopsReadingPostings() async throws {
        var data = Data(dimensions: 8, clusters: 10, seed: 3)
        var items: [Int: [Float]] = [:]
        for id in 0..<3000 { items[id] = data.point() }
        var configuration = SPFreshConfiguration()
        configuration.fetchWave = 4
        let index = try await build(items, dimensions: 8, configuration: configuration)
        let query = data.point()
        let full = try await index.search(query, k: 10, searchHeads: 64)
        XCTAssertFalse(full.truncatedByDeadline)
        let late = try await index.search(query, k: 10, searchHeads: 64, deadline: .now - .seconds(1))
        XCTAssertTrue(late.truncatedByDeadline, "a passed deadline stops after the first wave")
        XCTAssertLessThan(late.postingsRead, full.postingsRead)
        XCTAssertEqual(late.hits.count, 10, "what arrived is still ranked and returned")
    }

    func testPostingObjectsAreFramedAndCorruptionIsReported() async throws {
        var posting = Posting()
        posting.append(slot: 3, version: 1, vector: [1, 2, 3])
        posting.append(slot: 9, version: 0, vector: [4, 5, 6])
        var bytes = posting.encode(dimensions: 3, id: 0x2a)
        let decoded = try Posting.decode(bytes, dimensions: 3, key: "k", id: 0x2a)
        XCTAssertEqual(decoded.slots, [3, 9])
        XCTAssertEqual(decoded.versions, [1, 0])
        XCTAssertEqual(decoded.vectors, [1, 2, 3, 4, 5, 6])
        XCTAssertThrowsError(try Posting.decode(bytes, dimensions: 4, key: "k", id: 0x2a)) { error in
            XCTAssertTrue("\(error)".contains("3-d vectors in a 4-d index"), "\(error)")
        }
        // Another intact posting where this one was expected (a misdirected read).
        XCTAssertThrowsError(try Posting.decode(bytes, dimensions: 3, key: "k", id: 0x2b)) { error in
            XCTAssertEqual((error as? StorageError)?.code, .corrupt)
            XCTAssertTrue("\(error)".contains("holds posting 2a, not 2b"), "\(error)")
        }
        // Format 1 (no id inside) still reads.
        var writer = BinaryWriter(capacity: 64)
        writer.u8(1)
        writer.u8(PostingEncoding.f32.rawValue)
        writer.u32(3)
        writer.u32(1)
        writer.raw([Int32(5)])
        writer.raw([UInt32(2)])
        writer.raw([Float(7), 8, 9])
        let old = try Posting.decode(ObjectFrame.seal(writer.bytes, kind: Posting.frameKind), dimensions: 3, key: "old", id: 1)
        XCTAssertEqual(old.slots, [5])
        XCTAssertEqual(old.vectors, [7, 8, 9])
        bytes[bytes.count / 2] ^= 0x40
        XCTAssertThrowsError(try Posting.decode(bytes, dimensions: 3, key: "k", id: 0x2a)) { error in
            XCTAssertEqual((error as? StorageError)?.code, .corrupt)
        }
    }
}
