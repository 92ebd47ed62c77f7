/// A scalar attribute type of the reference API.
public enum ScalarType: String, Sendable, CaseIterable {
    case string, int, uint, float, uuid, datetime, bool
}

/// The element type of a vector attribute.
public enum VectorElement: String, Sendable {
    case f32, f16
}

/// An attribute's type: a scalar, an array of scalars, or a fixed-size vector.
public enum AttributeType: Hashable, Sendable, CustomStringConvertible {
    case scalar(ScalarType)
    case array(ScalarType)
    case vector(dimensions: Int, element: VectorElement)

    /// The reference's spelling: `string`, `[]int`, `[768]f32`.
    public var description: String {
        switch self {
        case .scalar(let type): return type.rawValue
        case .array(let type): return "[]" + type.rawValue
        case .vector(let dimensions, let element): return "[\(dimensions)]\(element.rawValue)"
        }
    }

    public static let maxDimensions = 10_752

    /// Parses the reference's spelling; throws a message listing the valid types.
    public static func parse(_ text: String, field: String) throws -> AttributeType {
        if let scalar = ScalarType(rawValue: text) { return .scalar(scalar) }
        if text.hasPrefix("[]"), let scalar = ScalarType(rawValue: String(text.dropFirst(2))) { return .array(scalar) }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let digits = text[text.index(after: text.startIndex)..<close]
            let element = text[text.index(after: close)...]
            if let dimensions = Int(digits), let element = VectorElement(rawValue: String(element)) {
                guard (1...maxDimensions).contains(dimensions) else {
                    throw EngineError.invalid("\(field): vector dimension \(dimensions) is outside 1...\(maxDimensions)")
                }
                return .vector(dimensions: dimensions, element: element)
            }
        }
        throw EngineError.invalid("\(field): unknown type \"\(text)\"; use one of string, int, uint, float, uuid, datetime, bool, an array such as []string, or a vector such as [768]f32 or [768]f16")
    }
}
