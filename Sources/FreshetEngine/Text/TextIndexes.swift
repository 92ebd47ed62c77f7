import FreshetStorage
import FreshetText

/// A stored, immutable segment of one attribute's inverted index: the ordinals it covers.
struct TextSegmentRef: Sendable, Equatable {
    var key: String
    var base: UInt32
    var end: UInt32
    /// Live documents in it when it was written (it is rewritten once half are gone).
    var live: UInt32
    var range: Range<UInt32> { base..<end }
}

/// The full-text indexes of a namespace: one inverted index per attribute whose schema
/// enables `full_text_search`, kept in step with the documents by `NamespaceState`.
/// A value type inside the state, so a query's snapshot sees exactly its state's
/// documents and BM25 statistics.
///
/// Stored as immutable segments beside the snapshot (`TextSegmentRef`): each compaction
/// writes the documents added since the last as a new segment, merges adjacent ones
/// (tiered: a segment absorbs the next when it is at most twice its size, so there are
/// O(log n)) and rewrites segments that are mostly removed documents; the snapshot
/// holds the ordinal → document table and the list of segments.
struct TextIndexes: Sendable {
    /// One attribute's index.
    struct Attribute: Sendable {
        let name: String
        let analyzer: TextAnalyzer
        let parameters: BM25Parameters
        /// The declaration it was built from (a change rebuilds the index).
        let declaration: JSONValue
        var index = InvertedIndex()
        /// This build of the index: stored segments are valid only for the build they
        /// were written from.
        var generation = UInt64.random(in: 1...UInt64.max)
        /// The segments stored for this build as of the last snapshot (tiling 0..<end).
        var segments: [TextSegmentRef] = []
        var ordinals: [DocumentID: UInt32] = [:]
        /// Per ordinal: the document it was given to (nil once removed).
        var ids: [DocumentID?] = []

        /// The index of `name` over `documents` (in id order, so ordinals are stable).
        static func build(name: String, declaration: JSONValue, documents: [DocumentID: Document]) -> Attribute {
            // Options were validated when the schema was accepted.
            let options = (try? TextSearchOptions.parse(declaration, field: name)) ?? TextAnalyzerOptions()
            var attribute = Attribute(name: name, declaration: declaration, options: options)
            for id in documents.keys.sorted() { attribute.put(documents[id]!, replacing: nil) }
            return attribute
        }

        init(name: String, declaration: JSONValue, options: TextAnalyzerOptions) {
            self.name = name
            self.declaration = declaration
            analyzer = TextAnalyzer(options)
            parameters = BM25Parameters(k1: options.k1, b: options.b, k3: options.k3)
        }

        /// Terms of a document's value of this attribute; nil when it has none.
        func terms(of document: Document) -> [String]? {
            switch document.attributes[name] {
            case .string(let text)?: return analyzer.terms(text)
            case .array(let elements)?:
                return analyzer.terms(elements.compactMap { if case .string(let text) = $0 { return text } else { return nil } })
            default: return nil
            }
        }

        /// Indexes `document`, first removing `old` (the version it replaces).
        mutating func put(_ document: Document, replacing old: Document?) {
            if let old { remove(old) }
            guard let terms = terms(of: document) else { return }
            let ordinal = index.add(terms)
            ordinals[document.id] = ordinal
            ids.append(document.id)
        }

        /// Name, declaration and the ordinal → document table, as every snapshot format
        /// starts an attribute.
        func encodeHeader(to writer: inout BinaryWriter) {
            writer.string(name)
            writer.blob(JSONWriter.serialize(declaration))
            writer.varint(UInt64(ids.count))
            for id in ids {
                writer.u8(id == nil ? 0 : 1)
                if let id { writer.documentID(id) }
            }
        }

        mutating func remove(_ old: Document) {
            guard let ordinal = ordinals.removeValue(forKey: old.id) else { return }
            ids[Int(ordinal)] = nil
            index.remove(ordinal, terms: terms(of: old) ?? [])
            if index.garbageRatio > 0.5, index.ordinalCount > 1024 { index.compact() }
        }
    }

    private(set) var attributes: [String: Attribute] = [:]
    /// Attributes whose index is being built in the background, with the declaration
    /// it is built for; a query ranking by one is told to retry (HTTP 202).
    private(set) var building: [String: JSONValue] = [:]

