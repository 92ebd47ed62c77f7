import FreshetText
/// The declared or inferred schema of one attribute.
public struct AttributeSchema: Sendable, Equatable {
    public var type: AttributeType
    /// Whether filters may use the attribute; nil means the reference's default (true
    /// unless full-text search or regex is enabled).
    public var filterable: Bool?
    /// `true` or the full-text options object, kept as declared; the BM25 index reads it.
    public var fullTextSearch: JSONValue?
    /// Whether `Regex` filters may use the attribute.
    public var regex: Bool = false
    /// Whether `Glob` / `IGlob` filters have the attribute declared for them (they
    /// also run on a filterable attribute, as the reference allows for compatibility).
    public var glob: Bool = false
    /// Whether `Fuzzy` filters may use the attribute.
    public var fuzzy: Bool = false
    /// Whether the vector attribute is indexed for ANN (vectors only).
    public var ann: Bool?

    public init(type: AttributeType) { self.type = type }

    /// The reference's default: filterable unless full-text search, regex, glob or
    /// fuzzy matching is declared.
    public var isFilterable: Bool { filterable ?? (fullTextSearch == nil && !regex && !glob && !fuzzy) }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["type": .string(type.description)]
        if case .vector = type {
            object["ann"] = .bool(ann ?? true)
        } else {
            object["filterable"] = .bool(isFilterable)
            if let fullTextSearch { object["full_text_search"] = fullTextSearch }
            if regex { object["regex"] = .bool(true) }
            if glob { object["glob"] = .bool(true) }
            if fuzzy { object["fuzzy"] = .bool(true) }
        }
        return .object(object)
    }
}

/// A namespace's schema: its id type and every attribute's type and options.
public struct NamespaceSchema: Sendable, Equatable {
    public var idType: IDType?
    public var attributes: [String: AttributeSchema] = [:]

    public static let maxAttributes = 1024
    public static let vectorAttribute = "vector"

    public init() {}

    public var vectorType: (dimensions: Int, element: VectorElement)? {
        if case .vector(let dimensions, let element)? = attributes[Self.vectorAttribute]?.type { return (dimensions, element) }
        return nil
    }

    public var json: JSONValue {
        var object = attributes.mapValues(\.json)
        if let idType { object["id"] = .object(["type": .string(idType.rawValue)]) }
        return .object(object)
    }

    /// Checks an attribute name; `field` locates it for the error message.
    static func checkName(_ name: String, field: String) throws {
        if name.isEmpty { throw EngineError.invalid("\(field): attribute names must not be empty") }
        if name.utf8.count > 128 { throw EngineError.invalid("\(field): attribute name of \(name.utf8.count) bytes exceeds 128 bytes") }
        if name.hasPrefix("$") { throw EngineError.invalid("\(field): attribute name \"\(name)\" may not start with '$' (reserved for $dist and similar)") }
    }

