/// One scored document of a BM25 search.
public struct ScoredDocument: Sendable, Equatable {
    public var ordinal: UInt32
    public var score: Double
    public init(ordinal: UInt32, score: Double) { (self.ordinal, self.score) = (ordinal, score) }
}

extension InvertedIndex {
    /// BM25 of one document for `terms` (a repeated term weighted by k3), computed
    /// directly from its postings: the reference the top-k search must agree with.
    public func score(_ ordinal: UInt32, terms: [String], parameters: BM25Parameters) -> Double {
        guard let length = length(of: ordinal) else { return 0 }
        let norm = parameters.k1 * (1 - parameters.b + parameters.b * Double(length) / averageLength)
        var total = 0.0
        for (term, weight) in parameters.weighted(terms) {
            guard let (frequency, _) = occurrence(of: term, in: ordinal) else { continue }
            let tf = Double(frequency)
            total += weight * idf(term) * tf * (parameters.k1 + 1) / (tf + norm)
        }
        return total
    }

    /// The `k` live documents with the highest BM25 for `terms` (a document must
    /// contain at least one), best first, ties by `tieBreak` (default: lower ordinal
    /// first; the engine passes document id order). Block-max
    /// WAND: documents and whole blocks whose score bound cannot beat the current k-th
    /// score are skipped without scoring. `accept` filters ordinals.
    public func search(
        _ terms: [String], k: Int, parameters: BM25Parameters = BM25Parameters(), accept: ((UInt32) -> Bool)? = nil,
        tieBreak: @escaping (UInt32, UInt32) -> Bool = { $0 < $1 }
    ) -> [ScoredDocument] {
        guard k > 0, liveDocuments > 0 else { return [] }
        let averageLength = self.averageLength
        var cursors: [TermCursor] = []
        for (term, weight) in parameters.weighted(terms) {
            guard let list = postings[term], list.liveCount > 0 else { continue }
            cursors.append(TermCursor(list: list, idf: weight * idf(term), parameters: parameters, averageLength: averageLength))
        }
        var top = TopScores(k: k, tieBreak: tieBreak)
        guard !cursors.isEmpty else { return [] }
        let end = UInt32.max
        while true {
            cursors.sort { $0.document < $1.document }
            // Pivot: the first cursor at which the summed score bounds can reach the
            // threshold; every document before the pivot's cannot enter the top k.
            var bound = 0.0
            var pivot = -1
            for (index, cursor) in cursors.enumerated() where cursor.document != end {
                bound += cursor.maxScore
                if top.admits(bound) { pivot = index; break }
            }
            guard pivot >= 0 else { break }
            let document = cursors[pivot].document
            // Cursors sharing the pivot's document all contribute to it.
            while pivot + 1 < cursors.count, cursors[pivot + 1].document == document { pivot += 1 }
            if cursors[0].document == document {
                // Block-max check: within the current blocks, can any document reach it?
                var blockBound = 0.0
                for index in 0...pivot { blockBound += cursors[index].blockMaxScore }
                if !top.admits(blockBound) {
                    var next = pivot + 1 < cursors.count ? cursors[pivot + 1].document : end
                    for index in 0...pivot { next = min(next, cursors[index].blockLastDocument &+ 1) }
                    if next <= document { next = document + 1 }
                    for index in 0...pivot { cursors[index].advance(to: next) }
                    continue
                }
                if isLive(document), accept?(document) ?? true {
                    let length = Double(lengths[Int(document)])
                    let norm = parameters.k1 * (1 - parameters.b + parameters.b * length / averageLength)
                    var score = 0.0
                    for index in 0...pivot { score += cursors[index].score(norm: norm, k1: parameters.k1) }
                    top.insert(ScoredDocument(ordinal: document, score: score))
                }
                for index in 0...pivot { cursors[index].advance(to: document + 1) }
            } else {
                // Move the cursors before the pivot up to its document.
                for index in 0..<pivot where cursors[index].document < document { cursors[index].advance(to: document) }
            }
        }
        return top.sorted()
    }
}

