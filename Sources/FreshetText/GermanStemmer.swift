/// The Snowball German stemmer (snowballstem.org/algorithms/german), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// A u or y between vowels is marked (so it counts as a consonant); ß becomes ss and
/// ae, oe, ue become ä, ö, ü (but not the ue of qu). R1 (at least three letters in)
/// and R2; then three suffix steps: inflections (e, em, en, er, erin, s, ln, ...) in
/// R1; en, er, est, st and et in R1 with conditions on the letter before; derivations
/// (end, ung, ig, lich, heit, keit, ...) in R2. Finally marks are undone and umlauts
/// dropped.
public enum GermanStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeiouyäöü".unicodeScalars)
    static func isVowel(_ c: Unicode.Scalar) -> Bool { vowels.contains(c) }
    /// Letters after which a final s, st or et is an ending; U is a marked u.
    static let sEnding: Set<Unicode.Scalar> = Set("bdfghklmnrt".unicodeScalars)
    static let stEnding: Set<Unicode.Scalar> = Set("bdfghklmnt".unicodeScalars)
    static let etEnding: Set<Unicode.Scalar> = Set("dfgklmnrstUzä".unicodeScalars)

    enum Inflection { case em, delete, eEnding, s, ln }
    static let inflections: [(Word, Inflection)] = {
        let table: [(String, Inflection)] = [
            ("e", .eEnding), ("em", .em), ("en", .eEnding), ("erinnen", .delete), ("erin", .delete), ("ln", .ln),
            ("ern", .delete), ("er", .delete), ("s", .s), ("es", .eEnding), ("lns", .ln),
        ]
        return table.map { (scalars($0.0), $0.1) }
    }()

    enum Second { case delete, st, et }
    static let secondSuffixes: [(Word, Second)] = {
        let table: [(String, Second)] = [("en", .delete), ("er", .delete), ("et", .et), ("st", .st), ("est", .delete)]
        return table.map { (scalars($0.0), $0.1) }
    }()
    /// Stems after which a final et stays (Ticket, Planet, geordnet, Internet, ...).
    static let etExceptions: [(Word, Void)] = ["tick", "plan", "geordn", "intern", "tr"].map { (scalars($0), ()) }

    enum Derivation { case endUng, igIsch, lichHeit, keit }
    static let derivations: [(Word, Derivation)] = {
        let table: [(String, Derivation)] = [
            ("end", .endUng), ("ung", .endUng), ("ig", .igIsch), ("ik", .igIsch), ("isch", .igIsch), ("lich", .lichHeit),
            ("heit", .lichHeit), ("keit", .keit),
        ]
        return table.map { (scalars($0.0), $0.1) }
    }()

    public static func stem(_ input: String) -> String {
        var w = prelude(scalars(input))
        let p1 = Snowball.germanicR1(w, vowels: vowels)
        // R2 follows the unadjusted R1 start, not the one moved to index 3.
        let p2 = Snowball.regionStart(w, after: Snowball.regionStart(w, after: 0, isVowel: isVowel), isVowel: isVowel)
        inflection(&w, p1: p1)
        secondSuffix(&w, p1: p1)
        derivation(&w, p1: p1, p2: p2)
        var out = String.UnicodeScalarView()
        for c in w {
            switch c {
            case "Y": out.append("y")
            case "U", "ü": out.append("u")
            case "ä": out.append("a")
            case "ö": out.append("o")
            default: out.append(c)
            }
        }
        return String(out)
    }

    static func prelude(_ input: Word) -> Word {
        var marked = input
        var i = 0
        while i + 2 < marked.count {
            if isVowel(marked[i]), isVowel(marked[i + 2]) {
                if marked[i + 1] == "u" { marked[i + 1] = "U" } else if marked[i + 1] == "y" { marked[i + 1] = "Y" }
            }
            i += 1
        }
        var w: Word = []
        w.reserveCapacity(marked.count + 2)
        i = 0
        while i < marked.count {
            let c = marked[i]
            let next = i + 1 < marked.count ? marked[i + 1] : nil
            switch (c, next) {
            case ("q", "u"): w += ["q", "u"]; i += 2  // the u of qu never joins a following e
            case ("a", "e"): w.append("ä"); i += 2
            case ("o", "e"): w.append("ö"); i += 2
            case ("u", "e"): w.append("ü"); i += 2
            case ("ß", _): w += ["s", "s"]; i += 1
            default: w.append(c); i += 1
            }
        }
        return w
    }

    static func inflection(_ w: inout Word, p1: Int) {
        guard let found = Snowball.longest(w, inflections) else { return }
        let start = w.count - found.length
        guard start >= p1 else { return }
        switch found.value {
        case .em:
            guard !Snowball.has(w, "syst", endingAt: start) else { return }
            w.removeSubrange(start...)
        case .delete:
            w.removeSubrange(start...)
        case .eEnding:
            w.removeSubrange(start...)
            if Snowball.ends(w, with: "niss") { w.removeLast() }
        case .s:
            guard let before = Snowball.letter(w, before: start), sEnding.contains(before) else { return }
            w.removeSubrange(start...)
        case .ln:
            w.replaceSubrange(start..., with: ["l"])
        }
    }

    static func secondSuffix(_ w: inout Word, p1: Int) {
        guard let found = Snowball.longest(w, secondSuffixes) else { return }
        let start = w.count - found.length
        guard start >= p1 else { return }
        switch found.value {
        case .delete:
            break
        case .st:
            // The letter before st must be a valid ending, with at least three letters before it.
            guard start >= 4, stEnding.contains(w[start - 1]) else { return }
        case .et:
            guard let before = Snowball.letter(w, before: start), etEnding.contains(before),
                  Snowball.longest(Array(w[..<start]), etExceptions) == nil else { return }
        }
        w.removeSubrange(start...)
    }

    static func derivation(_ w: inout Word, p1: Int, p2: Int) {
        guard let found = Snowball.longest(w, derivations) else { return }
        let start = w.count - found.length
        guard start >= p2 else { return }
        switch found.value {
        case .endUng:
            w.removeSubrange(start...)
            if Snowball.ends(w, with: "ig"), w.count - 2 >= p2, !Snowball.has(w, "e", endingAt: w.count - 2) { w.removeLast(2) }
        case .igIsch:
            guard !Snowball.has(w, "e", endingAt: start) else { return }
            w.removeSubrange(start...)
        case .lichHeit:
            w.removeSubrange(start...)
            if Snowball.ends(w, with: "er") || Snowball.ends(w, with: "en"), w.count - 2 >= p1 { w.removeLast(2) }
        case .keit:
            w.removeSubrange(start...)
            Snowball.removeLongest(&w, of: ["ig", "lich"], ifFrom: p2)
        }
    }
}
