/// A small XML reader for the object stores' response bodies (listings, multipart
/// results, errors): elements, text and the five predefined entities plus numeric
/// references. Attributes, namespaces and DTDs are ignored; malformed input is an error.
public struct XMLElement: Sendable, Equatable {
    public var name: String
    public var children: [XMLElement]
    public var text: String

    /// The first direct child called `name`.
    public func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    /// Every direct child called `name`.
    public func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }
    /// The text of the first direct child called `name`.
    public func value(_ name: String) -> String? { child(name)?.text }

    /// Parses a document and returns its root element.
    public static func parse(_ bytes: [UInt8]) throws -> XMLElement {
        var parser = Parser(bytes: bytes)
        return try parser.document()
    }

    struct Parser {
        let bytes: [UInt8]
        var index = 0

        struct Failure: Error, CustomStringConvertible {
            var description: String
        }

        mutating func document() throws -> XMLElement {
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw Failure(description: "XML document has no root element") }
                if startsWith("<?") { try skip(past: "?>") } else if startsWith("<!--") { try skip(past: "-->") }
                else if startsWith("<!") { try skip(past: ">") } else { break }
            }
            return try element()
        }

        mutating func element() throws -> XMLElement {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else { throw Failure(description: "expected an element at byte \(index)") }
            index += 1
            let name = readName()
            guard !name.isEmpty else { throw Failure(description: "empty element name at byte \(index)") }
            // attributes are skipped (quoted values may hold '>')
            var selfClosing = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    index += 1
                    while index < bytes.count && bytes[index] != byte { index += 1 }
                    index += 1
                } else if byte == UInt8(ascii: "/") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: ">") {
                    selfClosing = true
                    index += 2
                    break
                } else if byte == UInt8(ascii: ">") {
                    index += 1
                    break
                } else {
                    index += 1
                }
            }
            var result = XMLElement(name: Self.localName(name), children: [], text: "")
            if selfClosing { return result }
            var text: [UInt8] = []
            while true {
                guard index < bytes.count else { throw Failure(description: "element <\(name)> is not closed") }
                if bytes[index] == UInt8(ascii: "<") {
                    if startsWith("</") {
                        index += 2
                        let closing = readName()
                        guard closing == name else { throw Failure(description: "</\(closing)> closes <\(name)>") }
                        try skip(past: ">")
                        result.text = try Self.decodeEntities(text)
                        return result
                    } else if startsWith("<!--") {
                        try skip(past: "-->")
                    } else if startsWith("<![CDATA[") {
                        index += 9
                        let start = index
                        try skip(past: "]]>")
                        text.append(contentsOf: bytes[start..<(index - 3)])
                    } else {
                        result.children.append(try element())
                    }
                } else {
                    text.append(bytes[index])
                    index += 1
                }
            }
        }

        mutating func readName() -> String {
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: " ")
                    || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { break }
                index += 1
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        func startsWith(_ text: String) -> Bool {
            let pattern = Array(text.utf8)
            return index + pattern.count <= bytes.count && Array(bytes[index..<(index + pattern.count)]) == pattern
        }

        mutating func skip(past text: String) throws {
            let pattern = Array(text.utf8)
            while index + pattern.count <= bytes.count {
                if Array(bytes[index..<(index + pattern.count)]) == pattern { index += pattern.count; return }
                index += 1
            }
            throw Failure(description: "unterminated markup: no \(text)")
        }

        static func localName(_ name: String) -> String {
            if let colon = name.lastIndex(of: ":") { return String(name[name.index(after: colon)...]) }
            return name
        }

        static func decodeEntities(_ bytes: [UInt8]) throws -> String {
            guard bytes.contains(UInt8(ascii: "&")) else { return String(decoding: bytes, as: UTF8.self) }
            var out: [UInt8] = []
            var index = 0
            while index < bytes.count {
                guard bytes[index] == UInt8(ascii: "&") else { out.append(bytes[index]); index += 1; continue }
                guard let semicolon = bytes[index...].firstIndex(of: UInt8(ascii: ";")) else {
                    throw Failure(description: "unterminated entity reference")
                }
                let entity = String(decoding: bytes[(index + 1)..<semicolon], as: UTF8.self)
                switch entity {
                case "amp": out.append(UInt8(ascii: "&"))
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "apos": out.append(UInt8(ascii: "'"))
                default:
                    let scalarValue: UInt32?
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") { scalarValue = UInt32(entity.dropFirst(2), radix: 16) }
                    else if entity.hasPrefix("#") { scalarValue = UInt32(entity.dropFirst()) }
                    else { scalarValue = nil }
                    guard let value = scalarValue, let scalar = Unicode.Scalar(value) else {
                        throw Failure(description: "unknown entity &\(entity);")
                    }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                }
                index = semicolon + 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}

/// Escapes text for an XML element body.
func xmlEscape(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(character)
        }
    }
    return out
}
