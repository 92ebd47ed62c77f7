import Foundation
import XCTest
@testable import FreshetText
import FreshetStorage

/// xorshift: deterministic corpora without Foundation's random.
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

final class InvertedIndexTests: XCTestCase {
    /// A Zipf-ish vocabulary so some terms are in most documents and some in few.
    func corpus(_ random: inout TestRandom, documents: Int, vocabulary: Int) -> [[String]] {
        (0..<documents).map { _ in
            (0..<(1 + random.below(40))).map { _ in
                let rank = Int(Double(vocabulary) * pow(Double(random.below(1_000_000) + 1) / 1_000_000, 3))
                return "t\(rank)"
            }
        }
    }

    /// An index of `documents` (ordinal = position) with the `removed` ones taken out.
    func indexed<S: Sequence>(_ documents: [[String]], removing removed: S) -> InvertedIndex where S.Element == Int {
        var index = InvertedIndex()
        for document in documents { index.add(document) }
        for ordinal in removed { index.remove(UInt32(ordinal), terms: documents[ordinal]) }
        return index
    }

    /// BM25 written out from its definition over raw token lists, independent of the
    /// index: idf = ln(1 + (N − df + 0.5) / (df + 0.5)); a query term given q times
    /// weighs q(k3+1)/(q+k3).
    func referenceScore(_ document: [String], query: [String], live: [[String]], k1: Double, b: Double, k3: Double) -> Double {
        let n = Double(live.count)
        let averageLength = Double(live.reduce(0) { $0 + $1.count }) / n
        var score = 0.0
        for term in Set(query) {
            let df = Double(live.filter { $0.contains(term) }.count)
            let tf = Double(document.filter { $0 == term }.count)
            guard tf > 0 else { continue }
            let idf = log(1 + (n - df + 0.5) / (df + 0.5))
            let q = Double(query.filter { $0 == term }.count)
            score += q * (k3 + 1) / (q + k3) * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * Double(document.count) / averageLength))
        }
        return score
    }

    func testScoresEqualTheBM25Formula() {
        var random = TestRandom(state: 11)
        let documents = corpus(&random, documents: 300, vocabulary: 200)
        var index = InvertedIndex()
        for document in documents { index.add(document) }
        // Remove a third: statistics must follow.
        var live: [Int: [String]] = Dictionary(uniqueKeysWithValues: documents.enumerated().map { ($0, $1) })
        for ordinal in stride(from: 0, to: documents.count, by: 3) {
            index.remove(UInt32(ordinal), terms: documents[ordinal])
            live[ordinal] = nil
        }
        let liveDocuments = Array(live.values)
        for parameters in [BM25Parameters(), BM25Parameters(k1: 2.0, b: 0.3, k3: 1), BM25Parameters(k1: 0.5, b: 1.0, k3: 100)] {
            for _ in 0..<40 {
                // Small term range: repeated query terms are common.
                let query = (0..<(1 + random.below(5))).map { _ in "t\(random.below(12))" } + ["t\(random.below(220))"]
                for (ordinal, document) in live {
                    let expected = referenceScore(document, query: query, live: liveDocuments, k1: parameters.k1, b: parameters.b, k3: parameters.k3)
                    let got = index.score(UInt32(ordinal), terms: query, parameters: parameters)
                    XCTAssertEqual(got, expected, accuracy: 1e-4, "doc \(ordinal) query \(query)")
                }
            }
        }
    }

    /// Block-max WAND returns exactly the exhaustive top k (scores and order), over
    /// corpora large enough for many blocks, with removals and a filter.
    func testTopKEqualsExhaustiveRanking() {
        var random = TestRandom(state: 5)
        let documents = corpus(&random, documents: 6000, vocabulary: 3000)
        let index = indexed(documents, removing: stride(from: 1, to: documents.count, by: 7))
        var skippedSomething = false
        for trial in 0..<120 {
            let query = (0..<(1 + random.below(5))).map { _ in "t\(random.below(trial % 2 == 0 ? 50 : 3000))" } + (trial % 4 == 0 ? ["t3", "t3"] : [])
            let k = [1, 5, 10, 100][random.below(4)]
            let accept: ((UInt32) -> Bool)? = trial % 3 == 0 ? { $0 % 5 != 0 } : nil
            var exhaustive: [ScoredDocument] = []
            for ordinal in 0..<UInt32(documents.count) where index.isLive(ordinal) && (accept?(ordinal) ?? true) {
                let score = index.score(ordinal, terms: query, parameters: BM25Parameters())
                if score > 0 { exhaustive.append(ScoredDocument(ordinal: ordinal, score: score)) }
            }
            exhaustive.sort { $0.score != $1.score ? $0.score > $1.score : $0.ordinal < $1.ordinal }
            let expected = Array(exhaustive.prefix(k))
            let got = index.search(query, k: k, accept: accept)
            XCTAssertEqual(got.map(\.ordinal), expected.map(\.ordinal), "trial \(trial): query \(query), k \(k)")
            for (a, b) in zip(got, expected) { XCTAssertEqual(a.score, b.score, accuracy: 1e-9) }
            if exhaustive.count > k { skippedSomething = true }
        }
        XCTAssertTrue(skippedSomething, "no query had more matches than k: the pruning was never exercised")
    }

    func testCompactionKeepsResultsAndDropsRemovedPostings() {
        var random = TestRandom(state: 9)
        let documents = corpus(&random, documents: 2000, vocabulary: 500)
        var index = indexed(documents, removing: stride(from: 0, to: documents.count, by: 2))
        let query = ["t1", "t7", "t40"]
        let before = index.search(query, k: 50)
        XCTAssertEqual(index.garbageRatio, 0.5, accuracy: 0.01)
        index.compact()
        XCTAssertEqual(index.search(query, k: 50), before)
        XCTAssertTrue(index.documents(containing: "t1").allSatisfy { $0 % 2 == 1 })
        XCTAssertEqual(index.postings["t1"]?.documents.count, index.documentFrequency("t1"), "removed entries are gone after compaction")
    }

    func testPositions() {
        var index = InvertedIndex()
        let ordinal = index.add(["a", "b", "a", "c"])
        XCTAssertEqual(index.occurrence(of: "a", in: ordinal)?.positions, [0, 2])
        XCTAssertEqual(index.occurrence(of: "c", in: ordinal)?.frequency, 1)
        XCTAssertNil(index.occurrence(of: "d", in: ordinal))
    }
}

