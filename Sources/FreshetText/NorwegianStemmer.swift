/// The Snowball Norwegian stemmer (snowballstem.org/algorithms/norwegian), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// Everything is matched in R1 (after the first non-vowel following a vowel, at least
/// three letters in): a main suffix (ers kept after some stems, an s only after a
/// valid s-ending, ert and erte to er); the t of a final dt or vt; then one of the
/// other suffixes (leg, ig, lig, els, lov, ...).
public enum NorwegianStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeêioòóôuyæåø".unicodeScalars)
    /// Letters after which a final s is an ending (as are r not after e, and k after a non-vowel).
    static let sEnding: Set<Unicode.Scalar> = Set("bcdfghjlmnoptvyz".unicodeScalars)

    enum Main { case delete, ers, s, er }
    static let mainSuffixes: [(Word, Main)] = {
        var table: [(String, Main)] = []
        for s in ["a", "e", "ede", "ande", "ende", "ane", "ene", "hetene", "en", "heten", "ar", "er", "heter", "as", "es",
                  "edes", "endes", "enes", "hetenes", "ens", "hetens", "ets", "et", "het", "ast"] { table.append((s, .delete)) }
        table.append(("ers", .ers))
        table.append(("s", .s))
        for s in ["erte", "ert"] { table.append((s, .er)) }
        return table.map { (scalars($0.0), $0.1) }
    }()
    /// What may come before ers; false for stems that keep the ers (tindvers, takkers, ...).
    /// A longer match wins, so skap, hav and giv override kap and v.
    static let beforeErs: [(Word, Bool)] = [
        ("ind", false), ("kk", false), ("nk", false), ("amm", false), ("omm", false), ("kap", false), ("skap", true),
        ("pp", false), ("lt", false), ("ast", false), ("øst", false), ("v", false), ("hav", true), ("giv", true),
    ].map { (scalars($0.0), $0.1) }
    static let consonantPairs: [(Word, Void)] = ["dt", "vt"].map { (scalars($0), ()) }
    static let otherSuffixes: [(Word, Void)] = ["leg", "eleg", "ig", "eig", "lig", "elig", "els", "lov", "elov", "slov", "hetslov"]
        .map { (scalars($0), ()) }

    public static func stem(_ input: String) -> String {
        var w = scalars(input)
        let p1 = Snowball.germanicR1(w, vowels: vowels)
        mainSuffix(&w, p1: p1)
        if Snowball.longest(w, consonantPairs, from: p1) != nil { w.removeLast() }
        if let found = Snowball.longest(w, otherSuffixes, from: p1) { w.removeLast(found.length) }
        return String(String.UnicodeScalarView(w))
    }

    static func mainSuffix(_ w: inout Word, p1: Int) {
        guard let found = Snowball.longest(w, mainSuffixes, from: p1) else { return }
        let start = w.count - found.length
        switch found.value {
        case .delete:
            w.removeSubrange(start...)
        case .ers:
            if Snowball.longest(Array(w[..<start]), beforeErs)?.value ?? true { w.removeSubrange(start...) }
        case .s:
            guard let before = Snowball.letter(w, before: start) else { return }
            let valid = sEnding.contains(before)
                || (before == "r" && Snowball.letter(w, before: start - 1) != "e")
                || (before == "k" && Snowball.letter(w, before: start - 1).map { !vowels.contains($0) } == true)
            if valid { w.removeSubrange(start...) }
        case .er:
            w.replaceSubrange(start..., with: scalars("er"))
        }
    }
}
