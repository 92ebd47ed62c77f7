import FreshetIndex

/// Runs a query against a state snapshot by exhaustive scan: exact filters, exact
/// distances, a bounded heap for top-k. The SPFresh index replaces the scan for
/// vector ranking; this stays as the exact oracle and the unindexed-tail search.
enum QueryExecutor {
    /// Runs `request`, ranking approximate vector queries through the SPFresh index
    /// when one is ready (with the unindexed tail searched exhaustively).
    static func execute(_ request: QueryRequest, on state: NamespaceState, index: VectorIndexer?) async throws -> QueryResult {
        // limit.per ranks every candidate: the exact path does that.
        guard let index, request.perGroup == nil, case .vector(let json, false)? = request.rankBy,
              let (dimensions, element) = state.schema.vectorType else {
            return try execute(request, on: state)
        }
        let filter = try request.filters.map { try Filter.compile($0, schema: state.schema, field: "filters") }
        let plan = FilterPlan(filter, state: state, materialiseUpTo: index.filteredExactLimit)
        // Few matches: their exact distances cost less than an index probe, and are exact.
        if let candidates = plan.candidates, plan.exact, candidates.count <= index.filteredExactLimit {
            return try execute(request, on: state, plan: plan)
        }
        let query = try VectorCodec.parse(json, element: element, field: "rank_by[2]")
        try VectorCodec.check(query, dimensions: dimensions, field: "rank_by[2]")
        guard let outcome = try await index.search(query, k: request.topK + request.offset, state: state, plan: plan) else {
            // The exact scan wants the filter's bitmap, which a wide filter's plan skipped.
            return try execute(request, on: state, plan: plan.candidates == nil && filter != nil ? nil : plan)
        }
        let rows = outcome.hits.map { QueryRow(document: state.document($0.id)!, distance: $0.distance) }
        return try execute(request, on: state, plan: plan, annRows: rows, exhaustiveCount: outcome.exhaustiveCount)
    }

    /// The exact path (and the finishing of an indexed one: `annRows`). `plan` is the
    /// filter's plan when the caller made it already.
    static func execute(_ request: QueryRequest, on state: NamespaceState, plan: FilterPlan? = nil,
                        annRows: [QueryRow]? = nil, exhaustiveCount: Int? = nil) throws -> QueryResult {
        let plan = try plan ?? FilterPlan(request.filters.map { try Filter.compile($0, schema: state.schema, field: "filters") }, state: state)
        var k = request.topK + request.offset
        var rows: [QueryRow] = []
        var aggregations: [String: JSONValue]? = nil

        var groups: [JSONValue]? = nil
        if !request.aggregates.isEmpty {
            let matching = plan.matchingDocuments(state)
            if request.groupBy.isEmpty {
                aggregations = Aggregation.compute(request.aggregates, over: matching)
            } else {
                groups = Aggregation.groups(request.groupBy, request.aggregates, over: matching, limit: request.topK)
            }
        }
        // limit.per needs the whole ranking to fill each group: rank everything, cut after.
        if request.perGroup != nil { k = max(k, state.documents.count) }

        switch request.rankBy {
        case .vector(let json, _)?:
            guard let (dimensions, element) = state.schema.vectorType else {
                throw EngineError.invalid("rank_by: this namespace has no vectors to rank by; write documents with a \"vector\" first")
            }
            let query = try VectorCodec.parse(json, element: element, field: "rank_by[2]")
            try VectorCodec.check(query, dimensions: dimensions, field: "rank_by[2]")
            let metric = state.distanceMetric ?? .cosineDistance
            if let annRows {
                rows = annRows
            } else if let arena = state.vectors {
                let arenaMetric: ArenaMetric = metric == .cosineDistance ? .cosine : .euclideanSquared
                if plan.exact, let candidates = plan.candidates, candidates.count <= state.documents.count / 4 {
                    // Few matches, known exactly: their distances only, found by ordinal.
                    rows = state.nearest(amongOrdinals: candidates, to: query, k: k, metric: arenaMetric)
                        .map { QueryRow(document: state.document($0.id)!, distance: $0.distance) }
                } else {
                    let documents = state.documents
                    let hits = arena.nearest(
                        to: query, k: k, metric: arenaMetric,
                        accept: { id in plan.accepts(documents[id]!) }, tieBreak: <
                    )
                    rows = hits.map { QueryRow(document: state.document($0.id)!, distance: $0.distance) }
                }
            }
        case .expression(let json)?:
            let expression = try RankExpression.compile(json, state: state, field: "rank_by")
            rows = expression.top(k, state: state, plan: plan)
        case .attribute(let attribute, let ascending)?:
            rows = topByAttribute(plan.matchingDocuments(state), attribute: attribute, ascending: ascending, k: k).map { QueryRow(document: $0, distance: nil) }
        case nil:
            if request.aggregates.isEmpty {
                rows = topByAttribute(plan.matchingDocuments(state), attribute: "id", ascending: true, k: k).map { QueryRow(document: $0, distance: nil) }
            }
        }
        if let per = request.perGroup {
            var taken: [[AttributeValue?]: Int] = [:]
            rows = rows.filter { row in
                let key = per.attributes.map { row.document.value(of: $0) }
                taken[key, default: 0] += 1
                return taken[key]! <= per.limit
            }
            rows = Array(rows.prefix(request.topK + request.offset))
        }
        if request.offset > 0 { rows = Array(rows.dropFirst(request.offset)) }
        // Attribute-ranked rows come from `documents`; give them back their vectors.
        var rankedByVector = false
        if case .vector? = request.rankBy { rankedByVector = true }
        if !rankedByVector, state.vectors != nil {
            rows = rows.map { QueryRow(document: state.document($0.document.id)!, distance: $0.distance, score: $0.score) }
        }
        return QueryResult(
            rows: rows, aggregations: aggregations, aggregationGroups: groups, include: request.include, exclude: request.exclude,
            base64Vectors: request.base64Vectors, exhaustiveSearchCount: exhaustiveCount ?? state.documents.count,
            namespaceSize: state.documents.count, logicalBytesQueried: state.logicalBytes
        )
    }

