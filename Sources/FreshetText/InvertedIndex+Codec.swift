import FreshetStorage

/// The inverted index's stored form, one immutable segment: document lengths, then per
/// term (in byte order) its live count and its postings block-packed — per block of
/// 128 entries, ordinal deltas, frequencies and position deltas as varints, with the
/// block's maxima — so a segment is a fraction of the in-memory size and decodes
/// without re-tokenizing any text.
extension InvertedIndex {
    static let segmentFormat: UInt8 = 1

    public func encode(to writer: inout BinaryWriter) {
        writer.u8(Self.segmentFormat)
        writer.u8(storesPositions ? 1 : 0)
        writer.varint(UInt64(lengths.count))
        for length in lengths { writer.varint(length == .max ? 0 : UInt64(length) + 1) }  // 0: removed
        writer.varint(UInt64(postings.count))
        for term in postings.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let list = postings[term]!
            writer.string(term)
            writer.varint(UInt64(list.liveCount))
            writer.varint(UInt64(list.documents.count))
            var previous: UInt32 = 0
            for entry in 0..<list.documents.count {
                if entry % Self.blockSize == 0 {
                    let block = entry / Self.blockSize
                    writer.varint(UInt64(list.blockMaxFrequency[block]))
                    writer.varint(UInt64(list.blockMinLength[block]))
                    previous = 0
                }
                let document = list.documents[entry]
                writer.varint(UInt64(document - previous))
                previous = document
                writer.varint(UInt64(list.frequencies[entry]))
                if storesPositions {
                    var last: UInt32 = 0
                    for position in list.positions(of: entry) {
                        writer.varint(UInt64(position - last))
                        last = position
                    }
                }
            }
        }
    }

    public static func decode(from reader: inout BinaryReader) throws -> InvertedIndex {
        let format = try reader.u8()
        guard format == segmentFormat else { throw StorageError(.corrupt, "\(reader.what): text segment format \(format), this build reads \(segmentFormat)") }
        var index = InvertedIndex(storesPositions: try reader.u8() == 1)
        let documentCount = Int(try reader.varint())
        index.lengths.reserveCapacity(documentCount)
        for _ in 0..<documentCount {
            let stored = try reader.varint()
            if stored == 0 {
                index.lengths.append(.max)
            } else {
                index.lengths.append(UInt32(stored - 1))
                index.liveDocuments += 1
                index.totalLength += Int(stored - 1)
            }
        }
        let termCount = Int(try reader.varint())
        index.postings.reserveCapacity(termCount)
        for _ in 0..<termCount {
            let term = try reader.string()
            var list = Postings()
            list.liveCount = Int(try reader.varint())
            let count = Int(try reader.varint())
            list.documents.reserveCapacity(count)
            list.frequencies.reserveCapacity(count)
            var previous: UInt32 = 0
            for entry in 0..<count {
                if entry % blockSize == 0 {
                    list.blockMaxFrequency.append(UInt32(truncatingIfNeeded: try reader.varint()))
                    list.blockMinLength.append(UInt32(truncatingIfNeeded: try reader.varint()))
                    previous = 0
                }
                let document = previous &+ UInt32(truncatingIfNeeded: try reader.varint())
                guard Int(document) < documentCount else { throw StorageError(.corrupt, "\(reader.what): term \(term) names document \(document) of \(documentCount)") }
                previous = document
                let frequency = UInt32(truncatingIfNeeded: try reader.varint())
                list.documents.append(document)
                list.frequencies.append(frequency)
                list.positionStarts.append(UInt32(list.positions.count))
                if index.storesPositions {
                    var last: UInt32 = 0
                    for _ in 0..<frequency {
                        last &+= UInt32(truncatingIfNeeded: try reader.varint())
                        list.positions.append(last)
                    }
                }
            }
            index.postings[term] = list
        }
        return index
    }
}

/// Range segments: what a namespace stores of a text index at each compaction — the
/// documents added since the last one as a new immutable segment, with adjacent
/// segments merged (tiered, so a namespace holds O(log n) of them) and segments that
/// are mostly removed documents rewritten. The segments of an index tile its ordinals
/// from 0; `assemble` rebuilds the index from them and the set of live documents.
extension InvertedIndex {
    static let rangeSegmentFormat: UInt8 = 2

