/// The Snowball Italian stemmer (snowballstem.org/algorithms/italian), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_romance_stems.py).
///
/// Acute accents become grave, qu's u and a u or i between vowels are marked (so they
/// count as consonants); attached pronouns after a gerund or infinitive; standard
/// suffixes, else verb suffixes within RV; a final vowel (and an i before it), and an
/// h after c or g, within RV.
public enum ItalianStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeiouàèìòù".unicodeScalars)
    static func isVowel(_ c: Unicode.Scalar) -> Bool { vowels.contains(c) }

    static let pronouns: [(Word, Void)] = [
        "la", "cela", "gliela", "mela", "tela", "vela", "le", "cele", "gliele", "mele", "tele", "vele", "ne", "cene", "gliene",
        "mene", "sene", "tene", "vene", "ci", "li", "celi", "glieli", "meli", "teli", "veli", "gli", "mi", "si", "ti", "vi",
        "lo", "celo", "glielo", "melo", "telo", "velo",
    ].map { (scalars($0), ()) }
    /// Hosts of an attached pronoun: true for gerunds (pronoun dropped), false for
    /// infinitives (pronoun replaced by e).
    static let pronounHosts: [(Word, Bool)] = [("ando", true), ("endo", true), ("ar", false), ("er", false), ("ir", false)]
        .map { (scalars($0.0), $0.1) }

    enum Standard { case r2, r2ThenIc, log, u, ente, rv, amente, ita, iv }
    static let standard: [(Word, Standard)] = {
        var table: [(String, Standard)] = []
        for s in ["ica", "osa", "ista", "anza", "ice", "atrice", "iche", "abile", "ibile", "ose", "ante", "mente", "iste",
                  "anze", "ici", "atrici", "ichi", "abili", "ibili", "ismi", "osi", "anti", "isti", "ico", "ismo", "oso",
                  "istà", "istè", "istì"] { table.append((s, .r2)) }
        for s in ["azione", "azioni", "atore", "atori"] { table.append((s, .r2ThenIc)) }
        for s in ["logia", "logie"] { table.append((s, .log)) }
        for s in ["usione", "uzione", "usioni", "uzioni"] { table.append((s, .u)) }
        for s in ["enza", "enze"] { table.append((s, .ente)) }
        for s in ["amento", "amenti", "imento", "imenti"] { table.append((s, .rv)) }
        table.append(("amente", .amente))
        table.append(("ità", .ita))
        for s in ["iva", "ive", "ivi", "ivo"] { table.append((s, .iv)) }
        return table.map { (scalars($0.0), $0.1) }
    }()

    static let verb: [(Word, Void)] = [
        "isca", "enda", "ata", "ita", "uta", "ava", "eva", "iva", "erebbe", "irebbe", "isce", "ende", "are", "ere", "ire",
        "asse", "ate", "avate", "evate", "ivate", "ete", "erete", "irete", "ite", "ereste", "ireste", "ute", "erai", "irai",
        "isci", "endi", "erei", "irei", "assi", "ati", "iti", "eresti", "iresti", "uti", "avi", "evi", "ivi", "isco", "ando",
        "endo", "Yamo", "iamo", "avamo", "evamo", "ivamo", "eremo", "iremo", "assimo", "ammo", "emmo", "eremmo", "iremmo",
        "immo", "ano", "iscano", "avano", "evano", "ivano", "eranno", "iranno", "ono", "iscono", "arono", "erono", "irono",
        "erebbero", "irebbero", "assero", "essero", "issero", "ato", "ito", "uto", "avo", "evo", "ivo", "ar", "ir", "erà",
        "irà", "erò", "irò",
    ].map { (scalars($0), ()) }

    public static func stem(_ input: String) -> String {
        var w = prelude(scalars(input))
        let (pV, p1, p2) = regions(w)
        attachedPronoun(&w, pV: pV)
        if !standardSuffix(&w, pV: pV, p1: p1, p2: p2), let found = Snowball.longest(w, verb, from: pV) {
            w.removeLast(found.length)
        }
        vowelSuffix(&w, pV: pV)
        return String(String.UnicodeScalarView(w.map { $0 == "I" ? "i" : $0 == "U" ? "u" : $0 }))
    }

    static func prelude(_ input: Word) -> Word {
        var w: Word = []
        var index = 0
        while index < input.count {
            let c = input[index]
            if c == "q", index + 1 < input.count, input[index + 1] == "u" {
                w += ["q", "U"]
                index += 2
                continue
            }
            switch c {
            case "á": w.append("à")
            case "é": w.append("è")
            case "í": w.append("ì")
            case "ó": w.append("ò")
            case "ú": w.append("ù")
            default: w.append(c)
            }
            index += 1
        }
        var k = 0
        while k + 2 < w.count {
            if isVowel(w[k]), isVowel(w[k + 2]) {
                if w[k + 1] == "u" { w[k + 1] = "U" } else if w[k + 1] == "i" { w[k + 1] = "I" }
            }
            k += 1
        }
        return w
    }

    /// As the other Romance languages, except that RV of a word starting with "divan"
    /// begins after it.
    static func regions(_ w: Word) -> (Int, Int, Int) {
        let (rv, p1, p2) = Snowball.romanceRegions(w, vowels: vowels)
        return (w.starts(with: scalars("divan")) ? 5 : rv, p1, p2)
    }

    static func attachedPronoun(_ w: inout Word, pV: Int) {
        guard let pronoun = Snowball.longest(w, pronouns) else { return }
        let pronounStart = w.count - pronoun.length
        guard let host = Snowball.longest(Array(w[..<pronounStart]), pronounHosts), pronounStart - host.length >= pV else { return }
        if host.value { w.removeSubrange(pronounStart...) } else { w.replaceSubrange(pronounStart..., with: ["e"]) }
    }

    static func standardSuffix(_ w: inout Word, pV: Int, p1: Int, p2: Int) -> Bool {
        guard let found = Snowball.longest(w, standard) else { return false }
        let start = w.count - found.length
        switch found.value {
        case .amente: guard start >= p1 else { return false }
        case .rv: guard start >= pV else { return false }
        default: guard start >= p2 else { return false }
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
            if Snowball.removeLongest(&w, of: ["ic", "abil", "os", "iv"], ifFrom: p2) == "iv" { Snowball.removeSuffix(&w, "at", ifFrom: p2) }
        case .ita:
            Snowball.removeLongest(&w, of: ["ic", "abil", "iv"], ifFrom: p2)
        case .iv:
            if Snowball.removeSuffix(&w, "at", ifFrom: p2) { Snowball.removeSuffix(&w, "ic", ifFrom: p2) }
        case .r2, .log, .u, .ente, .rv:
            break
        }
        return true
    }

    static func vowelSuffix(_ w: inout Word, pV: Int) {
        let aeio: Set<Unicode.Scalar> = Set("aeioàèìò".unicodeScalars)
        if let last = w.last, aeio.contains(last), w.count - 1 >= pV {
            w.removeLast()
            if w.last == "i", w.count - 1 >= pV { w.removeLast() }
        }
        if w.count >= 2, w.last == "h", w[w.count - 2] == "c" || w[w.count - 2] == "g", w.count - 2 >= pV { w.removeLast() }
    }
}