final class InvertedIndexSegmentTests: XCTestCase {
    /// A segment decodes to an index that answers exactly as the original, removals
    /// and positions included, and is smaller than the raw postings.
    func testSegmentRoundTrip() throws {
        var random = TestRandom(state: 3)
        var index = InvertedIndex()
        var documents: [[String]] = []
        for _ in 0..<3000 {
            let terms = (0..<(1 + random.below(30))).map { _ in "w\(Int(pow(Double(random.below(1000)) / 1000, 2) * 800))" }
            documents.append(terms)
            index.add(terms)
        }
        for ordinal in stride(from: 0, to: 3000, by: 4) { index.remove(UInt32(ordinal), terms: documents[ordinal]) }
        var writer = BinaryWriter()
        index.encode(to: &writer)
        var reader = BinaryReader(writer.bytes, what: "test segment")
        let decoded = try InvertedIndex.decode(from: &reader)
        XCTAssertTrue(reader.isAtEnd)
        XCTAssertEqual(decoded.liveDocuments, index.liveDocuments)
        XCTAssertEqual(decoded.totalLength, index.totalLength)
        XCTAssertEqual(decoded.termCount, index.termCount)
        for _ in 0..<50 {
            let query = (0..<3).map { _ in "w\(random.below(800))" }
            XCTAssertEqual(decoded.search(query, k: 20), index.search(query, k: 20))
        }
        for ordinal in [1, 2, 3, 5, 2999] {
            for term in Set(documents[ordinal]) {
                XCTAssertEqual(decoded.occurrence(of: term, in: UInt32(ordinal))?.positions, index.occurrence(of: term, in: UInt32(ordinal))?.positions)
            }
        }
        let rawBytes = index.postings.values.reduce(0) { $0 + ($1.documents.count + $1.frequencies.count + $1.positions.count) * 4 }
        XCTAssertLessThan(writer.bytes.count, rawBytes / 2, "varint block packing: \(writer.bytes.count) bytes for \(rawBytes) raw")
        var truncated = BinaryReader(Array(writer.bytes.prefix(writer.bytes.count / 2)), what: "truncated segment")
        XCTAssertThrowsError(try InvertedIndex.decode(from: &truncated))
    }
}
