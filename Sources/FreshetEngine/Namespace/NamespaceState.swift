import FreshetStorage
import FreshetIndex

/// The materialised state of a namespace at one WAL sequence number.
///
/// A value type: a query takes a copy (sharing storage) and runs without holding the
/// namespace's actor; the writer's next mutation copies on write. Vectors live once,
/// in a chunked `VectorArena` the scans stream through; `documents` holds the rest of
/// each document (its `vector` is nil there) — `document(_:)` returns the whole one.
public struct NamespaceState: Sendable {
    public var schema = NamespaceSchema()
    /// How many schema changes the namespace has seen (each WAL entry carrying a schema
    /// is one), and the WAL sequence of the latest; kept in snapshots and the manifest.
    public private(set) var schemaVersion: UInt64 = 0
    public private(set) var schemaSequence: UInt64 = 0
    public var distanceMetric: DistanceMetric?
    /// Documents without their vectors.
    public private(set) var documents: [DocumentID: Document] = [:]
    /// Every document's vector.
    public private(set) var vectors: VectorArena<DocumentID>?
    /// The last WAL sequence applied (0: none).
    public var sequence: UInt64 = 0
    public var createdAtMilliseconds: Int64
    public var updatedAtMilliseconds: Int64
    public var logicalBytes = 0
    /// Inverted indexes of the attributes with `full_text_search` (stored in snapshots).
    private(set) var text = TextIndexes()
    /// Value → ordinals bitmaps of the filterable attributes.
    private(set) var attributes = AttributeIndexes()
    /// Per attribute-index ordinal: the arena slot of that document's vector (-1: none),
    /// so exact distances over a filter's matches need no id lookups.
    private(set) var vectorSlots = PagedArray<Int32>(filler: -1)
    /// On a live engine: full-text indexes enabled on more documents than this are
    /// built in the background (nil: inline, as when loading a snapshot).
    var textBuildInlineLimit: Int?
    /// The same for attribute indexes of newly filterable attributes.
    var attributeBuildInlineLimit: Int?

    init(createdAtMilliseconds: Int64) {
        self.createdAtMilliseconds = createdAtMilliseconds
        self.updatedAtMilliseconds = createdAtMilliseconds
    }

    /// The whole document, vector included.
    public func document(_ id: DocumentID) -> Document? {
        guard var document = documents[id] else { return nil }
        document.vector = vectors?.vector(of: id)
        return document
    }

    /// Every whole document in id order (tests, tools, copies).
    public func allDocuments() -> [Document] {
        documents.keys.sorted().map { document($0)! }
    }

    /// Bytes a stored document accounts for, its vector included.
    private func storedBytes(_ id: DocumentID, _ stored: Document) -> Int {
        stored.logicalBytes + (vectors?.contains(id) == true ? (vectors?.dimensions ?? 0) * 4 : 0)
    }

    /// Stores a whole document: its vector into the arena, the rest into `documents`.
    /// `indexText: false` leaves the full-text indexes alone (a snapshot restores them).
    mutating func put(_ document: Document, indexText: Bool = true) {
        let old = documents[document.id]
        if let old { logicalBytes -= storedBytes(document.id, old) }
        if indexText, !text.isEmpty { text.put(document, replacing: old) }
        attributes.put(document, replacing: old)
        logicalBytes += document.logicalBytes
        var stored = document
        if let vector = stored.vector {
            if vectors == nil { vectors = VectorArena(dimensions: vector.count) }
            vectors!.set(document.id, vector)
            stored.vector = nil
        } else {
            vectors?.remove(document.id)
        }
        if let ordinal = attributes.ordinals[document.id] {
            vectorSlots.grow(to: Int(ordinal) + 1)
            vectorSlots[Int(ordinal)] = vectors?.slot(of: document.id).map { Int32($0) } ?? -1
        }
        documents[document.id] = stored
    }

    mutating func remove(_ id: DocumentID) {
        guard let old = documents.removeValue(forKey: id) else { return }
        logicalBytes -= storedBytes(id, old)
        if let ordinal = attributes.ordinals[id] { vectorSlots[Int(ordinal)] = -1 }
        if !text.isEmpty { text.remove(old) }
        attributes.remove(old)
        vectors?.remove(id)
    }

    mutating func apply(_ entry: WALEntry) {
        if let schema = entry.schema {
            setSchema(schema)
            schemaVersion += 1
            schemaSequence = entry.sequence
        }
        if let metric = entry.distanceMetric { distanceMetric = metric }
        for operation in entry.operations {
            switch operation {
            case .put(let document): put(document)
            case .delete(let id): remove(id)
            }
        }
        sequence = entry.sequence
        updatedAtMilliseconds = max(updatedAtMilliseconds, entry.timestampMilliseconds)
    }