    /// Applies a declared schema (`{attr: "type" | {type, options…}}`) on top of this one.
    /// New attributes are added; options may change in place; a type change is an error.
    mutating func apply(declared json: JSONValue) throws {
        guard case .object(let declared) = json else {
            throw EngineError.malformed("schema must be an object mapping attribute names to types, got \(json.typeName)")
        }
        for (name, spec) in declared.sorted(by: { $0.key < $1.key }) {
            let field = "schema.\(name)"
            if name == "id" {
                let typeName: String?
                switch spec {
                case .string(let text): typeName = text
                case .object(let object): typeName = object["type"]?.stringValue
                default: typeName = nil
                }
                guard let typeName, let type = IDType(rawValue: typeName) ?? (typeName == "u64" ? .uint : nil) else {
                    throw EngineError.invalid("\(field): id type must be one of uint, uuid, string")
                }
                if let idType, idType != type {
                    throw EngineError.invalid("\(field): this namespace already uses \(idType.rawValue) ids; the id type cannot change")
                }
                idType = type
                continue
            }
            try Self.checkName(name, field: field)
            var parsed: AttributeSchema
            switch spec {
            case .string(let text):
                parsed = AttributeSchema(type: try AttributeType.parse(text, field: field))
            case .object(let options):
                guard let typeText = options["type"]?.stringValue else {
                    if let existing = attributes[name] {
                        parsed = existing
                    } else {
                        throw EngineError.invalid("\(field): a new attribute needs a \"type\"")
                    }
                    try Self.applyOptions(options, to: &parsed, field: field)
                    attributes[name] = parsed
                    continue
                }
                parsed = AttributeSchema(type: try AttributeType.parse(typeText, field: "\(field).type"))
                if let existing = attributes[name] {
                    parsed.filterable = existing.filterable
                    parsed.fullTextSearch = existing.fullTextSearch
                    parsed.regex = existing.regex
                    parsed.glob = existing.glob
                    parsed.fuzzy = existing.fuzzy
                    parsed.ann = existing.ann
                }
                try Self.applyOptions(options, to: &parsed, field: field)
            default:
                throw EngineError.malformed("\(field) must be a type string or an options object, got \(spec.typeName)")
            }
            if case .vector = parsed.type, name != Self.vectorAttribute {
                throw EngineError.invalid("\(field): only the attribute named \"vector\" may have a vector type")
            }
            if name == Self.vectorAttribute, !{ if case .vector = parsed.type { return true } else { return false } }() {
                throw EngineError.invalid("\(field): the attribute \"vector\" must have a vector type such as [768]f32")
            }
            if let existing = attributes[name], existing.type != parsed.type {
                throw EngineError.invalid("\(field): attribute \(name) has type \(existing.type); changing it to \(parsed.type) is not allowed. Write to a new attribute, or copy into a new namespace")
            }
            if attributes[name] == nil, attributes.count >= Self.maxAttributes {
                throw EngineError.invalid("\(field): a namespace holds at most \(Self.maxAttributes) attributes")
            }
            attributes[name] = parsed
        }
    }

    private static func applyOptions(_ options: [String: JSONValue], to schema: inout AttributeSchema, field: String) throws {
        for (key, value) in options {
            switch key {
            case "type": continue
            case "filterable":
                guard let bool = value.boolValue else { throw EngineError.malformed("\(field).filterable must be a boolean") }
                schema.filterable = bool
            case "full_text_search":
                switch value {
                case .bool(false), .null: schema.fullTextSearch = nil
                case .bool(true), .object:
                    let options = try TextSearchOptions.parse(value, field: field)
                    if options.tokenizer == .preTokenizedArray, schema.type != .array(.string) {
                        throw EngineError.invalid("\(field): the pre_tokenized_array tokenizer needs a []string attribute, not \(schema.type)")
                    }
                    schema.fullTextSearch = value
                default: throw EngineError.malformed("\(field).full_text_search must be a boolean or an options object")
                }
                if schema.type != .scalar(.string), schema.type != .array(.string), schema.fullTextSearch != nil {
                    throw EngineError.invalid("\(field): full_text_search needs a string or []string attribute, not \(schema.type)")
                }
            case "regex", "glob", "fuzzy":
                guard let bool = value.boolValue else { throw EngineError.malformed("\(field).\(key) must be a boolean") }
                guard !bool || schema.type == .scalar(.string) || schema.type == .array(.string) else {
                    throw EngineError.invalid("\(field): \(key) needs a string or []string attribute, not \(schema.type)")
                }
                switch key {
                case "regex": schema.regex = bool
                case "glob": schema.glob = bool
                default: schema.fuzzy = bool
                }
            case "ann":
                guard let bool = value.boolValue else { throw EngineError.malformed("\(field).ann must be a boolean") }
                schema.ann = bool
            default:
                throw EngineError.invalid("\(field): unknown schema option \"\(key)\"; known options are type, filterable, full_text_search, regex, glob, fuzzy, ann")
            }
        }
    }
}
