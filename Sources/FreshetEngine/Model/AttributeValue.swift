import Foundation

/// A typed attribute value. A missing or null attribute is simply absent from a
/// document, never stored.
public enum AttributeValue: Hashable, Sendable {
    case string(String)
    case int(Int64)
    case uint(UInt64)
    case float(Double)
    case uuid(UUID)
    /// Milliseconds since the Unix epoch, UTC.
    case datetime(Int64)
    case bool(Bool)
    case array([AttributeValue])

    var isNumber: Bool {
        switch self {
        case .int, .uint, .float: return true
        default: return false
        }
    }

    /// The JSON the API returns for this value.
    public var json: JSONValue {
        switch self {
        case .string(let value): return .string(value)
        case .int(let value): return .int(value)
        case .uint(let value): return value <= UInt64(Int64.max) ? .int(Int64(value)) : .uint(value)
        case .float(let value): return .double(value)
        case .uuid(let value): return .string(value.uuidString.lowercased())
        case .datetime(let value): return .string(DateTimeFormat.format(milliseconds: value))
        case .bool(let value): return .bool(value)
        case .array(let values): return .array(values.map(\.json))
        }
    }

    /// The type this value would be inferred as when no schema declares it.
    var inferredType: AttributeType? {
        switch self {
        case .string: return .scalar(.string)
        case .int: return .scalar(.int)
        case .uint: return .scalar(.uint)
        case .float: return .scalar(.float)
        case .uuid: return .scalar(.uuid)
        case .datetime: return .scalar(.datetime)
        case .bool: return .scalar(.bool)
        case .array(let values):
            guard let first = values.first, case .scalar(let scalar)? = first.inferredType else { return nil }
            return .array(scalar)
        }
    }

    /// An approximate in-memory size, for `approx_logical_bytes`.
    var logicalBytes: Int {
        switch self {
        case .string(let value): return value.utf8.count
        case .int, .uint, .float, .datetime: return 8
        case .uuid: return 16
        case .bool: return 1
        case .array(let values): return values.reduce(0) { $0 + $1.logicalBytes }
        }
    }

