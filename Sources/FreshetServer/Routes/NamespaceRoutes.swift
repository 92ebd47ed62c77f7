import FreshetEngine
import Hummingbird

/// The turbopuffer v2 endpoints, mounted at `/` and again under an optional leading
/// region segment (`/gcp-us-central1/v2/...`) that some client setups add.
struct NamespaceRoutes: Sendable {
    let engine: Engine
    let configuration: ServerConfiguration
    let admission: Admission

    func register(on router: RouterGroup<FreshetRequestContext>) {
        router.post("v2/namespaces/:namespace", use: write)
        router.delete("v2/namespaces/:namespace", use: deleteNamespace)
        router.post("v2/namespaces/:namespace/query", use: query)
        router.get("v1/namespaces", use: listNamespaces)
        router.get("v2/namespaces", use: listNamespaces)
        router.get("v1/namespaces/:namespace/metadata", use: metadata)
        router.get("v2/namespaces/:namespace/metadata", use: metadata)
        router.patch("v1/namespaces/:namespace/metadata", use: updateMetadata)
        router.patch("v2/namespaces/:namespace/metadata", use: updateMetadata)
        router.get("v1/namespaces/:namespace/schema", use: schema)
        router.post("v1/namespaces/:namespace/schema", use: updateSchema)
        router.put("v1/namespaces/:namespace/schema", use: updateSchema)
        router.post("v2/namespaces/:namespace/explain_query", use: explain)
        router.get("v1/namespaces/:namespace/hint_cache_warm", use: warm)
        router.get("v2/namespaces/:namespace/hint_cache_warm", use: warm)
        router.post("v1/namespaces/:namespace/_debug/recall", use: recall)
        router.post("v2/namespaces/:namespace/_debug/recall", use: recall)
    }

    func namespace(_ context: FreshetRequestContext) throws -> String {
        try context.parameters.require("namespace")
    }

    @Sendable func write(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let name = try namespace(context)
        let (json, size) = try await HTTP.bodyWithSize(request, configuration)
        let write = try WriteRequest.parse(json)
        let engine = self.engine
        let bypass = json["disable_backpressure"]?.boolValue ?? false
        let result = try await admission.write(name, bytes: size, bypass: bypass) {
            try await HTTP.withTimeout(configuration.writeTimeoutSeconds, "the write") {
                try await engine.write(namespace: name, write)
            }
        }
        return HTTP.json(result.json(serverMilliseconds: HTTP.milliseconds(since: started)))
    }

