import FreshetIndex

/// How a query's filter is answered: from the attribute indexes where its conditions
/// allow (a bitmap of candidate ordinals, exact or a superset to verify), and by
/// evaluating it per document otherwise.
struct FilterPlan: Sendable {
    let filter: Filter?
    /// Ordinals that can match; nil means every document.
    let candidates: OrdinalBitmap?
    /// Whether `candidates` is exactly the matching set (no per-document check needed).
    let exact: Bool
    /// Whether the bitmap was left unbuilt because too many documents may match.
    let wide: Bool
    let indexes: AttributeIndexes

    /// `materialiseUpTo`: build the candidate bitmap only when at most this many
    /// documents can match (an upper bound from the value bitmaps' sizes); a wide
    /// filter is then checked per candidate instead — cheaper than a union of most of
    /// the namespace when only the index's few candidates need checking.
    init(_ filter: Filter?, state: NamespaceState, materialiseUpTo limit: Int? = nil) {
        self.filter = filter
        indexes = state.attributes
        let sources = FilterIndexes(attributes: state.attributes, text: state.text)
        let small = limit.map { limit in filter.flatMap { $0.upperBound(in: sources) }.map { $0 <= limit } ?? false } ?? true
        wide = filter != nil && !small
        if small, let filter, let (bitmap, exact) = filter.candidates(in: sources) {
            candidates = bitmap
            self.exact = exact
        } else {
            candidates = nil
            exact = filter == nil
        }
    }

    func accepts(_ document: Document) -> Bool {
        guard let filter else { return true }
        if let candidates {
            guard let ordinal = indexes.ordinals[document.id], candidates.contains(ordinal) else { return false }
            if exact { return true }
        }
        return filter.matches(document)
    }

    /// The matching documents of `state`: from the candidates when the plan has them,
    /// else by a scan.
    func matchingDocuments(_ state: NamespaceState) -> [Document] {
        var out: [Document] = []
        if let candidates {
            out.reserveCapacity(candidates.count)
            candidates.forEach { ordinal in
                guard let id = indexes.ids[Int(ordinal)], let document = state.documents[id] else { return }
                if exact || filter!.matches(document) { out.append(document) }
            }
        } else {
            for document in state.documents.values where filter?.matches(document) ?? true { out.append(document) }
        }
        return out
    }

    var description: String {
        guard filter != nil else { return "no filter" }
        guard let candidates else {
            return wide ? "filter checked on each candidate (too many documents may match to build its bitmap)"
                        : "filter evaluated on every document (no indexed condition)"
        }
        return exact ? "filter answered by attribute indexes: \(candidates.count) matching documents"
                     : "attribute indexes narrow the filter to \(candidates.count) candidates, each then checked"
    }
}

extension Filter {
    /// Ordinals that can match, from the attribute indexes, and whether exactly those
    /// match; nil when no part of the filter is indexed.
    func candidates(in indexes: FilterIndexes) -> (OrdinalBitmap, exact: Bool)? {
        switch self {
        case .and(let filters):
            var result: OrdinalBitmap?
            var exact = true
            for filter in filters {
                guard let (bitmap, childExact) = filter.candidates(in: indexes) else { exact = false; continue }
                result = result.map { $0.intersection(bitmap) } ?? bitmap
                exact = exact && childExact
            }
            return result.map { ($0, exact) }
        case .or(let filters):
            var result = OrdinalBitmap()
            var exact = true
            for filter in filters {
                guard let (bitmap, childExact) = filter.candidates(in: indexes) else { return nil }
                result = result.union(bitmap)
                exact = exact && childExact
            }
            return (result, exact)
        case .not(let filter):
            guard let (bitmap, exact) = filter.candidates(in: indexes), exact else { return nil }
            return (indexes.attributes.live.subtracting(bitmap), true)
        case .condition(let condition):
            return condition.candidates(in: indexes).map { ($0, true) }
        }
    }
}

extension Filter {
    /// At most how many documents can match, from the value bitmaps' sizes alone (no
    /// union built); nil when the indexes cannot tell.
    func upperBound(in indexes: FilterIndexes) -> Int? {
        switch self {
        case .and(let filters): return filters.compactMap { $0.upperBound(in: indexes) }.min()
        case .or(let filters):
            var total = 0
            for filter in filters {
                guard let bound = filter.upperBound(in: indexes) else { return nil }
                total += bound
            }
            return min(total, indexes.attributes.live.count)
        case .not: return indexes.attributes.live.count
        case .condition(let condition): return condition.upperBound(in: indexes)
        }
    }
}

