import Foundation

/// A stored document: id, optional vector, typed attributes (absent means null).
public struct Document: Sendable, Equatable {
    public var id: DocumentID
    public var vector: [Float]?
    public var attributes: [String: AttributeValue]

    public init(id: DocumentID, vector: [Float]? = nil, attributes: [String: AttributeValue] = [:]) {
        self.id = id
        self.vector = vector
        self.attributes = attributes
    }

    /// The attribute as filters see it: `id` is an attribute too.
    public func value(of attribute: String) -> AttributeValue? {
        if attribute == "id" {
            switch id {
            case .uint(let value): return .uint(value)
            case .uuid(let value): return .uuid(value)
            case .string(let value): return .string(value)
            }
        }
        return attributes[attribute]
    }

    /// Approximate bytes of user data, for `approx_logical_bytes` and billing.
    var logicalBytes: Int {
        let idBytes: Int
        switch id {
        case .uint: idBytes = 8
        case .uuid: idBytes = 16
        case .string(let value): idBytes = value.utf8.count
        }
        return idBytes + (vector?.count ?? 0) * 4 + attributes.reduce(0) { $0 + $1.key.utf8.count + $1.value.logicalBytes }
    }
}

/// Parsing vectors from the wire: JSON arrays of numbers or base64 little-endian floats.
enum VectorCodec {
    static func parse(_ json: JSONValue, element: VectorElement, field: String) throws -> [Float] {
        switch json {
        case .array(let values):
            var vector = [Float]()
            vector.reserveCapacity(values.count)
            for (index, value) in values.enumerated() {
                guard let number = value.numberValue else {
                    throw EngineError.invalid("\(field)[\(index)] must be a number, got \(value.typeName)")
                }
                vector.append(Float(number))
            }
            return element == .f16 ? roundToHalf(vector) : vector
        case .string(let text):
            guard let data = Data(base64Encoded: text) else {
                throw EngineError.invalid("\(field) is a string but not valid base64; send an array of numbers or base64 of little-endian \(element.rawValue) values")
            }
            let width = element == .f16 ? 2 : 4
            guard data.count % width == 0 else {
                throw EngineError.invalid("\(field): base64 vector of \(data.count) bytes is not a whole number of \(element.rawValue) values")
            }
            return data.withUnsafeBytes { raw in
                (0..<(data.count / width)).map { index in
                    if width == 4 {
                        return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
                    }
                    return Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))))
                }
            }
        default:
            throw EngineError.invalid("\(field) must be an array of numbers or a base64 string, got \(json.typeName)")
        }
    }

    static func roundToHalf(_ vector: [Float]) -> [Float] { vector.map { Float(Float16($0)) } }

    /// Checks finiteness and dimension against the namespace's vector type.
    static func check(_ vector: [Float], dimensions: Int?, field: String) throws {
        if vector.isEmpty { throw EngineError.invalid("\(field) is empty; vectors need at least one dimension") }
        if vector.count > AttributeType.maxDimensions {
            throw EngineError.invalid("\(field) has \(vector.count) dimensions; the limit is \(AttributeType.maxDimensions)")
        }
        if let dimensions, vector.count != dimensions {
            throw EngineError.invalid("\(field) has \(vector.count) dimensions but this namespace's vectors have \(dimensions); send \(dimensions)-dimensional vectors or use another namespace")
        }
        if let bad = vector.firstIndex(where: { !$0.isFinite }) {
            throw EngineError.invalid("\(field)[\(bad)] is not a finite number")
        }
    }

    static func base64(_ vector: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(vector.count * 4)
        for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return Data(bytes).base64EncodedString()
    }
}