    @Sendable func query(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let name = try namespace(context)
        let json = try await HTTP.body(request, configuration)
        let engine = self.engine
        if case .array(let queries)? = json["queries"] {
            guard (1...16).contains(queries.count) else {
                throw APIError(.badRequest, "a multi-query holds 1 to 16 queries, got \(queries.count)")
            }
            var shared = json.objectValue ?? [:]
            shared["queries"] = nil
            let rerank = try Self.parseRerank(shared.removeValue(forKey: "rerank_by"))
            let sharedTopK = shared.removeValue(forKey: "top_k")
            let sharedLimit = shared.removeValue(forKey: "limit")
            let fusedLimit = sharedTopK?.intValue ?? sharedLimit?.intValue
            if let extra = shared.keys.sorted().first(where: { $0 != "consistency" && $0 != "vector_encoding" }) {
                throw APIError(.badRequest, "unknown multi-query field \"\(extra)\"; put per-query fields inside queries[]")
            }
            let requests = try queries.enumerated().map { index, query -> QueryRequest in
                guard case .object(var object) = query else { throw APIError(.unprocessableContent, "queries[\(index)] must be an object") }
                for (key, value) in shared where object[key] == nil { object[key] = value }
                return try QueryRequest.parse(.object(object))
            }
            let results = try await admission.query(name) {
                try await HTTP.withTimeout(configuration.queryTimeoutSeconds, "the multi-query") {
                    try await engine.multiQuery(namespace: name, requests)
                }
            }
            let total = HTTP.milliseconds(since: started)
            var body: [String: JSONValue]
            if let rankConstant = rerank {
                let limit = fusedLimit ?? requests.map(\.topK).max() ?? 10
                let fused = RankFusion.reciprocalRank(results.map(\.rows), rankConstant: rankConstant, limit: limit)
                var combined = results[0]
                combined.rows = fused.map(\.row)
                combined.aggregations = nil
                guard case .array(var rows) = combined.rowsJSON() else { preconditionFailure("rowsJSON returns an array") }
                for index in rows.indices {
                    if case .object(var row) = rows[index] {
                        row["$score"] = .double(fused[index].score)
                        rows[index] = .object(row)
                    }
                }
                body = ["results": .array([.object(["rows": .array(rows)])])]
            } else {
                body = ["results": .array(results.map(Self.resultBody))]
            }
            body["billing"] = Self.billing(results)
            body["performance"] = Self.performance(results, total: total)
            return HTTP.json(.object(body))
        }
        let query = try QueryRequest.parse(json)
        let result = try await admission.query(name) {
            try await HTTP.withTimeout(configuration.queryTimeoutSeconds, "the query") {
                try await engine.query(namespace: name, query)
            }
        }
        var body = Self.resultBody(result).objectValue!
        body["billing"] = Self.billing([result])
        body["performance"] = Self.performance([result], total: HTTP.milliseconds(since: started))
        return HTTP.json(.object(body))
    }

    /// `["RRF", {"rank_constant": 60}]` → the rank constant; nil when absent.
    static func parseRerank(_ json: JSONValue?) throws -> Double? {
        guard let json, json != .null else { return nil }
        guard case .array(let parts) = json, parts.first?.stringValue == "RRF", parts.count <= 2 else {
            throw APIError(.badRequest, "rerank_by must be [\"RRF\"] or [\"RRF\", {\"rank_constant\": 60}]")
        }
        if parts.count == 2 {
            guard case .object(let options) = parts[1], options.keys.allSatisfy({ $0 == "rank_constant" }) else {
                throw APIError(.badRequest, "rerank_by RRF options accept only rank_constant")
            }
            if let constant = options["rank_constant"] {
                guard let value = constant.numberValue, value >= 0 else { throw APIError(.badRequest, "rank_constant must be a non-negative number") }
                return value
            }
        }
        return 60
    }

    static func resultBody(_ result: QueryResult) -> JSONValue {
        var object: [String: JSONValue] = ["rows": result.rowsJSON()]
        if let groups = result.aggregationGroups {
            object["aggregation_groups"] = .array(groups)
            if result.rows.isEmpty { object["rows"] = nil }
        } else if let aggregations = result.aggregations {
            object["aggregations"] = .object(aggregations)
            if result.rows.isEmpty { object["rows"] = nil }
        }
        return .object(object)
    }

    static func billing(_ results: [QueryResult]) -> JSONValue {
        .object([
            "billable_logical_bytes_queried": .int(Int64(results.reduce(0) { $0 + $1.logicalBytesQueried })),
            "billable_logical_bytes_returned": .int(Int64(results.reduce(0) { $0 + $1.logicalBytesReturned })),
        ])
    }

    static func performance(_ results: [QueryResult], total: Double) -> JSONValue {
        .object([
            // The whole namespace is in memory on this node: every read is a cache hit.
            "cache_hit_ratio": .double(1),
            "cache_temperature": .string("hot"),
            "server_total_ms": .int(Int64(total.rounded())),
            "query_execution_ms": .int(Int64(results.reduce(0) { $0 + $1.executionMilliseconds }.rounded())),
            "exhaustive_search_count": .int(Int64(results.reduce(0) { $0 + $1.exhaustiveSearchCount })),
            "approx_namespace_size": .int(Int64(results.first?.namespaceSize ?? 0)),
        ])
    }

