import Foundation

/// How text attributes are cut into terms: the schema's `full_text_search` options.
public struct TextAnalyzerOptions: Sendable, Equatable {
    public enum Tokenizer: String, Sendable, CaseIterable {
        /// Runs of letters and digits; emoji dropped; ideographs join runs.
        case wordV0 = "word_v0"
        /// As v0, with emoji kept as tokens.
        case wordV1 = "word_v1"
        /// Runs of letters and digits (an underscore separates), each ideograph and each
        /// emoji a token of its own.
        case wordV2 = "word_v2"
        /// Unicode word segmentation (UAX #29's word rules): as v2, and a word also
        /// continues across an apostrophe or period between letters ("don't", "e.g")
        /// and a comma or period between digits ("3.14", "1,000").
        case wordV3 = "word_v3"
        /// The newest word tokenizer; segments as v3.
        case wordV4 = "word_v4"
        /// The attribute is a list whose elements are the tokens, used verbatim.
        case preTokenizedArray = "pre_tokenized_array"

        var joinsAcrossPunctuation: Bool { self == .wordV3 || self == .wordV4 }
        var keepsEmoji: Bool { self != .wordV0 }
        var ideographsAreWords: Bool { self != .wordV0 && self != .wordV1 }
    }

    /// Languages the reference names. Tokenizing is language-independent; every
    /// language has its Snowball stemmer (`stem`), and its stop words where
    /// `StopWords.list(for:)` has a list.
    public enum Language: String, Sendable, CaseIterable {
        case arabic, danish, dutch, english, finnish, french, german, greek, hungarian, italian
        case norwegian, portuguese, romanian, russian, spanish, swedish, tamil, turkish

        /// `word` (lowercased) reduced by the language's Snowball stemmer.
        public func stem(_ word: String) -> String {
            switch self {
            case .arabic: ArabicStemmer.stem(word)
            case .danish: DanishStemmer.stem(word)
            case .dutch: DutchStemmer.stem(word)
            case .english: EnglishStemmer.stem(word)
            case .finnish: FinnishStemmer.stem(word)
            case .french: FrenchStemmer.stem(word)
            case .german: GermanStemmer.stem(word)
            case .greek: GreekStemmer.stem(word)
            case .hungarian: HungarianStemmer.stem(word)
            case .italian: ItalianStemmer.stem(word)
            case .norwegian: NorwegianStemmer.stem(word)
            case .portuguese: PortugueseStemmer.stem(word)
            case .romanian: RomanianStemmer.stem(word)
            case .russian: RussianStemmer.stem(word)
            case .spanish: SpanishStemmer.stem(word)
            case .swedish: SwedishStemmer.stem(word)
            case .tamil: TamilStemmer.stem(word)
            case .turkish: TurkishStemmer.stem(word)
            }
        }

    }

    public var tokenizer = Tokenizer.wordV3
    public var language = Language.english
    public var stemming = false
    public var removeStopwords = false
    public var caseSensitive = false
    public var asciiFolding = false
    /// Tokens longer than this many UTF-8 bytes are dropped (1–254).
    public var maxTokenLength = 39
    public var k1 = 1.2
    public var b = 0.75
    /// Saturation of repeated query terms: a term given q times weighs q(k3+1)/(q+k3).
    public var k3 = 8.0

    public init() {}
}

/// Cuts text into the terms an inverted index stores and a query looks up. Both
/// sides use the same analyzer, so a term matches exactly what was indexed.
public struct TextAnalyzer: Sendable {
    /// Bumped whenever the terms the same options produce change (2: the reference's
    /// stop-word lists, stop words on by default), so indexes stored by an older
    /// analyzer are rebuilt rather than queried with different terms.
    public static let version: UInt8 = 2

    public let options: TextAnalyzerOptions

    public init(_ options: TextAnalyzerOptions = TextAnalyzerOptions()) { self.options = options }

    /// Terms of `text` in order (positions are array indices; dropped stop words and
    /// over-long tokens leave no gap, like the reference's phrase matching).
    public func terms(_ text: String) -> [String] {
        if options.tokenizer == .preTokenizedArray { return [text] }
        var out: [String] = []
        out.reserveCapacity(text.utf8.count / 6)
        TextAnalyzer.segment(text, tokenizer: options.tokenizer) { token in
            if let term = normalize(token) { out.append(term) }
        }
        return out
    }

    /// Terms of a value that is a list of strings: each element analyzed (or, for the
    /// pre-tokenized tokenizer, taken as one term) and the results concatenated.
    public func terms(_ values: [String]) -> [String] {
        if options.tokenizer == .preTokenizedArray { return values }
        return values.flatMap { terms($0) }
    }

    /// Lowercasing, length limit, stop words, stemming, then ASCII folding (the
    /// reference's order) for one token; nil when the token is dropped.
    public func normalize(_ token: Substring) -> String? {
        guard token.utf8.count <= options.maxTokenLength else { return nil }
        var term = options.caseSensitive ? String(token) : TextAnalyzer.lowercase(token)
        if options.removeStopwords, let stopWords = StopWords.list(for: options.language),
           stopWords.contains(options.caseSensitive ? term.lowercased() : term) { return nil }
        if options.stemming { term = options.language.stem(term) }
        if options.asciiFolding { term = TextAnalyzer.foldToASCII(term) }
        return term.isEmpty ? nil : term
    }

