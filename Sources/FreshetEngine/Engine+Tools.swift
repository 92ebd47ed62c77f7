import FreshetIndex

/// Diagnostics over a namespace: query plans and recall measurement.
extension Engine {

    /// How `request` would run, as text for `explain_query`.
    public func explain(namespace id: String, _ request: QueryRequest) async throws -> String {
        let (state, index) = try await existing(id).readStateAndIndex(strong: true)
        var lines: [String] = []
        lines.append("namespace \(id): \(state.documents.count) documents at WAL sequence \(state.sequence)")
        lines.append("consistency: \(request.consistency.rawValue)" + (request.consistency == .strong ? " (reads the WAL head and manifest first)" : " (serves this node's state)"))
        var plan = FilterPlan(nil, state: state)
        if let filters = request.filters {
            // The plan the query will run: an indexed vector query skips a wide filter's bitmap.
            let limit: Int? = if case .vector(_, false)? = request.rankBy, let index { index.filteredExactLimit } else { nil }
            plan = FilterPlan(try Filter.compile(filters, schema: state.schema, field: "filters"), state: state, materialiseUpTo: limit)
            lines.append("filter: \(JSONWriter.string(filters)): \(plan.description)")
        }
        switch request.rankBy {
        case .vector(_, let exact)?:
            let metric = state.distanceMetric ?? .cosineDistance
            if !exact, let index, let candidates = plan.candidates, plan.exact, candidates.count <= index.filteredExactLimit {
                lines.append("rank: exact \(metric.rawValue) distances over the \(candidates.count) documents the filter matches (at most \(index.filteredExactLimit): cheaper than an index probe, and exact)")
            } else if !exact, let index {
                let stats = index.index.statistics
                let configuration = index.index.configuration
                let status = index.status
                lines.append("rank: ANN by \(metric.rawValue) through the SPFresh index: \(stats.heads) heads over \(stats.liveVectors) vectors; the \(configuration.searchHeads) nearest heads (pruned past \(configuration.maxDistanceRatio)× the nearest) have their postings read through the cache, replicas deduplicated, stale versions skipped; distances recomputed exactly")
                lines.append("unindexed tail: entries after sequence \(status.indexed) (\(status.unindexedBytes) bytes) searched exhaustively and merged")
                lines.append("index: \(stats.postingEntries) posting entries (\(stats.deltaEntries) in memory), posting sizes by 16 \(stats.postingSizeHistogram), \(stats.splits) splits, \(stats.merges) merges, \(stats.reassigned) reassigned, \(stats.rewrites) rewrites, \(stats.pendingJobs) jobs queued, garbage ratio \(stats.garbageRatio) (last measured)")
                if request.filters != nil {
                    lines.append("filter: applied to index candidates; falls back to an exact scan if fewer than top_k pass")
                    let coverage = index.summaryCoverage
                    if let filter = plan.filter, coverage.test(for: filter) != nil {
                        lines.append("posting summaries: postings that cannot match are passed over for the nearest heads that can (summaries cover \(coverage.attributes.joined(separator: ", ")))")
                    } else {
                        lines.append("posting summaries: not used by this filter (they cover \(coverage.attributes.isEmpty ? "no attributes" : coverage.attributes.joined(separator: ", ")); Eq, In, Contains and ContainsAny on those, under And/Or, can use them)")
                    }
                }
            } else {
                let why = exact ? "exact kNN requested" : (state.vectors?.count ?? 0) < configuration.indexMinimumVectors ? "below \(configuration.indexMinimumVectors) vectors, no index" : "index still building"
                lines.append("rank: \(exact ? "kNN" : "ANN") by \(metric.rawValue); exhaustive scan of \(state.documents.count) vectors (\(why)), bounded heap of \(request.topK + request.offset)")
            }
        case .expression(let json)?:
            lines.append(try RankExpression.compile(json, state: state, field: "rank_by").plan(state))
        case .attribute(let name, let ascending)?:
            lines.append("rank: by \(name) \(ascending ? "ascending" : "descending"), missing values last; partial sort keeping \(request.topK + request.offset)")
        case nil:
            lines.append(request.aggregates.isEmpty ? "rank: by id ascending" : "rank: none (aggregation only)")
        }
        if !request.aggregates.isEmpty {
            lines.append("aggregate: " + request.aggregates.map { label, aggregate in
                switch aggregate {
                case .count: return "\(label)=Count"
                case .sum(let attribute): return "\(label)=Sum(\(attribute))"
                }
            }.joined(separator: ", "))
        }
        if request.offset > 0 { lines.append("offset: skip \(request.offset)") }
        lines.append("limit: \(request.topK)")
        return lines.joined(separator: "\n")
    }

