/// A write request after shape validation, before typing against the schema (which
/// happens at commit time, against the schema the write will actually meet).
public struct WriteRequest: Sendable {
    public typealias Row = [String: JSONValue]

    public var upsertRows: [Row] = []
    public var patchRows: [Row] = []
    public var deletes: [JSONValue] = []
    public var upsertCondition: JSONValue?
    public var patchCondition: JSONValue?
    public var deleteCondition: JSONValue?
    public var deleteByFilter: JSONValue?
    public var patchByFilter: (filters: JSONValue, patch: Row)?
    public var returnAffectedIDs = false
    public var distanceMetric: DistanceMetric?
    public var schema: JSONValue?
    /// Documents to copy in first (from `copy_from_namespace`), resolved by the engine.
    var copiedDocuments: [Document] = []
    var copiedSchema: NamespaceSchema?
    var copiedMetric: DistanceMetric?
    public var copyFromNamespace: String?

    public init() {}

    /// Whether the request changes anything (a request with only a schema still commits).
    public var isEmpty: Bool {
        upsertRows.isEmpty && patchRows.isEmpty && deletes.isEmpty && deleteByFilter == nil && patchByFilter == nil
            && schema == nil && distanceMetric == nil && copyFromNamespace == nil
    }

    static let knownKeys: Set<String> = [
        "upsert_rows", "upsert_columns", "patch_rows", "patch_columns", "deletes",
        "upsert_condition", "patch_condition", "delete_condition",
        "delete_by_filter", "patch_by_filter", "delete_by_filter_allow_partial", "patch_by_filter_allow_partial",
        "return_affected_ids", "distance_metric", "schema", "copy_from_namespace", "branch_from_namespace",
        "encryption", "disable_backpressure", "create_namespace",
    ]

    /// Parses a write body. Throws `malformedRequest` for shape errors and
    /// `invalidRequest` for semantic ones, each naming the field.
    public static func parse(_ json: JSONValue) throws -> WriteRequest {
        guard case .object(let body) = json else {
            throw EngineError.malformed("the write body must be a JSON object, got \(json.typeName)")
        }
        if let unknown = body.keys.sorted().first(where: { !knownKeys.contains($0) }) {
            throw EngineError.invalid("unknown write field \"\(unknown)\"; known fields: \(knownKeys.sorted().joined(separator: ", "))")
        }
        var request = WriteRequest()
        if let rows = body["upsert_rows"] { request.upsertRows = try parseRows(rows, field: "upsert_rows") }
        if let columns = body["upsert_columns"] { request.upsertRows += try parseColumns(columns, field: "upsert_columns") }
        if let rows = body["patch_rows"] { request.patchRows = try parseRows(rows, field: "patch_rows") }
        if let columns = body["patch_columns"] { request.patchRows += try parseColumns(columns, field: "patch_columns") }
        if let deletes = body["deletes"] {
            guard case .array(let ids) = deletes else { throw EngineError.malformed("deletes must be an array of ids") }
            request.deletes = ids
        }
        request.upsertCondition = nonNull(body["upsert_condition"])
        request.patchCondition = nonNull(body["patch_condition"])
        request.deleteCondition = nonNull(body["delete_condition"])
        request.deleteByFilter = nonNull(body["delete_by_filter"])
        if let patchByFilter = nonNull(body["patch_by_filter"]) {
            guard case .object(let object) = patchByFilter, let filters = object["filters"], case .object(let patch)? = object["patch"] else {
                throw EngineError.malformed("patch_by_filter must be {\"filters\": filter, \"patch\": {attribute: value}}")
            }
            if let extra = object.keys.first(where: { $0 != "filters" && $0 != "patch" }) {
                throw EngineError.invalid("patch_by_filter: unknown field \"\(extra)\"; expected filters and patch")
            }
            request.patchByFilter = (filters, patch)
        }
        for flag in ["return_affected_ids", "delete_by_filter_allow_partial", "patch_by_filter_allow_partial", "disable_backpressure", "create_namespace"] {
            if let value = nonNull(body[flag]), value.boolValue == nil { throw EngineError.malformed("\(flag) must be a boolean") }
        }
        request.returnAffectedIDs = body["return_affected_ids"]?.boolValue ?? false
        if let metric = nonNull(body["distance_metric"]) { request.distanceMetric = try DistanceMetric.parse(metric, field: "distance_metric") }
        if let schema = nonNull(body["schema"]) {
            guard case .object = schema else { throw EngineError.malformed("schema must be an object mapping attribute names to types") }
            request.schema = schema
        }
        if let encryption = nonNull(body["encryption"]) {
            guard case .object(let object) = encryption else { throw EngineError.malformed("encryption must be an object") }
            if let mode = object["mode"]?.stringValue, mode != "default" {
                throw EngineError.invalid("encryption mode \"\(mode)\" needs a key-management provider, and none is configured on this server; omit encryption or use {\"mode\": \"default\"}")
            }
        }
        for key in ["copy_from_namespace", "branch_from_namespace"] {
            guard let source = nonNull(body[key]) else { continue }
            if request.copyFromNamespace != nil { throw EngineError.invalid("send either copy_from_namespace or branch_from_namespace, not both") }
            switch source {
            case .string(let name): request.copyFromNamespace = name
            case .object(let object):
                guard let name = object["source_namespace"]?.stringValue else {
                    throw EngineError.malformed("\(key) must be a namespace name or {\"source_namespace\": name}")
                }
                request.copyFromNamespace = name
            default: throw EngineError.malformed("\(key) must be a namespace name or {\"source_namespace\": name}")
            }
        }
        return request
    }

