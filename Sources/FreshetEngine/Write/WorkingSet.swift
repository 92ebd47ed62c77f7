/// The documents as a group commit sees them: the committed state plus the changes of
/// the requests accepted so far in this group.
struct WorkingSet {
    private(set) var base: NamespaceState
    /// nil marks a deletion.
    private(set) var changes: [DocumentID: Document?] = [:]
    var schema: NamespaceSchema
    var distanceMetric: DistanceMetric?

    init(state: NamespaceState) {
        base = state
        schema = state.schema
        distanceMetric = state.distanceMetric
    }

    /// The whole document (vector included) as this group sees it.
    func document(_ id: DocumentID) -> Document? {
        if let change = changes[id] { return change }
        return base.document(id)
    }

    mutating func put(_ document: Document) { changes[document.id] = .some(document) }
    mutating func delete(_ id: DocumentID) { changes[id] = .some(nil) }

    /// Every live document, in no particular order, for filter evaluation: committed
    /// documents come without their vectors (filters never read them); use
    /// `document(_:)` for the whole one.
    func forEach(_ body: (Document) -> Void) {
        for (id, document) in base.documents where changes[id] == nil { body(document) }
        for case let document? in changes.values { body(document) }
    }

    var isEmpty: Bool { changes.isEmpty }

    /// Drops this working set's reference to the committed documents, so applying the
    /// commit to the namespace state mutates them in place instead of copying them all.
    mutating func releaseBase() { base = NamespaceState(createdAtMilliseconds: 0) }

    func operations() -> [WALEntry.Operation] {
        changes.map { id, document in document.map { .put($0) } ?? .delete(id) }
    }
}

/// A write typed against the schema it meets: phase one of applying a request.
/// Everything that can reject the request happens here, before any change is made,
/// so a rejected request leaves the working set untouched.
struct PreparedWrite {
    var schema: NamespaceSchema
    var distanceMetric: DistanceMetric?
    var deleteByFilter: Filter?
    var patchByFilter: (filter: Filter, patch: [String: AttributeValue?])?
    var upserts: [Document] = []
    var patches: [(id: DocumentID, patch: [String: AttributeValue?])] = []
    var deletes: [DocumentID] = []
    var upsertCondition: Filter?
    var patchCondition: Filter?
    var deleteCondition: Filter?
    var returnAffectedIDs: Bool

    init(_ request: WriteRequest, schema current: NamespaceSchema, metric: DistanceMetric?) throws {
        schema = current
        distanceMetric = metric
        returnAffectedIDs = request.returnAffectedIDs
        if let copiedSchema = request.copiedSchema {
            for (name, attribute) in copiedSchema.attributes {
                if let existing = schema.attributes[name], existing.type != attribute.type {
                    throw EngineError.invalid("copy_from_namespace: attribute \(name) is \(attribute.type) in the source but \(existing.type) here; copy into a new namespace")
                }
                if schema.attributes[name] == nil { schema.attributes[name] = attribute }
            }
            if schema.idType == nil { schema.idType = copiedSchema.idType }
            if distanceMetric == nil { distanceMetric = request.copiedMetric }
        }
        if let declared = request.schema { try schema.apply(declared: declared) }
        if let requested = request.distanceMetric {
            if let distanceMetric, distanceMetric != requested, current.vectorType != nil {
                throw EngineError.invalid("distance_metric: this namespace uses \(distanceMetric.rawValue); it cannot change to \(requested.rawValue)")
            }
            distanceMetric = requested
        }

        // Ids: fixed by the schema or the first id seen; one type per namespace.
        var seen = Set<DocumentID>()
        func id(_ json: JSONValue, field: String) throws -> DocumentID {
            let parsed = try DocumentID.parse(json, expected: schema.idType, field: field)
            if schema.idType == nil { schema.idType = parsed.type }
            if !seen.insert(parsed).inserted {
                throw EngineError.invalid("\(field): id \(parsed) appears more than once in this request; send each id once per write")
            }
            return parsed
        }

        for document in request.copiedDocuments {
            if let idType = schema.idType, idType != document.id.type {
                throw EngineError.invalid("copy_from_namespace: the source uses \(document.id.type.rawValue) ids but this namespace uses \(idType.rawValue) ids")
            }
            schema.idType = document.id.type
            if let vector = document.vector {
                try VectorCodec.check(vector, dimensions: schema.vectorType?.dimensions, field: "copy_from_namespace: document \(document.id) vector")
            }
            upserts.append(document)
        }
        for (index, row) in request.upsertRows.enumerated() {
            let field = "upsert_rows[\(index)]"
            var document = Document(id: try id(row["id"]!, field: "\(field).id"))
            for (name, value) in row where name != "id" {
                if name == NamespaceSchema.vectorAttribute {
                    document.vector = try vector(value, field: "\(field).vector")
                } else if let typed = try attribute(name, value, field: "\(field).\(name)") {
                    document.attributes[name] = typed
                }
            }
            upserts.append(document)
        }
        for (index, row) in request.patchRows.enumerated() {
            let field = "patch_rows[\(index)]"
            let documentID = try id(row["id"]!, field: "\(field).id")
            patches.append((documentID, try patch(row, field: field)))
        }
        for (index, json) in request.deletes.enumerated() {
            deletes.append(try id(json, field: "deletes[\(index)]"))
        }
        if let filter = request.deleteByFilter {
            deleteByFilter = try Filter.compile(filter, schema: schema, field: "delete_by_filter")
        }
        if let (filters, patchRow) = request.patchByFilter {
            let compiled = try Filter.compile(filters, schema: schema, field: "patch_by_filter.filters")
            patchByFilter = (compiled, try patch(patchRow, field: "patch_by_filter.patch"))
        }
        if let condition = request.upsertCondition {
            upsertCondition = try Filter.compile(condition, schema: schema, field: "upsert_condition", allowReferenceNew: true)
        }
        if let condition = request.patchCondition {
            patchCondition = try Filter.compile(condition, schema: schema, field: "patch_condition", allowReferenceNew: true)
        }
        if let condition = request.deleteCondition {
            deleteCondition = try Filter.compile(condition, schema: schema, field: "delete_condition", allowReferenceNew: true)
        }
        if schema.vectorType != nil, distanceMetric == nil { distanceMetric = .cosineDistance }
    }

