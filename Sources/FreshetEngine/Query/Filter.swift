import Foundation
import FreshetText

/// A compiled filter: literals converted to the attribute's type, globs and regexes
/// compiled, shapes checked. Built once per request, evaluated per document.
public indirect enum Filter: Sendable {
    case and([Filter])
    case or([Filter])
    case not(Filter)
    case condition(Condition)

    public enum Operator: String, Sendable, CaseIterable {
        case eq = "Eq", notEq = "NotEq", `in` = "In", notIn = "NotIn"
        case lt = "Lt", lte = "Lte", gt = "Gt", gte = "Gte"
        case contains = "Contains", notContains = "NotContains"
        case containsAny = "ContainsAny", notContainsAny = "NotContainsAny"
        case anyLt = "AnyLt", anyLte = "AnyLte", anyGt = "AnyGt", anyGte = "AnyGte"
        case glob = "Glob", notGlob = "NotGlob", iGlob = "IGlob", notIGlob = "NotIGlob"
        case regex = "Regex"
        case containsAllTokens = "ContainsAllTokens", containsAnyToken = "ContainsAnyToken"
        case containsTokenSequence = "ContainsTokenSequence"
        case fuzzy = "Fuzzy"

        var isTokenMatch: Bool { self == .containsAllTokens || self == .containsAnyToken || self == .containsTokenSequence }
    }

    public enum Operand: Sendable {
        /// One literal; nil is JSON null.
        case value(AttributeValue?)
        /// A list literal (`In`, `ContainsAny`); nil elements are nulls.
        case values([AttributeValue?])
        /// `{"$ref_new": "attr"}`: the incoming document's value of `attr`.
        case referenceNew(String)
        case glob(GlobPattern)
        case regex(RegexBox)
        /// Token filters: the operand's terms under the attribute's analyzer, and
        /// whether the last one matches as a prefix.
        case tokens(TokenQuery)
        case fuzzy(FuzzyQuery)
    }

    /// A `Fuzzy` operand: the query (lowercased) and the edit distance allowed by its
    /// length — the rule with the largest `min_query_chars` not above it.
    public struct FuzzyQuery: Sendable {
        let query: [Unicode.Scalar]
        /// Ascending by `minimumCharacters`.
        let rules: [(minimumCharacters: Int, distance: Int)]

        var allowedDistance: Int? { rules.last { $0.minimumCharacters <= query.count }?.distance }
    }

    /// What a token filter looks for, analyzed like the attribute's text.
    public struct TokenQuery: Sendable {
        let analyzer: TextAnalyzer
        let terms: [String]
        let lastAsPrefix: Bool
        /// The `full_text_search` declaration the analyzer came from: the attribute's
        /// inverted index answers the filter only when it was built from the same one.
        let declaration: JSONValue
    }

    public struct Condition: Sendable {
        public var attribute: String
        public var op: Operator
        public var operand: Operand
    }

    public static let maxDepth = 64
    public static let maxConditions = 4096

    /// Compiles a filter against `schema`. `field` names the request field in errors.
    public static func compile(_ json: JSONValue, schema: NamespaceSchema, field: String, allowReferenceNew: Bool = false) throws -> Filter {
        var count = 0
        return try compile(json, schema: schema, field: field, depth: 0, count: &count, allowReferenceNew: allowReferenceNew)
    }

    private static func compile(_ json: JSONValue, schema: NamespaceSchema, field: String, depth: Int, count: inout Int, allowReferenceNew: Bool) throws -> Filter {
        if depth > maxDepth { throw EngineError.invalid("\(field): filters nest deeper than \(maxDepth) levels") }
        count += 1
        if count > maxConditions { throw EngineError.invalid("\(field): more than \(maxConditions) filter conditions") }
        guard case .array(let parts) = json, let head = parts.first?.stringValue else {
            throw EngineError.invalid("\(field): a filter is [attribute, operator, value], [\"And\", [filters]], [\"Or\", [filters]] or [\"Not\", filter]; got \(JSONWriter.string(json).prefix(80))")
        }
        if parts.count == 2, head == "And" || head == "Or" {
            guard case .array(let children) = parts[1] else {
                throw EngineError.invalid("\(field): \(head) takes a list of filters, e.g. [\"\(head)\", [[\"a\",\"Eq\",1], [\"b\",\"Eq\",2]]]")
            }
            let compiled = try children.enumerated().map {
                try compile($1, schema: schema, field: "\(field)[1][\($0)]", depth: depth + 1, count: &count, allowReferenceNew: allowReferenceNew)
            }
            return head == "And" ? .and(compiled) : .or(compiled)
        }
        if parts.count == 2, head == "Not" {
            return .not(try compile(parts[1], schema: schema, field: "\(field)[1]", depth: depth + 1, count: &count, allowReferenceNew: allowReferenceNew))
        }
        let takesOptions = parts.count > 1 && (parts[1].stringValue.flatMap(Operator.init(rawValue:)).map { $0.isTokenMatch || $0 == .fuzzy } ?? false)
        guard parts.count == 3 || (parts.count == 4 && takesOptions),
              let opName = parts[1].stringValue else {
            throw EngineError.invalid("\(field): a filter condition has three elements [attribute, operator, value]; got \(parts.count)")
        }
        guard let op = Operator(rawValue: opName) else {
            throw EngineError.invalid("\(field): unknown filter operator \"\(opName)\"; supported operators: \(Operator.allCases.map(\.rawValue).joined(separator: ", ")), And, Or, Not")
        }
        let attribute = head
        let attributeSchema = schema.attributes[attribute]
        if let op = Operator(rawValue: opName), op.isTokenMatch {
            return .condition(Condition(attribute: attribute, op: op, operand: .tokens(
                try tokenQuery(parts, schema: attributeSchema, field: field))))
        }
        // Regex, Glob and Fuzzy run on attributes declared for them even when those
        // declarations leave the attribute otherwise unfilterable.
        let declaredForOperator: Bool
        switch op {
        case .regex: declaredForOperator = attributeSchema?.regex == true
        case .glob, .notGlob, .iGlob, .notIGlob: declaredForOperator = attributeSchema?.glob == true
        case .fuzzy: declaredForOperator = attributeSchema?.fuzzy == true
        default: declaredForOperator = false
        }
        if let attributeSchema, !attributeSchema.isFilterable, !declaredForOperator {
            throw EngineError.invalid("\(field): attribute \(attribute) is not filterable; set \"filterable\": true in its schema")
        }
        if case .vector? = attributeSchema?.type {
            throw EngineError.invalid("\(field): vector attributes cannot be filtered")
        }
        let operandField = "\(field)[2]"
        if case .object(let object) = parts[2], let reference = object["$ref_new"] {
            guard allowReferenceNew else {
                throw EngineError.invalid("\(operandField): $ref_new is only allowed in upsert_condition, patch_condition and delete_condition")
            }
            guard case .string(let name) = reference, object.count == 1 else {
                throw EngineError.invalid("\(operandField): $ref_new takes an attribute name, e.g. {\"$ref_new\": \"version\"}")
            }
            return .condition(Condition(attribute: attribute, op: op, operand: .referenceNew(name)))
        }
        let elementType = Self.elementType(of: attribute, schema: schema)
        let operand: Operand
        switch op {
        case .in, .notIn, .containsAny, .notContainsAny:
            guard case .array(let values) = parts[2] else {
                throw EngineError.invalid("\(operandField): \(opName) takes an array of values")
            }
            operand = .values(try values.enumerated().map { try literal($1, type: elementType, field: "\(operandField)[\($0)]") })
        case .eq, .notEq:
            if case .array(let scalar)? = attributeSchema?.type, case .array = parts[2] {
                operand = .value(try AttributeValue.convert(parts[2], to: .array(scalar), field: operandField))
            } else {
                operand = .value(try literal(parts[2], type: elementType, field: operandField))
            }
        case .glob, .notGlob, .iGlob, .notIGlob:
            guard case .string(let pattern) = parts[2] else { throw EngineError.invalid("\(operandField): \(opName) takes a glob pattern string") }
            operand = .glob(GlobPattern(pattern, caseInsensitive: op == .iGlob || op == .notIGlob))
        case .regex:
            guard case .string(let pattern) = parts[2] else { throw EngineError.invalid("\(operandField): Regex takes a pattern string") }
            if attribute != "id", attributeSchema?.regex != true {
                throw EngineError.invalid("\(field): Regex filters need the attribute declared with \"regex\": true in the schema")
            }
            do {
                operand = .regex(RegexBox(try NSRegularExpression(pattern: pattern)))
            } catch {
                throw EngineError.invalid("\(operandField): invalid regular expression \"\(pattern)\"")
            }
        case .fuzzy:
            guard attributeSchema?.fuzzy == true else {
                throw EngineError.invalid("\(field): Fuzzy filters need the attribute declared with \"fuzzy\": true in the schema")
            }
            operand = .fuzzy(try fuzzyQuery(parts, field: field))
        default:
            operand = .value(try literal(parts[2], type: elementType, field: operandField))
        }
        return .condition(Condition(attribute: attribute, op: op, operand: operand))
    }

    /// The operand of ContainsAllTokens / ContainsAnyToken / ContainsTokenSequence,
    /// analyzed with the attribute's full-text options.
    private static func tokenQuery(_ parts: [JSONValue], schema: AttributeSchema?, field: String) throws -> TokenQuery {
        let name = parts[1].stringValue!
        guard let declaration = schema?.fullTextSearch else {
            throw EngineError.invalid("\(field): \(name) needs attribute \(parts[0].stringValue ?? "") declared with \"full_text_search\" in the schema")
        }
        let analyzer = TextAnalyzer(try TextSearchOptions.parse(declaration, field: field))
        var lastAsPrefix = false
        if parts.count == 4 {
            guard case .object(let options) = parts[3], options.keys.allSatisfy({ $0 == "last_as_prefix" }),
                  let flag = (options["last_as_prefix"] ?? .bool(false)).boolValue else {
                throw EngineError.invalid("\(field)[3]: \(name) options are {\"last_as_prefix\": true|false}")
            }
            guard name != "ContainsTokenSequence" || !flag else {
                throw EngineError.invalid("\(field)[3]: ContainsTokenSequence does not take last_as_prefix")
            }
            lastAsPrefix = flag
        }
        let terms: [String]
        switch parts[2] {
        case .string(let text): terms = analyzer.terms(text)
        case .array(let items):
            terms = analyzer.terms(try items.map {
                guard let token = $0.stringValue else { throw EngineError.invalid("\(field)[2]: \(name) takes a string or a list of strings") }
                return token
            })
        default:
            throw EngineError.invalid("\(field)[2]: \(name) takes a string or a list of strings, got \(parts[2].typeName)")
        }
        return TokenQuery(analyzer: analyzer, terms: terms, lastAsPrefix: lastAsPrefix, declaration: declaration)
    }

    /// `[attr, "Fuzzy", "query", {"max_edit_distance": [{"min_query_chars": 3, "distance": 0}, …]}]`.
    private static func fuzzyQuery(_ parts: [JSONValue], field: String) throws -> FuzzyQuery {
        let usage = "[attribute, \"Fuzzy\", \"query\", {\"max_edit_distance\": [{\"min_query_chars\": 3, \"distance\": 0}, {\"min_query_chars\": 6, \"distance\": 1}]}]"
        guard case .string(let query) = parts[2] else { throw EngineError.invalid("\(field)[2]: Fuzzy takes a query string; \(usage)") }
        guard parts.count == 4, case .object(let options) = parts[3], case .array(let entries)? = options["max_edit_distance"],
              options.count == 1, !entries.isEmpty else {
            throw EngineError.invalid("\(field): Fuzzy needs its max_edit_distance rules: \(usage)")
        }
        var rules: [(Int, Int)] = []
        for (index, entry) in entries.enumerated() {
            guard let minimum = entry["min_query_chars"]?.intValue, let distance = entry["distance"]?.intValue,
                  case .object(let object) = entry, object.count == 2 else {
                throw EngineError.invalid("\(field)[3].max_edit_distance[\(index)] must be {\"min_query_chars\": n, \"distance\": d}")
            }
            guard (0...2).contains(distance) else {
                throw EngineError.invalid("\(field)[3].max_edit_distance[\(index)].distance must be 0, 1 or 2")
            }
            guard minimum >= 3 * (distance + 1) else {
                throw EngineError.invalid("\(field)[3].max_edit_distance[\(index)]: min_query_chars must be at least 3 × (distance + 1) = \(3 * (distance + 1))")
            }
            rules.append((minimum, distance))
        }
        rules.sort { $0.0 < $1.0 }
        return FuzzyQuery(query: Array(query.lowercased().unicodeScalars), rules: rules.map { (minimumCharacters: $0.0, distance: $0.1) })
    }

    /// The scalar type literals compare against: the element type for arrays.
    private static func elementType(of attribute: String, schema: NamespaceSchema) -> ScalarType? {
        if attribute == "id" {
            switch schema.idType {
            case .uint?: return .uint
            case .uuid?: return .uuid
            case .string?: return .string
            case nil: return nil
            }
        }
        switch schema.attributes[attribute]?.type {
        case .scalar(let scalar)?, .array(let scalar)?: return scalar
        default: return nil
        }
    }

    private static func literal(_ json: JSONValue, type: ScalarType?, field: String) throws -> AttributeValue? {
        if case .null = json { return nil }
        if let type {
            // A float literal compared with an int attribute stays a float.
            if type == .int || type == .uint, case .double(let value) = json { return .float(value) }
            if type == .uint, case .int(let value) = json, value < 0 { return .int(value) }
            return try AttributeValue.convert(json, scalar: type, field: field)
        }
        guard let value = try AttributeValue.infer(json, field: field) else { return nil }
        return value
    }
}

/// A compiled regular expression that can cross concurrency domains (it is immutable).
public final class RegexBox: @unchecked Sendable {
    let expression: NSRegularExpression
    init(_ expression: NSRegularExpression) { self.expression = expression }

    func matches(_ string: String) -> Bool {
        expression.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) != nil
    }
}
