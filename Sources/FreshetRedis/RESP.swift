import NIOCore

/// A RESP2 value as Redis sends it.
public enum RESPValue: Sendable, Equatable {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk([UInt8]?)
    case array([RESPValue]?)

    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): return bytes
        case .simple(let text): return Array(text.utf8)
        default: return nil
        }
    }
}

/// RESP2 framing: commands out as arrays of bulk strings, replies in as values.
public enum RESP {
    /// `*N\r\n$len\r\narg\r\n…`
    public static func encode(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.count)\r\n")
            buffer.writeBytes(argument)
            buffer.writeString("\r\n")
        }
    }

    struct ProtocolError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses one value from the front of `buffer`, consuming it; nil (and nothing
    /// consumed) when the value has not fully arrived.
    public static func parse(_ buffer: inout ByteBuffer) throws -> RESPValue? {
        var copy = buffer
        guard let value = try parseValue(&copy) else { return nil }
        buffer = copy
        return value
    }

    static func parseValue(_ buffer: inout ByteBuffer) throws -> RESPValue? {
        guard let marker = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard let line = readLine(&buffer, skipping: 1) else { return nil }
        switch marker {
        case UInt8(ascii: "+"): return .simple(line)
        case UInt8(ascii: "-"): return .error(line)
        case UInt8(ascii: ":"):
            guard let value = Int(line) else { throw ProtocolError(description: "bad RESP integer \(line)") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = Int(line) else { throw ProtocolError(description: "bad RESP bulk length \(line)") }
            if length < 0 { return .bulk(nil) }
            guard buffer.readableBytes >= length + 2 else { return nil }
            let bytes = buffer.readBytes(length: length)!
            buffer.moveReaderIndex(forwardBy: 2)
            return .bulk(bytes)
        case UInt8(ascii: "*"):
            guard let count = Int(line) else { throw ProtocolError(description: "bad RESP array length \(line)") }
            if count < 0 { return .array(nil) }
            var elements: [RESPValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count {
                guard let element = try parseValue(&buffer) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw ProtocolError(description: "unknown RESP type byte \(marker)")
        }
    }

    /// Reads up to CRLF after skipping `skipping` bytes; nil if no CRLF yet.
    static func readLine(_ buffer: inout ByteBuffer, skipping: Int) -> String? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")), cr + 1 < view.endIndex,
              view[cr + 1] == UInt8(ascii: "\n") else { return nil }
        let start = view.startIndex + skipping
        let text = String(decoding: view[start..<cr], as: UTF8.self)
        buffer.moveReaderIndex(to: cr + 2)
        return text
    }
}
