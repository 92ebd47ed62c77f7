import Foundation
import FreshetStorage

/// What the vector index's posting summaries record: a document's 64-bit signature
/// holds, for each covered attribute, one bit per value it has, in that attribute's
/// own band of the 64 bits (so an attribute whose values are spread everywhere fills
/// its band without hiding the others). A posting's summary is the OR of its vectors'
/// signatures, and a filter that needs a value's bit skips postings that lack it.
///
/// Chosen once, when the index is built, and stored in its checkpoints, so every
/// signature of an index was computed the same way: up to `maxAttributes` filterable
/// attributes with the fewest distinct values (at least two, and at least
/// `minimumDocumentsPerValue` documents per value on average — an attribute with
/// nearly unique values would set every bit of its band in every posting).
struct SummaryCoverage: Sendable, Equatable {
    static let maxAttributes = 8
    static let minimumDocumentsPerValue = 20

    /// Covered attribute names, in band order.
    let attributes: [String]

    init(attributes: [String]) { self.attributes = Array(attributes.prefix(Self.maxAttributes)) }

    /// The coverage for an index built over `state`.
    init(choosingFor state: NamespaceState) {
        let documents = max(state.documents.count, 1)
        let candidates = state.attributes.attributes.compactMap { name, attribute -> (String, Int)? in
            let distinct = attribute.values.count
            guard name != NamespaceSchema.vectorAttribute, distinct >= 2,
                  distinct * Self.minimumDocumentsPerValue <= documents else { return nil }
            return (name, distinct)
        }
        self.init(attributes: candidates.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.map(\.0))
    }

    var isEmpty: Bool { attributes.isEmpty }
    private var bandWidth: Int { attributes.isEmpty ? 64 : 64 / attributes.count }

    /// The bit of `value` (a scalar) in the band of attribute number `band`.
    func bit(band: Int, _ value: AttributeValue) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: stable across processes, unlike Hasher
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        func number(_ value: Double) {
            mix([2])
            withUnsafeBytes(of: (value == 0 ? 0 : value).bitPattern.littleEndian) { mix($0) }
        }
        switch value {
        // Strings compare by canonical equivalence: hash one canonical form.
        case .string(let text): mix([1]); mix(text.precomposedStringWithCanonicalMapping.utf8)
        case .int(let number_): number(Double(number_))
        case .uint(let number_): number(Double(number_))
        case .float(let number_): number(number_)
        case .datetime(let milliseconds): mix([3]); withUnsafeBytes(of: milliseconds.littleEndian) { mix($0) }
        case .bool(let flag): mix([4, flag ? 1 : 0])
        case .uuid(let uuid): mix([5]); withUnsafeBytes(of: uuid.uuid) { mix($0) }
        case .array: mix([6])  // never asked for: arrays contribute their elements
        }
        return 1 << UInt64(band * bandWidth + Int(hash % UInt64(bandWidth)))
    }

    /// The signature of a document's attributes.
    func signature(of attributes: [String: AttributeValue]) -> UInt64 {
        var bits: UInt64 = 0
        for (band, name) in self.attributes.enumerated() {
            switch attributes[name] {
            case .array(let elements)?: for element in elements { bits |= bit(band: band, element) }
            case let value?: bits |= bit(band: band, value)
            case nil: break
            }
        }
        return bits
    }

    /// Stored as the index's checkpoint metadata.
    var encoded: [UInt8] {
        var writer = BinaryWriter(capacity: 64)
        writer.u8(1)
        writer.varint(UInt64(attributes.count))
        for name in attributes { writer.string(name) }
        return writer.bytes
    }

    /// Reads `encoded`; an index whose checkpoint has no coverage covers nothing.
    init(decoding bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { self.init(attributes: []); return }
        var reader = BinaryReader(bytes, what: "index summary coverage")
        guard try reader.u8() == 1 else { throw EngineError(.corruptData, "index summary coverage has an unknown format") }
        self.init(attributes: try (0..<Int(try reader.varint())).map { _ in try reader.string() })
    }

    /// What `filter` requires of a posting's summary, nil when nothing it requires is
    /// covered (every posting must then be probed).
    func test(for filter: Filter) -> SummaryTest? {
        guard !attributes.isEmpty else { return nil }
        switch filter {
        case .and(let filters):
            let known = filters.compactMap(test(for:))
            return known.isEmpty ? nil : .all(known)
        case .or(let filters):
            var known: [SummaryTest] = []
            for filter in filters {
                guard let test = test(for: filter) else { return nil }  // an unknown branch may match anywhere
                known.append(test)
            }
            return .any(known)
        case .not:
            return nil
        case .condition(let condition):
            guard let band = attributes.firstIndex(of: condition.attribute) else { return nil }
            func bits(_ literals: [AttributeValue?]) -> SummaryTest? {
                var mask: UInt64 = 0
                for literal in literals {
                    // Null matches missing values; an array literal compares whole arrays.
                    guard let literal else { return nil }
                    if case .array = literal { return nil }
                    mask |= bit(band: band, literal)
                }
                return .someBit(mask)
            }
            switch (condition.op, condition.operand) {
            case (.eq, .value(let literal)), (.contains, .value(let literal)): return bits([literal])
            case (.in, .values(let literals)), (.containsAny, .values(let literals)): return bits(literals)
            default: return nil
            }
        }
    }
}

/// A condition on a posting summary, compiled from a filter.
indirect enum SummaryTest: Sendable {
    /// At least one of these bits is set.
    case someBit(UInt64)
    case all([SummaryTest])
    case any([SummaryTest])

    func admits(_ summary: UInt64) -> Bool {
        switch self {
        case .someBit(let mask): return summary & mask != 0
        case .all(let tests): return tests.allSatisfy { $0.admits(summary) }
        case .any(let tests): return tests.contains { $0.admits(summary) }
        }
    }
}
