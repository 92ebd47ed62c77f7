import Foundation
import FreshetText

/// A compiled score expression of `rank_by`: BM25 over full-text attributes, numeric
/// attributes, filters as 0/1, and their combinations. Higher scores rank first; a
/// row whose score is 0 is not returned.
indirect enum RankExpression: Sendable {
    /// BM25 of `terms` (already analyzed) over a full-text attribute. With
    /// `last_as_prefix`, the query's last token is not a BM25 term: a document holding
    /// any term it begins (`prefixTerms`, expanded from the index) scores 1.0 more.
    case bm25(attribute: String, terms: [String], prefixTerms: [String]?)
    case sum([RankExpression])
    case max([RankExpression])
    case product(Double, RankExpression)
    /// A numeric attribute's value (missing or non-numeric: 0).
    case attribute(String)
    /// `x^e / (x^e + m^e)`: rises from 0 to 1, one half at the midpoint.
    case saturate(RankExpression, midpoint: Double, exponent: Double)
    /// `m^e / (x^e + m^e)`: falls from 1 to 0, one half at the midpoint.
    case decay(RankExpression, midpoint: Double, exponent: Double)
    case filter(Filter)
    /// A number operand, as in `["Max", 0, ["Attribute", "clicks"]]`.
    case constant(Double)
    /// `["Dist", expression, origin]`: |value − origin|; datetimes in milliseconds, so
    /// `["Decay", ["Dist", ["Attribute", "published_at"], "2026-02-03T12:13:14Z"], {"midpoint": "6h"}]`
    /// favours recent documents. A document without the attribute is infinitely far.
    case distance(RankExpression, origin: Double)

    static let functions: Set<String> = ["Sum", "Max", "Product", "Attribute", "Saturate", "Decay", "Dist"]

    /// A midpoint or origin: a number, a duration ("500ms", "30s", "15m", "6h", "7d",
    /// "2w", as milliseconds) or, for origins, an RFC 3339 datetime (milliseconds).
    static func quantity(_ json: JSONValue, datetime: Bool) -> Double? {
        if let number = json.numberValue { return number }
        guard let text = json.stringValue else { return nil }
        if datetime, let milliseconds = DateTimeFormat.parse(text) ?? DateTimeFormat.parse(text + "Z") { return Double(milliseconds) }  // no zone: UTC
        let units: [(String, Double)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value.isFinite { return value * scale }
        }
        return nil
    }

    /// Whether `json` is an expression (rather than a vector or order-by ranking).
    static func isExpression(_ json: JSONValue) -> Bool {
        guard case .array(let parts) = json, let head = parts.first?.stringValue else { return false }
        if functions.contains(head) { return true }
        if parts.count == 3 || parts.count == 4, parts[1].stringValue == "BM25" { return true }
        if parts.count == 3 || parts.count == 4, let op = parts[1].stringValue, Filter.Operator(rawValue: op) != nil { return true }
        if parts.count == 2, ["And", "Or", "Not"].contains(head) { return true }
        return false
    }

    static func compile(_ json: JSONValue, state: NamespaceState, field: String, depth: Int = 0) throws -> RankExpression {
        guard depth <= 32 else { throw EngineError.invalid("\(field): rank_by expressions nest deeper than 32 levels") }
        guard case .array(let parts) = json, let head = parts.first?.stringValue else {
            throw EngineError.invalid("\(field): expected a rank_by expression such as [\"text\", \"BM25\", \"query\"] or [\"Sum\", [...]]; got \(JSONWriter.string(json).prefix(80))")
        }
        func children(_ value: JSONValue, _ name: String) throws -> [RankExpression] {
            guard case .array(let items) = value, !items.isEmpty else {
                throw EngineError.invalid("\(field): \(name) takes a non-empty list of expressions, e.g. [\"\(name)\", [[\"title\", \"BM25\", \"q\"], [\"body\", \"BM25\", \"q\"]]]")
            }
            return try items.enumerated().map { try compile($1, state: state, field: "\(field)[1][\($0)]", depth: depth + 1) }
        }
        func curve(_ name: String) throws -> (RankExpression, Double, Double) {
            guard parts.count == 3, case .object(let options) = parts[2] else {
                throw EngineError.invalid("\(field): \(name) is [\"\(name)\", expression, {\"midpoint\": m, \"exponent\": e}]")
            }
            if let unknown = options.keys.first(where: { $0 != "midpoint" && $0 != "exponent" }) {
                throw EngineError.invalid("\(field): unknown \(name) option \"\(unknown)\"; use midpoint and exponent")
            }
            guard let midpoint = options["midpoint"].flatMap({ quantity($0, datetime: false) }), midpoint > 0 else {
                throw EngineError.invalid("\(field): \(name) needs a positive \"midpoint\" (a number, or a duration such as \"6h\")")
            }
            let exponent = options["exponent"]?.numberValue ?? 1
            guard exponent > 0 else { throw EngineError.invalid("\(field): \(name) \"exponent\" must be positive") }
            return (try compile(parts[1], state: state, field: "\(field)[1]", depth: depth + 1), midpoint, exponent)
        }
        switch head {
        case "Sum", "Max":
            let items: [RankExpression]
            if parts.count == 2 {
                items = try children(parts[1], head)
            } else if parts.count == 3 {
                // Binary form: two operands, each an expression or a number.
                items = try parts[1...2].enumerated().map { offset, operand in
                    if let number = operand.numberValue { return .constant(number) }
                    return try compile(operand, state: state, field: "\(field)[\(offset + 1)]", depth: depth + 1)
                }
            } else {
                throw EngineError.invalid("\(field): \(head) is [\"\(head)\", [expressions]] or [\"\(head)\", a, b]")
            }
            return head == "Sum" ? .sum(items) : .max(items)
        case "Product":
            // ["Product", w, e], ["Product", e, w], and the older ["Product", [w, e]] / [e, w].
            var operands = Array(parts.dropFirst())
            if operands.count == 1, case .array(let pair) = operands[0], pair.count == 2 { operands = pair }
            guard operands.count == 2 else { throw EngineError.invalid("\(field): Product is [\"Product\", weight, expression]") }
            let (weightJSON, inner) = operands[0].numberValue != nil ? (operands[0], operands[1]) : (operands[1], operands[0])
            guard let weight = weightJSON.numberValue else {
                throw EngineError.invalid("\(field): Product is [\"Product\", weight, expression] with a numeric weight")
            }
            guard weight >= 0, weight.isFinite else { throw EngineError.invalid("\(field): Product weights must be non-negative numbers, got \(weight)") }
            return .product(weight, try compile(inner, state: state, field: "\(field)[weighted]", depth: depth + 1))
        case "Attribute":
            guard parts.count == 2, let name = parts[1].stringValue else { throw EngineError.invalid("\(field): Attribute is [\"Attribute\", name]") }
            return .attribute(name)
        case "Dist":
            guard parts.count == 3 else { throw EngineError.invalid("\(field): Dist is [\"Dist\", expression, origin]") }
            guard let origin = quantity(parts[2], datetime: true) else {
                throw EngineError.invalid("\(field)[2]: the Dist origin must be a number or an RFC 3339 datetime, got \(JSONWriter.string(parts[2]))")
            }
            return .distance(try compile(parts[1], state: state, field: "\(field)[1]", depth: depth + 1), origin: origin)
        case "Saturate":
            let (inner, midpoint, exponent) = try curve(head)
            return .saturate(inner, midpoint: midpoint, exponent: exponent)
        case "Decay":
            let (inner, midpoint, exponent) = try curve(head)
            return .decay(inner, midpoint: midpoint, exponent: exponent)
        default:
            break
        }
        if parts.count >= 3, parts[1].stringValue == "BM25" {
            return try compileBM25(parts, state: state, field: field)
        }
        return .filter(try Filter.compile(json, schema: state.schema, field: field))
    }

    private static func compileBM25(_ parts: [JSONValue], state: NamespaceState, field: String) throws -> RankExpression {
        let attribute = parts[0].stringValue!
        guard parts.count <= 4 else { throw EngineError.invalid("\(field): BM25 is [attribute, \"BM25\", query] or [attribute, \"BM25\", query, {\"last_as_prefix\": true}]") }
        if state.text[attribute] == nil, state.text.building[attribute] != nil {
            throw EngineError(.indexBuilding, "\(field): the full-text index of \(attribute) is being built after a schema change (\(state.documents.count) documents); retry shortly")
        }
        guard let index = state.text[attribute] else {
            throw EngineError.invalid("\(field): attribute \"\(attribute)\" is not full-text indexed; set \"full_text_search\": true in its schema to rank it by BM25")
        }
        var lastAsPrefix = false
        if parts.count == 4 {
            guard case .object(let options) = parts[3] else { throw EngineError.invalid("\(field)[3]: BM25 options must be an object") }
            for (key, value) in options {
                guard key == "last_as_prefix" else { throw EngineError.invalid("\(field)[3]: unknown BM25 option \"\(key)\"; supported: last_as_prefix") }
                guard let flag = value.boolValue else { throw EngineError.invalid("\(field)[3].last_as_prefix must be a boolean") }
                lastAsPrefix = flag
            }
        }
        var terms: [String]
        switch parts[2] {
        case .string(let query): terms = index.analyzer.terms(query)
        case .array(let tokens):
            terms = try tokens.map {
                guard let token = $0.stringValue else { throw EngineError.invalid("\(field)[2]: a token list holds strings") }
                return token
            }.flatMap { index.analyzer.options.tokenizer == .preTokenizedArray ? [$0] : index.analyzer.terms($0) }
        default:
            throw EngineError.invalid("\(field)[2]: the BM25 query must be a string (or a list of tokens), got \(parts[2].typeName)")
        }
        var prefixTerms: [String]?
        if lastAsPrefix, let last = terms.popLast() { prefixTerms = index.index.terms(withPrefix: last) }
        return .bm25(attribute: attribute, terms: terms, prefixTerms: prefixTerms)
    }

    /// The score of `document` (exhaustive evaluation; the BM25-only shapes have a
    /// faster path in the executor).
    func score(_ document: Document, state: NamespaceState) -> Double {
        switch self {
        case .bm25(let attribute, let terms, let prefixTerms):
            guard let text = state.text[attribute], let ordinal = text.ordinals[document.id] else { return 0 }
            var score = text.index.score(ordinal, terms: terms, parameters: text.parameters)
            if let prefixTerms, prefixTerms.contains(where: { text.index.occurrence(of: $0, in: ordinal) != nil }) { score += 1 }
            return score
        case .sum(let items): return items.reduce(0) { $0 + $1.score(document, state: state) }
        case .max(let items): return items.map { $0.score(document, state: state) }.max() ?? 0
        case .product(let weight, let inner): return weight * inner.score(document, state: state)
        case .attribute(let name):
            switch document.value(of: name) {
            case .int(let value)?: return Double(value)
            case .uint(let value)?: return Double(value)
            case .float(let value)?: return value
            case .bool(let value)?: return value ? 1 : 0
            case .datetime(let value)?: return Double(value)
            default: return 0
            }
        case .saturate(let inner, let midpoint, let exponent):
            let x = Swift.max(0, inner.score(document, state: state))
            guard x.isFinite else { return 1 }
            let power = pow(x, exponent)
            return power / (power + pow(midpoint, exponent))
        case .decay(let inner, let midpoint, let exponent):
            let x = Swift.max(0, inner.score(document, state: state))
            let scale = pow(midpoint, exponent)
            return scale / (pow(x, exponent) + scale)
        case .filter(let filter):
            return filter.matches(document) ? 1 : 0
        case .constant(let value):
            return value
        case .distance(let inner, let origin):
            if case .attribute(let name) = inner, document.value(of: name) == nil { return .infinity }
            return abs(inner.score(document, state: state) - origin)
        }
    }
}