/// What a filter plan reads: the attribute indexes, and the inverted indexes that
/// answer token filters.
struct FilterIndexes {
    let attributes: AttributeIndexes
    let text: TextIndexes
}

extension Filter.Condition {
    func upperBound(in filterIndexes: FilterIndexes) -> Int? {
        if case .tokens(let query) = operand { return tokenUpperBound(query, filterIndexes.text) }
        let indexes = filterIndexes.attributes
        guard let attribute = indexes.attributes[self.attribute] else { return nil }
        func sum(_ values: [AttributeValue]) -> Int { values.reduce(0) { $0 + (attribute.values[$1]?.count ?? 0) } }
        switch (op, operand) {
        case (.eq, .value(let literal?)), (.contains, .value(let literal?)):
            return literal.isNumber ? nil : (attribute.values[literal]?.count ?? 0)
        case (.in, .values(let literals)), (.containsAny, .values(let literals)):
            guard literals.allSatisfy({ $0 != nil && !$0!.isNumber }) else { return nil }
            return sum(literals.compactMap { $0 })
        case (.lt, .value(let literal?)), (.anyLt, .value(let literal?)): return sum(attribute.sorted.values(below: literal, inclusive: false))
        case (.lte, .value(let literal?)), (.anyLte, .value(let literal?)): return sum(attribute.sorted.values(below: literal, inclusive: true))
        case (.gt, .value(let literal?)), (.anyGt, .value(let literal?)): return sum(attribute.sorted.values(above: literal, inclusive: false))
        case (.gte, .value(let literal?)), (.anyGte, .value(let literal?)): return sum(attribute.sorted.values(above: literal, inclusive: true))
        default: return nil
        }
    }

    /// The exact matching set when the condition can be answered from the indexes.
    func candidates(in filterIndexes: FilterIndexes) -> OrdinalBitmap? {
        if case .tokens(let query) = operand { return tokenCandidates(query, filterIndexes) }
        let indexes = filterIndexes.attributes
        guard let attribute = indexes.attributes[self.attribute] else { return nil }
        func matching(_ literal: AttributeValue?) -> OrdinalBitmap {
            guard let literal else { return indexes.live.subtracting(attribute.present) }  // null: missing
            if let bitmap = attribute.values[literal] { return bitmap }
            // Numbers of another kind (3 vs 3.0) compare equal without hashing equal.
            guard literal.isNumber else { return OrdinalBitmap() }
            return OrdinalBitmap.union(attribute.values.compactMap { AttributeValue.compare($0.key, literal) == 0 ? $0.value : nil })
        }
        /// Values below or above the literal, from the ordered values (a literal of
        /// another kind — a string against numbers — compares with none of them).
        func range(_ literal: AttributeValue?, below: Bool, inclusive: Bool) -> OrdinalBitmap {
            guard let literal else { return OrdinalBitmap() }  // ordering never matches null
            guard let first = attribute.values.keys.first, AttributeValue.compare(first, literal) != nil else { return OrdinalBitmap() }
            let keys = below ? attribute.sorted.values(below: literal, inclusive: inclusive)
                             : attribute.sorted.values(above: literal, inclusive: inclusive)
            return OrdinalBitmap.union(keys.map { attribute.values[$0]! })
        }
        /// Glob and Regex decide per distinct value (a document matches when a value it
        /// holds does): a literal prefix narrows the values walked to its range.
        func strings(where matches: (String) -> Bool, prefix: String = "") -> OrdinalBitmap {
            let candidates: [String] = prefix.isEmpty
                ? attribute.values.keys.compactMap { if case .string(let text) = $0 { return text } else { return nil } }
                : attribute.sorted.strings(withPrefix: prefix)
            return OrdinalBitmap.union(candidates.filter(matches).map { attribute.values[.string($0)]! })
        }
        switch (op, operand) {
        case (.glob, .glob(let pattern)), (.iGlob, .glob(let pattern)):
            return strings(where: pattern.matches, prefix: pattern.literalPrefix)
        case (.notGlob, .glob(let pattern)), (.notIGlob, .glob(let pattern)):
            return indexes.live.subtracting(strings(where: pattern.matches, prefix: pattern.literalPrefix))
        case (.regex, .regex(let regex)): return strings(where: regex.matches)
        case (.eq, .value(let literal)) where !attribute.isArray: return matching(literal)
        case (.notEq, .value(let literal)) where !attribute.isArray: return indexes.live.subtracting(matching(literal))
        case (.in, .values(let literals)) where !attribute.isArray:
            return OrdinalBitmap.union(literals.map(matching))
        case (.notIn, .values(let literals)) where !attribute.isArray:
            return indexes.live.subtracting(OrdinalBitmap.union(literals.map(matching)))
        case (.contains, .value(let literal?)): return matching(literal)
        case (.notContains, .value(let literal?)): return indexes.live.subtracting(matching(literal))
        case (.containsAny, .values(let literals)):
            return OrdinalBitmap.union(literals.compactMap { $0 }.map(matching))
        case (.notContainsAny, .values(let literals)):
            return indexes.live.subtracting(OrdinalBitmap.union(literals.compactMap { $0 }.map(matching)))
        case (.lt, .value(let literal)) where !attribute.isArray: return range(literal, below: true, inclusive: false)
        case (.lte, .value(let literal)) where !attribute.isArray: return range(literal, below: true, inclusive: true)
        case (.gt, .value(let literal)) where !attribute.isArray: return range(literal, below: false, inclusive: false)
        case (.gte, .value(let literal)) where !attribute.isArray: return range(literal, below: false, inclusive: true)
        case (.anyLt, .value(let literal)): return range(literal, below: true, inclusive: false)
        case (.anyLte, .value(let literal)): return range(literal, below: true, inclusive: true)
        case (.anyGt, .value(let literal)): return range(literal, below: false, inclusive: false)
        case (.anyGte, .value(let literal)): return range(literal, below: false, inclusive: true)
        default: return nil
        }
    }
}