    /// The first entry of `list` whose ordinal is at least `ordinal`.
    private static func firstEntry(_ list: Postings, atLeast ordinal: UInt32) -> Int {
        var low = 0, high = list.documents.count
        while low < high {
            let mid = (low + high) / 2
            if list.documents[mid] < ordinal { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Live documents among the ordinals of `range` (for merge decisions).
    public func liveCount(in range: Range<UInt32>) -> Int {
        var live = 0
        for ordinal in range where isLive(ordinal) { live += 1 }
        return live
    }

    /// One segment holding the live documents of `range` (ordinals stay as they are):
    /// their lengths, then per term (in byte order) the entries in the range as
    /// ordinal deltas, frequencies and position deltas, all varints.
    public func encodeSegment(_ range: Range<UInt32>) -> [UInt8] {
        precondition(range.upperBound <= UInt32(lengths.count), "segment range past the index")
        var writer = BinaryWriter(capacity: 64 + range.count * 8)
        writer.u8(Self.rangeSegmentFormat)
        writer.u8(storesPositions ? 1 : 0)
        writer.varint(UInt64(range.lowerBound))
        writer.varint(UInt64(range.count))
        for ordinal in range {
            let length = lengths[Int(ordinal)]
            writer.varint(length == .max ? 0 : UInt64(length) + 1)  // 0: removed
        }
        var terms: [(term: String, entries: [Int])] = []
        for (term, list) in postings {
            let first = Self.firstEntry(list, atLeast: range.lowerBound)
            let end = Self.firstEntry(list, atLeast: range.upperBound)
            let live = (first..<end).filter { isLive(list.documents[$0]) }
            if !live.isEmpty { terms.append((term, live)) }
        }
        terms.sort { $0.term.utf8.lexicographicallyPrecedes($1.term.utf8) }
        writer.varint(UInt64(terms.count))
        for (term, entries) in terms {
            let list = postings[term]!
            writer.string(term)
            writer.varint(UInt64(entries.count))
            var previous = range.lowerBound
            for entry in entries {
                writer.varint(UInt64(list.documents[entry] - previous))
                previous = list.documents[entry]
                writer.varint(UInt64(list.frequencies[entry]))
                if storesPositions {
                    var last: UInt32 = 0
                    for position in list.positions(of: entry) {
                        writer.varint(UInt64(position - last))
                        last = position
                    }
                }
            }
        }
        return writer.bytes
    }

    /// The index the `segments` (in ordinal order, tiling 0..<end) hold, keeping only
    /// documents `isLive` says still exist (the rest become removed ordinals, their
    /// entries dropped). Block maxima and statistics are recomputed.
    public static func assemble(_ segments: [[UInt8]], storesPositions: Bool, isLive: (UInt32) -> Bool, what: String) throws -> InvertedIndex {
        var index = InvertedIndex(storesPositions: storesPositions)
        for (number, bytes) in segments.enumerated() {
            var reader = BinaryReader(bytes, what: "\(what) segment \(number)")
            let format = try reader.u8()
            guard format == rangeSegmentFormat else { throw StorageError(.corrupt, "\(reader.what): format \(format), this build reads \(rangeSegmentFormat)") }
            guard (try reader.u8() == 1) == storesPositions else { throw StorageError(.corrupt, "\(reader.what): positions flag differs from the index's") }
            let base = UInt32(truncatingIfNeeded: try reader.varint())
            let count = Int(try reader.varint())
            guard Int(base) == index.lengths.count else {
                throw StorageError(.corrupt, "\(reader.what) starts at ordinal \(base), expected \(index.lengths.count): segments do not tile")
            }
            for offset in 0..<count {
                let stored = try reader.varint()
                if stored == 0 || !isLive(base + UInt32(offset)) {
                    index.lengths.append(.max)
                } else {
                    index.lengths.append(UInt32(truncatingIfNeeded: stored - 1))
                    index.liveDocuments += 1
                    index.totalLength += Int(stored - 1)
                }
            }
            let end = base + UInt32(count)
            for _ in 0..<Int(try reader.varint()) {
                let term = try reader.string()
                var list = index.postings.removeValue(forKey: term) ?? Postings()  // uniquely held: appended in place
                var previous = base
                var positions: [UInt32] = []
                for _ in 0..<Int(try reader.varint()) {
                    let document = previous &+ UInt32(truncatingIfNeeded: try reader.varint())
                    guard document >= previous, document < end else { throw StorageError(.corrupt, "\(reader.what): term \(term) names document \(document) outside \(base)..<\(end)") }
                    previous = document
                    let frequency = UInt32(truncatingIfNeeded: try reader.varint())
                    positions.removeAll(keepingCapacity: true)
                    if storesPositions {
                        var last: UInt32 = 0
                        for _ in 0..<frequency {
                            last &+= UInt32(truncatingIfNeeded: try reader.varint())
                            positions.append(last)
                        }
                    }
                    if index.isLive(document) {
                        list.append(document, frequency: frequency, positions: positions, length: index.lengths[Int(document)])
                    }
                }
                if !list.documents.isEmpty { index.postings[term] = list }
            }
            guard reader.isAtEnd else { throw StorageError(.corrupt, "\(reader.what) has trailing bytes") }
        }
        return index
    }
}