    /// Lowercase with an ASCII fast path.
    static func lowercase(_ token: Substring) -> String {
        var ascii = true
        var hasUpper = false
        for byte in token.utf8 {
            if byte >= 0x80 { ascii = false; break }
            if byte >= 0x41 && byte <= 0x5A { hasUpper = true }
        }
        if ascii {
            guard hasUpper else { return String(token) }
            return String(decoding: token.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        return token.lowercased()
    }

    // MARK: segmentation

    private enum Kind { case letter, digit, extend, ideograph, emoji, midLetter, midNum, midNumLet, other }

    private static func kind(_ scalar: Unicode.Scalar) -> Kind {
        let value = scalar.value
        if value < 0x80 {
            switch value {
            case 0x30...0x39: return .digit
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x5F: return .extend  // connector: joins like a letter
            case 0x27, 0x2E: return .midNumLet  // ' .
            case 0x3A: return .midLetter  // :
            case 0x2C, 0x3B: return .midNum  // , ;
            default: return .other
            }
        }
        switch value {
        case 0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E: return .midNumLet
        case 0x00B7, 0x0387, 0x05F4, 0x2027, 0xFE13, 0xFE55, 0xFF1A: return .midLetter
        case 0x066C, 0xFE50, 0xFE54, 0xFF0C, 0xFF1B: return .midNum
        default: break
        }
        let properties = scalar.properties
        if properties.isIdeographic { return .ideograph }
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return .digit
        case .nonspacingMark, .spacingMark, .enclosingMark, .format: return .extend
        case .connectorPunctuation: return .extend
        default: break
        }
        if properties.isAlphabetic { return .letter }
        if properties.isEmojiPresentation || (properties.isEmoji && value >= 0x2100) { return .emoji }
        return .other
    }

    /// Scalars that continue an emoji into one glyph: joiner, variation selectors,
    /// skin tones, tag characters.
    private static func continuesEmoji(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x200D, 0xFE0E, 0xFE0F, 0x1F3FB...0x1F3FF, 0xE0020...0xE007F, 0x20E3: return true
        default: return false
        }
    }

    /// Calls `body` with each word of `text` as `tokenizer` cuts it: runs of letters,
    /// digits and joiners; ideographs and emoji as words of their own (see
    /// `Tokenizer` for what each version keeps).
    public static func segment(_ text: String, tokenizer: TextAnalyzerOptions.Tokenizer = .wordV3, _ body: (Substring) -> Void) {
        let scalars = text.unicodeScalars
        let joins = tokenizer.joinsAcrossPunctuation
        var index = scalars.startIndex
        var start: String.UnicodeScalarView.Index?
        var previous = Kind.other
        func flush(_ end: String.UnicodeScalarView.Index) {
            if let begin = start { body(Substring(scalars[begin..<end])) }
            start = nil
        }
        while index < scalars.endIndex {
            let scalar = scalars[index]
            var current = kind(scalar)
            if current == .ideograph, !tokenizer.ideographsAreWords { current = .letter }
            // The underscore joins words only under UAX #29 (it is not alphanumeric).
            if scalar == "_", !joins { current = .other }
            switch current {
            case .letter, .digit, .extend:
                if start == nil { start = index }
                if current != .extend || start == index { previous = current }
                index = scalars.index(after: index)
            case .ideograph:
                flush(index)
                let next = scalars.index(after: index)
                body(Substring(scalars[index..<next]))
                index = next
                previous = .other
            case .emoji:
                flush(index)
                var next = scalars.index(after: index)
                while next < scalars.endIndex, continuesEmoji(scalars[next]) {
                    let joiner = scalars[next].value == 0x200D
                    next = scalars.index(after: next)
                    if joiner, next < scalars.endIndex, kind(scalars[next]) == .emoji { next = scalars.index(after: next) }
                }
                if tokenizer.keepsEmoji { body(Substring(scalars[index..<next])) }
                index = next
                previous = .other
            case .midLetter, .midNum, .midNumLet:
                let next = scalars.index(after: index)
                if joins, start != nil, next < scalars.endIndex {
                    let following = kind(scalars[next])
                    let joinsLetters = (current == .midLetter || current == .midNumLet) && previous == .letter && following == .letter
                    let joinsDigits = (current == .midNum || current == .midNumLet) && previous == .digit && following == .digit
                    if joinsLetters || joinsDigits {
                        index = next
                        continue
                    }
                }
                flush(index)
                previous = .other
                index = next
            case .other:
                flush(index)
                previous = .other
                index = scalars.index(after: index)
            }
        }
        flush(scalars.endIndex)
    }

    // MARK: folding

    private static let foldings: [Unicode.Scalar: String] = [
        "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ı": "i",
        "ĸ": "k", "ŀ": "l", "Ŀ": "L", "ŉ": "n", "ŋ": "n", "Ŋ": "N", "ſ": "s", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T",
    ]

    /// Latin letters with diacritics to their ASCII base letters ("café" → "cafe",
    /// "straße" → "strasse"); characters with no ASCII form are kept.
    public static func foldToASCII(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.decomposedStringWithCompatibilityMapping.unicodeScalars {
            if scalar.value < 0x80 { out.append(scalar); continue }
            if let folded = foldings[scalar] { out.append(contentsOf: folded.unicodeScalars); continue }
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: continue  // a diacritic on the previous letter
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
