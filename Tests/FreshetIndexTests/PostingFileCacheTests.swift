import Foundation
@testable import FreshetIndex
import FreshetStorage
import XCTest

/// The node-local posting file cache: reads by offset, its byte budget, damaged
/// entries answered from storage, and an index whose queries scan postings in place.
final class PostingFileCacheTests: XCTestCase {
    var directory = ""

    override func setUp() {
        directory = NSTemporaryDirectory() + "freshet-posting-files-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func posting(_ seed: Int, count: Int = 20, dimensions: Int = 8) -> Posting {
        var posting = Posting()
        for entry in 0..<count {
            posting.append(slot: Int32(seed * 1000 + entry), version: UInt32(seed),
                           vector: (0..<dimensions).map { Float(seed * 31 + entry * 7 + $0 % 5) * 0.125 })
        }
        return posting
    }

    func testEntriesReadBackAndTheBudgetDropsTheOldestSegments() async throws {
        let cache = try PostingFileCache(directory: directory, budgetBytes: 1 << 18, segmentBytes: 1 << 16)
        let owner = cache.register(), other = cache.register()
        XCTAssertNotEqual(owner, other)
        let buffer = PostingReadBuffer(capacity: 16)
        var objects: [UInt64: [UInt8]] = [:]
        for id in UInt64(1)...2000 {
            let object = posting(Int(id), count: 4 + Int(id % 9)).encoded(as: .f16, dimensions: 8).encode(dimensions: 8, id: id)
            objects[id] = object
            cache.append(owner: owner, id: id, object: object)
        }
        let statistics = cache.statistics
        XCTAssertGreaterThan(statistics.droppedSegments, 0, "2,000 entries of ~230 bytes pass a 256 KiB budget of 64 KiB segments")
        XCTAssertLessThanOrEqual(statistics.bytes, 1 << 18)
        var held = 0
        for id in UInt64(1)...2000 {
            switch cache.readIfCached(owner: owner, id: id, into: buffer) {
            case .read(let entry):
                held += 1
                XCTAssertEqual(Array(buffer.bytes(count: entry.length)), objects[id], "entry \(id)")
                let view = try XCTUnwrap(PostingView.parse(buffer.bytes(count: entry.length), dimensions: 8, id: id, key: "p\(id)"))
                XCTAssertEqual(view.count, 4 + Int(id % 9))
                XCTAssertEqual(view.slots[0], Int32(id) * 1000)
            case .absent:
                XCTAssertLessThan(id, 1500, "only the oldest entries are dropped (entry \(id))")
            case .wouldBlock:
                let bytes = await cache.readWaiting(owner: owner, id: id)
                XCTAssertEqual(bytes, objects[id])
                held += 1
            }
        }
        XCTAssertGreaterThan(held, 500)
        XCTAssertLessThan(held, 2000)
        // Another owner's ids are its own; removed entries are gone.
        XCTAssertTrue(isAbsent(cache.readIfCached(owner: other, id: 2000, into: buffer)))
        cache.remove(owner: owner, ids: [2000])
        XCTAssertTrue(isAbsent(cache.readIfCached(owner: owner, id: 2000, into: buffer)))
        // The directory holds only the live segments.
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".postings") }
        XCTAssertLessThanOrEqual(files.count, 4)
    }

    func isAbsent(_ read: PostingFileCache.Read) -> Bool {
        if case .absent = read { return true }
        return false
    }

    func testADamagedEntryIsAnsweredFromStorage() async throws {
        let cache = try PostingFileCache(directory: directory, budgetBytes: 1 << 20, segmentBytes: 1 << 16)
        let storage = MemoryBackend()
        let store = PostingStore(storage: storage, prefix: "ix/", dimensions: 8, cacheBytes: 0, encoding: .i8, fileCache: cache)
        try await store.write(posting(3), id: 3)
        try await store.write(posting(4), id: 4)
        // Flip a byte inside the first entry (offset 0 of segment 0).
        let path = directory + "/0.postings"
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 40)
        let original = try XCTUnwrap(handle.readData(ofLength: 1)).first!
        try handle.seek(toOffset: 40)
        handle.write(Foundation.Data([original ^ 0x5A]))
        try handle.close()

        let buffer = PostingReadBuffer()
        var scanned = 0
        XCTAssertNotNil(store.scanLocal(3, buffer: buffer) { scanned += $0.count }, "a damaged entry is not scanned")
        XCTAssertEqual(scanned, 0)
        XCTAssertNil(store.scanLocal(4, buffer: buffer) { scanned += $0.count })
        XCTAssertEqual(scanned, 20)
        XCTAssertEqual(cache.statistics.errors, 1)
        // The query path then reads it from storage, and the cache holds a good copy again.
        let fetched = try await store.fetchInOrder([3])
        XCTAssertEqual(fetched[0]?.posting.slots, posting(3).slots)
        XCTAssertEqual(store.statistics.objectsRead, 1)
        XCTAssertNil(store.scanLocal(3, buffer: buffer) { _ in })
        // Deleting postings forgets their entries.
        try await store.delete([3, 4])
        XCTAssertNotNil(store.scanLocal(4, buffer: buffer) { _ in })
    }

    func testAnIndexAnswersTheSameFromFilesMemoryAndStorage() async throws {
        var data = SPFreshIndexTests.Data(dimensions: 16, clusters: 12, seed: 77)
        var items: [Int: [Float]] = [:]
        for id in 0..<3000 { items[id] = data.point() }
        let queries = (0..<40).map { _ in data.point() }
        let cache = try PostingFileCache(directory: directory, budgetBytes: 64 << 20)
        for encoding in [PostingEncoding.f32, .f16, .i8] {
            let store = PostingStore(storage: MemoryBackend(), prefix: "ix/", dimensions: 16, cacheBytes: 0, encoding: encoding, fileCache: cache)
            let index = SPFreshIndex<Int>(dimensions: 16, store: store)
            let sorted = items.sorted { $0.key < $1.key }
            try await index.build(ids: sorted.map(\.key), vectors: Matrix(dimensions: 16, values: sorted.flatMap(\.value)))
            try await index.maintainUntilIdle()
            func answers() async throws -> [[Int]] {
                var all: [[Int]] = []
                for query in queries { all.append(try await index.search(query, k: 10).hits.map(\.id)) }
                return all
            }
            let fromFiles = try await answers()
            XCTAssertGreaterThan(store.statistics.fileHits, 0, "\(encoding): queries scan postings in the file cache")
            XCTAssertEqual(store.statistics.objectsRead, 0, "\(encoding): every posting written is in the file cache")
            // Without the file entries every posting comes from storage; same answers.
            cache.remove(owner: store.fileOwner, ids: try await store.storedIDs())
            let fromStorage = try await answers()
            XCTAssertGreaterThan(store.statistics.objectsRead, 0)
            XCTAssertEqual(fromStorage, fromFiles, "\(encoding)")
            var truthHits = 0
            for (query, got) in zip(queries, fromFiles) {
                var scored = items.map { (id: $0.key, distance: Kernels.best.l2SquaredUnchecked(query, $0.value)) }
                scored.sort { $0.distance < $1.distance }
                truthHits += Set(scored.prefix(10).map(\.id)).intersection(got).count
            }
            let recall = Double(truthHits) / Double(10 * queries.count)
            XCTAssertGreaterThanOrEqual(recall, 0.9, "\(encoding) postings through the file cache: recall@10 \(recall)")
        }
    }

    func testAnEntryIsChecksummedUntilItPassesOnceAndAgainWhenAppendedAnew() async throws {
        let cache = try PostingFileCache(directory: directory, budgetBytes: 1 << 20, segmentBytes: 1 << 16)
        let store = PostingStore(storage: MemoryBackend(), prefix: "ix/", dimensions: 8, cacheBytes: 0, encoding: .f16, fileCache: cache)
        try await store.write(posting(5), id: 5)
        let buffer = PostingReadBuffer()
        func checked() -> Bool? {
            if case .read(let entry) = cache.readIfCached(owner: store.fileOwner, id: 5, into: buffer) { return entry.checked }
            return nil
        }
        XCTAssertEqual(checked(), false, "a new entry has not been checked")
        XCTAssertEqual(checked(), false, "reading it raw does not check it")
        var scanned = 0
        XCTAssertNil(store.scanLocal(5, buffer: buffer) { scanned += $0.count })
        XCTAssertEqual(scanned, 20)
        XCTAssertEqual(checked(), true, "a scan that verified the CRC marks the entry")
        // Appended anew (as after a dropped segment), the entry is unchecked again.
        cache.append(owner: store.fileOwner, id: 5, object: posting(5).encoded(as: .f16, dimensions: 8).encode(dimensions: 8, id: 5))
        XCTAssertEqual(checked(), false)
        // A damaged entry is never marked: its scan fails and the entry is forgotten.
        let path = directory + "/0.postings"
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(size - 20))
        let original = try XCTUnwrap(handle.readData(ofLength: 1)).first!
        try handle.seek(toOffset: UInt64(size - 20))
        handle.write(Foundation.Data([original ^ 0x21]))
        try handle.close()
        XCTAssertEqual(store.scanLocal(5, buffer: buffer) { _ in XCTFail("a damaged entry is not scanned") }, .absent)
        XCTAssertNil(checked(), "the damaged entry is forgotten")
    }

    func testLocationTableAgreesWithADictionary() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<4 {
            var table = LocationTable()
            var reference: [String: LocationTable.Entry] = [:]
            func name(_ owner: UInt32, _ id: UInt64) -> String { "\(owner)/\(id)" }
            // Few owners and a narrow id range: inserts replace, removals hit, probes wrap.
            let ids = UInt64(round * 1000)...UInt64(round * 1000 + 300)
            for step in 0..<20_000 {
                let owner = UInt32.random(in: 1...3, using: &generator), id = UInt64.random(in: ids, using: &generator)
                switch Int.random(in: 0..<10, using: &generator) {
                case 0..<5:
                    let entry = LocationTable.Entry(owner: owner, id: id, segment: UInt32(step % 7), offset: UInt32(step), length: step % 5000)
                    table.insert(entry)
                    reference[name(owner, id)] = entry
                case 5..<8:
                    table.remove(owner: owner, id: id)
                    reference[name(owner, id)] = nil
                case 8:
                    if let entry = reference[name(owner, id)] {
                        table.markChecked(entry)
                        reference[name(owner, id)]!.lengthAndFlag |= LocationTable.checkedFlag
                    }
                default:
                    if step % 997 == 0 {
                        let segment = UInt32(step % 7)
                        table.removeAll { $0.segment == segment }
                        reference = reference.filter { $0.value.segment != segment }
                    }
                }
                XCTAssertEqual(table.count, reference.count)
                let found = table.find(owner: owner, id: id)
                let expected = reference[name(owner, id)]
                XCTAssertEqual(found.map { [$0.segment, $0.offset, $0.lengthAndFlag] }, expected.map { [$0.segment, $0.offset, $0.lengthAndFlag] }, "round \(round) step \(step)")
            }
            for (key, entry) in reference {
                let found = table.find(owner: entry.owner, id: entry.id)
                XCTAssertEqual(found?.offset, entry.offset, key)
                XCTAssertEqual(found?.length, entry.length, key)
                XCTAssertEqual(found?.checked, entry.checked, key)
            }
        }
    }

    func testADamagedCachedCopyIsDroppedAndReadAgainFromTheStore() async throws {
        let base = MemoryBackend()
        let tier = MemoryCacheTier(budget: 1 << 20)
        let tiered = TieredCacheBackend(base: base, tiers: [tier], cacheable: { _ in true })
        let store = PostingStore(storage: tiered, prefix: "ix/", dimensions: 8, cacheBytes: 0, encoding: .f16)
        func object(_ id: UInt64, damaged: Bool) -> [UInt8] {
            var bytes = posting(Int(id)).encoded(as: .f16, dimensions: 8).encode(dimensions: 8, id: id)
            if damaged { bytes[bytes.count / 2] ^= 0x40 }
            return bytes
        }
        // The cache tier keeps a damaged copy; the store holds the good one.
        _ = try await tiered.put(store.key(9), object(9, damaged: true), condition: .none)
        _ = try await base.put(store.key(9), object(9, damaged: false), condition: .none)
        let fetched = try await store.fetchInOrder([9])
        XCTAssertEqual(fetched[0]?.posting.slots, posting(9).slots)
        XCTAssertEqual(store.statistics.damagedReads, 1)
        // The tier was refilled with the good copy: the next read needs no repair.
        let again = try await store.fetchInOrder([9])
        XCTAssertEqual(again[0]?.posting.slots, posting(9).slots)
        XCTAssertEqual(store.statistics.damagedReads, 1)
        // Damaged in the store itself: an error that says so, not a wrong answer.
        _ = try await base.put(store.key(10), object(10, damaged: true), condition: .none)
        do {
            _ = try await store.fetchInOrder([10])
            XCTFail("a damaged stored posting must not decode")
        } catch let error as StorageError {
            XCTAssertEqual(error.code, .corrupt)
            XCTAssertTrue("\(error)".contains("checksum"), "\(error)")
        }
    }

    func testAStoreReportsTheCoarsestEncodingItsQueriesScanned() async throws {
        let storage = MemoryBackend()
        // Postings written as i8 (an earlier setting), read by a store now writing f32.
        let before = PostingStore(storage: storage, prefix: "ix/", dimensions: 8, cacheBytes: 0, encoding: .i8)
        try await before.write(posting(1), id: 1)
        let store = PostingStore(storage: storage, prefix: "ix/", dimensions: 8, cacheBytes: 0, encoding: .f32)
        XCTAssertEqual(store.coarsestEncoding, .f32)
        var versions = PagedArray<UInt32>(filler: 0)
        versions.grow(to: 2000)
        var postings = PagedArray<PostingRef>(filler: PostingRef())
        var ref = PostingRef()
        ref.base = 1
        ref.baseCount = 20
        postings.append(ref)
        var scanner = PostingScanner(query: [Float](repeating: 0, count: 8), k: 5, dimensions: 8, kernels: .best, versions: versions)
        let complete = try await scanner.probe([0], postings: postings, store: store, wave: 1, deadline: nil)
        XCTAssertTrue(complete)
        XCTAssertEqual(scanner.entriesScanned, 20)
        XCTAssertEqual(store.coarsestEncoding, .i8, "the engine reranks by the coarsest encoding it may meet")
        store.noteScanned(.f16)
        XCTAssertEqual(store.coarsestEncoding, .i8, "it never goes back to a finer one")
    }
}
