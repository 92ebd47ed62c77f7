/// A parsed query.
public struct QueryRequest: Sendable {
    public enum Ranking: Sendable {
        /// Nearest vectors; `exact` for kNN, false for ANN (exhaustive until the index lands).
        case vector(JSONValue, exact: Bool)
        case attribute(String, ascending: Bool)
        /// A score expression: BM25, Sum, Max, Product, Attribute, Saturate, Decay,
        /// filters as 0/1 — compiled against the namespace's state when run.
        case expression(JSONValue)
    }

    public enum Selection: Sendable, Equatable {
        case none
        case all
        case only([String])
    }

    public enum Consistency: String, Sendable {
        case strong, eventual
    }

    public enum Aggregate: Sendable {
        case count
        case sum(String)
    }

    /// One `group_by` key: an attribute's value, or (`{"label": ["ForEachUnique", a]}`)
    /// each distinct element of an array attribute, as its own group.
    public enum GroupKey: Sendable, Equatable {
        case attribute(String)
        case forEachUnique(label: String, attribute: String)

        var label: String {
            switch self {
            case .attribute(let name): return name
            case .forEachUnique(let label, _): return label
            }
        }
    }

    /// `limit.per`: at most `limit` rows for each distinct combination of `attributes`.
    public struct PerGroupLimit: Sendable {
        public var attributes: [String]
        public var limit: Int
    }

    public var rankBy: Ranking?
    public var topK = 10
    public var offset = 0
    public var filters: JSONValue?
    public var include: Selection = .none
    public var exclude: [String] = []
    public var consistency: Consistency = .strong
    public var base64Vectors = false
    public var aggregates: [(label: String, aggregate: Aggregate)] = []
    public var groupBy: [GroupKey] = []
    public var perGroup: PerGroupLimit?

    public static let maxTopK = 10_000

    public init() {}

    static let knownKeys: Set<String> = [
        "rank_by", "top_k", "limit", "offset", "filters", "include_attributes", "exclude_attributes",
        "consistency", "vector_encoding", "aggregate_by", "group_by",
    ]

    public static func parse(_ json: JSONValue) throws -> QueryRequest {
        guard case .object(let body) = json else { throw EngineError.malformed("the query body must be a JSON object, got \(json.typeName)") }
        if let unknown = body.keys.sorted().first(where: { !knownKeys.contains($0) }) {
            throw EngineError.invalid("unknown query field \"\(unknown)\"; supported fields: \(knownKeys.sorted().joined(separator: ", "))")
        }
        var request = QueryRequest()
        if let rankBy = body["rank_by"], rankBy != .null { request.rankBy = try parseRanking(rankBy) }
        if let topK = body["top_k"], topK != .null {
            guard let value = topK.intValue else { throw EngineError.malformed("top_k must be an integer, got \(topK.typeName)") }
            request.topK = value
        }
        if let limit = body["limit"], limit != .null {
            if let value = limit.intValue {
                request.topK = value
            } else if case .object(let object) = limit, let total = object["total"]?.intValue {
                request.topK = total
                if let unknown = object.keys.first(where: { $0 != "total" && $0 != "per" }) {
                    throw EngineError.invalid("limit: unknown field \"\(unknown)\"; limit is {\"total\": n, \"per\": {\"attributes\": [...], \"limit\": k}}")
                }
                if let per = object["per"], per != .null { request.perGroup = try parsePerGroup(per) }
            } else {
                throw EngineError.malformed("limit must be an integer or {\"total\": n}")
            }
        }
        guard (1...maxTopK).contains(request.topK) else {
            throw EngineError.invalid("top_k must be between 1 and \(maxTopK), got \(request.topK)")
        }
        if let offset = body["offset"], offset != .null {
            guard let value = offset.intValue, value >= 0 else { throw EngineError.malformed("offset must be a non-negative integer") }
            request.offset = value
        }
        if let filters = body["filters"], filters != .null { request.filters = filters }
        switch body["include_attributes"] {
        case nil, .null?, .bool(false)?: request.include = .none
        case .bool(true)?: request.include = .all
        case .array(let names)?:
            request.include = .only(try names.map {
                guard let name = $0.stringValue else { throw EngineError.malformed("include_attributes must be a boolean or an array of names") }
                return name
            })
        case let other?: throw EngineError.malformed("include_attributes must be a boolean or an array of names, got \(other.typeName)")
        }
        if let exclude = body["exclude_attributes"], exclude != .null {
            guard case .array(let names) = exclude else { throw EngineError.malformed("exclude_attributes must be an array of names") }
            request.exclude = try names.map {
                guard let name = $0.stringValue else { throw EngineError.malformed("exclude_attributes must be an array of names") }
                return name
            }
            if request.include == .none { request.include = .all }
        }
        if let consistency = body["consistency"], consistency != .null {
            guard let level = consistency["level"]?.stringValue, let parsed = Consistency(rawValue: level) else {
                throw EngineError.malformed("consistency must be {\"level\": \"strong\"} or {\"level\": \"eventual\"}")
            }
            request.consistency = parsed
        }
        if let encoding = body["vector_encoding"], encoding != .null {
            switch encoding.stringValue {
            case "float": request.base64Vectors = false
            case "base64": request.base64Vectors = true
            default: throw EngineError.malformed("vector_encoding must be \"float\" or \"base64\"")
            }
        }
        if let aggregateBy = body["aggregate_by"], aggregateBy != .null {
            guard case .object(let labels) = aggregateBy else { throw EngineError.malformed("aggregate_by must map labels to aggregates, e.g. {\"count\": [\"Count\"]}") }
            for (label, spec) in labels.sorted(by: { $0.key < $1.key }) {
                guard case .array(let parts) = spec, let function = parts.first?.stringValue else {
                    throw EngineError.malformed("aggregate_by.\(label) must be [\"Count\"] or [\"Sum\", attribute]")
                }
                switch (function, parts.count) {
                case ("Count", 1): request.aggregates.append((label, .count))
                case ("Count", 2) where parts[1].stringValue == "id": request.aggregates.append((label, .count))
                case ("Sum", 2):
                    guard let attribute = parts[1].stringValue else { throw EngineError.malformed("aggregate_by.\(label): Sum takes an attribute name") }
                    request.aggregates.append((label, .sum(attribute)))
                default:
                    throw EngineError.invalid("aggregate_by.\(label): unknown aggregate \(JSONWriter.string(spec)); use [\"Count\"] or [\"Sum\", attribute]")
                }
            }
        }
        if let groupBy = body["group_by"], groupBy != .null {
            guard case .array(let keys) = groupBy, !keys.isEmpty else {
                throw EngineError.malformed("group_by must be a non-empty list of attribute names, e.g. [\"color\", \"size\"]")
            }
            request.groupBy = try keys.enumerated().map { try parseGroupKey($1, field: "group_by[\($0)]") }
            guard !request.aggregates.isEmpty else {
                throw EngineError.invalid("group_by needs aggregate_by: say what to compute per group, e.g. {\"count\": [\"Count\"]}")
            }
            guard request.rankBy == nil else { throw EngineError.invalid("group_by cannot be combined with rank_by") }
        }
        if request.rankBy == nil, request.aggregates.isEmpty, body["top_k"] == nil, body["limit"] == nil {
            throw EngineError.invalid("a query needs rank_by (e.g. [\"vector\", \"ANN\", [...]] or [\"id\", \"asc\"]), top_k or aggregate_by")
        }
        return request
    }

