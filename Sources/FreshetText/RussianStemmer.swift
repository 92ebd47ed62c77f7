/// The Snowball Russian stemmer (snowballstem.org/algorithms/russian), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// ё becomes е; then every suffix, and the а or я some of them need before them, must
/// lie in RV (after the first vowel). Step 1: a perfective gerund, else an optional
/// reflexive ending followed by an adjectival ending (an adjective ending, then maybe
/// a participle), a verb ending or a noun ending. Step 2: a final и. Step 3: ость or
/// ост in R2. Step 4: a superlative ейш(е), then нн to н; or нн to н; or a final ь.
public enum RussianStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("аеиоуыэюя".unicodeScalars)
    static func isVowel(_ c: Unicode.Scalar) -> Bool { vowels.contains(c) }

    /// Suffixes of group 1 (value true: removed only after an а or я, which stays) and
    /// of group 2 (false: removed as they are).
    static func groups(_ group1: [String], _ group2: [String]) -> [(Word, Bool)] {
        group1.map { (scalars($0), true) } + group2.map { (scalars($0), false) }
    }
    static func plain(_ suffixes: [String]) -> [(Word, Void)] { suffixes.map { (scalars($0), ()) } }

    static let perfectiveGerunds = groups(["в", "вши", "вшись"], ["ив", "ивши", "ившись", "ыв", "ывши", "ывшись"])
    static let adjectives = plain([
        "ее", "ие", "ые", "ое", "ими", "ыми", "ей", "ий", "ый", "ой", "ем", "им", "ым", "ом", "его", "ого", "ему", "ому",
        "их", "ых", "ую", "юю", "ая", "яя", "ою", "ею",
    ])
    static let participles = groups(["ем", "нн", "вш", "ющ", "щ"], ["ивш", "ывш", "ующ"])
    static let reflexives = plain(["ся", "сь"])
    static let verbs = groups(
        ["ла", "на", "ете", "йте", "ли", "й", "л", "ем", "н", "ло", "но", "ет", "ют", "ны", "ть", "ешь", "нно"],
        ["ила", "ыла", "ена", "ейте", "уйте", "ите", "или", "ыли", "ей", "уй", "ил", "ыл", "им", "ым", "ен", "ило", "ыло",
         "ено", "ят", "ует", "уют", "ит", "ыт", "ены", "ить", "ыть", "ишь", "ую", "ю"])
    static let nouns = plain([
        "а", "ев", "ов", "ие", "ье", "е", "иями", "ями", "ами", "еи", "ии", "и", "ией", "ей", "ой", "ий", "й", "иям", "ям",
        "ием", "ем", "ам", "ом", "о", "у", "ах", "иях", "ях", "ы", "ь", "ию", "ью", "ю", "ия", "ья", "я",
    ])

    public static func stem(_ input: String) -> String {
        var w = scalars(input).map { $0 == "ё" ? "е" : $0 }
        let pV = (w.firstIndex(where: isVowel) ?? w.count - 1) + 1
        let p2 = Snowball.regionStart(w, after: Snowball.regionStart(w, after: 0, isVowel: isVowel), isVowel: isVowel)
        endings(&w, pV: pV)
        if Snowball.ends(w, with: "и"), w.count - 1 >= pV { w.removeLast() }
        Snowball.removeLongest(&w, of: ["ость", "ост"], ifFrom: p2)
        tidyUp(&w, pV: pV)
        return String(String.UnicodeScalarView(w))
    }

    /// Step 1.
    static func endings(_ w: inout Word, pV: Int) {
        if removeGroupSuffix(&w, perfectiveGerunds, pV: pV) { return }
        Snowball.removeLongest(&w, of: reflexives, within: pV)
        if adjectival(&w, pV: pV) || removeGroupSuffix(&w, verbs, pV: pV) { return }
        Snowball.removeLongest(&w, of: nouns, within: pV)
    }

    /// Removes the longest suffix of `table` in RV, provided that one, when of group 1,
    /// follows an а or я in RV (no shorter suffix is tried when it does not).
    static func removeGroupSuffix(_ w: inout Word, _ table: [(Word, Bool)], pV: Int) -> Bool {
        guard let found = Snowball.longest(w, table, from: pV) else { return false }
        let start = w.count - found.length
        if found.value {
            guard start - 1 >= pV, w[start - 1] == "а" || w[start - 1] == "я" else { return false }
        }
        w.removeLast(found.length)
        return true
    }

    static func adjectival(_ w: inout Word, pV: Int) -> Bool {
        guard Snowball.removeLongest(&w, of: adjectives, within: pV) else { return false }
        _ = removeGroupSuffix(&w, participles, pV: pV)
        return true
    }

    /// Step 4.
    static func tidyUp(_ w: inout Word, pV: Int) {
        if Snowball.removeLongest(&w, of: plain(["ейше", "ейш"]), within: pV) || Snowball.ends(w, with: "нн") {
            if Snowball.ends(w, with: "нн"), w.count - 2 >= pV { w.removeLast() }
        } else {
            Snowball.removeSuffix(&w, "ь", ifFrom: pV)
        }
    }
}
