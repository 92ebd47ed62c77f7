/// The Snowball Finnish stemmer (snowballstem.org/algorithms/finnish), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// R1 and R2 as usual (y counts as a vowel). Step 1: a particle (-kin, -kaan, -han, …
/// after a vowel, n or t; -sti in R2). Step 2: a possessive suffix. Step 3: a case
/// ending. Step 4: a comparative or superlative ending in R2. Step 5: after a case
/// ending a plural i or j, else a plural t after a vowel (and then -mma/-imma in R2).
/// Step 6: tidying: a long vowel shortened, a, ä, e or i after a consonant, j after o
/// or u, o after j; then, anywhere in the word, a doubled last consonant undoubled.
/// The suffixes, and the letters a rule looks at before them, lie in R1 unless said.
public enum FinnishStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeiouyäö".unicodeScalars)
    static let consonants: Set<Unicode.Scalar> = Set("bcdfghjklmnpqrstvwxz".unicodeScalars)
    static func isVowel(_ c: Unicode.Scalar) -> Bool { vowels.contains(c) }

    enum Particle { case afterVowelNOrT, inR2 }
    static let particles: [(Word, Particle)] = (["kin", "kaan", "kään", "ko", "kö", "han", "hän", "pa", "pä"]
        .map { (scalars($0), .afterVowelNOrT) }) + [(scalars("sti"), .inR2)]

    enum Possessive { case si, ni, plain, an, än, en }
    static let possessives: [(Word, Possessive)] = ([
        ("si", .si), ("ni", .ni), ("nsa", .plain), ("nsä", .plain), ("mme", .plain), ("nne", .plain),
        ("an", .an), ("än", .än), ("en", .en),
    ] as [(String, Possessive)]).map { (scalars($0.0), $0.1) }
    /// The case endings each of -an, -än and -en is removed after.
    static func possessiveHosts(_ kind: Possessive) -> [String] {
        switch kind {
        case .an: ["ta", "ssa", "sta", "lla", "lta", "na"]
        case .än: ["tä", "ssä", "stä", "llä", "ltä", "nä"]
        case .en: ["lle", "ine"]
        case .si, .ni, .plain: []
        }
    }

    enum Case {
        case plain
        /// hAn, where the letter before h repeats A (and -tta, -ttä after e).
        case after(Unicode.Scalar)
        /// -a or -ä after a consonant and a vowel.
        case afterConsonantVowel
        /// Only after a vowel other than y and an i, both in R1; else it is taken as -n.
        case afterVi
        /// Only after a long vowel in R1; else it is taken as -n.
        case afterLongVowel
        /// -n, which also takes the second letter of a long vowel or ie before it.
        case n
    }
    static let cases: [(Word, Case)] = {
        var table: [(String, Case)] = [("han", .after("a")), ("hen", .after("e")), ("hin", .after("i")), ("hon", .after("o")),
                                       ("hän", .after("ä")), ("hön", .after("ö")), ("tta", .after("e")), ("ttä", .after("e")),
                                       ("siin", .afterVi), ("den", .afterVi), ("tten", .afterVi), ("seen", .afterLongVowel),
                                       ("a", .afterConsonantVowel), ("ä", .afterConsonantVowel), ("n", .n)]
        for s in ["ta", "tä", "ssa", "ssä", "sta", "stä", "lla", "llä", "lta", "ltä", "lle", "na", "nä", "ksi", "ine"] {
            table.append((s, .plain))
        }
        return table.map { (scalars($0.0), $0.1) }
    }()

    /// Comparative and superlative endings; true for those kept after po.
    static let otherEndings: [(Word, Bool)] = (["mpi", "mpa", "mpä", "mmi", "mma", "mmä"].map { (scalars($0), true) })
        + (["impi", "impa", "impä", "immi", "imma", "immä", "eja", "ejä"].map { (scalars($0), false) })

    public static func stem(_ input: String) -> String {
        var w = scalars(input)
        let p1 = Snowball.regionStart(w, after: 0, isVowel: isVowel)
        let p2 = Snowball.regionStart(w, after: p1, isVowel: isVowel)
        particle(&w, p1: p1, p2: p2)
        possessive(&w, p1: p1)
        let caseRemoved = caseEnding(&w, p1: p1)
        otherEnding(&w, p2: p2)
        if caseRemoved {
            if let last = w.last, last == "i" || last == "j", w.count - 1 >= p1 { w.removeLast() }
        } else {
            tPlural(&w, p1: p1, p2: p2)
        }
        tidy(&w, p1: p1)
        return String(String.UnicodeScalarView(w))
    }

    static func particle(_ w: inout Word, p1: Int, p2: Int) {
        guard let found = Snowball.longest(w, particles, from: p1) else { return }
        let start = w.count - found.length
        switch found.value {
        case .afterVowelNOrT:
            guard start >= 1, isVowel(w[start - 1]) || w[start - 1] == "n" || w[start - 1] == "t" else { return }
        case .inR2:
            guard start >= p2 else { return }
        }
        w.removeLast(found.length)
    }

    static func possessive(_ w: inout Word, p1: Int) {
        guard let found = Snowball.longest(w, possessives, from: p1) else { return }
        let start = w.count - found.length
        switch found.value {
        case .si:
            guard !Snowball.has(w, "k", endingAt: start) else { return }
        case .an, .än, .en:
            guard possessiveHosts(found.value).contains(where: { Snowball.has(w, $0, endingAt: start) }) else { return }
        case .ni, .plain:
            break
        }
        w.removeLast(found.length)
        if found.value == .ni, Snowball.ends(w, with: "kse") { w[w.count - 1] = "i" }
    }

    /// Returns whether it removed an ending.
    static func caseEnding(_ w: inout Word, p1: Int) -> Bool {
        // Longest first; a conditional ending whose condition fails gives way to -n.
        let candidates = cases.filter { $0.0.count <= w.count - p1 && w.suffix($0.0.count).elementsEqual($0.0) }
            .sorted { $0.0.count > $1.0.count }
        let chosen = candidates.first { suffix, kind in
            let start = w.count - suffix.count
            switch kind {
            case .afterVi:
                return start - 2 >= p1 && w[start - 1] == "i" && isVowel(w[start - 2]) && w[start - 2] != "y"
            case .afterLongVowel:
                return endsWithLongVowel(w, at: start, from: p1)
            default:
                return true
            }
        }
        guard let (suffix, kind) = chosen else { return false }
        var start = w.count - suffix.count
        switch kind {
        case .after(let letter):
            guard start >= 1, w[start - 1] == letter else { return false }
        case .afterConsonantVowel:
            guard start >= 2, isVowel(w[start - 1]), consonants.contains(w[start - 2]) else { return false }
        case .n:
            if endsWithLongVowel(w, at: start, from: 0) || Snowball.has(w, "ie", endingAt: start) { start -= 1 }
        case .plain, .afterVi, .afterLongVowel:
            break
        }
        w.removeSubrange(start...)
        return true
    }

    /// Whether `w[..<end]` ends with a doubled vowel (other than yy) at or after `limit`.
    static func endsWithLongVowel(_ w: Word, at end: Int, from limit: Int) -> Bool {
        guard end - 2 >= limit, end <= w.count else { return false }
        return w[end - 1] == w[end - 2] && isVowel(w[end - 1]) && w[end - 1] != "y"
    }

    static func otherEnding(_ w: inout Word, p2: Int) {
        guard let found = Snowball.longest(w, otherEndings, from: p2) else { return }
        let start = w.count - found.length
        if found.value, Snowball.has(w, "po", endingAt: start) { return }
        w.removeLast(found.length)
    }

    /// A plural t after a vowel, then -mma (not after po) or -imma in R2.
    static func tPlural(_ w: inout Word, p1: Int, p2: Int) {
        guard w.last == "t", w.count - 2 >= p1, isVowel(w[w.count - 2]) else { return }
        w.removeLast()
        let endings: [(Word, Bool)] = [(scalars("mma"), true), (scalars("imma"), false)]
        guard let found = Snowball.longest(w, endings, from: p2) else { return }
        if found.value, Snowball.has(w, "po", endingAt: w.count - found.length) { return }
        w.removeLast(found.length)
    }

    static func tidy(_ w: inout Word, p1: Int) {
        guard w.count >= p1 else { return }
        if endsWithLongVowel(w, at: w.count, from: p1) { w.removeLast() }
        if let last = w.last, "aäei".unicodeScalars.contains(last), w.count - 2 >= p1, consonants.contains(w[w.count - 2]) {
            w.removeLast()
        }
        if w.last == "j", w.count - 2 >= p1, w[w.count - 2] == "o" || w[w.count - 2] == "u" { w.removeLast() }
        if w.last == "o", w.count - 2 >= p1, w[w.count - 2] == "j" { w.removeLast() }
        // The last non-vowel of the word, when a consonant doubled.
        guard let k = w.lastIndex(where: { !isVowel($0) }), k >= 1, consonants.contains(w[k]), w[k - 1] == w[k] else { return }
        w.remove(at: k)
    }
}