    var isEmpty: Bool { attributes.isEmpty }

    /// Marks the segmented snapshot section (an older section starts with its count).
    static let segmentedMarker: UInt64 = 0xFFFF_FFFF

    /// What a snapshot stores of one attribute's index: the build and its segments.
    struct StoredSegments: Sendable {
        var generation: UInt64
        var segments: [TextSegmentRef]
    }

    /// A segment a compaction must write before its snapshot.
    struct SegmentWrite: Sendable {
        var attribute: String
        var range: Range<UInt32>
        var key: String
    }

    /// The segments a snapshot of these indexes should reference, and which of them to
    /// write: stored segments of the same build are kept, the documents added since
    /// become a new segment, the newest segment absorbs the previous one while that is
    /// at most twice its size, and a segment whose documents are mostly removed is
    /// rewritten without them. `newKey` names new segments.
    func planSegments(newKey: () -> String) -> (writes: [SegmentWrite], stored: [String: StoredSegments]) {
        var writes: [SegmentWrite] = []
        var stored: [String: StoredSegments] = [:]
        for (name, attribute) in attributes {
            let count = UInt32(attribute.index.ordinalCount)
            var kept = attribute.segments
            let tiles = kept.first.map { $0.base == 0 } ?? true
                && zip(kept, kept.dropFirst()).allSatisfy { $0.end == $1.base } && (kept.last?.end ?? 0) <= count
            if !tiles { kept = [] }
            var pending: [(range: Range<UInt32>, existing: TextSegmentRef?)] = kept.map { ($0.range, $0) }
            let end = kept.last?.end ?? 0
            if end < count { pending.append((end..<count, nil)) }
            for position in pending.indices {
                guard let existing = pending[position].existing else { continue }
                if attribute.index.liveCount(in: existing.range) * 2 < Int(existing.live) { pending[position].existing = nil }
            }
            while pending.count >= 2 {
                let last = pending[pending.count - 1], previous = pending[pending.count - 2]
                guard previous.range.count <= 2 * last.range.count else { break }
                pending.removeLast(2)
                pending.append((previous.range.lowerBound..<last.range.upperBound, nil))
            }
            var segments: [TextSegmentRef] = []
            for (range, existing) in pending {
                if let existing {
                    segments.append(existing)
                } else {
                    let key = newKey()
                    writes.append(SegmentWrite(attribute: name, range: range, key: key))
                    segments.append(TextSegmentRef(key: key, base: range.lowerBound, end: range.upperBound,
                                                   live: UInt32(attribute.index.liveCount(in: range))))
                }
            }
            stored[name] = StoredSegments(generation: attribute.generation, segments: segments)
        }
        return (writes, stored)
    }

    /// The bytes of a planned segment write.
    func segmentBody(_ write: SegmentWrite) -> [UInt8] {
        ObjectEnvelope.seal(attributes[write.attribute]!.index.encodeSegment(write.range), kind: .textSegment)
    }

    /// After a snapshot referencing `stored` is installed: attributes of the same build
    /// remember their segments (a rebuilt attribute starts over).
    mutating func recordSegments(_ stored: [String: StoredSegments]) {
        for (name, record) in stored where attributes[name]?.generation == record.generation {
            attributes[name]!.segments = record.segments
        }
    }

    /// Every segment key the indexes reference.
    var segmentKeys: Set<String> { Set(attributes.values.flatMap { $0.segments.map(\.key) }) }

    /// Segment keys decoded attributes still need read (see `assembleSegments`).
    var pendingSegmentKeys: [String] {
        attributes.values.filter { $0.index.ordinalCount == 0 && !$0.segments.isEmpty }.flatMap { $0.segments.map(\.key) }
    }

    /// Builds the decoded attributes' indexes from their segments' bodies.
    mutating func assembleSegments(_ bodies: [String: [UInt8]]) throws {
        for name in attributes.keys {
            var attribute = attributes[name]!
            guard attribute.index.ordinalCount == 0, let last = attribute.segments.last else { continue }
            guard Int(last.end) == attribute.ids.count else {
                throw EngineError(.corruptData, "text index of \(name): segments end at \(last.end) of \(attribute.ids.count) documents")
            }
            let parts = try attribute.segments.map { segment -> [UInt8] in
                guard let body = bodies[segment.key] else { throw EngineError(.corruptData, "text segment \(segment.key) is missing from storage") }
                return try ObjectEnvelope.open(body, kind: .textSegment, key: segment.key)
            }
            let ids = attribute.ids
            attribute.index = try InvertedIndex.assemble(parts, storesPositions: attribute.index.storesPositions,
                                                         isLive: { ids[Int($0)] != nil }, what: "text index of \(name)")
            attributes[name] = attribute
        }
    }