    @Sendable func explain(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        let name = try namespace(context)
        let query = try QueryRequest.parse(try await HTTP.body(request, configuration))
        return HTTP.json(.object(["plan_text": .string(try await engine.explain(namespace: name, query))]))
    }

    @Sendable func warm(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        // Opening the namespace loads its state into this node's memory.
        _ = try await engine.metadata(namespace: try namespace(context))
        return HTTP.json(.object(["status": .string("ACCEPTED"), "message": .string("namespace is loaded on this node")]), status: .accepted)
    }

    @Sendable func recall(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        let name = try namespace(context)
        let json = try await HTTP.body(request, configuration)
        guard case .object(let body) = json else { throw APIError(.unprocessableContent, "the recall body must be an object") }
        if let unknown = body.keys.sorted().first(where: { !["num", "top_k", "filters", "rank_by", "include_ground_truth"].contains($0) }) {
            throw APIError(.badRequest, "unknown recall field \"\(unknown)\"")
        }
        let num = body["num"]?.intValue ?? 20
        let topK = body["top_k"]?.intValue ?? 10
        let filters = body["filters"].flatMap { $0 == .null ? nil : $0 }
        var queryVector: JSONValue? = nil
        if let rankBy = body["rank_by"], rankBy != .null {
            guard case .vector(let vector, _) = try QueryRequest.parseRanking(rankBy) else {
                throw APIError(.badRequest, "recall measures vector search: rank_by must be [\"vector\", \"ANN\", vector]")
            }
            queryVector = vector
        }
        let engine = self.engine
        let probe = queryVector
        let report = try await HTTP.withTimeout(configuration.queryTimeoutSeconds * 4, "the recall measurement") {
            try await engine.recall(namespace: name, num: num, topK: topK, filters: filters, queryVector: probe)
        }
        var result: [String: JSONValue] = [
            "avg_recall": .double(report.averageRecall),
            "avg_ann_count": .double(report.averageANNCount),
            "avg_exhaustive_count": .double(report.averageExhaustiveCount),
        ]
        if body["include_ground_truth"]?.boolValue == true { result["ground_truth"] = .array(report.groundTruth) }
        return HTTP.json(.object(result))
    }

    @Sendable func deleteNamespace(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        let name = try namespace(context)
        let engine = self.engine
        try await HTTP.withTimeout(configuration.adminTimeoutSeconds, "the namespace deletion") {
            try await engine.deleteNamespace(name)
        }
        return HTTP.json(.object(["status": .string("OK")]))
    }

    @Sendable func listNamespaces(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let prefix = parameters.get("prefix") ?? ""
        let cursor = parameters.get("cursor").flatMap { $0.isEmpty ? nil : $0 }
        var pageSize = 100
        if let text = parameters.get("page_size") {
            guard let value = Int(text) else { throw APIError(.badRequest, "page_size must be an integer between 1 and 1000, got \(text)") }
            pageSize = value
        }
        let page = try await engine.listNamespaces(prefix: prefix, cursor: cursor, pageSize: pageSize)
        var body: [String: JSONValue] = ["namespaces": .array(page.names.map { .object(["id": .string($0)]) })]
        if let next = page.nextCursor { body["next_cursor"] = .string(next) }
        return HTTP.json(.object(body))
    }

    @Sendable func metadata(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        HTTP.json(try await engine.metadata(namespace: try namespace(context)).json)
    }

    @Sendable func updateMetadata(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        let name = try namespace(context)
        let json = try await HTTP.body(request, configuration)
        return HTTP.json(try await engine.updateMetadata(namespace: name, json).json)
    }

    @Sendable func schema(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        HTTP.json(try await engine.schema(namespace: try namespace(context)).json)
    }

    @Sendable func updateSchema(_ request: Request, context: FreshetRequestContext) async throws -> Response {
        let name = try namespace(context)
        let json = try await HTTP.body(request, configuration)
        return HTTP.json(try await engine.updateSchema(namespace: name, json).json)
    }
}
