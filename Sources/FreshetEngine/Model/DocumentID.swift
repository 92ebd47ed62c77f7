import Foundation

/// The kind of id a namespace uses; fixed by its first write (or declared schema).
public enum IDType: String, Sendable, Codable, CaseIterable {
    case uint, uuid, string
}

/// A document id: an unsigned 64-bit integer, a UUID, or a string of at most 64 bytes.
public enum DocumentID: Hashable, Comparable, Sendable, CustomStringConvertible {
    case uint(UInt64)
    case uuid(UUID)
    case string(String)

    public static let maxStringBytes = 64

    public var type: IDType {
        switch self {
        case .uint: return .uint
        case .uuid: return .uuid
        case .string: return .string
        }
    }

    public var description: String {
        switch self {
        case .uint(let value): return String(value)
        case .uuid(let value): return value.uuidString.lowercased()
        case .string(let value): return value
        }
    }

    public var json: JSONValue {
        switch self {
        case .uint(let value): return value <= UInt64(Int64.max) ? .int(Int64(value)) : .uint(value)
        case .uuid, .string: return .string(description)
        }
    }

    public static func < (lhs: DocumentID, rhs: DocumentID) -> Bool {
        switch (lhs, rhs) {
        case (.uint(let a), .uint(let b)): return a < b
        case (.string(let a), .string(let b)): return a.utf8.lexicographicallyPrecedes(b.utf8)
        case (.uuid(let a), .uuid(let b)): return withUnsafeBytes(of: a.uuid) { x in withUnsafeBytes(of: b.uuid) { y in x.lexicographicallyPrecedes(y) } }
        default: return lhs.type.rank < rhs.type.rank
        }
    }

    /// Parses an id from JSON for a namespace whose ids are `expected` (nil: not fixed yet).
    /// - Parameter field: where the id came from, for the error message.
    public static func parse(_ json: JSONValue, expected: IDType?, field: String) throws -> DocumentID {
        switch json {
        case .int(let value):
            guard value >= 0 else { throw EngineError.invalid("\(field): id \(value) is negative; integer ids must be unsigned 64-bit") }
            return try check(.uint(UInt64(value)), expected: expected, field: field)
        case .uint(let value):
            return try check(.uint(value), expected: expected, field: field)
        case .string(let value):
            if expected == .uuid {
                guard let uuid = UUID(uuidString: value) else {
                    throw EngineError.invalid("\(field): id \"\(value)\" is not a UUID; this namespace uses uuid ids")
                }
                return .uuid(uuid)
            }
            if value.isEmpty { throw EngineError.invalid("\(field): id must not be an empty string") }
            if value.utf8.count > maxStringBytes {
                throw EngineError.invalid("\(field): string id of \(value.utf8.count) bytes exceeds the \(maxStringBytes)-byte limit; use a shorter id or a hash of it")
            }
            return try check(.string(value), expected: expected, field: field)
        case .double(let value):
            throw EngineError.invalid("\(field): id \(value) is not an integer; ids are unsigned integers, UUIDs or strings")
        default:
            throw EngineError.malformed("\(field): id must be an unsigned integer or a string, got \(json.typeName)")
        }
    }

    private static func check(_ id: DocumentID, expected: IDType?, field: String) throws -> DocumentID {
        if let expected, expected != id.type {
            throw EngineError.invalid("\(field): id \(id) is a \(id.type.rawValue) but this namespace uses \(expected.rawValue) ids; one id type per namespace")
        }
        return id
    }
}

extension IDType {
    var rank: Int {
        switch self {
        case .uint: return 0
        case .uuid: return 1
        case .string: return 2
        }
    }
}