extension Filter.Condition {
    /// The attribute's inverted index, when it was built from the declaration the
    /// query's terms were analyzed with (not while a changed one is rebuilt).
    private func textIndex(_ query: Filter.TokenQuery, _ text: TextIndexes) -> TextIndexes.Attribute? {
        guard let index = text[attribute], index.declaration == query.declaration else { return nil }
        return index
    }

    /// Terms each query position matches: itself, or for a last term taken as a
    /// prefix every indexed term it starts.
    private func alternatives(_ query: Filter.TokenQuery, _ index: TextIndexes.Attribute) -> [[String]] {
        query.terms.enumerated().map { position, term in
            query.lastAsPrefix && position == query.terms.count - 1 ? index.index.terms(withPrefix: term, limit: .max) : [term]
        }
    }

    func tokenUpperBound(_ query: Filter.TokenQuery, _ text: TextIndexes) -> Int? {
        guard let index = textIndex(query, text) else { return nil }
        let counts = alternatives(query, index).map { $0.reduce(0) { $0 + index.index.documentFrequency($1) } }
        switch op {
        case .containsAnyToken: return counts.reduce(0, +)
        default: return counts.min() ?? 0
        }
    }

    /// Token filters from the inverted index: the documents holding all (or any) of the
    /// terms, and for a sequence those holding them at consecutive positions — the same
    /// positions the per-document evaluation compares, since both analyze alike.
    func tokenCandidates(_ query: Filter.TokenQuery, _ indexes: FilterIndexes) -> OrdinalBitmap? {
        guard let index = textIndex(query, indexes.text) else { return nil }
        guard !query.terms.isEmpty else { return OrdinalBitmap() }
        let lists = alternatives(query, index).map { terms in
            terms.count == 1 ? index.index.documents(containing: terms[0])
                             : Array(Set(terms.flatMap { index.index.documents(containing: $0) })).sorted()
        }
        var matches: [UInt32]
        switch op {
        case .containsAnyToken:
            matches = Array(Set(lists.joined()))
        case .containsAllTokens, .containsTokenSequence:
            var common = lists.min { $0.count < $1.count } ?? []
            for list in lists where !common.isEmpty {
                let members = Set(list)
                common = common.filter(members.contains)
            }
            matches = op == .containsAllTokens ? common : common.filter { index.index.holdsSequence(query.terms, in: $0) }
        default:
            return nil
        }
        var bitmap = OrdinalBitmap()
        for textOrdinal in matches {
            guard let id = index.ids[Int(textOrdinal)], let ordinal = indexes.attributes.ordinals[id] else { continue }
            bitmap.insert(ordinal)
        }
        return bitmap
    }
}