    /// Sets the schema; full-text and attribute indexes follow it (built for newly
    /// enabled attributes).
    mutating func setSchema(_ schema: NamespaceSchema) {
        self.schema = schema
        text.configure(for: schema, documents: documents, deferBeyond: textBuildInlineLimit)
        attributes.configure(for: schema, documents: documents, deferBeyond: attributeBuildInlineLimit)
    }

    /// The `k` nearest documents among the attribute-index `ordinals` (a filter's exact
    /// matches), by exact distance, ties by id.
    func nearest(amongOrdinals ordinals: OrdinalBitmap, to query: [Float], k: Int, metric: ArenaMetric) -> [(id: DocumentID, distance: Float)] {
        guard let vectors else { return [] }
        var slots: [Int] = []
        slots.reserveCapacity(ordinals.count)
        let table = vectorSlots
        ordinals.forEach { ordinal in
            if Int(ordinal) < table.count, case let slot = table[Int(ordinal)], slot >= 0 { slots.append(Int(slot)) }
        }
        return vectors.nearest(amongSlots: slots, to: query, k: k, metric: metric, tieBreak: <)
    }

    /// Installs a full-text index built in the background (see `TextIndexes.install`).
    mutating func installText(_ attribute: TextIndexes.Attribute) { text.install(attribute) }

    /// Attribute indexes a background build should make (see `AttributeIndexes.building`).
    var attributesBuilding: [String: Bool] { attributes.building }

    /// Builds attribute `name`'s index from this state (run off the actor on a copy).
    func buildAttributeIndex(_ name: String, isArray: Bool) -> AttributeIndexes.Attribute {
        attributes.build(name, isArray: isArray, documents: documents)
    }

    /// Installs an attribute index built from `snapshot`, caught up for `touched`.
    mutating func installAttributeIndex(_ name: String, _ built: AttributeIndexes.Attribute, from snapshot: NamespaceState, touched: Set<DocumentID>) {
        attributes.install(name, built, snapshot: snapshot.attributes, snapshotDocuments: snapshot.documents, touched: touched, current: documents)
    }

    /// Text segments this state's snapshot should reference, and those to write first.
    func planTextSegments(newKey: () -> String) -> (writes: [TextIndexes.SegmentWrite], stored: [String: TextIndexes.StoredSegments]) {
        text.planSegments(newKey: newKey)
    }

    func textSegmentBody(_ write: TextIndexes.SegmentWrite) -> [UInt8] { text.segmentBody(write) }

    /// After a snapshot is installed: the text indexes remember their stored segments.
    mutating func recordTextSegments(_ stored: [String: TextIndexes.StoredSegments]) { text.recordSegments(stored) }

    /// Every text segment key this state's indexes reference.
    var textSegmentKeys: Set<String> { text.segmentKeys }

    /// Segment keys a decoded snapshot still needs read, then their assembly.
    var pendingTextSegmentKeys: [String] { text.pendingSegmentKeys }
    mutating func assembleTextSegments(_ bodies: [String: [UInt8]]) throws { try text.assembleSegments(bodies) }

    /// The snapshot object: everything needed to resume without the WAL before
    /// `sequence` (the text indexes as references to their stored segments).
    func encodeSnapshot(incarnation: UInt64, textSegments: [String: TextIndexes.StoredSegments]) -> [UInt8] {
        var writer = BinaryWriter(capacity: 64 + documents.count * 64)
        writer.u64(sequence)
        writer.u64(incarnation)
        writer.i64(createdAtMilliseconds)
        writer.i64(updatedAtMilliseconds)
        writer.blob(JSONWriter.serialize(SchemaCodec.json(schema)))
        writer.string(distanceMetric?.rawValue ?? "")
        writer.u64(UInt64(documents.count))
        for id in documents.keys { writer.document(document(id)!) }
        // Full-text segments follow the documents, then the schema's version (older
        // snapshots end before either).
        text.encode(to: &writer, segments: textSegments)
        writer.u64(schemaVersion)
        writer.u64(schemaSequence)
        return ObjectEnvelope.seal(writer.bytes, kind: .snapshot)
    }

    static func decodeSnapshot(_ bytes: [UInt8], key: String) throws -> (NamespaceState, incarnation: UInt64) {
        var reader = BinaryReader(try ObjectEnvelope.open(bytes, kind: .snapshot, key: key), what: "snapshot \(key)")
        let sequence = try reader.u64()
        let incarnation = try reader.u64()
        var state = NamespaceState(createdAtMilliseconds: try reader.i64())
        state.updatedAtMilliseconds = try reader.i64()
        state.setSchema(try SchemaCodec.decode(try reader.blob(), key: key))
        let metric = try reader.string()
        state.distanceMetric = metric.isEmpty ? nil : DistanceMetric(rawValue: metric)
        let count = Int(try reader.u64())
        state.documents.reserveCapacity(count)
        for _ in 0..<count { state.put(try reader.document(), indexText: false) }
        // The stored segments, then whatever the schema enables that they lack.
        state.text = reader.isAtEnd ? TextIndexes() : try TextIndexes.decode(from: &reader)
        state.text.configure(for: state.schema, documents: state.documents)
        if reader.isAtEnd {
            // Written before schemas were versioned: count what it has as one change.
            state.schemaVersion = state.schema == NamespaceSchema() ? 0 : 1
        } else {
            state.schemaVersion = try reader.u64()
            state.schemaSequence = try reader.u64()
        }
        guard reader.isAtEnd else { throw EngineError(.corruptData, "snapshot \(key) has trailing bytes") }
        state.sequence = sequence
        return (state, incarnation)
    }
}