    /// Orders two values of comparable types; nil when they cannot be compared.
    /// Numbers compare across int, uint and float.
    public static func compare(_ a: AttributeValue, _ b: AttributeValue) -> Int? {
        func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x == y ? 0 : 1) }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : (x == y ? 0 : 1)
        case (.int(let x), .int(let y)): return sign(x, y)
        case (.uint(let x), .uint(let y)): return sign(x, y)
        case (.int(let x), .uint(let y)): return x < 0 ? -1 : sign(UInt64(x), y)
        case (.uint(let x), .int(let y)): return y < 0 ? 1 : sign(x, UInt64(y))
        case (.float(let x), .float(let y)): return sign(x, y)
        case (.float(let x), .int(let y)): return sign(x, Double(y))
        case (.int(let x), .float(let y)): return sign(Double(x), y)
        case (.float(let x), .uint(let y)): return sign(x, Double(y))
        case (.uint(let x), .float(let y)): return sign(Double(x), y)
        case (.uuid(let x), .uuid(let y)): return sign(x.uuidString, y.uuidString)
        case (.datetime(let x), .datetime(let y)): return sign(x, y)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (x ? 1 : -1)
        case (.array(let x), .array(let y)):
            for (p, q) in zip(x, y) {
                guard let order = compare(p, q) else { return nil }
                if order != 0 { return order }
            }
            return sign(x.count, y.count)
        default: return nil
        }
    }

    /// Converts JSON to a value of `type`. `field` names the attribute in errors.
    /// Returns nil for JSON null (the attribute is absent).
    public static func convert(_ json: JSONValue, to type: AttributeType, field: String) throws -> AttributeValue? {
        if case .null = json { return nil }
        switch type {
        case .scalar(let scalar):
            return try convert(json, scalar: scalar, field: field)
        case .array(let scalar):
            guard case .array(let elements) = json else {
                throw EngineError.invalid("\(field) has type []\(scalar.rawValue); got \(json.typeName). Send a JSON array, or change the schema")
            }
            return .array(try elements.enumerated().map { index, element in
                guard let value = try convert(element, scalar: scalar, field: "\(field)[\(index)]") else {
                    throw EngineError.invalid("\(field)[\(index)] is null; array elements must not be null")
                }
                return value
            })
        case .vector:
            throw EngineError.invalid("\(field) is a vector attribute; only the attribute named \"vector\" may hold vectors")
        }
    }

    static func convert(_ json: JSONValue, scalar: ScalarType, field: String) throws -> AttributeValue? {
        func mismatch() -> EngineError {
            EngineError.invalid("\(field) has type \(scalar.rawValue); got \(json.typeName) \(JSONWriter.string(json).prefix(40)). Send a \(scalar.rawValue), or use another attribute name")
        }
        switch (scalar, json) {
        case (_, .null): return nil
        case (.string, .string(let value)): return .string(value)
        case (.int, .int(let value)): return .int(value)
        case (.int, .double(let value)):
            guard let exact = Int64(exactly: value) else { throw mismatch() }
            return .int(exact)
        case (.uint, .int(let value)):
            guard value >= 0 else { throw EngineError.invalid("\(field) has type uint; got negative \(value)") }
            return .uint(UInt64(value))
        case (.uint, .uint(let value)): return .uint(value)
        case (.int, .uint(let value)):
            throw EngineError.invalid("\(field) has type int; \(value) exceeds its range. Declare the attribute as uint")
        case (.float, .int(let value)): return .float(Double(value))
        case (.float, .uint(let value)): return .float(Double(value))
        case (.float, .double(let value)): return .float(value)
        case (.bool, .bool(let value)): return .bool(value)
        case (.uuid, .string(let value)):
            guard let uuid = UUID(uuidString: value) else { throw EngineError.invalid("\(field) has type uuid; \"\(value)\" is not a UUID") }
            return .uuid(uuid)
        case (.datetime, .string(let value)):
            guard let milliseconds = DateTimeFormat.parse(value) else {
                throw EngineError.invalid("\(field) has type datetime; \"\(value)\" is not an RFC 3339 date-time such as 2024-03-15T10:30:45Z")
            }
            return .datetime(milliseconds)
        case (.datetime, .int(let value)): return .datetime(value)
        default: throw mismatch()
        }
    }

    /// Infers a value from JSON when no type is declared: strings, integers, floats,
    /// booleans and arrays of one of them. Returns nil for null.
    static func infer(_ json: JSONValue, field: String) throws -> AttributeValue? {
        switch json {
        case .null: return nil
        case .string(let value): return .string(value)
        case .int(let value): return .int(value)
        case .uint(let value): return .uint(value)
        case .double(let value): return .float(value)
        case .bool(let value): return .bool(value)
        case .array(let elements):
            guard let first = elements.first(where: { $0 != .null }) else { return .array([]) }
            let scalar: ScalarType
            switch first {
            case .string: scalar = .string
            case .int, .uint:
                scalar = elements.contains { if case .double = $0 { return true } else { return false } } ? .float : .int
            case .double: scalar = .float
            case .bool: scalar = .bool
            default: throw EngineError.invalid("\(field): arrays may hold strings, numbers or booleans, not \(first.typeName)s")
            }
            return try convert(json, to: .array(scalar), field: field)
        case .object:
            throw EngineError.invalid("\(field): attribute values may not be JSON objects; flatten the object into separate attributes")
        }
    }
}

/// RFC 3339 date-times with optional fractional seconds, always written in UTC.
enum DateTimeFormat {
    static func parse(_ text: String) -> Int64? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        let dateOnly = ISO8601DateFormatter()
        dateOnly.formatOptions = [.withFullDate]
        if let date = dateOnly.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        return nil
    }

    static func format(milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
