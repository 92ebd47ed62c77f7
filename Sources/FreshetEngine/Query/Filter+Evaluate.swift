extension Filter {
    /// Whether `document` satisfies the filter. `referenceNew` is the incoming document
    /// of a conditional write (nil: every `$ref_new` is null).
    ///
    /// Null rules of the reference: a missing attribute is null; `Eq null` matches it,
    /// `NotEq null` matches present values; ordering operators never match null;
    /// negated operators (`NotEq`, `NotIn`, `NotContains`, `Not…Glob`) match it.
    public func matches(_ document: Document, referenceNew: Document? = nil) -> Bool {
        switch self {
        case .and(let filters): return filters.allSatisfy { $0.matches(document, referenceNew: referenceNew) }
        case .or(let filters): return filters.contains { $0.matches(document, referenceNew: referenceNew) }
        case .not(let filter): return !filter.matches(document, referenceNew: referenceNew)
        case .condition(let condition): return condition.matches(document, referenceNew: referenceNew)
        }
    }
}

extension Filter.Condition {
    func matches(_ document: Document, referenceNew: Document?) -> Bool {
        let value = document.value(of: attribute)
        let operand: Filter.Operand
        if case .referenceNew(let name) = self.operand {
            operand = .value(referenceNew?.value(of: name))
        } else {
            operand = self.operand
        }
        switch (op, operand) {
        case (.eq, .value(let literal)): return Self.equal(value, literal)
        case (.notEq, .value(let literal)): return !Self.equal(value, literal)
        case (.in, .values(let literals)): return literals.contains { Self.equal(value, $0) }
        case (.notIn, .values(let literals)): return !literals.contains { Self.equal(value, $0) }
        case (.in, .value(let literal)): return Self.equal(value, literal)
        case (.notIn, .value(let literal)): return !Self.equal(value, literal)
        case (.lt, .value(let literal)): return Self.order(value, literal).map { $0 < 0 } ?? false
        case (.lte, .value(let literal)): return Self.order(value, literal).map { $0 <= 0 } ?? false
        case (.gt, .value(let literal)): return Self.order(value, literal).map { $0 > 0 } ?? false
        case (.gte, .value(let literal)): return Self.order(value, literal).map { $0 >= 0 } ?? false
        case (.contains, .value(let literal)): return Self.elements(value).contains { Self.equal($0, literal) }
        case (.notContains, .value(let literal)): return !Self.elements(value).contains { Self.equal($0, literal) }
        case (.containsAny, .values(let literals)):
            let elements = Self.elements(value)
            return literals.contains { literal in elements.contains { Self.equal($0, literal) } }
        case (.notContainsAny, .values(let literals)):
            let elements = Self.elements(value)
            return !literals.contains { literal in elements.contains { Self.equal($0, literal) } }
        case (.anyLt, .value(let literal)): return Self.elements(value).contains { Self.order($0, literal).map { $0 < 0 } ?? false }
        case (.anyLte, .value(let literal)): return Self.elements(value).contains { Self.order($0, literal).map { $0 <= 0 } ?? false }
        case (.anyGt, .value(let literal)): return Self.elements(value).contains { Self.order($0, literal).map { $0 > 0 } ?? false }
        case (.anyGte, .value(let literal)): return Self.elements(value).contains { Self.order($0, literal).map { $0 >= 0 } ?? false }
        case (.glob, .glob(let pattern)), (.iGlob, .glob(let pattern)): return Self.strings(value).contains { pattern.matches($0) }
        case (.notGlob, .glob(let pattern)), (.notIGlob, .glob(let pattern)): return !Self.strings(value).contains { pattern.matches($0) }
        case (.regex, .regex(let regex)): return Self.strings(value).contains { regex.matches($0) }
        case (_, .tokens(let query)): return Self.matchesTokens(op, query, value)
        case (.fuzzy, .fuzzy(let query)):
            guard let distance = query.allowedDistance else { return false }
            return Self.strings(value).contains { Self.containsApproximately(query.query, in: Array($0.lowercased().unicodeScalars), distance: distance) }
        default: return false
        }
    }

    /// Token filters over the document's text, analyzed as the index analyzes it. An
    /// empty token list matches nothing (no token to find).
    static func matchesTokens(_ op: Filter.Operator, _ query: Filter.TokenQuery, _ value: AttributeValue?) -> Bool {
        guard !query.terms.isEmpty else { return false }
        let terms: [String]
        switch value {
        case .string(let text)?: terms = query.analyzer.terms(text)
        case .array?: terms = query.analyzer.terms(strings(value))
        default: return false
        }
        guard !terms.isEmpty else { return false }
        let present = Set(terms)
        func has(_ term: String, prefix: Bool) -> Bool {
            prefix ? terms.contains { $0.utf8.starts(with: term.utf8) } : present.contains(term)
        }
        let last = query.terms.count - 1
        switch op {
        case .containsAllTokens:
            return query.terms.enumerated().allSatisfy { has($1, prefix: query.lastAsPrefix && $0 == last) }
        case .containsAnyToken:
            return query.terms.enumerated().contains { has($1, prefix: query.lastAsPrefix && $0 == last) }
        case .containsTokenSequence:
            guard terms.count >= query.terms.count else { return false }
            return (0...(terms.count - query.terms.count)).contains { start in
                query.terms.indices.allSatisfy { terms[start + $0] == query.terms[$0] }
            }
        default: return false
        }
    }

    /// Whether some substring of `text` is within Levenshtein `distance` of `pattern`
    /// (Sellers' dynamic programme: a match may start anywhere, so row 0 stays 0).
    static func containsApproximately(_ pattern: [Unicode.Scalar], in text: [Unicode.Scalar], distance: Int) -> Bool {
        let m = pattern.count
        guard m > distance else { return true }
        var previous = Array(0...m)
        var current = previous
        for character in text {
            current[0] = 0
            for i in 1...m {
                let substitution = previous[i - 1] + (pattern[i - 1] == character ? 0 : 1)
                current[i] = min(substitution, previous[i] + 1, current[i - 1] + 1)
            }
            if current[m] <= distance { return true }
            swap(&previous, &current)
        }
        return false
    }

    static func equal(_ value: AttributeValue?, _ literal: AttributeValue?) -> Bool {
        switch (value, literal) {
        case (nil, nil): return true
        case (nil, _), (_, nil): return false
        case (let value?, let literal?): return AttributeValue.compare(value, literal) == 0
        }
    }

    static func order(_ value: AttributeValue?, _ literal: AttributeValue?) -> Int? {
        guard let value, let literal else { return nil }
        return AttributeValue.compare(value, literal)
    }

    /// An array's elements, or a scalar as a one-element collection.
    static func elements(_ value: AttributeValue?) -> [AttributeValue] {
        switch value {
        case nil: return []
        case .array(let values)?: return values
        case let scalar?: return [scalar]
        }
    }

    static func strings(_ value: AttributeValue?) -> [String] {
        elements(value).compactMap { if case .string(let string) = $0 { return string } else { return nil } }
    }
}
