/// A Unix-style glob: `*` any run, `?` one character, `[abc]`, `[a-z]`, `[!x]`/`[^x]`;
/// a backslash escapes the next character.
public struct GlobPattern: Sendable {
    enum Token: Sendable {
        case literal(Character)
        case any
        case star
        case set([ClosedRange<Character>], negated: Bool)
    }

    let tokens: [Token]
    let caseInsensitive: Bool

    /// The ASCII literal characters every match starts with (case-sensitive patterns
    /// only; ASCII, so a byte-order range holds every match): an index walks just the
    /// values with this prefix.
    var literalPrefix: String {
        guard !caseInsensitive else { return "" }
        var prefix = ""
        for token in tokens {
            guard case .literal(let character) = token, character.isASCII else { break }
            prefix.append(character)
        }
        return prefix
    }

    public init(_ pattern: String, caseInsensitive: Bool = false) {
        self.caseInsensitive = caseInsensitive
        let characters = Array(caseInsensitive ? pattern.lowercased() : pattern)
        var tokens: [Token] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "*":
                if case .star? = tokens.last {} else { tokens.append(.star) }
            case "?":
                tokens.append(.any)
            case "\\" where index + 1 < characters.count:
                index += 1
                tokens.append(.literal(characters[index]))
            case "[":
                if let (set, end) = Self.parseSet(characters, from: index) {
                    tokens.append(set)
                    index = end
                } else {
                    tokens.append(.literal("["))
                }
            default:
                tokens.append(.literal(character))
            }
            index += 1
        }
        self.tokens = tokens
    }

    private static func parseSet(_ characters: [Character], from start: Int) -> (Token, Int)? {
        var index = start + 1
        var negated = false
        if index < characters.count, characters[index] == "!" || characters[index] == "^" {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<Character>] = []
        var first = true
        while index < characters.count {
            let character = characters[index]
            if character == "]", !first { return (.set(ranges, negated: negated), index) }
            first = false
            if index + 2 < characters.count, characters[index + 1] == "-", characters[index + 2] != "]" {
                let low = character, high = characters[index + 2]
                if low <= high { ranges.append(low...high) }
                index += 3
            } else {
                ranges.append(character...character)
                index += 1
            }
        }
        return nil
    }

    public func matches(_ string: String) -> Bool {
        let text = Array(caseInsensitive ? string.lowercased() : string)
        var t = 0, p = 0
        var starP = -1, starT = 0
        while t < text.count {
            if p < tokens.count, matchesOne(tokens[p], text[t]) {
                t += 1
                p += 1
            } else if p < tokens.count, case .star = tokens[p] {
                starP = p
                starT = t
                p += 1
            } else if starP >= 0 {
                p = starP + 1
                starT += 1
                t = starT
            } else {
                return false
            }
        }
        while p < tokens.count, case .star = tokens[p] { p += 1 }
        return p == tokens.count
    }

    private func matchesOne(_ token: Token, _ character: Character) -> Bool {
        switch token {
        case .literal(let literal): return literal == character
        case .any: return true
        case .star: return false
        case .set(let ranges, let negated): return ranges.contains { $0.contains(character) } != negated
        }
    }
}
