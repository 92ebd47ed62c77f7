import FreshetStorage
import Foundation

/// Binary encoding of documents inside WAL entries and snapshots.
extension BinaryWriter {
    mutating func documentID(_ id: DocumentID) {
        switch id {
        case .uint(let value):
            u8(0)
            u64(value)
        case .uuid(let value):
            u8(1)
            withUnsafeBytes(of: value.uuid) { bytes.append(contentsOf: $0) }
        case .string(let value):
            u8(2)
            string(value)
        }
    }

    mutating func attribute(_ value: AttributeValue) {
        switch value {
        case .string(let string): u8(1); self.string(string)
        case .int(let int): u8(2); i64(int)
        case .uint(let uint): u8(3); u64(uint)
        case .float(let double): u8(4); f64(double)
        case .uuid(let uuid): u8(5); withUnsafeBytes(of: uuid.uuid) { bytes.append(contentsOf: $0) }
        case .datetime(let milliseconds): u8(6); i64(milliseconds)
        case .bool(let bool): u8(7); u8(bool ? 1 : 0)
        case .array(let values):
            u8(8)
            u32(UInt32(values.count))
            for element in values { attribute(element) }
        }
    }

    mutating func document(_ document: Document) {
        documentID(document.id)
        if let vector = document.vector { floats(vector) } else { u32(0) }
        u32(UInt32(document.attributes.count))
        for (name, value) in document.attributes.sorted(by: { $0.key < $1.key }) {
            string(name)
            attribute(value)
        }
    }
}

extension BinaryReader {
    mutating func documentID() throws -> DocumentID {
        switch try u8() {
        case 0: return .uint(try u64())
        case 1: return .uuid(try uuid())
        case 2: return .string(try string())
        case let tag: throw EngineError(.corruptData, "\(what): unknown id tag \(tag) at byte \(position)")
        }
    }

    mutating func uuid() throws -> UUID {
        var bytes: [UInt8] = []
        for _ in 0..<16 { bytes.append(try u8()) }
        return bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    mutating func attribute(depth: Int = 0) throws -> AttributeValue {
        switch try u8() {
        case 1: return .string(try string())
        case 2: return .int(try i64())
        case 3: return .uint(try u64())
        case 4: return .float(try f64())
        case 5: return .uuid(try uuid())
        case 6: return .datetime(try i64())
        case 7: return .bool(try u8() != 0)
        case 8:
            guard depth == 0 else { throw EngineError(.corruptData, "\(what): nested array at byte \(position)") }
            let count = Int(try u32())
            var values: [AttributeValue] = []
            values.reserveCapacity(min(count, 1 << 16))
            for _ in 0..<count { values.append(try attribute(depth: 1)) }
            return .array(values)
        case let tag: throw EngineError(.corruptData, "\(what): unknown attribute tag \(tag) at byte \(position)")
        }
    }

    mutating func document() throws -> Document {
        let id = try documentID()
        let vector = try floats()
        let count = Int(try u32())
        var attributes: [String: AttributeValue] = [:]
        attributes.reserveCapacity(count)
        for _ in 0..<count {
            let name = try string()
            attributes[name] = try attribute()
        }
        return Document(id: id, vector: vector.isEmpty ? nil : vector, attributes: attributes)
    }
}