    /// ANN against exact search over `num` documents' own vectors used as queries.
    /// With `queryVector`, measures that one query instead of sampled ones.
    public func recall(namespace id: String, num: Int, topK: Int, filters: JSONValue?, queryVector: JSONValue? = nil, seed: UInt64 = 1) async throws -> RecallReport {
        guard (1...1000).contains(num) else { throw EngineError.invalid("num must be between 1 and 1000, got \(num)") }
        guard (1...QueryRequest.maxTopK).contains(topK) else { throw EngineError.invalid("top_k must be between 1 and \(QueryRequest.maxTopK)") }
        let (state, index) = try await existing(id).readStateAndIndex(strong: true)
        let candidates = state.documents.keys.filter { state.vectors?.contains($0) == true }.sorted()
        guard !candidates.isEmpty else { throw EngineError.invalid("namespace \(id) has no vectors to measure recall on") }
        var generator = SplitMix64(state: seed)
        var totalRecall = 0.0, annCount = 0, exhaustiveCount = 0
        var truths: [JSONValue] = []
        let rounds = queryVector == nil ? num : 1
        for _ in 0..<rounds {
            let vector: JSONValue
            if let queryVector {
                vector = queryVector
            } else {
                let probe = candidates[Int(generator.next() % UInt64(candidates.count))]
                vector = .array(state.vectors!.vector(of: probe)!.map { .double(Double($0)) })
            }
            var ann = QueryRequest()
            ann.topK = topK
            ann.filters = filters
            ann.rankBy = .vector(vector, exact: false)
            var exact = ann
            exact.rankBy = .vector(vector, exact: true)
            let annRows = try await QueryExecutor.execute(ann, on: state, index: index).rows.map(\.document.id)
            let exactResult = try QueryExecutor.execute(exact, on: state).rows
            let exactRows = exactResult.map(\.document.id)
            annCount += annRows.count
            exhaustiveCount += exactRows.count
            let truth = Set(exactRows)
            totalRecall += truth.isEmpty ? 1 : Double(annRows.filter { truth.contains($0) }.count) / Double(truth.count)
            truths.append(.object([
                "query_vector": vector,
                "nearest_neighbors": .array(exactResult.map { row in
                    var object: [String: JSONValue] = ["id": row.document.id.json]
                    if let distance = row.distance { object["$dist"] = .double(Double(distance)) }
                    if let vector = row.document.vector { object["vector"] = .array(vector.map { .double(Double($0)) }) }
                    return .object(object)
                }),
            ]))
        }
        return RecallReport(averageRecall: totalRecall / Double(rounds), averageANNCount: Double(annCount) / Double(rounds),
                            averageExhaustiveCount: Double(exhaustiveCount) / Double(rounds), groundTruth: truths)
    }
}

public struct RecallReport: Sendable {
    public var averageRecall: Double
    public var averageANNCount: Double
    public var averageExhaustiveCount: Double
    public var groundTruth: [JSONValue]
}


/// Reciprocal rank fusion of several ranked lists.
public enum RankFusion {
    /// Scores each document Σ 1/(k + rank) over the lists it appears in (rank from 1),
    /// best first; ties by id.
    public static func reciprocalRank(_ lists: [[QueryRow]], rankConstant: Double = 60, limit: Int) -> [(row: QueryRow, score: Double)] {
        var scores: [DocumentID: (row: QueryRow, score: Double)] = [:]
        for list in lists {
            for (index, row) in list.enumerated() {
                let contribution = 1 / (rankConstant + Double(index + 1))
                if let existing = scores[row.document.id] {
                    scores[row.document.id] = (existing.row, existing.score + contribution)
                } else {
                    scores[row.document.id] = (QueryRow(document: row.document, distance: nil), contribution)
                }
            }
        }
        return scores.values.sorted { $0.score != $1.score ? $0.score > $1.score : $0.row.document.id < $1.row.document.id }.prefix(limit).map { $0 }
    }
}
