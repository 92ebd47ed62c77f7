@testable import FreshetEngine
import FreshetStorage
import FreshetText
import Foundation
import XCTest

final class FullTextTests: XCTestCase {
    /// BM25 from its definition over the analyzed tokens of the live documents.
    func reference(_ query: [String], _ documents: [String: [String]], k1: Double = 1.2, b: Double = 0.75, k3: Double = 8) -> [String: Double] {
        let n = Double(documents.count)
        let average = Double(documents.values.reduce(0) { $0 + $1.count }) / n
        var df: [String: Double] = [:]
        for term in Set(query) { df[term] = Double(documents.values.filter { $0.contains(term) }.count) }
        var scores: [String: Double] = [:]
        for (id, tokens) in documents {
            var score = 0.0
            for term in Set(query) {
                let tf = Double(tokens.filter { $0 == term }.count)
                guard tf > 0 else { continue }
                let df = df[term]!
                let q = Double(query.filter { $0 == term }.count)
                score += q * (k3 + 1) / (q + k3) * log(1 + (n - df + 0.5) / (df + 0.5)) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * Double(tokens.count) / average))
            }
            if score > 0 { scores[id] = score }
        }
        return scores
    }

    /// Scores summed in different orders differ in the last bits.
    func assertClose(_ a: [Double], _ b: [Double], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-9, message, file: file, line: line) }
    }

    func scores(_ result: QueryResult) -> [(String, Double)] { result.rows.map { ($0.document.id.description, $0.score ?? -1) } }

    func testBM25ScoresEqualTheFormulaThroughWritesAndDeletes() async throws {
        let storage = MemoryBackend()
        let engine = Engine(storage: storage)
        let words = ["whale", "fox", "quick", "brown", "ocean", "deep", "blue", "jumps", "lazy", "dog", "sea", "swims"]
        var random = SeededRandom(seed: 4)
        var texts: [String: String] = [:]
        try await engine.write("ns", #"{"schema":{"text":{"type":"string","full_text_search":{"stemming":true,"remove_stopwords":true}}}}"#)
        for batch in 0..<3 {
            var rows: [String] = []
            for i in 0..<100 {
                let id = batch * 100 + i
                let text = (0..<(3 + Int(random.next() % 20))).map { _ in words[Int(random.next() % UInt64(words.count))] }
                    .joined(separator: Int(random.next() % 3) == 0 ? " the " : " ")
                texts["\(id)"] = text
                rows.append(#"{"id":\#(id),"text":"\#(text)","n":\#(id % 7)}"#)
            }
            try await engine.write("ns", #"{"upsert_rows":[\#(rows.joined(separator: ","))]}"#)
        }
        // Replace some, delete some: statistics must follow.
        try await engine.write("ns", #"{"upsert_rows":[{"id":5,"text":"whale whale whale"}],"deletes":[7,8,9,250]}"#)
        texts["5"] = "whale whale whale"
        for id in ["7", "8", "9", "250"] { texts[id] = nil }

        var options = TextAnalyzerOptions()
        options.stemming = true
        options.removeStopwords = true
        let analyzer = TextAnalyzer(options)
        let tokens = texts.mapValues { analyzer.terms($0) }
        for query in ["whale", "quick brown fox", "the deep blue sea", "swimming whales", "fox fox dog", "absent words"] {
            let expected = reference(analyzer.terms(query), tokens)
            let result = try await engine.query("ns", #"{"rank_by":["text","BM25","\#(query)"],"top_k":1000}"#)
            XCTAssertEqual(result.rows.count, expected.count, "\(query): every matching document, no others")
            for (id, score) in scores(result) {
                XCTAssertEqual(score, expected[id] ?? -1, accuracy: 1e-4, "\(query): document \(id)")
            }
            let got = scores(result).map(\.1)
            XCTAssertEqual(got, got.sorted(by: >), "\(query): best first")
            // The top 10 by block-max WAND equals the head of the full ranking.
            let top = try await engine.query("ns", #"{"rank_by":["text","BM25","\#(query)"],"top_k":10}"#)
            assertClose(scores(top).map(\.1), Array(got.prefix(10)), "\(query): WAND top 10")
            // And the exhaustive expression path agrees.
            let viaSum = try await engine.query("ns", #"{"rank_by":["Sum",[["text","BM25","\#(query)"]]],"top_k":10}"#)
            assertClose(scores(viaSum).map(\.1), scores(top).map(\.1), "\(query): expression path")
        }
        // A filter narrows BM25 results and never shortens them while matches exist.
        let filtered = try await engine.query("ns", #"{"rank_by":["text","BM25","whale"],"filters":["n","Eq",3],"top_k":5}"#)
        XCTAssertEqual(filtered.rows.count, 5)
        XCTAssertTrue(filtered.rows.allSatisfy { $0.document.attributes["n"] == .int(3) })

        // Rebuilt the same after a restart (the index is derived from the durable state).
        let reopened = Engine(storage: storage)
        let again = try await reopened.query("ns", #"{"rank_by":["text","BM25","quick brown fox"],"top_k":20}"#)
        let before = try await engine.query("ns", #"{"rank_by":["text","BM25","quick brown fox"],"top_k":20}"#)
        XCTAssertEqual(scores(again).map(\.0), scores(before).map(\.0))
    }

    /// A namespace with vectors gets its rows' vectors back after ranking by text; the
    /// scores must survive that (they were once dropped there).
    func testBM25ScoresSurviveInNamespacesWithVectors() async throws {
        let engine = Engine(storage: MemoryBackend())
        let rows = (1...40).map { #"{"id":\#($0),"vector":[\#(Float($0)),1],"text":"\#($0 % 3 == 0 ? "salmon river" : "stone")"}"# }
        try await engine.write("v", #"{"schema":{"text":{"type":"string","full_text_search":true}},"upsert_rows":[\#(rows.joined(separator: ","))]}"#)
        let result = try await engine.query("v", #"{"rank_by":["text","BM25","salmon"],"top_k":5}"#)
        XCTAssertEqual(result.rows.count, 5)
        XCTAssertTrue(result.rows.allSatisfy { ($0.score ?? 0) > 0 }, "BM25 rows lost their scores: \(result.rows.map(\.score))")
        let sum = try await engine.query("v", #"{"rank_by":["Sum",[["text","BM25","salmon"]]],"top_k":5}"#)
        XCTAssertTrue(sum.rows.allSatisfy { ($0.score ?? 0) > 0 })
    }

    func testExpressionsAndTokenFilters() async throws {
        let engine = Engine(storage: MemoryBackend())
        try await engine.write("ns", #"""
        {"schema":{"title":{"type":"string","full_text_search":true},"body":{"type":"string","full_text_search":true},
                   "tags":{"type":"[]string","full_text_search":{"tokenizer":"pre_tokenized_array"}}},
         "upsert_rows":[
          {"id":1,"title":"The quick brown fox","body":"jumps over the lazy dog","clicks":100,"kind":"animal","tags":["New York","fox"]},
          {"id":2,"title":"Walrus facts","body":"the walrus is a large marine mammal","clicks":10,"kind":"animal","tags":["Arctic"]},
          {"id":3,"title":"Quick recipes","body":"quick quick dinners with walnuts","clicks":0,"kind":"food"},
          {"id":4,"title":"Nothing here","body":"entirely unrelated","clicks":5000,"kind":"misc"}]}
        """#)
        func ids(_ rankBy: String, filters: String? = nil) async throws -> [String] {
            let filterPart = filters.map { #","filters":\#($0)"# } ?? ""
            return try await engine.ids("ns", #"{"rank_by":\#(rankBy)\#(filterPart),"top_k":10}"#)
        }
        // Zero scores are left out.
        let quick = try await ids(#"["title","BM25","quick"]"#)
        XCTAssertEqual(Set(quick), ["1", "3"])
        // Sum over two attributes; Product weights; Max.
        let summed = try await engine.query("ns", #"{"rank_by":["Sum",[["title","BM25","quick"],["body","BM25","quick"]]],"top_k":10}"#)
        XCTAssertEqual(summed.rows.first?.document.id.description, "3", "quick in title and twice in body")
        let title = try await engine.query("ns", #"{"rank_by":["title","BM25","quick"],"top_k":10}"#)
        let weighted = try await engine.query("ns", #"{"rank_by":["Product",3,["title","BM25","quick"]],"top_k":10}"#)
        let weightedOld = try await engine.query("ns", #"{"rank_by":["Product",[["title","BM25","quick"],3]],"top_k":10}"#)
        for (a, b) in zip(title.rows, weighted.rows) { XCTAssertEqual(a.score! * 3, b.score!, accuracy: 1e-9) }
        XCTAssertEqual(weighted.rows.map(\.score), weightedOld.rows.map(\.score))
        let maxed = try await engine.query("ns", #"{"rank_by":["Max",[["title","BM25","quick"],["body","BM25","quick"]]],"top_k":10}"#)
        XCTAssertEqual(Set(maxed.rows.map { $0.document.id.description }), ["1", "3"])
        // A filter as a score, and Saturate / Decay over an attribute.
        let boosted = try await ids(#"["Sum",[["title","BM25","quick"],["Product",10,["kind","Eq","food"]]]]"#)
        XCTAssertEqual(boosted.first, "3")
        let saturated = try await engine.query("ns", #"{"rank_by":["Saturate",["Attribute","clicks"],{"midpoint":100}],"top_k":10}"#)
        XCTAssertEqual(saturated.rows.map { $0.document.id.description }, ["4", "1", "2"], "clicks 0 scores 0 and is left out")
        XCTAssertEqual(saturated.rows[1].score!, 0.5, accuracy: 1e-12, "x = midpoint gives one half")
        let decayed = try await engine.query("ns", #"{"rank_by":["Decay",["Attribute","clicks"],{"midpoint":10,"exponent":2}],"top_k":10}"#)
        XCTAssertEqual(decayed.rows.map { $0.document.id.description }, ["3", "2", "1", "4"])
        XCTAssertEqual(decayed.rows[1].score!, 0.5, accuracy: 1e-12)
        let got1 = try await ids(#"["Max",0,["Attribute","clicks"]]"#)
        XCTAssertEqual(got1, ["4", "1", "2"])
        // Recency: Decay over the distance to an origin datetime, midpoint as a duration.
        try await engine.write("ns", #"{"patch_rows":[{"id":1,"published":"2026-02-03T00:00:00Z"},{"id":2,"published":"2026-02-01T00:00:00Z"},{"id":3,"published":"2026-01-01T00:00:00Z"}],"schema":{"published":"datetime"}}"#)
        let recent = try await engine.query("ns", #"{"rank_by":["Decay",["Dist",["Attribute","published"],"2026-02-03T00:00:00"],{"midpoint":"2d"}],"top_k":10}"#)
        XCTAssertEqual(recent.rows.map { $0.document.id.description }, ["1", "2", "3"], "newest first; no date, no score")
        XCTAssertEqual(recent.rows[0].score!, 1, accuracy: 1e-12)
        XCTAssertEqual(recent.rows[1].score!, 0.5, accuracy: 1e-12, "two days from the origin is the midpoint")
        // last_as_prefix: the prefix matches walrus and walnuts and scores 1.0.
        let prefix = try await engine.query("ns", #"{"rank_by":["body","BM25","wal",{"last_as_prefix":true}],"top_k":10}"#)
        XCTAssertEqual(Set(prefix.rows.map { $0.document.id.description }), ["2", "3"])
        XCTAssertTrue(prefix.rows.allSatisfy { $0.score == 1 })
        // Pre-tokenized: tokens verbatim, case-sensitive.
        let got2 = try await ids(#"["tags","BM25",["New York"]]"#)
        XCTAssertEqual(got2, ["1"])
        let got3 = try await ids(#"["tags","BM25",["new york"]]"#)
        XCTAssertEqual(got3, [])

        // Token filters.
        func filtered(_ filter: String) async throws -> Set<String> {
            Set(try await engine.ids("ns", #"{"filters":\#(filter),"top_k":10}"#))
        }
        let got4 = try await filtered(#"["body","ContainsAllTokens","lazy dog"]"#)
        XCTAssertEqual(got4, ["1"])
        let got5 = try await filtered(#"["body","ContainsAllTokens","dog lazy"]"#)
        XCTAssertEqual(got5, ["1"], "any order")
        let got6 = try await filtered(#"["body","ContainsAnyToken","walrus dinners"]"#)
        XCTAssertEqual(got6, ["2", "3"])
        let got7 = try await filtered(#"["body","ContainsTokenSequence","the lazy dog"]"#)
        XCTAssertEqual(got7, ["1"])
        let got8 = try await filtered(#"["body","ContainsTokenSequence","dog lazy"]"#)
        XCTAssertEqual(got8, [])
        let got9 = try await filtered(#"["body","ContainsAllTokens","marine wal",{"last_as_prefix":true}]"#)
        XCTAssertEqual(got9, ["2"])
        let got10 = try await filtered(#"["tags","ContainsAnyToken",["Arctic","nope"]]"#)
        XCTAssertEqual(got10, ["2"])

        // Errors say what to fix.
        await assertEngineError(.invalidRequest, containing: "full_text_search") {
            _ = try await engine.query("ns", #"{"rank_by":["kind","BM25","food"],"top_k":10}"#)
        }
        await assertEngineError(.invalidRequest, containing: "full_text_search") {
            _ = try await engine.query("ns", #"{"filters":["kind","ContainsAnyToken","food"],"top_k":10}"#)
        }
        await assertEngineError(.invalidRequest, containing: "unknown language") {
            try await engine.write("ns", #"{"schema":{"fr":{"type":"string","full_text_search":{"language":"klingon","stemming":true}}}}"#)
        }
        await assertEngineError(.invalidRequest, containing: "non-negative") {
            _ = try await engine.query("ns", #"{"rank_by":["Product",-1,["title","BM25","quick"]],"top_k":10}"#)
        }
        await assertEngineError(.invalidRequest, containing: "pre_tokenized_array") {
            try await engine.write("ns", #"{"schema":{"other":{"type":"string","full_text_search":{"tokenizer":"pre_tokenized_array"}}}}"#)
        }
    }

    /// The text index is stored in snapshots and read back (not rebuilt) on open; the
    /// WAL after the snapshot is applied on top.
    func testTextIndexSurvivesCompactionAndRestart() async throws {
        let storage = MemoryBackend()
        var configuration = EngineConfiguration()
        configuration.compactionMinEntries = 3
        configuration.compactionMinBytes = 1
        let engine = Engine(storage: storage, configuration: configuration)
        try await engine.write("ns", #"{"schema":{"text":{"type":"string","full_text_search":{"stemming":true}}}}"#)
        let words = ["river", "flood", "thaw", "spring", "snow", "melt", "water", "rising"]
        var random = SeededRandom(seed: 2)
        for batch in 0..<8 {
            let rows = (0..<50).map { i -> String in
                let text = (0..<6).map { _ in words[Int(random.next() % UInt64(words.count))] }.joined(separator: " ")
                return #"{"id":\#(batch * 50 + i),"text":"\#(text)"}"#
            }
            let deletes = batch > 0 ? "\((batch - 1) * 50 + 3)" : ""
            try await engine.write("ns", #"{"upsert_rows":[\#(rows.joined(separator: ","))],"deletes":[\#(deletes)]}"#)
        }
        let query = #"{"rank_by":["text","BM25","rivers flooding"],"top_k":25}"#
        let before = try await engine.query("ns", query)
        await engine.shutdown()
        let snapshots = try await storage.listAll(prefix: "namespaces/ns/").filter { $0.key.contains("snapshot") }
        XCTAssertFalse(snapshots.isEmpty, "compaction wrote a snapshot")
        let reopened = Engine(storage: storage, configuration: configuration)
        let after = try await reopened.query("ns", query)
        XCTAssertEqual(after.rows.map(\.document.id), before.rows.map(\.document.id))
        assertClose(after.rows.map { $0.score! }, before.rows.map { $0.score! }, "scores after reopening")
        let state = try await reopened.existing("ns").readState(strong: true)
        XCTAssertEqual(state.text["text"]?.index.liveDocuments, state.documents.count)
        // Loaded, not rebuilt: the stored index kept one ordinal per upsert (deleted ones
        // tombstoned); a rebuild from the snapshot's documents would have fewer.
        XCTAssertEqual(state.text["text"]?.index.ordinalCount, 400)
    }

    /// The text index is stored as immutable segments beside the snapshot: compactions
    /// add the new documents as a segment and merge adjacent ones, so segments stay few;
    /// exactly the segments the current snapshot references remain in storage; a
    /// restarted engine assembles the index from them with the same scores.
    func testTextSegmentsAreAddedMergedAndCollected() async throws {
        let storage = MemoryBackend()
        var configuration = EngineConfiguration()
        configuration.compactionMinEntries = 2
        configuration.compactionMinBytes = 1
        let engine = Engine(storage: storage, configuration: configuration)
        try await engine.write("ns", #"{"schema":{"text":{"type":"string","full_text_search":true},"title":{"type":"string","full_text_search":{"stemming":true}}}}"#)
        let words = ["river", "flood", "thaw", "spring", "snow", "melt", "water", "rising", "delta", "reed"]
        var random = SeededRandom(seed: 8)
        var maximum = 0
        for batch in 0..<40 {
            let rows = (0..<20).map { i -> String in
                let text = (0..<5).map { _ in words[Int(random.next() % UInt64(words.count))] }.joined(separator: " ")
                return #"{"id":\#(batch * 20 + i),"text":"\#(text)","title":"\#(words[(batch + i) % words.count])s"}"#
            }
            // Deletes and replacements leave removed ordinals for merges to drop.
            let deletes = batch > 2 ? (0..<8).map { "\((batch - 2) * 20 + $0)" }.joined(separator: ",") : ""
            try await engine.write("ns", #"{"upsert_rows":[\#(rows.joined(separator: ","))],"deletes":[\#(deletes)]}"#)
            _ = try await engine.compact(namespace: "ns")
            let state = try await engine.existing("ns").readState(strong: true)
            maximum = max(maximum, state.text["text"]?.segments.count ?? 0)
        }
        let state = try await engine.existing("ns").readState(strong: true)
        let segments = try XCTUnwrap(state.text["text"]?.segments)
        XCTAssertGreaterThan(segments.count, 1, "segments are added, not rewritten whole")
        XCTAssertLessThanOrEqual(maximum, 8, "tiered merging keeps the segments few (40 compactions)")
        XCTAssertEqual(segments.first?.base, 0)
        XCTAssertTrue(zip(segments, segments.dropFirst()).allSatisfy { $0.end == $1.base }, "segments tile the ordinals")
        let stored = Set(try await storage.listAll(prefix: "namespaces/ns/").map(\.key).filter { $0.contains("/text/") })
        XCTAssertEqual(stored, state.textSegmentKeys, "superseded segments are deleted, referenced ones kept")

        let queries = [#"{"rank_by":["text","BM25","river melt"],"top_k":50}"#, #"{"rank_by":["title","BM25","deltas"],"top_k":50}"#,
                       #"{"rank_by":["id","asc"],"top_k":500,"filters":["text","ContainsTokenSequence","snow melt"]}"#]
        var before: [QueryResult] = []
        for query in queries { before.append(try await engine.query("ns", query)) }
        await engine.shutdown()
        // A crashed compaction's segment, which nothing references, is removed on open.
        let orphan = "namespaces/ns/" + (stored.first!.split(separator: "/")[2]) + "/text/00000000000000ff"
        _ = try await storage.put(orphan, [1, 2, 3], condition: .none)
        let reopened = Engine(storage: storage, configuration: configuration)
        for (query, expected) in zip(queries, before) {
            let after = try await reopened.query("ns", query)
            XCTAssertEqual(after.rows.map(\.document.id), expected.rows.map(\.document.id), query)
            assertClose(after.rows.map { $0.score ?? 0 }, expected.rows.map { $0.score ?? 0 }, query)
        }
        let leftovers = try await storage.listAll(prefix: "namespaces/ns/").map(\.key).filter { $0.contains("/text/") }
        XCTAssertFalse(leftovers.contains(orphan), "an unreferenced segment is removed when the namespace opens")
        await reopened.shutdown()
    }

    /// Snapshots written before segments held each index inline, made by an older
    /// analyzer; they still load, and the index is rebuilt with today's analyzer.
    func testInlineTextSectionsOfOlderSnapshotsStillLoad() async throws {
        let engine = Engine(storage: MemoryBackend())
        try await engine.write("ns", #"{"schema":{"text":{"type":"string","full_text_search":true}},"upsert_rows":[{"id":1,"text":"river flood"},{"id":2,"text":"spring flood flood"}]}"#)
        let state = try await engine.existing("ns").readState(strong: true)
        var writer = BinaryWriter(capacity: 256)
        state.text.encodeInline(to: &writer)
        var reader = BinaryReader(writer.bytes, what: "inline section")
        var decoded = try TextIndexes.decode(from: &reader)
        XCTAssertTrue(reader.isAtEnd)
        XCTAssertNil(decoded["text"], "an index from an older analyzer is not reused")
        decoded.configure(for: state.schema, documents: state.documents)
        XCTAssertEqual(decoded["text"]?.index.documentFrequency("flood"), 2)
        XCTAssertEqual(decoded["text"]?.index.liveDocuments, 2)
    }

    /// Enabling full-text search on a large namespace builds in the background: BM25
    /// queries meanwhile are told to retry (202), writes made during the build are
    /// caught up, and the result equals the formula over the final documents.
    func testLargeBuildsRunInTheBackgroundAndCatchUp() async throws {
        var configuration = EngineConfiguration()
        configuration.textInlineBuildLimit = 100
        let engine = Engine(storage: MemoryBackend(), configuration: configuration)
        let words = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]
        var random = SeededRandom(seed: 12)
        var texts: [String: String] = [:]
        func text() -> String { (0..<(2 + Int(random.next() % 8))).map { _ in words[Int(random.next() % 6)] }.joined(separator: " ") }
        for batch in 0..<6 {
            let rows = (0..<1000).map { i -> String in
                let id = batch * 1000 + i
                texts["\(id)"] = text()
                return #"{"id":\#(id),"text":"\#(texts["\(id)"]!)"}"#
            }
            try await engine.write("ns", #"{"upsert_rows":[\#(rows.joined(separator: ","))]}"#)
        }
        try await engine.write("ns", #"{"schema":{"text":{"type":"string","full_text_search":true}}}"#)
        // Writes while the index builds: replacements and deletes.
        var updates: [String] = []
        for id in stride(from: 0, to: 6000, by: 97) {
            texts["\(id)"] = "omega omega " + text()
            updates.append(#"{"id":\#(id),"text":"\#(texts["\(id)"]!)"}"#)
        }
        try await engine.write("ns", #"{"upsert_rows":[\#(updates.joined(separator: ","))],"deletes":[5,6,7]}"#)
        for id in ["5", "6", "7"] { texts[id] = nil }
        let query = #"{"rank_by":["text","BM25","omega sigma"],"top_k":10000}"#
        var result: QueryResult?
        for _ in 0..<500 {
            do {
                result = try await engine.query("ns", query)
                break
            } catch let error as EngineError where error.code == .indexBuilding {
                XCTAssertTrue(error.message.contains("being built"), error.message)
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let final = try XCTUnwrap(result, "the background build never finished")
        let metadata = try await engine.metadata(namespace: "ns")
        XCTAssertEqual(metadata.unindexedBytes, 0, "up to date once the build is installed")
        let analyzer = TextAnalyzer()
        let expected = reference(analyzer.terms("omega sigma"), texts.mapValues { analyzer.terms($0) })
        XCTAssertEqual(final.rows.count, expected.count)
        for row in final.rows { XCTAssertEqual(row.score!, expected[row.document.id.description] ?? -1, accuracy: 1e-4) }
        await engine.shutdown()
    }

    /// Enabling full-text search on an attribute that already has documents indexes them.
    func testEnablingFullTextSearchLaterIndexesExistingDocuments() async throws {
        let engine = Engine(storage: MemoryBackend())
        try await engine.write("ns", #"{"upsert_rows":[{"id":1,"text":"red apples"},{"id":2,"text":"green pears"}]}"#)
        await assertEngineError(.invalidRequest, containing: "full_text_search") {
            _ = try await engine.query("ns", #"{"rank_by":["text","BM25","apples"],"top_k":10}"#)
        }
        try await engine.write("ns", #"{"schema":{"text":{"type":"string","full_text_search":true}}}"#)
        let got11 = try await engine.ids("ns", #"{"rank_by":["text","BM25","apples"],"top_k":10}"#)
        XCTAssertEqual(got11, ["1"])
        let plan = try await engine.explain(namespace: "ns", QueryRequest.parse(JSONParser.parse(#"{"rank_by":["text","BM25","apples"],"top_k":10}"#)))
        XCTAssertTrue(plan.contains("block-max WAND"), plan)
    }
}

final class FuzzyAndGlobTests: XCTestCase {
    /// Levenshtein substring matching against a brute force over every substring.
    func testApproximateContainmentAgreesWithBruteForce() {
        func levenshtein(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
            var row = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var previous = row[0]
                row[0] = i + 1
                for (j, y) in b.enumerated() {
                    let current = row[j + 1]
                    row[j + 1] = min(row[j + 1] + 1, row[j] + 1, previous + (x == y ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        var random = SeededRandom(seed: 8)
        let alphabet = Array("abc".unicodeScalars)
        for _ in 0..<400 {
            let pattern = (0..<(1 + Int(random.next() % 5))).map { _ in alphabet[Int(random.next() % 3)] }
            let text = (0..<Int(random.next() % 9)).map { _ in alphabet[Int(random.next() % 3)] }
            for distance in 0...2 {
                var expected = pattern.count <= distance
                for start in 0...text.count where !expected {
                    for end in start...text.count where levenshtein(pattern, Array(text[start..<end])) <= distance { expected = true; break }
                }
                XCTAssertEqual(Filter.Condition.containsApproximately(pattern, in: text, distance: distance), expected,
                               "\(String(String.UnicodeScalarView(pattern))) in \(String(String.UnicodeScalarView(text))) within \(distance)")
            }
        }
    }

    func testFuzzyAndGlobFiltersOnDeclaredAttributes() async throws {
        let engine = Engine(storage: MemoryBackend())
        try await engine.write("ns", #"""
        {"schema":{"company":{"type":"string","fuzzy":true,"glob":true}},
         "upsert_rows":[{"id":1,"company":"turbopuffer inc"},{"id":2,"company":"Turbo Puffer"},{"id":3,"company":"freshet"}]}
        """#)
        let rules = #"{"max_edit_distance":[{"min_query_chars":3,"distance":0},{"min_query_chars":6,"distance":1},{"min_query_chars":9,"distance":2}]}"#
        let typo = try await engine.ids("ns", #"{"filters":["company","Fuzzy","turbopufer",\#(rules)],"top_k":10}"#)
        XCTAssertEqual(typo, ["1", "2"], "10 characters allow 2 edits: one for turbopuffer, two (space, f) for Turbo Puffer, case-insensitive")
        let strict = try await engine.ids("ns", #"{"filters":["company","Fuzzy","turbopufer",{"max_edit_distance":[{"min_query_chars":6,"distance":1}]}],"top_k":10}"#)
        XCTAssertEqual(strict, ["1"])
        let short = try await engine.ids("ns", #"{"filters":["company","Fuzzy","fresh",\#(rules)],"top_k":10}"#)
        XCTAssertEqual(short, ["3"], "5 characters: distance 0, an exact substring")
        let tooShort = try await engine.ids("ns", #"{"filters":["company","Fuzzy","fr",\#(rules)],"top_k":10}"#)
        XCTAssertEqual(tooShort, [], "shorter than every rule: nothing")
        let globbed = try await engine.ids("ns", #"{"filters":["company","IGlob","turbo*"],"top_k":10}"#)
        XCTAssertEqual(globbed, ["1", "2"], "glob: true allows Glob on an attribute that is not filterable")
        await assertEngineError(.invalidRequest, containing: "not filterable") {
            _ = try await engine.query("ns", #"{"filters":["company","Eq","freshet"],"top_k":10}"#)
        }
        await assertEngineError(.invalidRequest, containing: "3 × (distance + 1)") {
            _ = try await engine.query("ns", #"{"filters":["company","Fuzzy","abc",{"max_edit_distance":[{"min_query_chars":3,"distance":1}]}],"top_k":10}"#)
        }
        try await engine.write("ns", #"{"upsert_rows":[{"id":4,"plain":"x"}]}"#)
        await assertEngineError(.invalidRequest, containing: "\"fuzzy\": true") {
            _ = try await engine.query("ns", #"{"filters":["plain","Fuzzy","abc",\#(rules)],"top_k":10}"#)
        }
    }
}

final class TokenFilterIndexTests: XCTestCase {
    /// ContainsAllTokens, ContainsAnyToken (with and without last_as_prefix) and
    /// ContainsTokenSequence answered from the inverted index — positions for phrases —
    /// return exactly what evaluating them on every document returns, through
    /// replacements, deletes and And/Or/Not combinations.
    func testTokenFiltersFromTheIndexEqualPerDocumentEvaluation() async throws {
        var random = SeededRandom(seed: 33)
        let engine = Engine(storage: MemoryBackend())
        let words = ["the", "quick", "brown", "fox", "jumps", "jumping", "over", "lazy", "dogs", "dog", "a", "sea", "seal", "seals"]
        func text() -> String {
            (0..<Int.random(in: 0..<9, using: &random)).map { _ in words[Int.random(in: 0..<words.count, using: &random)] }.joined(separator: " ")
        }
        func document(_ id: Int) -> String {
            var fields = [#""id":\#(id)"#, #""n":\#(id % 5)"#]
            if Int.random(in: 0..<6, using: &random) > 0 { fields.append(#""body":"\#(text())""#) }
            return "{" + fields.joined(separator: ",") + "}"
        }
        try await engine.write("ns", #"{"schema":{"body":{"type":"string","full_text_search":{"stemming":true}}}}"#)
        try await engine.write("ns", #"{"upsert_rows":[\#((0..<500).map(document).joined(separator: ","))]}"#)
        try await engine.write("ns", #"{"upsert_rows":[\#((0..<100).map { document($0 * 4) }.joined(separator: ","))],"deletes":[1,5,9,13,17,21]}"#)

        func condition(_ random: inout SeededRandom) -> String {
            let query = (0..<Int.random(in: 1..<4, using: &random)).map { _ in words[Int.random(in: 0..<words.count, using: &random)] }
            switch Int.random(in: 0..<5, using: &random) {
            case 0: return #"["body","ContainsAllTokens","\#(query.joined(separator: " "))"]"#
            case 1: return #"["body","ContainsAnyToken","\#(query.joined(separator: " "))"]"#
            case 2:
                let op = Bool.random(using: &random) ? "ContainsAllTokens" : "ContainsAnyToken"
                let prefix = String(query.last!.prefix(Int.random(in: 1..<4, using: &random)))
                return #"["body","\#(op)","\#((query.dropLast() + [prefix]).joined(separator: " "))",{"last_as_prefix":true}]"#
            case 3: return #"["n","Eq",\#(Int.random(in: 0..<5, using: &random))]"#
            default: return #"["body","ContainsTokenSequence","\#(query.joined(separator: " "))"]"#
            }
        }
        let state = try await engine.existing("ns").readState(strong: true)
        var exactFromIndex = 0, nonEmpty = 0
        for trial in 0..<300 {
            let json = randomFilter(trial % 3, &random) { condition(&$0) }
            let compiled = try Filter.compile(JSONParser.parse(json), schema: state.schema, field: "filters")
            let plan = FilterPlan(compiled, state: state)
            if plan.candidates != nil, plan.exact { exactFromIndex += 1 }
            let expected = state.documents.values.filter { compiled.matches($0) }.map(\.id).sorted().map(\.description)
            if !expected.isEmpty { nonEmpty += 1 }
            let got = try await engine.ids("ns", #"{"rank_by":["id","asc"],"top_k":10000,"filters":\#(json)}"#)
            XCTAssertEqual(got, expected, json)
        }
        XCTAssertGreaterThan(exactFromIndex, 250, "token filters should be answered exactly from the inverted index")
        XCTAssertGreaterThan(nonEmpty, 100, "the trials should mostly match something")
    }
}