/// The namespace's root object, swapped by compare-and-swap.
struct Manifest: Sendable, Equatable {
    static let formatVersion = 1

    var namespace: String
    /// Bumped by every engine that opens the namespace for writing; only the holder of
    /// the current epoch compacts (writes snapshots and deletes folded WAL objects).
    var epoch: UInt64
    /// Identifies this life of the namespace (a delete and re-create starts a new one).
    var incarnation: UInt64
    var createdAtMilliseconds: Int64
    /// WAL entries up to and including this sequence are folded into the snapshot.
    var snapshotSequence: UInt64
    var snapshotKey: String?
    /// Set by `PATCH …/metadata`: reject document and schema writes.
    var readOnly = false
    /// Set by `PATCH …/metadata`: the pinning configuration as the API gave it.
    var pinning: JSONValue?
    /// The schema as of the snapshot: its version (changes counted since creation),
    /// the WAL sequence that made it, and the declaration — so a reader learns the
    /// schema generation without opening the snapshot, and a later change is visible
    /// as a version above it.
    var schema: SchemaRecord?

    struct SchemaRecord: Sendable, Equatable {
        var version: UInt64
        var sequence: UInt64
        var definition: JSONValue

        init(version: UInt64, sequence: UInt64, definition: JSONValue) {
            (self.version, self.sequence, self.definition) = (version, sequence, definition)
        }

        init(_ state: NamespaceState) {
            self.init(version: state.schemaVersion, sequence: state.schemaSequence, definition: SchemaCodec.json(state.schema))
        }

        var json: JSONValue {
            .object(["version": .uint(version), "sequence": .uint(sequence), "definition": definition])
        }

        init?(_ json: JSONValue?) {
            guard let json, let version = json["version"]?.uint64Value, let sequence = json["sequence"]?.uint64Value,
                  let definition = json["definition"] else { return nil }
            self.init(version: version, sequence: sequence, definition: definition)
        }
    }

    func encode() -> [UInt8] {
        var object: [String: JSONValue] = [
            "format": .int(Int64(Self.formatVersion)),
            "namespace": .string(namespace),
            "epoch": .uint(epoch),
            "incarnation": .uint(incarnation),
            "created_at_ms": .int(createdAtMilliseconds),
            "snapshot_sequence": .uint(snapshotSequence),
        ]
        if let snapshotKey { object["snapshot_key"] = .string(snapshotKey) }
        if readOnly { object["read_only"] = .bool(true) }
        if let pinning { object["pinning"] = pinning }
        if let schema { object["schema"] = schema.json }
        return ObjectEnvelope.seal(JSONWriter.serialize(.object(object)), kind: .manifest)
    }

    static func decode(_ bytes: [UInt8], key: String) throws -> Manifest {
        let payload = try ObjectEnvelope.open(bytes, kind: .manifest, key: key)
        let json: JSONValue
        do { json = try JSONParser.parse(payload) } catch { throw EngineError(.corruptData, "manifest \(key) is not valid JSON: \(error)") }
        func unsigned(_ name: String) throws -> UInt64 {
            guard let value = json[name]?.uint64Value else { throw EngineError(.corruptData, "manifest \(key) lacks \(name)") }
            return value
        }
        guard json["format"]?.intValue == formatVersion else {
            throw EngineError(.corruptData, "manifest \(key) has format \(JSONWriter.string(json["format"] ?? .null)); this build reads \(formatVersion)")
        }
        guard let namespace = json["namespace"]?.stringValue, case .int(let created)? = json["created_at_ms"] else {
            throw EngineError(.corruptData, "manifest \(key) lacks namespace or created_at_ms")
        }
        var manifest = Manifest(namespace: namespace, epoch: try unsigned("epoch"), incarnation: try unsigned("incarnation"),
                                createdAtMilliseconds: created, snapshotSequence: try unsigned("snapshot_sequence"),
                                snapshotKey: json["snapshot_key"]?.stringValue)
        manifest.readOnly = json["read_only"]?.boolValue ?? false
        manifest.pinning = json["pinning"]
        manifest.schema = SchemaRecord(json["schema"])
        return manifest
    }
}
