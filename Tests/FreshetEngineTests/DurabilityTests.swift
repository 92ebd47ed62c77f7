@testable import FreshetEngine
import FreshetStorage
import XCTest

final class DurabilityTests: XCTestCase {
    func smallCompaction() -> EngineConfiguration {
        var configuration = EngineConfiguration()
        configuration.compactionMinEntries = 8
        configuration.compactionMinBytes = 1
        configuration.storageBackoff = .milliseconds(1)
        return configuration
    }

    func testRestartServesExactlyTheAcknowledgedStateAcrossCompactions() async throws {
        let storage = MemoryBackend()
        let first = Engine(storage: storage, configuration: smallCompaction())
        for batch in 0..<40 {
            let rows = (0..<5).map { #"{"id":\#(batch * 5 + $0),"vector":[\#(batch),\#($0)],"b":\#(batch)}"# }
            try await first.write("ns", #"{"upsert_rows":[\#(rows.joined(separator: ","))]}"#)
            if batch % 7 == 3 { try await first.write("ns", #"{"deletes":[\#(batch * 5)]}"#) }
        }
        try await first.write("ns", #"{"patch_by_filter":{"filters":["b","Lt",3],"patch":{"early":true}}}"#)
        let expected = try await first.state(namespace: "ns")
        await first.shutdown()
        // Let the last compaction (if any) finish before counting objects.
        try await Task.sleep(for: .milliseconds(100))
        let objects = try await storage.listAll(prefix: "namespaces/ns/")
        let snapshots = objects.filter { $0.key.contains("/snapshot/") }
        XCTAssertEqual(snapshots.count, 1, "compaction should leave exactly the current snapshot")
        let wal = objects.filter { $0.key.contains("/wal/") }
        XCTAssertLessThan(wal.count, Int(expected.sequence), "folded WAL objects should have been deleted")

        let second = Engine(storage: storage, configuration: smallCompaction())
        let recovered = try await second.state(namespace: "ns")
        XCTAssertEqual(recovered.allDocuments(), expected.allDocuments())
        XCTAssertTrue(expected.allDocuments().contains { $0.vector != nil }, "the recovery check must cover vectors")
        XCTAssertEqual(recovered.sequence, expected.sequence)
        XCTAssertEqual(recovered.schema, expected.schema)
        XCTAssertEqual(recovered.logicalBytes, expected.logicalBytes)
        let names = try await second.listNamespaces()
        XCTAssertEqual(names.names, ["ns"])
    }

    /// Every schema change (declared or inferred) is a new version; the version survives
    /// snapshots and restarts, and the manifest records the snapshot's schema with it.
    func testSchemaVersionsAreCountedAndKeptInTheManifest() async throws {
        let storage = MemoryBackend()
        let first = Engine(storage: storage, configuration: smallCompaction())
        func rows(_ range: Range<Int>) -> String { range.map { #"{"id":\#($0),"a":\#($0)}"# }.joined(separator: ",") }
        try await first.write("ns", #"{"upsert_rows":[\#(rows(0..<1))]}"#)  // a inferred: version 1
        for batch in 1..<6 { try await first.write("ns", #"{"upsert_rows":[\#(rows(batch * 10..<batch * 10 + 10))]}"#) }
        var state = try await first.state(namespace: "ns")
        XCTAssertEqual(state.schemaVersion, 1, "writes that keep the schema do not add versions")
        try await first.write("ns", #"{"schema":{"t":{"type":"string","full_text_search":true}}}"#)  // version 2
        try await first.write("ns", #"{"upsert_rows":[{"id":1000,"a":1,"b":"x"}]}"#)  // b inferred: version 3
        for batch in 6..<30 { try await first.write("ns", #"{"upsert_rows":[\#(rows(batch * 10..<batch * 10 + 10))]}"#) }
        state = try await first.state(namespace: "ns")
        XCTAssertEqual(state.schemaVersion, 3)
        await first.shutdown()
        try await Task.sleep(for: .milliseconds(100))

        let object = try await storage.get("namespaces/ns/manifest")
        let manifest = try Manifest.decode(XCTUnwrap(object).body, key: "manifest")
        XCTAssertGreaterThanOrEqual(manifest.snapshotSequence, state.schemaSequence, "a compaction should have folded the last change")
        XCTAssertEqual(manifest.schema, Manifest.SchemaRecord(version: 3, sequence: state.schemaSequence, definition: SchemaCodec.json(state.schema)))

        let second = Engine(storage: storage, configuration: smallCompaction())
        var recovered = try await second.state(namespace: "ns")
        XCTAssertEqual(recovered.schemaVersion, 3)
        XCTAssertEqual(recovered.schemaSequence, state.schemaSequence)
        try await second.write("ns", #"{"schema":{"a":{"type":"int","filterable":false}}}"#)
        recovered = try await second.state(namespace: "ns")
        XCTAssertEqual(recovered.schemaVersion, 4)
        XCTAssertEqual(recovered.schemaSequence, recovered.sequence)
    }

    func testTwoEnginesWritingConcurrentlyLoseNothing() async throws {
        // A little latency per storage call makes the two writers interleave for sure.
        let storage = FaultInjectingBackend(wrapping: MemoryBackend())
        storage.setLatency(.microseconds(300))
        let a = Engine(storage: storage, configuration: smallCompaction())
        let b = Engine(storage: storage, configuration: smallCompaction())
        try await a.write("shared", #"{"upsert_rows":[{"id":0,"who":"seed"}]}"#)
        let perEngine = 60
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (label, engine) in [("a", a), ("b", b)] {
                group.addTask {
                    for index in 1...perEngine {
                        let id = (label == "a" ? 0 : 1000) + index
                        try await engine.write("shared", #"{"upsert_rows":[{"id":\#(id),"who":"\#(label)"}]}"#)
                    }
                }
            }
            try await group.waitForAll()
        }
        let viewA = try await a.state(namespace: "shared")
        let viewB = try await b.state(namespace: "shared")
        XCTAssertEqual(viewA.documents.count, 1 + 2 * perEngine, "an acknowledged write was lost")
        XCTAssertEqual(viewA.documents, viewB.documents)
        let conflicts = await a.statistics()["shared"]!.conflicts + b.statistics()["shared"]!.conflicts
        XCTAssertGreaterThan(conflicts, 0, "the engines should have raced for WAL slots (the test must exercise conflicts)")
        let fresh = try await Engine(storage: storage).state(namespace: "shared")
        XCTAssertEqual(fresh.documents, viewA.documents)
    }

    func testANoOpWriteOnALaggingEngineSeesOtherWritersFirst() async throws {
        let storage = MemoryBackend()
        let a = Engine(storage: storage), b = Engine(storage: storage)
        try await a.write("lag", #"{"upsert_rows":[{"id":1}]}"#)
        try await b.write("lag", #"{"upsert_rows":[{"id":5}]}"#)
        // A's local state has no id 5; the delete must still find it.
        let result = try await a.write("lag", #"{"deletes":[5]}"#)
        XCTAssertEqual(result.rowsDeleted, 1)
        let fresh = try await Engine(storage: storage).state(namespace: "lag")
        XCTAssertEqual(fresh.documents.keys.sorted(), [.uint(1)])
    }

    func testWritesRacingADeletionAreNeverAcknowledgedAndLost() async throws {
        let storage = MemoryBackend()
        let engine = Engine(storage: storage)
        for round in 0..<20 {
            try await engine.write("race", #"{"upsert_rows":[{"id":0}]}"#)
            async let deletion: Void = engine.deleteNamespace("race")
            async let write = try? engine.write("race", #"{"upsert_rows":[{"id":\#(round + 1)}]}"#)
            _ = try? await deletion
            let acknowledged = await write != nil
            if acknowledged {
                // Either the write came first and was deleted with the namespace (which is
                // then gone), or it came after and re-created the namespace with it.
                if let state = try? await engine.state(namespace: "race") {
                    XCTAssertEqual(state.documents.keys.sorted(), [.uint(UInt64(round + 1))],
                                   "round \(round): a live namespace after the race must hold exactly the acknowledged write")
                }
            }
            try? await engine.deleteNamespace("race")
        }
        // Whatever the interleavings, storage holds no orphaned incarnation once deleted.
        let left = try await storage.listAll(prefix: "namespaces/race/")
        XCTAssertEqual(left, [])
    }

    func testConditionalWritesStayCorrectAcrossTwoEngines() async throws {
        // Both engines increment one counter with version checks; every acknowledged
        // increment must be reflected exactly once.
        let storage = MemoryBackend()
        let engines = [Engine(storage: storage), Engine(storage: storage)]
        try await engines[0].write("c", #"{"upsert_rows":[{"id":1,"n":0}]}"#)
        let acknowledged = try await withThrowingTaskGroup(of: Int.self) { group in
            for engine in engines {
                group.addTask {
                    var done = 0
                    for _ in 0..<25 {
                        let current = try await engine.query("c", #"{"rank_by":["id","asc"],"include_attributes":["n"]}"#)
                        guard case .int(let n)? = current.rows.first?.document.attributes["n"] else { continue }
                        let result = try await engine.write("c", #"{"upsert_rows":[{"id":1,"n":\#(n + 1)}],"upsert_condition":["n","Eq",\#(n)]}"#)
                        done += result.rowsUpserted
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        let final = try await engines[1].state(namespace: "c").documents[.uint(1)]?.attributes["n"]
        XCTAssertEqual(final, .int(Int64(acknowledged)), "each successful conditional increment must count exactly once")
    }

    func testInjectedFaultsNeverLoseOrDuplicateAcknowledgedWrites() async throws {
        let base = MemoryBackend()
        let faulty = FaultInjectingBackend(wrapping: base, seed: 99)
        let engine = Engine(storage: faulty, configuration: smallCompaction())
        try await engine.write("f", #"{"upsert_rows":[{"id":0,"n":0}]}"#)
        faulty.injectRandomly(.loseResponse, on: .put, probability: 0.15)
        faulty.injectRandomly(.fail, on: .get, probability: 0.05)
        var acknowledged: Set<Int> = [0]
        var rejected: Set<Int> = []
        for id in 1...150 {
            do {
                let result = try await engine.write("f", #"{"upsert_rows":[{"id":\#(id),"n":\#(id)}],"return_affected_ids":true}"#)
                XCTAssertEqual(result.upsertedIDs, [.uint(UInt64(id))])
                acknowledged.insert(id)
            } catch {
                rejected.insert(id)
            }
        }
        faulty.clearFaults()
        XCTAssertGreaterThan(faulty.injectedCount, 10, "the test must actually inject faults")
        XCTAssertGreaterThan(acknowledged.count, 120, "retries should absorb most faults")
        let reopened = try await Engine(storage: base).state(namespace: "f")
        let present = Set(reopened.documents.keys.map { id -> Int in
            if case .uint(let value) = id { return Int(value) }
            return -1
        })
        XCTAssertTrue(acknowledged.isSubset(of: present), "lost acknowledged ids: \(acknowledged.subtracting(present).sorted())")
        // A write that failed after its WAL object landed may be present; no id is ever present twice
        // (a dictionary cannot hold duplicates), so check the log holds each id's put once per attempt.
        XCTAssertEqual(present.subtracting(acknowledged).subtracting(rejected), [])
        let wal = try await base.listAll(prefix: "namespaces/f/").filter { $0.key.contains("/wal/") }
        var seen: [Int: Int] = [:]
        for object in wal {
            let entry = try WALEntry.decode(try await base.get(object.key)!.body, key: object.key)
            for case .put(let document) in entry.operations { if case .uint(let id) = document.id { seen[Int(id), default: 0] += 1 } }
        }
        XCTAssertTrue(seen.values.allSatisfy { $0 == 1 }, "a write was committed twice: \(seen.filter { $0.value > 1 })")
    }

    func testDeletedNamespaceIsGoneAndCanBeRecreatedClean() async throws {
        let storage = MemoryBackend()
        let engine = Engine(storage: storage)
        try await engine.write("gone", #"{"upsert_rows":[{"id":1,"a":1}]}"#)
        try await engine.deleteNamespace("gone")
        let leftovers = try await storage.listAll(prefix: "namespaces/gone/")
        XCTAssertEqual(leftovers, [])
        let catalog = try await storage.listAll(prefix: "catalog/")
        XCTAssertEqual(catalog, [])
        await assertEngineError(.namespaceNotFound, containing: "does not exist") {
            _ = try await engine.query("gone", #"{"rank_by":["id","asc"]}"#)
        }
        await assertEngineError(.namespaceNotFound, containing: "does not exist") { try await engine.deleteNamespace("gone") }
        try await engine.write("gone", #"{"upsert_rows":[{"id":"s"}]}"#)
        let state = try await engine.state(namespace: "gone")
        XCTAssertEqual(state.documents.keys.sorted(), [.string("s")], "a re-created namespace starts empty, with a new id type")
    }

    func testCorruptWALEntryIsReportedNotSkipped() async throws {
        let storage = MemoryBackend()
        try await Engine(storage: storage).write("c", #"{"upsert_rows":[{"id":1}]}"#)
        let walKey = try await storage.listAll(prefix: "namespaces/c/").first { $0.key.hasSuffix("/wal/00000000000000000001") }!.key
        var body = try await storage.get(walKey)!.body
        body[body.count / 2] ^= 0xFF
        try await storage.put(walKey, body)
        await assertEngineError(.corruptData, containing: "checksum") {
            _ = try await Engine(storage: storage).state(namespace: "c")
        }
    }
}
