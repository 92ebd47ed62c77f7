/// The Snowball Danish stemmer (snowballstem.org/algorithms/danish), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// Everything happens in R1 (after the first non-vowel following a vowel, at least
/// three letters in): a main suffix (an s only after a valid s-ending); a final d or
/// t of gd, dt, gt, kt; igst to ig, then other suffixes (lig, els, løst, ...), undoing
/// a consonant pair again after ig-like ones; finally a doubled consonant undoubled.
public enum DanishStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeiouyæåø".unicodeScalars)
    static let consonants: Set<Unicode.Scalar> = Set("bcdfghjklmnpqrstvwxz".unicodeScalars)
    /// Letters after which a final s is an ending.
    static let sEnding: Set<Unicode.Scalar> = Set("abcdfghjklmnoprtvyzå".unicodeScalars)

    /// Main suffixes; true for the lone s, which needs a valid s-ending before it.
    static let mainSuffixes: [(Word, Bool)] = [
        "hed", "ethed", "ered", "e", "erede", "ende", "erende", "ene", "erne", "ere", "en", "heden", "eren", "er", "heder",
        "erer", "heds", "es", "endes", "erendes", "enes", "ernes", "eres", "ens", "hedens", "erens", "ers", "ets", "erets",
        "et", "eret",
    ].map { (scalars($0), false) } + [(scalars("s"), true)]
    static let consonantPairs: [(Word, Void)] = ["gd", "dt", "gt", "kt"].map { (scalars($0), ()) }
    /// Other suffixes; true for løst, which becomes løs instead of going.
    static let otherSuffixes: [(Word, Bool)] = [("ig", false), ("lig", false), ("elig", false), ("els", false), ("løst", true)]
        .map { (scalars($0.0), $0.1) }

    public static func stem(_ input: String) -> String {
        var w = scalars(input)
        let p1 = Snowball.germanicR1(w, vowels: vowels)
        mainSuffix(&w, p1: p1)
        consonantPair(&w, p1: p1)
        otherSuffix(&w, p1: p1)
        undouble(&w, p1: p1)
        return String(String.UnicodeScalarView(w))
    }

    static func mainSuffix(_ w: inout Word, p1: Int) {
        guard let found = Snowball.longest(w, mainSuffixes, from: p1) else { return }
        let start = w.count - found.length
        if found.value {
            guard let before = Snowball.letter(w, before: start), sEnding.contains(before) else { return }
        }
        w.removeSubrange(start...)
    }

    /// Drops the last letter of a final gd, dt, gt or kt lying in R1.
    static func consonantPair(_ w: inout Word, p1: Int) {
        guard Snowball.longest(w, consonantPairs, from: p1) != nil else { return }
        w.removeLast()
    }

    static func otherSuffix(_ w: inout Word, p1: Int) {
        if Snowball.ends(w, with: "igst") { w.removeLast(2) }
        guard let found = Snowball.longest(w, otherSuffixes, from: p1) else { return }
        let start = w.count - found.length
        if found.value {
            w.replaceSubrange(start..., with: scalars("løs"))
        } else {
            w.removeSubrange(start...)
            consonantPair(&w, p1: p1)
        }
    }

    /// A final doubled consonant, the last one in R1, loses one letter.
    static func undouble(_ w: inout Word, p1: Int) {
        let n = w.count
        guard n >= 2, n - 1 >= p1, consonants.contains(w[n - 1]), w[n - 2] == w[n - 1] else { return }
        w.removeLast()
    }
}
