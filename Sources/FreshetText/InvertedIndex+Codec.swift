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
