/// The Snowball Swedish stemmer (snowballstem.org/algorithms/swedish), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// Everything is matched in R1 (after the first non-vowel following a vowel, at least
/// three letters in): a main suffix (an s only after a valid s-ending, et and ets
/// only under the et condition); the last letter of a final dd, gd, nn, dt, gt, kt or
/// tt; then lig, ig or els removed, öst to ös after certain letters, fullt to full.
public enum SwedishStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeiouyäåö".unicodeScalars)
    /// Letters after which a final s is an ending.
    static let sEnding: Set<Unicode.Scalar> = Set("bcdfghjklmnoprtvy".unicodeScalars)
    /// Letters after which öst becomes ös.
    static let ostEnding: Set<Unicode.Scalar> = Set("iklnprtuv".unicodeScalars)

    enum Main { case delete, s, et }
    static let mainSuffixes: [(Word, Main)] = {
        var table: [(String, Main)] = []
        for s in ["a", "arna", "erna", "heterna", "orna", "ad", "e", "ade", "ande", "arne", "are", "aste", "en", "anden",
                  "aren", "heten", "ern", "ar", "er", "heter", "or", "as", "arnas", "ernas", "ornas", "es", "ades", "andes",
                  "ens", "arens", "hetens", "erns", "at", "andet", "het", "ast"] { table.append((s, .delete)) }
        table.append(("s", .s))
        table.append(("et", .et))
        return table.map { (scalars($0.0), $0.1) }
    }()
    /// Stems after which a final et is part of the word (fabet, paket, kvitet, ...).
    static let etExceptions: [(Word, Void)] = [
        "fab", "h", "pak", "rak", "stak", "kom", "iet", "cit", "dit", "alit", "ilit", "mit", "nit", "pit", "rit", "sit",
        "tit", "uit", "ivit", "kvit", "xit",
    ].map { (scalars($0), ()) }
    static let consonantPairs: [(Word, Void)] = ["dd", "gd", "nn", "dt", "gt", "kt", "tt"].map { (scalars($0), ()) }

    enum Other { case delete, ost, fullt }
    static let otherSuffixes: [(Word, Other)] = {
        let table: [(String, Other)] = [("ig", .delete), ("lig", .delete), ("els", .delete), ("fullt", .fullt), ("öst", .ost)]
        return table.map { (scalars($0.0), $0.1) }
    }()

    public static func stem(_ input: String) -> String {
        var w = scalars(input)
        let p1 = Snowball.germanicR1(w, vowels: vowels)
        mainSuffix(&w, p1: p1)
        if Snowball.longest(w, consonantPairs, from: p1) != nil { w.removeLast() }
        otherSuffix(&w, p1: p1)
        return String(String.UnicodeScalarView(w))
    }

    /// Whether an et ending just before `end` may go: it follows a vowel and a
    /// non-vowel, with at least one more letter before those, and no listed stem.
    static func etCondition(_ w: Word, before end: Int) -> Bool {
        guard end >= 3, !vowels.contains(w[end - 1]), vowels.contains(w[end - 2]) else { return false }
        return Snowball.longest(Array(w[..<end]), etExceptions) == nil
    }

    static func mainSuffix(_ w: inout Word, p1: Int) {
        guard let found = Snowball.longest(w, mainSuffixes, from: p1) else { return }
        let start = w.count - found.length
        switch found.value {
        case .delete:
            w.removeSubrange(start...)
        case .s:
            if Snowball.has(w, "et", endingAt: start), etCondition(w, before: start - 2) {
                w.removeSubrange((start - 2)...)
            } else if let before = Snowball.letter(w, before: start), sEnding.contains(before) {
                w.removeSubrange(start...)
            }
        case .et:
            if etCondition(w, before: start) { w.removeSubrange(start...) }
        }
    }

    static func otherSuffix(_ w: inout Word, p1: Int) {
        guard let found = Snowball.longest(w, otherSuffixes, from: p1) else { return }
        let start = w.count - found.length
        switch found.value {
        case .delete:
            w.removeSubrange(start...)
        case .ost:
            if let before = Snowball.letter(w, before: start), ostEnding.contains(before) { w.removeLast() }
        case .fullt:
            w.removeLast()
        }
    }
}