    /// The indexes as a snapshot stores them: per attribute its declaration, the
    /// ordinal → document table and its segments (`stored`, from `planSegments`).
    func encode(to writer: inout BinaryWriter, segments stored: [String: StoredSegments]) {
        writer.varint(Self.segmentedMarker)
        writer.u8(2)
        writer.varint(UInt64(attributes.count))
        for name in attributes.keys.sorted() {
            let attribute = attributes[name]!
            attribute.encodeHeader(to: &writer)
            writer.u8(attribute.index.storesPositions ? 1 : 0)
            writer.u8(TextAnalyzer.version)
            let segments = stored[name]?.segments ?? []
            writer.varint(UInt64(segments.count))
            for segment in segments {
                writer.string(segment.key)
                writer.varint(UInt64(segment.base))
                writer.varint(UInt64(segment.end))
                writer.varint(UInt64(segment.live))
            }
        }
    }

    /// The section as snapshots wrote it before segments: each index inline. Kept so
    /// tests can check that such snapshots still load.
    func encodeInline(to writer: inout BinaryWriter) {
        writer.varint(UInt64(attributes.count))
        for name in attributes.keys.sorted() {
            let attribute = attributes[name]!
            attribute.encodeHeader(to: &writer)
            attribute.index.encode(to: &writer)
        }
    }

    /// Reads what `encode` (or, from older snapshots, `encodeInline`) wrote; segmented
    /// attributes come back with empty indexes until `assembleSegments`. An attribute
    /// whose declaration no longer parses, or whose terms an analyzer of another
    /// version made (inline sections predate versions), is skipped: the schema's
    /// configuration rebuilds it from the documents with today's analyzer.
    static func decode(from reader: inout BinaryReader) throws -> TextIndexes {
        var indexes = TextIndexes()
        var count = try reader.varint()
        let segmented = count == segmentedMarker
        if segmented {
            let format = try reader.u8()
            guard format == 2 else { throw EngineError(.corruptData, "\(reader.what): text section format \(format), this build reads 2") }
            count = try reader.varint()
        }
        for _ in 0..<Int(count) {
            let name = try reader.string()
            let declaration = try JSONParser.parse(try reader.blob())
            let options = try? TextSearchOptions.parse(declaration, field: name)
            var attribute = Attribute(name: name, declaration: declaration, options: options ?? TextAnalyzerOptions())
            let count = Int(try reader.varint())
            attribute.ids.reserveCapacity(count)
            for ordinal in 0..<count {
                if try reader.u8() == 1 {
                    let id = try reader.documentID()
                    attribute.ids.append(id)
                    attribute.ordinals[id] = UInt32(ordinal)
                } else {
                    attribute.ids.append(nil)
                }
            }
            var current = options != nil
            if segmented {
                attribute.index = InvertedIndex(storesPositions: try reader.u8() == 1)
                let analyzerVersion = try reader.u8()
                current = current && analyzerVersion == TextAnalyzer.version
                attribute.segments = try (0..<Int(try reader.varint())).map { _ in
                    TextSegmentRef(key: try reader.string(), base: UInt32(truncatingIfNeeded: try reader.varint()),
                                   end: UInt32(truncatingIfNeeded: try reader.varint()), live: UInt32(truncatingIfNeeded: try reader.varint()))
                }
            } else {
                attribute.index = try InvertedIndex.decode(from: &reader)
                current = false
            }
            if current { indexes.attributes[name] = attribute }
        }
        return indexes
    }

    subscript(name: String) -> Attribute? { attributes[name] }

