/// The Snowball Hungarian stemmer (snowballstem.org/algorithms/hungarian), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// R1 starts after the first consonant of a word beginning with a vowel, else after
/// its first vowel. Then, each once and in this order, the longest suffix of each
/// group is removed (or its final á/é shortened to a/e) when it starts in R1: the
/// instrumental -al/-el after a double consonant (which is undoubled); a case ending
/// (and then a final á/é shortened); the special cases -án, -én, -ánként; the
/// sociative -stul/-stül; the factive -á/-é after a double consonant (undoubled);
/// owned, singular-owner and plural-owner suffixes; the plural -k.
public enum HungarianStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeiouáéíóöőúüű".unicodeScalars)
    static func isVowel(_ c: Unicode.Scalar) -> Bool { vowels.contains(c) }

    /// Suffixes with what each becomes: removed, or replaced by "a" or "e".
    static func rewrites(removed: [String], toA: [String] = [], toE: [String] = []) -> [(Word, Word)] {
        removed.map { (scalars($0), []) } + toA.map { (scalars($0), ["a"]) } + toE.map { (scalars($0), ["e"]) }
    }

    static let doubleConsonants = ["bb", "cc", "ccs", "dd", "ff", "gg", "ggy", "jj", "kk", "ll", "lly", "mm", "nn", "nny",
                                   "pp", "rr", "ss", "ssz", "tt", "tty", "vv", "zz", "zzs"]
    static let caseEndings = rewrites(removed: [
        "ba", "be", "ra", "re", "ig", "nak", "nek", "val", "vel", "ul", "ül", "nál", "nél", "ból", "ből", "ról", "ről", "tól",
        "től", "n", "an", "en", "on", "ön", "ban", "ben", "képp", "képpen", "kor", "t", "at", "et", "ot", "öt", "ért", "ként",
        "anként", "enként", "onként", "hez", "hoz", "höz", "vá", "vé",
    ])
    static let specialCases = rewrites(removed: [], toA: ["án", "ánként"], toE: ["én"])
    static let otherCases = rewrites(removed: ["stul", "astul", "stül", "estül"], toA: ["ástul"], toE: ["éstül"])
    static let owned = rewrites(removed: ["é", "éi", "ké", "aké", "eké", "oké", "öké"], toA: ["áké", "áéi"],
                                toE: ["éké", "ééi", "éé"])
    static let singularOwner = rewrites(
        removed: ["a", "ja", "d", "ad", "ed", "od", "öd", "e", "je", "nk", "unk", "ünk", "uk", "juk", "ük", "jük", "m", "am",
                  "em", "om", "o"],
        toA: ["ád", "ánk", "ájuk", "ám", "á"],
        toE: ["éd", "énk", "éjük", "ém", "é"])
    static let pluralOwner = rewrites(
        removed: ["id", "aid", "jaid", "eid", "jeid", "i", "ai", "jai", "ei", "jei", "itek", "eitek", "jeitek", "ik", "aik",
                  "jaik", "eik", "jeik", "ink", "aink", "jaink", "eink", "jeink", "aitok", "jaitok", "im", "aim", "jaim",
                  "eim", "jeim"],
        toA: ["áid", "ái", "áik", "áink", "áitok", "áim"],
        toE: ["éid", "éi", "éitek", "éik", "éink", "éim"])
    static let plurals = rewrites(removed: ["k", "ak", "ek", "ok", "ök"], toA: ["ák"], toE: ["ék"])

    public static func stem(_ input: String) -> String {
        var w = scalars(input)
        let p1 = r1(w)
        removeAfterDouble(&w, ["al", "el"], p1: p1)
        if rewriteLongest(&w, caseEndings, p1: p1) { rewriteLongest(&w, rewrites(removed: [], toA: ["á"], toE: ["é"]), p1: p1) }
        rewriteLongest(&w, specialCases, p1: p1)
        rewriteLongest(&w, otherCases, p1: p1)
        removeAfterDouble(&w, ["á", "é"], p1: p1)
        rewriteLongest(&w, owned, p1: p1)
        rewriteLongest(&w, singularOwner, p1: p1)
        rewriteLongest(&w, pluralOwner, p1: p1)
        rewriteLongest(&w, plurals, p1: p1)
        return String(String.UnicodeScalarView(w))
    }

    static func r1(_ w: Word) -> Int {
        guard let first = w.first else { return 0 }
        let boundary = isVowel(first) ? w.dropFirst().firstIndex { !isVowel($0) } : w.firstIndex(where: isVowel)
        return boundary.map { $0 + 1 } ?? w.count
    }

    /// Rewrites the longest suffix of `table` the word ends with, when it starts in R1.
    @discardableResult
    static func rewriteLongest(_ w: inout Word, _ table: [(Word, Word)], p1: Int) -> Bool {
        guard let found = Snowball.longest(w, table), w.count - found.length >= p1 else { return false }
        w.replaceSubrange((w.count - found.length)..., with: found.value)
        return true
    }

    /// Removes the longest of `suffixes` when it starts in R1 after a double consonant,
    /// then undoubles that consonant (ccs becomes cs, ggy gy, and so on).
    static func removeAfterDouble(_ w: inout Word, _ suffixes: [String], p1: Int) {
        guard let found = Snowball.longest(w, suffixes.map { (scalars($0), ()) }) else { return }
        let start = w.count - found.length
        guard start >= p1, doubleConsonants.contains(where: { Snowball.has(w, $0, endingAt: start) }) else { return }
        w.removeSubrange((start - 2)..<(start - 1))
        w.removeLast(found.length)
    }
}