    private static func nonNull(_ value: JSONValue?) -> JSONValue? {
        if case .null? = value { return nil }
        return value
    }

    static func parseRows(_ json: JSONValue, field: String) throws -> [Row] {
        guard case .array(let rows) = json else { throw EngineError.malformed("\(field) must be an array of row objects, got \(json.typeName)") }
        return try rows.enumerated().map { index, row in
            guard case .object(let object) = row else { throw EngineError.malformed("\(field)[\(index)] must be an object, got \(row.typeName)") }
            guard object["id"] != nil, object["id"] != .null else { throw EngineError.invalid("\(field)[\(index)] has no id; every row needs an \"id\"") }
            return object
        }
    }

    static func parseColumns(_ json: JSONValue, field: String) throws -> [Row] {
        guard case .object(let columns) = json else { throw EngineError.malformed("\(field) must be an object of equal-length column arrays") }
        guard case .array(let ids)? = columns["id"] else { throw EngineError.invalid("\(field) needs an \"id\" column (an array of ids)") }
        var rows: [Row] = ids.map { ["id": $0] }
        for (name, column) in columns where name != "id" {
            guard case .array(let values) = column else {
                throw EngineError.malformed("\(field).\(name) must be an array, got \(column.typeName)")
            }
            guard values.count == ids.count else {
                throw EngineError.invalid("\(field).\(name) has \(values.count) values but \(field).id has \(ids.count); columns must have equal lengths")
            }
            for (index, value) in values.enumerated() where value != .null { rows[index][name] = value }
        }
        for (index, id) in ids.enumerated() where id == .null {
            throw EngineError.invalid("\(field).id[\(index)] is null; every row needs an id")
        }
        return rows
    }
}

/// What a committed write did.
public struct WriteResult: Sendable, Equatable {
    public var rowsUpserted = 0
    public var rowsPatched = 0
    public var rowsDeleted = 0
    public var upsertedIDs: [DocumentID]?
    public var patchedIDs: [DocumentID]?
    public var deletedIDs: [DocumentID]?
    /// Logical bytes written, for billing.
    public var bytesWritten = 0
    /// The WAL sequence the write committed in.
    public var sequence: UInt64 = 0

    public var rowsAffected: Int { rowsUpserted + rowsPatched + rowsDeleted }
}