    private mutating func vector(_ json: JSONValue, field: String) throws -> [Float]? {
        if case .null = json { return nil }
        let element = schema.vectorType?.element ?? .f32
        let parsed = try VectorCodec.parse(json, element: element, field: field)
        try VectorCodec.check(parsed, dimensions: schema.vectorType?.dimensions, field: field)
        if schema.vectorType == nil {
            var attribute = AttributeSchema(type: .vector(dimensions: parsed.count, element: .f32))
            attribute.ann = true
            schema.attributes[NamespaceSchema.vectorAttribute] = attribute
        }
        return parsed
    }

    /// Types one attribute value, inferring and recording the type of a new attribute.
    private mutating func attribute(_ name: String, _ json: JSONValue, field: String) throws -> AttributeValue? {
        try NamespaceSchema.checkName(name, field: field)
        if let declared = schema.attributes[name] {
            return try AttributeValue.convert(json, to: declared.type, field: field)
        }
        guard let value = try AttributeValue.infer(json, field: field) else { return nil }
        if let type = value.inferredType {
            if schema.attributes.count >= NamespaceSchema.maxAttributes {
                throw EngineError.invalid("\(field): a namespace holds at most \(NamespaceSchema.maxAttributes) attributes")
            }
            schema.attributes[name] = AttributeSchema(type: type)
        }
        return value
    }

    private mutating func patch(_ row: [String: JSONValue], field: String) throws -> [String: AttributeValue?] {
        var patch: [String: AttributeValue?] = [:]
        for (name, value) in row where name != "id" {
            if name == NamespaceSchema.vectorAttribute {
                throw EngineError.invalid("\(field).vector: patches cannot change vectors; upsert the whole document instead")
            }
            patch[name] = .some(try attribute(name, value, field: "\(field).\(name)"))
        }
        return patch
    }

    static func merge(_ document: Document, _ patch: [String: AttributeValue?]) -> Document {
        var merged = document
        for (name, value) in patch { merged.attributes[name] = value }
        return merged
    }

    /// Phase two: applies the write to `working` in the reference's order
    /// (delete_by_filter, patch_by_filter, upserts, patches, deletes). Cannot fail.
    func apply(to working: inout WorkingSet) -> WriteResult {
        var result = WriteResult()
        var upserted: [DocumentID] = [], patched: [DocumentID] = [], deleted: [DocumentID] = []
        working.schema = schema
        working.distanceMetric = distanceMetric
        if let deleteByFilter {
            var matches: [DocumentID] = []
            working.forEach { if deleteByFilter.matches($0) { matches.append($0.id) } }
            for id in matches.sorted() { working.delete(id) }
            deleted += matches.sorted()
        }
        if let (filter, patch) = patchByFilter {
            var matches: [DocumentID] = []
            working.forEach { if filter.matches($0) { matches.append($0.id) } }
            for id in matches.sorted() {
                let document = working.document(id)!
                let merged = Self.merge(document, patch)
                working.put(merged)
                patched.append(document.id)
                result.bytesWritten += merged.logicalBytes
            }
        }
        for document in upserts {
            if let condition = upsertCondition, let existing = working.document(document.id),
               !condition.matches(existing, referenceNew: document) {
                continue
            }
            working.put(document)
            upserted.append(document.id)
            result.bytesWritten += document.logicalBytes
        }
        for (id, patch) in patches {
            guard let existing = working.document(id) else { continue }
            let merged = Self.merge(existing, patch)
            if let condition = patchCondition, !condition.matches(existing, referenceNew: merged) { continue }
            working.put(merged)
            patched.append(id)
            result.bytesWritten += merged.logicalBytes
        }
        for id in deletes {
            guard let existing = working.document(id) else { continue }
            if let condition = deleteCondition, !condition.matches(existing, referenceNew: nil) { continue }
            working.delete(id)
            deleted.append(id)
        }
        result.rowsUpserted = upserted.count
        result.rowsPatched = patched.count
        result.rowsDeleted = deleted.count
        if returnAffectedIDs {
            result.upsertedIDs = upserted
            result.patchedIDs = patched
            result.deletedIDs = deleted
        }
        return result
    }
}