    static func parseGroupKey(_ json: JSONValue, field: String) throws -> GroupKey {
        if let name = json.stringValue { return .attribute(name) }
        if case .object(let object) = json, object.count == 1, let (label, spec) = object.first,
           case .array(let parts) = spec, parts.count == 2, parts[0].stringValue == "ForEachUnique", let attribute = parts[1].stringValue {
            return .forEachUnique(label: label, attribute: attribute)
        }
        throw EngineError.invalid("\(field) must be an attribute name or {\"label\": [\"ForEachUnique\", attribute]}")
    }

    static func parsePerGroup(_ json: JSONValue) throws -> PerGroupLimit {
        guard case .object(let object) = json, case .array(let names)? = object["attributes"], !names.isEmpty,
              let limit = object["limit"]?.intValue, object.count == 2 else {
            throw EngineError.invalid("limit.per must be {\"attributes\": [names], \"limit\": k}")
        }
        guard limit >= 1 else { throw EngineError.invalid("limit.per.limit must be at least 1") }
        return PerGroupLimit(attributes: try names.map {
            guard let name = $0.stringValue else { throw EngineError.invalid("limit.per.attributes holds attribute names") }
            return name
        }, limit: limit)
    }

    public static func parseRanking(_ json: JSONValue) throws -> Ranking {
        if RankExpression.isExpression(json) { return .expression(json) }
        guard case .array(let parts) = json, let first = parts.first?.stringValue, parts.count >= 2, let second = parts[1].stringValue else {
            throw EngineError.invalid("rank_by must be [\"vector\", \"ANN\", vector], [\"vector\", \"kNN\", vector] or [attribute, \"asc\"|\"desc\"]; got \(JSONWriter.string(json).prefix(80))")
        }
        switch (parts.count, second) {
        case (3, "ANN"), (3, "kNN"):
            guard first == NamespaceSchema.vectorAttribute else {
                throw EngineError.invalid("rank_by: \(second) ranks by the \"vector\" attribute, not \"\(first)\"")
            }
            return .vector(parts[2], exact: second == "kNN")
        case (2, "asc"), (2, "desc"):
            return .attribute(first, ascending: second == "asc")
        case (3, let function):
            throw EngineError.invalid("rank_by: unsupported ranking function \"\(function)\"; use ANN, kNN, BM25, asc, desc, or an expression (Sum, Max, Product, Attribute, Saturate, Decay, a filter)")
        default:
            throw EngineError.invalid("rank_by: expected [attribute, \"asc\"|\"desc\"] or [\"vector\", \"ANN\", vector]; got \(JSONWriter.string(json).prefix(80))")
        }
    }
}

/// One result row.
public struct QueryRow: Sendable {
    public var document: Document
    public var distance: Float?
    /// The rank_by expression's score (BM25 and friends), reported as `$dist`.
    public var score: Double?

    public init(document: Document, distance: Float? = nil, score: Double? = nil) {
        (self.document, self.distance, self.score) = (document, distance, score)
    }
}

/// A query's answer with the figures the API reports.
public struct QueryResult: Sendable {
    public var rows: [QueryRow]
    public var aggregations: [String: JSONValue]?
    /// With group_by: one object per group (its key attributes and aggregates).
    public var aggregationGroups: [JSONValue]?
    public var include: QueryRequest.Selection
    public var exclude: [String]
    public var base64Vectors: Bool
    /// Documents compared exhaustively (all of them until the index lands).
    public var exhaustiveSearchCount: Int
    public var namespaceSize: Int
    public var logicalBytesQueried: Int
    public var executionMilliseconds: Double = 0
}
