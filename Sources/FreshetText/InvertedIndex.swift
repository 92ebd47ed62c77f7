import Foundation

/// BM25's free parameters.
public struct BM25Parameters: Sendable, Equatable {
    public var k1: Double
    public var b: Double
    /// Saturation of repeated query terms: a term given q times weighs q(k3+1)/(q+k3).
    public var k3: Double
    public init(k1: Double = 1.2, b: Double = 0.75, k3: Double = 8) { (self.k1, self.b, self.k3) = (k1, b, k3) }

    /// Distinct query terms with their weights.
    public func weighted(_ terms: [String]) -> [(term: String, weight: Double)] {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for term in terms {
            if counts[term] == nil { order.append(term) }
            counts[term, default: 0] += 1
        }
        return order.map { term in
            let q = Double(counts[term]!)
            return (term, q * (k3 + 1) / (q + k3))
        }
    }
}

/// An inverted index over one text attribute. Documents are dense ordinals given out
/// in increasing order; each term's postings hold (ordinal, term frequency, positions)
/// in ordinal order, in blocks of `blockSize` with the block's largest frequency and
/// shortest document, so a top-k search skips blocks that cannot reach the k-th
/// score (block-max WAND). Removing a document tombstones it and takes it out of the
/// statistics at once; its postings are dropped when the index is compacted.
///
/// Not synchronised: a value type whose copies share postings until written.
public struct InvertedIndex: Sendable {
    public static let blockSize = 128

    struct Postings: Sendable {
        var documents: [UInt32] = []
        var frequencies: [UInt32] = []
        /// Positions of every entry, concatenated; entry i's start is `positionStarts[i]`.
        var positions: [UInt32] = []
        var positionStarts: [UInt32] = []
        /// Per block: the largest frequency and the shortest document length in it.
        var blockMaxFrequency: [UInt32] = []
        var blockMinLength: [UInt32] = []
        /// Live documents containing the term.
        var liveCount = 0
    }

    var postings: [String: Postings] = [:]
    /// Per ordinal: the document's length in terms; `UInt32.max` for a removed ordinal.
    var lengths: [UInt32] = []
    public internal(set) var liveDocuments = 0
    public internal(set) var totalLength = 0
    public let storesPositions: Bool

    public init(storesPositions: Bool = true) { self.storesPositions = storesPositions }

    /// Ordinals handed out so far (live or removed).
    public var ordinalCount: Int { lengths.count }
    public var termCount: Int { postings.count }
    public var averageLength: Double { liveDocuments == 0 ? 0 : Double(totalLength) / Double(liveDocuments) }
    public func isLive(_ ordinal: UInt32) -> Bool { Int(ordinal) < lengths.count && lengths[Int(ordinal)] != .max }
    public func length(of ordinal: UInt32) -> Int? { isLive(ordinal) ? Int(lengths[Int(ordinal)]) : nil }
    /// Live documents containing `term`.
    public func documentFrequency(_ term: String) -> Int { postings[term]?.liveCount ?? 0 }

    /// Adds a document with its terms (in order) and returns its ordinal.
    @discardableResult
    public mutating func add(_ terms: [String]) -> UInt32 {
        let ordinal = UInt32(lengths.count)
        let length = UInt32(min(terms.count, Int(UInt32.max - 1)))
        lengths.append(length)
        liveDocuments += 1
        totalLength += Int(length)
        guard !terms.isEmpty else { return ordinal }
        // Entries are appended in ordinal order, so this document's entry for a term is
        // that term's last one: repeated terms extend it in place (no per-document map).
        for (position, term) in terms.enumerated() {
            postings[term, default: Postings()].add(ordinal, position: UInt32(position), length: length, storesPositions: storesPositions)
        }
        return ordinal
    }

    /// Removes the document at `ordinal`; `terms` are the terms it was added with (the
    /// live document frequencies drop by one for each distinct term).
    public mutating func remove(_ ordinal: UInt32, terms: [String]) {
        guard isLive(ordinal) else { return }
        liveDocuments -= 1
        totalLength -= Int(lengths[Int(ordinal)])
        lengths[Int(ordinal)] = .max
        for term in Set(terms) { postings[term]?.liveCount -= 1 }
    }

    /// Fraction of posting entries that belong to removed documents.
    public var garbageRatio: Double {
        let live = liveDocuments, all = lengths.count
        return all == 0 ? 0 : Double(all - live) / Double(all)
    }