    /// Orders by one attribute; documents missing it come last in both directions; ties by id.
    static func topByAttribute(_ documents: [Document], attribute: String, ascending: Bool, k: Int) -> [Document] {
        func before(_ a: Document, _ b: Document) -> Bool {
            let x = a.value(of: attribute), y = b.value(of: attribute)
            switch (x, y) {
            case (nil, nil): return a.id < b.id
            case (nil, _): return false
            case (_, nil): return true
            case (let x?, let y?):
                let order = AttributeValue.compare(x, y) ?? 0
                if order == 0 { return a.id < b.id }
                return ascending ? order < 0 : order > 0
            }
        }
        if documents.count <= k { return documents.sorted(by: before) }
        // Partial selection: keep a sorted buffer of k; fine for the exhaustive path.
        var best: [Document] = []
        best.reserveCapacity(k + 1)
        for document in documents {
            if best.count == k, let last = best.last, !before(document, last) { continue }
            var low = 0, high = best.count
            while low < high {
                let mid = (low + high) / 2
                if before(best[mid], document) { low = mid + 1 } else { high = mid }
            }
            best.insert(document, at: low)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}

/// `aggregate_by`, with or without `group_by`.
enum Aggregation {
    static func compute(_ aggregates: [(label: String, aggregate: QueryRequest.Aggregate)], over documents: [Document]) -> [String: JSONValue] {
        var sums = [Double](repeating: 0, count: aggregates.count)
        for document in documents {
            for (index, (_, aggregate)) in aggregates.enumerated() {
                if case .sum(let attribute) = aggregate { sums[index] += number(document.value(of: attribute)) }
            }
        }
        var result: [String: JSONValue] = [:]
        for (index, (label, aggregate)) in aggregates.enumerated() {
            switch aggregate {
            case .count: result[label] = .int(Int64(documents.count))
            case .sum: result[label] = .double(sums[index])
            }
        }
        return result
    }

    /// One object per distinct key (its key values, missing ones omitted, and the
    /// aggregates), ordered by key (missing values first), at most `limit` groups.
    static func groups(
        _ keys: [QueryRequest.GroupKey], _ aggregates: [(label: String, aggregate: QueryRequest.Aggregate)],
        over documents: [Document], limit: Int
    ) -> [JSONValue] {
        var members: [[AttributeValue?]: [Document]] = [:]
        for document in documents {
            // Each ForEachUnique key multiplies the document into one group per element.
            var combinations: [[AttributeValue?]] = [[]]
            for key in keys {
                let values: [AttributeValue?]
                switch key {
                case .attribute(let name): values = [document.value(of: name)]
                case .forEachUnique(_, let name):
                    if case .array(let elements)? = document.value(of: name) {
                        var seen = Set<AttributeValue>()
                        values = elements.filter { seen.insert($0).inserted }.map { Optional($0) }
                    } else {
                        values = [document.value(of: name)]
                    }
                }
                combinations = combinations.flatMap { prefix in values.map { prefix + [$0] } }
            }
            for combination in combinations { members[combination, default: []].append(document) }
        }
        func before(_ a: [AttributeValue?], _ b: [AttributeValue?]) -> Bool {
            for (x, y) in zip(a, b) {
                switch (x, y) {
                case (nil, nil): continue
                case (nil, _): return true
                case (_, nil): return false
                case (let x?, let y?):
                    let order = AttributeValue.compare(x, y) ?? 0
                    if order != 0 { return order < 0 }
                }
            }
            return false
        }
        return members.keys.sorted(by: before).prefix(limit).map { key in
            var object = compute(aggregates, over: members[key]!)
            for (groupKey, value) in zip(keys, key) { if let value { object[groupKey.label] = value.json } }
            return .object(object)
        }
    }

    static func number(_ value: AttributeValue?) -> Double {
        switch value {
        case .int(let value)?: return Double(value)
        case .uint(let value)?: return Double(value)
        case .float(let value)?: return value
        default: return 0
        }
    }
}
