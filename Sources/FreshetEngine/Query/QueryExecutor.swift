/// Runs a query against a state snapshot by exhaustive scan: exact filters, exact
/// distances, a bounded heap for top-k. The SPFresh index replaces the scan for
/// vector ranking; this stays as the exact oracle and the unindexed-tail search.
enum QueryExecutor {
    /// Runs `request`, ranking approximate vector queries through the SPFresh index
    /// when one is ready (with the unindexed tail searched exhaustively).
    static func execute(_ request: QueryRequest, on state: NamespaceState, index: VectorIndexer?) async throws -> QueryResult {
        guard let index, case .vector(let json, false)? = request.rankBy, let (dimensions, element) = state.schema.vectorType else {
            return try execute(request, on: state)
        }
        let filter = try request.filters.map { try Filter.compile($0, schema: state.schema, field: "filters") }
        let query = try VectorCodec.parse(json, element: element, field: "rank_by[2]")
        try VectorCodec.check(query, dimensions: dimensions, field: "rank_by[2]")
        guard let outcome = try await index.search(query, k: request.topK + request.offset, state: state, filter: filter) else {
            return try execute(request, on: state)
        }
        let rows = outcome.hits.map { QueryRow(document: state.document($0.id)!, distance: $0.distance) }
        return try execute(request, on: state, annRows: rows, exhaustiveCount: outcome.exhaustiveCount)
    }

    static func execute(_ request: QueryRequest, on state: NamespaceState, annRows: [QueryRow]? = nil, exhaustiveCount: Int? = nil) throws -> QueryResult {
        let filter = try request.filters.map { try Filter.compile($0, schema: state.schema, field: "filters") }
        let k = request.topK + request.offset
        var rows: [QueryRow] = []
        var aggregations: [String: JSONValue]? = nil

        if !request.aggregates.isEmpty {
            var count = 0
            var sums = [Double](repeating: 0, count: request.aggregates.count)
            for document in state.documents.values where filter?.matches(document) ?? true {
                count += 1
                for (index, (_, aggregate)) in request.aggregates.enumerated() {
                    if case .sum(let attribute) = aggregate {
                        switch document.value(of: attribute) {
                        case .int(let value)?: sums[index] += Double(value)
                        case .uint(let value)?: sums[index] += Double(value)
                        case .float(let value)?: sums[index] += value
                        default: break
                        }
                    }
                }
            }
            var result: [String: JSONValue] = [:]
            for (index, (label, aggregate)) in request.aggregates.enumerated() {
                switch aggregate {
                case .count: result[label] = .int(Int64(count))
                case .sum: result[label] = .double(sums[index])
                }
            }
            aggregations = result
        }

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
                let documents = state.documents
                let hits = arena.nearest(
                    to: query, k: k, metric: metric == .cosineDistance ? .cosine : .euclideanSquared,
                    accept: { id in filter.map { $0.matches(documents[id]!) } ?? true }, tieBreak: <
                )
                rows = hits.map { QueryRow(document: state.document($0.id)!, distance: $0.distance) }
            }
        case .expression(let json)?:
            let expression = try RankExpression.compile(json, state: state, field: "rank_by")
            rows = expression.top(k, state: state, filter: filter)
        case .attribute(let attribute, let ascending)?:
            var matches: [Document] = []
            for document in state.documents.values where filter?.matches(document) ?? true { matches.append(document) }
            rows = topByAttribute(matches, attribute: attribute, ascending: ascending, k: k).map { QueryRow(document: $0, distance: nil) }
        case nil:
            if request.aggregates.isEmpty {
                var matches: [Document] = []
                for document in state.documents.values where filter?.matches(document) ?? true { matches.append(document) }
                rows = topByAttribute(matches, attribute: "id", ascending: true, k: k).map { QueryRow(document: $0, distance: nil) }
            }
        }
        if request.offset > 0 { rows = Array(rows.dropFirst(request.offset)) }
        // Attribute-ranked rows come from `documents`; give them back their vectors.
        var rankedByVector = false
        if case .vector? = request.rankBy { rankedByVector = true }
        if !rankedByVector, state.vectors != nil {
            rows = rows.map { QueryRow(document: state.document($0.document.id)!, distance: $0.distance) }
        }
        return QueryResult(
            rows: rows, aggregations: aggregations, include: request.include, exclude: request.exclude,
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