extension RankExpression {
    /// The top `k` rows by score (higher first; rows scoring 0 or less left out),
    /// among documents passing `filter`.
    ///
    /// Plans: a lone BM25 clause (possibly weighted) runs block-max WAND over its
    /// postings with the filter applied to candidates; an expression whose every
    /// nonzero score needs a text match scores only the documents its clauses' terms
    /// occur in; anything else (Decay, Attribute, filters as scores) scores every
    /// document passing the filter.
    func top(_ k: Int, state: NamespaceState, plan: FilterPlan) -> [QueryRow] {
        if let (attribute, terms, weight) = wandShape, let text = state.text[attribute] {
            let documents = state.documents
            let accept: ((UInt32) -> Bool)? = plan.filter == nil ? nil : { ordinal in plan.accepts(documents[text.ids[Int(ordinal)]!]!) }
            let ids = text.ids
            return text.index.search(terms, k: k, parameters: text.parameters, accept: accept, tieBreak: { ids[Int($0)]! < ids[Int($1)]! }).map {
                QueryRow(document: state.document(text.ids[Int($0.ordinal)]!)!, score: $0.score * weight)
            }
        }
        var scored: [(id: DocumentID, score: Double)] = []
        func consider(_ document: Document) {
            guard plan.accepts(document) else { return }
            let score = self.score(document, state: state)
            if score > 0 { scored.append((document.id, score)) }
        }
        if let candidates = textCandidates(state) {
            for id in candidates { if let document = state.documents[id] { consider(document) } }
        } else {
            for document in plan.matchingDocuments(state) { consider(document) }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return scored.prefix(k).map { QueryRow(document: state.document($0.id)!, score: $0.score) }
    }

    /// How `top` will run, for explain_query.
    func plan(_ state: NamespaceState) -> String {
        if let (attribute, terms, _) = wandShape, let text = state.text[attribute] {
            let lists = Set(terms).map { "\($0) (\(text.index.documentFrequency($0)) docs)" }.sorted().joined(separator: ", ")
            return "rank: BM25 on \(attribute) by block-max WAND over \(lists); \(text.index.liveDocuments) documents, average length \(String(format: "%.1f", text.index.averageLength)) terms; filter checked on candidates only"
        }
        if let candidates = textCandidates(state) {
            return "rank: score expression evaluated on the \(candidates.count) documents its text clauses match"
        }
        return "rank: score expression evaluated on every document passing the filter (\(state.documents.count) documents)"
    }

    /// A single BM25 clause without prefix, possibly under positive Product weights.
    private var wandShape: (attribute: String, terms: [String], weight: Double)? {
        switch self {
        case .bm25(let attribute, let terms, nil) where !terms.isEmpty: return (attribute, terms, 1)
        case .product(let weight, let inner) where weight > 0:
            guard let (attribute, terms, innerWeight) = inner.wandShape else { return nil }
            return (attribute, terms, weight * innerWeight)
        default: return nil
        }
    }

    /// Documents that can score above 0, when only text matches can make a score
    /// nonzero; nil when other documents can score too.
    private func textCandidates(_ state: NamespaceState) -> Set<DocumentID>? {
        switch self {
        case .bm25(let attribute, let terms, let prefixTerms):
            guard let text = state.text[attribute] else { return [] }
            var ids = Set<DocumentID>()
            for term in terms + (prefixTerms ?? []) {
                for ordinal in text.index.documents(containing: term) { if let id = text.ids[Int(ordinal)] { ids.insert(id) } }
            }
            return ids
        case .sum(let items), .max(let items):
            var union = Set<DocumentID>()
            for item in items {
                guard let ids = item.textCandidates(state) else { return nil }
                union.formUnion(ids)
            }
            return union
        case .product(let weight, let inner): return weight == 0 ? [] : inner.textCandidates(state)
        case .saturate(let inner, _, _): return inner.textCandidates(state)  // Saturate(0) = 0
        case .decay, .attribute, .filter, .distance: return nil
        case .constant(let value): return value > 0 ? nil : []
        }
    }
}