/// A position in one term's postings during a search.
struct TermCursor {
    let list: InvertedIndex.Postings
    let idf: Double
    let k1: Double
    let b: Double
    let averageLength: Double
    /// The term's largest possible contribution, over all its blocks.
    let maxScore: Double
    private(set) var entry = 0
    private(set) var document: UInt32
    private(set) var blockMaxScore = 0.0
    private(set) var blockLastDocument: UInt32 = 0
    private var block = -1

    init(list: InvertedIndex.Postings, idf: Double, parameters: BM25Parameters, averageLength: Double) {
        self.list = list
        self.idf = idf
        (k1, b) = (parameters.k1, parameters.b)
        self.averageLength = max(averageLength, 1e-9)
        var best = 0.0
        for block in 0..<list.blockMaxFrequency.count {
            best = max(best, Self.bound(idf: idf, frequency: list.blockMaxFrequency[block], length: list.blockMinLength[block], k1: k1, b: b, averageLength: self.averageLength))
        }
        maxScore = best
        document = list.documents.first ?? .max
        enterBlock()
    }

    static func bound(idf: Double, frequency: UInt32, length: UInt32, k1: Double, b: Double, averageLength: Double) -> Double {
        let tf = Double(frequency)
        return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * Double(length) / averageLength))
    }

    private mutating func enterBlock() {
        let current = entry / InvertedIndex.blockSize
        guard current != block, entry < list.documents.count else { return }
        block = current
        blockMaxScore = Self.bound(idf: idf, frequency: list.blockMaxFrequency[block], length: list.blockMinLength[block], k1: k1, b: b, averageLength: averageLength)
        blockLastDocument = list.documents[min(list.documents.count, (block + 1) * InvertedIndex.blockSize) - 1]
    }

    func score(norm: Double, k1: Double) -> Double {
        let tf = Double(list.frequencies[entry])
        return idf * tf * (k1 + 1) / (tf + norm)
    }

    /// Moves to the first entry whose document is ≥ `target` (skipping whole blocks).
    mutating func advance(to target: UInt32) {
        guard document < target else { return }
        let documents = list.documents
        let size = InvertedIndex.blockSize
        // Skip blocks whose last document is below the target.
        var blockIndex = entry / size
        while true {
            let last = min(documents.count, (blockIndex + 1) * size) - 1
            if documents[last] >= target { break }
            blockIndex += 1
            if blockIndex * size >= documents.count {
                entry = documents.count
                document = .max
                return
            }
        }
        var low = max(entry, blockIndex * size), high = min(documents.count, (blockIndex + 1) * size)
        while low < high {
            let mid = (low + high) / 2
            if documents[mid] < target { low = mid + 1 } else { high = mid }
        }
        entry = low
        document = entry < documents.count ? documents[entry] : .max
        enterBlock()
    }
}

/// The best `k` scored documents so far (higher score first, ties by `tieBreak`).
struct TopScores {
    let k: Int
    /// Whether the first ordinal ranks before the second among equal scores.
    let tieBreak: (UInt32, UInt32) -> Bool
    private var heap: [ScoredDocument] = []  // min-heap: the worst kept at the root

    init(k: Int, tieBreak: @escaping (UInt32, UInt32) -> Bool = { $0 < $1 }) {
        self.k = k
        self.tieBreak = tieBreak
    }

    /// Whether `a` ranks below `b`.
    private func worse(_ a: ScoredDocument, _ b: ScoredDocument) -> Bool {
        a.score != b.score ? a.score < b.score : tieBreak(b.ordinal, a.ordinal)
    }

    /// Whether a document scoring up to `bound` could still enter.
    func admits(_ bound: Double) -> Bool { heap.count < k || bound >= heap[0].score }

    mutating func insert(_ item: ScoredDocument) {
        if heap.count < k {
            heap.append(item)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard worse(heap[child], heap[parent]) else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        } else if worse(heap[0], item) {
            heap[0] = item
            var parent = 0
            while true {
                var child = 2 * parent + 1
                guard child < heap.count else { break }
                if child + 1 < heap.count, worse(heap[child + 1], heap[child]) { child += 1 }
                guard worse(heap[child], heap[parent]) else { break }
                heap.swapAt(child, parent)
                parent = child
            }
        }
    }

    func sorted() -> [ScoredDocument] { heap.sorted { worse($1, $0) } }
}
