/// The Snowball Portuguese stemmer (snowballstem.org/algorithms/portuguese), written
/// here and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_romance_stems.py).
///
/// ã and õ become a~ and o~ for the duration (so the tilde counts as a consonant in
/// the regions); standard suffixes, else verb suffixes within RV; after either, an i
/// after c in RV; otherwise a residual vowel in RV; then a final e after gu or ci, and
/// ç becomes c.
public enum PortugueseStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeiouáéíóúâêô".unicodeScalars)

    enum Standard { case r2, log, u, ente, amente, mente, idade, iv, ira }
    static let standard: [(Word, Standard)] = {
        var table: [(String, Standard)] = []
        for s in ["eza", "ezas", "ico", "ica", "icos", "icas", "ismo", "ismos", "ável", "ível", "ista", "istas", "oso", "osa",
                  "osos", "osas", "amento", "amentos", "imento", "imentos", "adora", "ador", "aça~o", "adoras", "adores",
                  "aço~es", "ante", "antes", "ância"] { table.append((s, .r2)) }
        for s in ["logia", "logias"] { table.append((s, .log)) }
        for s in ["uça~o", "uço~es"] { table.append((s, .u)) }
        for s in ["ência", "ências"] { table.append((s, .ente)) }
        table.append(("amente", .amente))
        table.append(("mente", .mente))
        for s in ["idade", "idades"] { table.append((s, .idade)) }
        for s in ["iva", "ivo", "ivas", "ivos"] { table.append((s, .iv)) }
        for s in ["ira", "iras"] { table.append((s, .ira)) }
        return table.map { (scalars($0.0), $0.1) }
    }()

    static let verb: [(Word, Void)] = [
        "ada", "ida", "ia", "aria", "eria", "iria", "ará", "ara", "erá", "era", "irá", "ava", "asse", "esse", "isse", "aste",
        "este", "iste", "ei", "arei", "erei", "irei", "am", "iam", "ariam", "eriam", "iriam", "aram", "eram", "iram", "avam",
        "em", "arem", "erem", "irem", "assem", "essem", "issem", "ado", "ido", "ando", "endo", "indo", "ara~o", "era~o",
        "ira~o", "ar", "er", "ir", "as", "adas", "idas", "ias", "arias", "erias", "irias", "aras", "eras", "iras", "avas",
        "es", "ardes", "erdes", "irdes", "ares", "eres", "ires", "asses", "esses", "isses", "astes", "estes", "istes", "is",
        "ais", "eis", "íeis", "aríeis", "eríeis", "iríeis", "áreis", "areis", "éreis", "ereis", "íreis", "ireis", "ásseis",
        "ésseis", "ísseis", "áveis", "ados", "idos", "ámos", "amos", "íamos", "aríamos", "eríamos", "iríamos", "áramos",
        "éramos", "íramos", "ávamos", "emos", "aremos", "eremos", "iremos", "ássemos", "êssemos", "íssemos", "imos", "armos",
        "ermos", "irmos", "eu", "iu", "ou", "ira", "iras", "arás", "erás", "irás",
    ].map { (scalars($0), ()) }

    public static func stem(_ input: String) -> String {
        // Prelude: nasal vowels as a vowel plus a tilde consonant.
        var w: Word = []
        for c in input.unicodeScalars {
            switch c {
            case "ã": w += ["a", "~"]
            case "õ": w += ["o", "~"]
            default: w.append(c)
            }
        }
        let (pV, p1, p2) = Snowball.romanceRegions(w, vowels: vowels)
        if standardSuffix(&w, pV: pV, p1: p1, p2: p2) || verbSuffix(&w, pV: pV) {
            if Snowball.ends(w, with: "ci"), w.count - 1 >= pV { w.removeLast() }
        } else {
            residualSuffix(&w, pV: pV)
        }
        residualForm(&w, pV: pV)
        // Postlude: back to ã and õ.
        var out = String.UnicodeScalarView()
        var index = 0
        while index < w.count {
            if index + 1 < w.count, w[index + 1] == "~", w[index] == "a" || w[index] == "o" {
                out.append(w[index] == "a" ? "ã" : "õ")
                index += 2
            } else {
                out.append(w[index])
                index += 1
            }
        }
        return String(out)
    }

    static func standardSuffix(_ w: inout Word, pV: Int, p1: Int, p2: Int) -> Bool {
        guard let found = Snowball.longest(w, standard) else { return false }
        let start = w.count - found.length
        switch found.value {
        case .amente:
            guard start >= p1 else { return false }
        case .ira:
            guard start >= pV, start >= 1, w[start - 1] == "e" else { return false }
        default:
            guard start >= p2 else { return false }
        }
        switch found.value {
        case .log: w.replaceSubrange(start..., with: scalars("log"))
        case .u: w.replaceSubrange(start..., with: scalars("u"))
        case .ente: w.replaceSubrange(start..., with: scalars("ente"))
        case .ira: w.replaceSubrange(start..., with: scalars("ir"))
        default: w.removeSubrange(start...)
        }
        switch found.value {
        case .amente:
            if Snowball.removeLongest(&w, of: ["ic", "ad", "os", "iv"], ifFrom: p2) == "iv" { Snowball.removeSuffix(&w, "at", ifFrom: p2) }
        case .mente:
            Snowball.removeLongest(&w, of: ["ante", "avel", "ível"], ifFrom: p2)
        case .idade:
            Snowball.removeLongest(&w, of: ["ic", "abil", "iv"], ifFrom: p2)
        case .iv:
            Snowball.removeSuffix(&w, "at", ifFrom: p2)
        case .r2, .log, .u, .ente, .ira:
            break
        }
        return true
    }

    static func verbSuffix(_ w: inout Word, pV: Int) -> Bool {
        guard let found = Snowball.longest(w, verb, from: pV) else { return false }
        w.removeLast(found.length)
        return true
    }

    static func residualSuffix(_ w: inout Word, pV: Int) {
        let table = ["os", "a", "i", "o", "á", "í", "ó"].map { (scalars($0), ()) }
        guard let found = Snowball.longest(w, table), w.count - found.length >= pV else { return }
        w.removeLast(found.length)
    }

    static func residualForm(_ w: inout Word, pV: Int) {
        let table: [(Word, Bool)] = [("e", true), ("é", true), ("ê", true), ("ç", false)].map { (scalars($0.0), $0.1) }
        guard let found = Snowball.longest(w, table) else { return }
        if !found.value {
            w[w.count - 1] = "c"
            return
        }
        guard w.count - 1 >= pV else { return }
        w.removeLast()
        if Snowball.ends(w, with: "gu") || Snowball.ends(w, with: "ci"), w.count - 1 >= pV { w.removeLast() }
    }
}
