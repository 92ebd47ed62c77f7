import FreshetStorage
/// One committed write batch: the resolved effects of every request group-committed
/// together. Effects are final document states (upserts and merged patches) and
/// deletions, so replay needs no conditions, filters or schema inference.
struct WALEntry: Sendable {
    enum Operation: Sendable {
        case put(Document)
        case delete(DocumentID)
    }

    var sequence: UInt64
    /// The writer's epoch when it committed (diagnostics and fencing of compaction).
    var epoch: UInt64
    /// A random number identifying this write attempt, so a writer whose response
    /// was lost can tell its own entry from a competitor's by re-reading.
    var nonce: UInt64
    /// The namespace incarnation; a leftover entry of a deleted namespace never
    /// replays into a new one with the same name.
    var incarnation: UInt64
    var timestampMilliseconds: Int64
    /// The schema after this entry, when the entry changed it.
    var schema: NamespaceSchema?
    var distanceMetric: DistanceMetric?
    var operations: [Operation]

    func encode() -> [UInt8] {
        var writer = BinaryWriter(capacity: 256 + operations.count * 64)
        writer.u64(sequence)
        writer.u64(epoch)
        writer.u64(nonce)
        writer.u64(incarnation)
        writer.i64(timestampMilliseconds)
        if let schema {
            writer.u8(1)
            writer.blob(JSONWriter.serialize(SchemaCodec.json(schema)))
        } else {
            writer.u8(0)
        }
        writer.string(distanceMetric?.rawValue ?? "")
        writer.u32(UInt32(operations.count))
        for operation in operations {
            switch operation {
            case .put(let document):
                writer.u8(1)
                writer.document(document)
            case .delete(let id):
                writer.u8(2)
                writer.documentID(id)
            }
        }
        return ObjectEnvelope.seal(writer.bytes, kind: .walEntry)
    }

    static func decode(_ bytes: [UInt8], key: String) throws -> WALEntry {
        var reader = BinaryReader(try ObjectEnvelope.open(bytes, kind: .walEntry, key: key), what: "WAL entry \(key)")
        let sequence = try reader.u64()
        let epoch = try reader.u64()
        let nonce = try reader.u64()
        let incarnation = try reader.u64()
        let timestamp = try reader.i64()
        var schema: NamespaceSchema? = nil
        if try reader.u8() == 1 { schema = try SchemaCodec.decode(try reader.blob(), key: key) }
        let metricName = try reader.string()
        let metric = metricName.isEmpty ? nil : DistanceMetric(rawValue: metricName)
        let count = Int(try reader.u32())
        var operations: [Operation] = []
        operations.reserveCapacity(min(count, 1 << 20))
        for _ in 0..<count {
            switch try reader.u8() {
            case 1: operations.append(.put(try reader.document()))
            case 2: operations.append(.delete(try reader.documentID()))
            case let tag: throw EngineError(.corruptData, "WAL entry \(key): unknown operation tag \(tag)")
            }
        }
        guard reader.isAtEnd else { throw EngineError(.corruptData, "WAL entry \(key) has trailing bytes") }
        return WALEntry(sequence: sequence, epoch: epoch, nonce: nonce, incarnation: incarnation, timestampMilliseconds: timestamp,
                        schema: schema, distanceMetric: metric, operations: operations)
    }
}

/// The schema's stored form: the same JSON the API shows, plus explicit filterable flags.
enum SchemaCodec {
    static func json(_ schema: NamespaceSchema) -> JSONValue {
        var attributes: [String: JSONValue] = [:]
        for (name, attribute) in schema.attributes {
            var object: [String: JSONValue] = ["type": .string(attribute.type.description)]
            if let filterable = attribute.filterable { object["filterable"] = .bool(filterable) }
            if let fullText = attribute.fullTextSearch { object["full_text_search"] = fullText }
            if attribute.regex { object["regex"] = .bool(true) }
            if attribute.glob { object["glob"] = .bool(true) }
            if attribute.fuzzy { object["fuzzy"] = .bool(true) }
            if let ann = attribute.ann { object["ann"] = .bool(ann) }
            attributes[name] = .object(object)
        }
        var root: [String: JSONValue] = ["attributes": .object(attributes)]
        if let idType = schema.idType { root["id_type"] = .string(idType.rawValue) }
        return .object(root)
    }

    static func decode(_ bytes: [UInt8], key: String) throws -> NamespaceSchema {
        do {
            let json = try JSONParser.parse(bytes)
            var schema = NamespaceSchema()
            if let idType = json["id_type"]?.stringValue {
                guard let parsed = IDType(rawValue: idType) else { throw EngineError(.corruptData, "unknown id type \(idType)") }
                schema.idType = parsed
            }
            if case .object(let attributes)? = json["attributes"] { try schema.apply(declared: .object(attributes)) }
            return schema
        } catch let error as EngineError where error.code == .corruptData {
            throw error
        } catch {
            throw EngineError(.corruptData, "stored schema in \(key) cannot be read: \(error)")
        }
    }
}

/// The (sequence → nonce) pairs one compaction folded: lets a writer whose entry was
/// folded by another engine before it could verify it tell success from a reused slot.
struct FoldedEntries: Sendable {
    var range: ClosedRange<UInt64>
    var nonces: [UInt64: UInt64]

    func encode() -> [UInt8] {
        var writer = BinaryWriter(capacity: 16 + nonces.count * 16)
        writer.u64(range.lowerBound)
        writer.u64(range.upperBound)
        writer.u32(UInt32(nonces.count))
        for (sequence, nonce) in nonces.sorted(by: { $0.key < $1.key }) {
            writer.u64(sequence)
            writer.u64(nonce)
        }
        return ObjectEnvelope.seal(writer.bytes, kind: .foldedEntries)
    }

    static func decode(_ bytes: [UInt8], key: String) throws -> FoldedEntries {
        var reader = BinaryReader(try ObjectEnvelope.open(bytes, kind: .foldedEntries, key: key), what: "folded list \(key)")
        let lower = try reader.u64(), upper = try reader.u64()
        guard lower <= upper else { throw EngineError(.corruptData, "folded list \(key) has an empty range") }
        var folded = FoldedEntries(range: lower...upper, nonces: [:])
        for _ in 0..<(try reader.u32()) { folded.nonces[try reader.u64()] = try reader.u64() }
        return folded
    }
}
