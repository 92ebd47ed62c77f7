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
        default: return false
        }
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