    /// Rebuilds postings without removed documents. Ordinals are kept (removed ones
    /// stay tombstoned), so callers' ordinal maps stay valid.
    public mutating func compact() {
        var rebuilt: [String: Postings] = [:]
        rebuilt.reserveCapacity(postings.count)
        for (term, old) in postings where old.liveCount > 0 {
            var fresh = Postings()
            for entry in 0..<old.documents.count where isLive(old.documents[entry]) {
                let document = old.documents[entry]
                fresh.append(document, frequency: old.frequencies[entry], positions: old.positions(of: entry), length: lengths[Int(document)])
            }
            fresh.liveCount = old.liveCount
            rebuilt[term] = fresh
        }
        postings = rebuilt
    }

    /// BM25 inverse document frequency, as Lucene and tantivy compute it.
    public func idf(_ term: String) -> Double {
        let n = Double(liveDocuments), df = Double(documentFrequency(term))
        return log(1 + (n - df + 0.5) / (df + 0.5))
    }

    /// Term frequency and positions of `term` in `ordinal`, if it occurs there.
    public func occurrence(of term: String, in ordinal: UInt32) -> (frequency: Int, positions: [UInt32])? {
        guard let list = postings[term], let entry = list.entry(of: ordinal) else { return nil }
        return (Int(list.frequencies[entry]), list.positions(of: entry))
    }

    /// Whether document `ordinal` holds `terms` at consecutive positions (a phrase);
    /// needs stored positions.
    public func holdsSequence(_ terms: [String], in ordinal: UInt32) -> Bool {
        guard storesPositions, isLive(ordinal), let first = terms.first else { return false }
        guard let starts = occurrence(of: first, in: ordinal)?.positions else { return false }
        var following: [Set<UInt32>] = []
        for term in terms.dropFirst() {
            guard let positions = occurrence(of: term, in: ordinal)?.positions else { return false }
            following.append(Set(positions))
        }
        return starts.contains { start in
            following.enumerated().allSatisfy { offset, positions in positions.contains(start + UInt32(offset + 1)) }
        }
    }

    /// Live ordinals containing `term`, ascending.
    public func documents(containing term: String) -> [UInt32] {
        guard let list = postings[term] else { return [] }
        return list.documents.filter { isLive($0) }
    }
}

extension InvertedIndex.Postings {
    /// One occurrence of the term at `position` in document `ordinal` (≥ every ordinal
    /// already here).
    mutating func add(_ ordinal: UInt32, position: UInt32, length: UInt32, storesPositions: Bool) {
        if let last = documents.last, last == ordinal {
            let entry = documents.count - 1
            frequencies[entry] += 1
            let block = entry / InvertedIndex.blockSize
            blockMaxFrequency[block] = max(blockMaxFrequency[block], frequencies[entry])
            if storesPositions { positions.append(position) }
        } else {
            openEntry(ordinal, frequency: 1, length: length)
            if storesPositions { positions.append(position) }
        }
    }

    /// Starts an entry (its positions follow) and keeps the block maxima.
    private mutating func openEntry(_ ordinal: UInt32, frequency: UInt32, length: UInt32) {
        if documents.count % InvertedIndex.blockSize == 0 {
            blockMaxFrequency.append(frequency)
            blockMinLength.append(length)
        } else {
            let block = blockMaxFrequency.count - 1
            blockMaxFrequency[block] = max(blockMaxFrequency[block], frequency)
            blockMinLength[block] = min(blockMinLength[block], length)
        }
        documents.append(ordinal)
        frequencies.append(frequency)
        positionStarts.append(UInt32(positions.count))
        liveCount += 1
    }

    mutating func append(_ ordinal: UInt32, frequency: UInt32, positions newPositions: [UInt32], length: UInt32) {
        openEntry(ordinal, frequency: frequency, length: length)
        positions.append(contentsOf: newPositions)
    }

    func positions(of entry: Int) -> [UInt32] {
        let start = Int(positionStarts[entry])
        let end = entry + 1 < positionStarts.count ? Int(positionStarts[entry + 1]) : positions.count
        return Array(positions[start..<end])
    }

    /// The entry holding `ordinal` (binary search).
    func entry(of ordinal: UInt32) -> Int? {
        var low = 0, high = documents.count
        while low < high {
            let mid = (low + high) / 2
            if documents[mid] < ordinal { low = mid + 1 } else { high = mid }
        }
        return low < documents.count && documents[low] == ordinal ? low : nil
    }
}

extension InvertedIndex {
    /// Indexed terms starting with `prefix`, for a query's last-term-as-prefix.
    public func terms(withPrefix prefix: String, limit: Int = 1024) -> [String] {
        var out: [String] = []
        for (term, list) in postings where list.liveCount > 0 && term.utf8.starts(with: prefix.utf8) {
            out.append(term)
            if out.count >= limit { break }
        }
        return out.sorted()
    }
}
