/// The Snowball Spanish stemmer (snowballstem.org/algorithms/spanish), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_romance_stems.py).
///
/// Works on Unicode scalars of a lower-cased word: RV, R1 and R2 regions; attached
/// pronouns after a gerund or infinitive; standard suffixes, else verb suffixes
/// beginning with y after u, else other verb suffixes (all within RV); a residual
/// vowel; then acute accents removed.
public enum SpanishStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static func longest<T>(_ word: Word, _ candidates: [(Word, T)], from: Int = 0) -> (length: Int, value: T)? {
        Snowball.longest(word, candidates, from: from)
    }
    static func ends(_ word: Word, with text: String) -> Bool { Snowball.ends(word, with: text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeiouáéíóúü".unicodeScalars)

    static let pronouns = ["me", "se", "sela", "selo", "selas", "selos", "la", "le", "lo", "las", "les", "los", "nos"].map(scalars)
    /// Endings a pronoun may follow, with what they become: nil keeps the ending and
    /// drops the pronoun; "u" means `yendo` after u.
    static let pronounHosts: [(Word, String?)] = [
        ("iéndo", "iendo"), ("ándo", "ando"), ("ár", "ar"), ("ér", "er"), ("ír", "ir"),
        ("ando", nil), ("iendo", nil), ("ar", nil), ("er", nil), ("ir", nil), ("yendo", "u"),
    ].map { (scalars($0.0), $0.1) }

    enum Standard { case r2, r2ThenIc, log, u, ente, amente, mente, idad, iv }
    static let standard: [(Word, Standard)] = {
        var table: [(String, Standard)] = []
        for s in ["anza", "anzas", "ico", "ica", "icos", "icas", "ismo", "ismos", "able", "ables", "ible", "ibles", "ista",
                  "istas", "oso", "osa", "osos", "osas", "amiento", "amientos", "imiento", "imientos"] { table.append((s, .r2)) }
        for s in ["adora", "ador", "ación", "acion", "adoras", "adores", "aciones", "ante", "antes", "ancia", "ancias"] {
            table.append((s, .r2ThenIc))
        }
        for s in ["logía", "logías"] { table.append((s, .log)) }
        for s in ["ución", "ucion", "uciones"] { table.append((s, .u)) }
        for s in ["encia", "encias"] { table.append((s, .ente)) }
        table.append(("amente", .amente))
        table.append(("mente", .mente))
        for s in ["idad", "idades"] { table.append((s, .idad)) }
        for s in ["iva", "ivo", "ivas", "ivos"] { table.append((s, .iv)) }
        return table.map { (scalars($0.0), $0.1) }
    }()

    static let yVerb = ["ya", "ye", "yan", "yen", "yeron", "yendo", "yo", "yó", "yas", "yes", "yais", "yamos"].map(scalars)
    /// Verb suffixes; true for those whose preceding `u` goes too after a `g`.
    static let verb: [(Word, Bool)] = {
        let guSensitive = ["en", "es", "éis", "emos"]
        let others = ["arían", "arías", "arán", "arás", "aríais", "aría", "aréis", "aríamos", "aremos", "ará", "aré",
                      "erían", "erías", "erán", "erás", "eríais", "ería", "eréis", "eríamos", "eremos", "erá", "eré",
                      "irían", "irías", "irán", "irás", "iríais", "iría", "iréis", "iríamos", "iremos", "irá", "iré",
                      "aba", "ada", "ida", "ía", "ara", "iera", "ad", "ed", "id", "ase", "iese", "aste", "iste", "an",
                      "aban", "ían", "aran", "ieran", "asen", "iesen", "aron", "ieron", "ado", "ido", "ando", "iendo",
                      "ió", "ar", "er", "ir", "as", "abas", "adas", "idas", "ías", "aras", "ieras", "ases", "ieses",
                      "ís", "áis", "abais", "íais", "arais", "ierais", "aseis", "ieseis", "asteis", "isteis", "ados",
                      "idos", "amos", "ábamos", "íamos", "imos", "áramos", "iéramos", "iésemos", "ásemos"]
        return guSensitive.map { (scalars($0), true) } + others.map { (scalars($0), false) }
    }()

    public static func stem(_ input: String) -> String {
        var w = scalars(input)
        let (pV, p1, p2) = Snowball.romanceRegions(w, vowels: vowels)
        attachedPronoun(&w, pV: pV)
        if !standardSuffix(&w, p1: p1, p2: p2) && !yVerbSuffix(&w, pV: pV) { verbSuffix(&w, pV: pV) }
        residualSuffix(&w, pV: pV)
        var out = String.UnicodeScalarView()
        for c in w {
            switch c {
            case "á": out.append("a")
            case "é": out.append("e")
            case "í": out.append("i")
            case "ó": out.append("o")
            case "ú": out.append("u")
            default: out.append(c)
            }
        }
        return String(out)
    }

    static func attachedPronoun(_ w: inout Word, pV: Int) {
        guard let pronoun = longest(w, pronouns.map { ($0, ()) }) else { return }
        let pronounStart = w.count - pronoun.length
        let before = Array(w[..<pronounStart])
        guard let host = longest(before, pronounHosts), pronounStart - host.length >= pV else { return }
        let hostStart = pronounStart - host.length
        switch host.value {
        case nil:
            w.removeSubrange(pronounStart...)
        case "u"?:
            guard hostStart >= 1, w[hostStart - 1] == "u" else { return }
            w.removeSubrange(pronounStart...)
        case let replacement?:
            w.replaceSubrange(hostStart..., with: scalars(replacement))
        }
    }

    static func standardSuffix(_ w: inout Word, p1: Int, p2: Int) -> Bool {
        guard let found = longest(w, standard) else { return false }
        let start = w.count - found.length
        switch found.value {
        case .amente:
            guard start >= p1 else { return false }
        default:
            guard start >= p2 else { return false }
        }
        switch found.value {
        case .log: w.replaceSubrange(start..., with: scalars("log"))
        case .u: w.replaceSubrange(start..., with: scalars("u"))
        case .ente: w.replaceSubrange(start..., with: scalars("ente"))
        default: w.removeSubrange(start...)
        }
        switch found.value {
        case .r2ThenIc:
            Snowball.removeSuffix(&w, "ic", ifFrom: p2)
        case .amente:
            if Snowball.removeLongest(&w, of: ["ic", "ad", "os", "iv"], ifFrom: p2) == "iv" { Snowball.removeSuffix(&w, "at", ifFrom: p2) }
        case .mente:
            Snowball.removeLongest(&w, of: ["able", "ible", "ante"], ifFrom: p2)
        case .idad:
            Snowball.removeLongest(&w, of: ["ic", "abil", "iv"], ifFrom: p2)
        case .iv:
            Snowball.removeSuffix(&w, "at", ifFrom: p2)
        case .r2, .log, .u, .ente:
            break
        }
        return true
    }

    static func yVerbSuffix(_ w: inout Word, pV: Int) -> Bool {
        guard let found = longest(w, yVerb.map { ($0, ()) }, from: pV) else { return false }
        let start = w.count - found.length
        guard start >= 1, w[start - 1] == "u" else { return false }
        w.removeSubrange(start...)
        return true
    }

    static func verbSuffix(_ w: inout Word, pV: Int) {
        guard let found = longest(w, verb, from: pV) else { return }
        var start = w.count - found.length
        if found.value, start >= 2, w[start - 1] == "u", w[start - 2] == "g" { start -= 1 }
        w.removeSubrange(start...)
    }

    static func residualSuffix(_ w: inout Word, pV: Int) {
        let table: [(Word, Bool)] = [("os", false), ("a", false), ("o", false), ("á", false), ("í", false), ("ó", false),
                                     ("e", true), ("é", true)].map { (scalars($0.0), $0.1) }
        guard let found = longest(w, table), w.count - found.length >= pV else { return }
        w.removeLast(found.length)
        if found.value, ends(w, with: "u"), w.count >= 2, w[w.count - 2] == "g", w.count - 1 >= pV { w.removeLast() }
    }
}