    /// Matches the indexes to `schema`: builds an index for each newly enabled
    /// attribute (or one whose options changed) from `documents`, drops disabled ones.
    /// With `deferBeyond`, a namespace with more documents than that leaves the build
    /// to a background task (`building`) instead of holding up the write; meanwhile an
    /// index under the attribute's previous options, if any, keeps answering.
    mutating func configure(for schema: NamespaceSchema, documents: [DocumentID: Document], deferBeyond limit: Int? = nil) {
        var wanted: [String: JSONValue] = [:]
        for (name, attribute) in schema.attributes {
            if let declaration = attribute.fullTextSearch { wanted[name] = declaration }
        }
        for name in attributes.keys where wanted[name] == nil { attributes[name] = nil }
        for name in building.keys where wanted[name] != building[name] { building[name] = nil }
        for (name, declaration) in wanted where attributes[name]?.declaration != declaration && building[name] != declaration {
            if let limit, documents.count > limit {
                // An index built under older options keeps answering until the new one is
                // installed, as the reference does.
                building[name] = declaration
            } else {
                attributes[name] = Attribute.build(name: name, declaration: declaration, documents: documents)
            }
        }
    }

    /// Installs an index built in the background, if its declaration is still the one wanted.
    mutating func install(_ attribute: Attribute) {
        guard building[attribute.name] == attribute.declaration else { return }
        building[attribute.name] = nil
        attributes[attribute.name] = attribute
    }

    mutating func put(_ document: Document, replacing old: Document?) {
        for name in attributes.keys { attributes[name]!.put(document, replacing: old) }
    }

    mutating func remove(_ old: Document) {
        for name in attributes.keys { attributes[name]!.remove(old) }
    }
}

/// Parses a schema's `full_text_search` declaration into analyzer options.
enum TextSearchOptions {
    static let names = ["tokenizer", "language", "stemming", "remove_stopwords", "case_sensitive", "ascii_folding",
                        "max_token_length", "k1", "b", "k3"]

    static func parse(_ declaration: JSONValue, field: String) throws -> TextAnalyzerOptions {
        var options = TextAnalyzerOptions()
        options.removeStopwords = true  // the reference's default
        guard case .object(let object) = declaration else {
            if case .bool(true) = declaration { return options }
            throw EngineError.malformed("\(field).full_text_search must be true or an options object")
        }
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            let path = "\(field).full_text_search.\(key)"
            func flag() throws -> Bool {
                guard let flag = value.boolValue else { throw EngineError.malformed("\(path) must be a boolean") }
                return flag
            }
            func number(_ valid: (Double) -> Bool, _ range: String) throws -> Double {
                guard let number = value.numberValue, valid(number) else { throw EngineError.invalid("\(path) must be a number \(range)") }
                return number
            }
            switch key {
            case "tokenizer":
                guard let name = value.stringValue, let tokenizer = TextAnalyzerOptions.Tokenizer(rawValue: name) else {
                    throw EngineError.invalid("\(path): unknown tokenizer \(JSONWriter.string(value)); use one of \(TextAnalyzerOptions.Tokenizer.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                options.tokenizer = tokenizer
            case "language":
                guard let name = value.stringValue, let language = TextAnalyzerOptions.Language(rawValue: name) else {
                    throw EngineError.invalid("\(path): unknown language \(JSONWriter.string(value)); use one of \(TextAnalyzerOptions.Language.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                options.language = language
            case "stemming": options.stemming = try flag()
            case "remove_stopwords": options.removeStopwords = try flag()
            case "case_sensitive": options.caseSensitive = try flag()
            case "ascii_folding": options.asciiFolding = try flag()
            case "max_token_length":
                guard let length = value.intValue, (1...254).contains(length) else { throw EngineError.invalid("\(path) must be an integer from 1 to 254") }
                options.maxTokenLength = length
            case "k1": options.k1 = try number({ $0 > 0 }, "greater than 0")
            case "b": options.b = try number({ (0...1).contains($0) }, "from 0 to 1")
            case "k3": options.k3 = try number({ $0 > 0 }, "greater than 0")
            default:
                throw EngineError.invalid("\(path): unknown option; supported: \(names.joined(separator: ", "))")
            }
        }
        if options.tokenizer == .preTokenizedArray {
            // Tokens are used verbatim: nothing may rewrite them.
            if object["language"] != nil || options.stemming || object["remove_stopwords"]?.boolValue == true
                || object["case_sensitive"]?.boolValue == false {
                throw EngineError.invalid("\(field).full_text_search: the pre_tokenized_array tokenizer uses tokens verbatim; remove language, stemming, remove_stopwords and case_sensitive: false")
            }
            options.caseSensitive = true
            options.removeStopwords = false
        }
        return options
    }
}
