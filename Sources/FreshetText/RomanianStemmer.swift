/// The Snowball Romanian stemmer (snowballstem.org/algorithms/romanian), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// ş and ţ (cedilla) become ș and ț (comma), and a u or i between vowels is marked (so
/// it counts as a consonant); step 0 rewrites plural and article endings in R1;
/// combined suffixes in R1 are reduced as long as one is found, then a standard suffix
/// in R2 goes; if neither removed anything, a verb suffix within RV; finally a
/// vowel in RV.
public enum RomanianStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeiouâîă".unicodeScalars)
    static func isVowel(_ c: Unicode.Scalar) -> Bool { vowels.contains(c) }

    enum Step0 { case replace(String), iUnlessAfterAb }
    static let step0: [(Word, Step0)] = {
        var table: [(String, Step0)] = [("ile", .iUnlessAfterAb)]
        for s in ["ul", "ului"] { table.append((s, .replace(""))) }
        table.append(("aua", .replace("a")))
        for s in ["ea", "ele", "elor"] { table.append((s, .replace("e"))) }
        for s in ["ii", "iua", "iei", "iile", "iilor", "ilor"] { table.append((s, .replace("i"))) }
        table.append(("atei", .replace("at")))
        for s in ["ație", "ația"] { table.append((s, .replace("ați"))) }
        return table.map { (scalars($0.0), $0.1) }
    }()

    /// Combined suffixes and what they are reduced to.
    static let combo: [(Word, Word)] = {
        var table: [(String, String)] = []
        for s in ["abilitate", "abilitati", "abilităi", "abilități"] { table.append((s, "abil")) }
        table.append(("ibilitate", "ibil"))
        for s in ["ivitate", "ivitati", "ivităi", "ivități"] { table.append((s, "iv")) }
        for s in ["icitate", "icitati", "icităi", "icități", "icator", "icatori", "iciv", "iciva", "icive", "icivi",
                  "icivă", "ical", "icala", "icale", "icali", "icală"] { table.append((s, "ic")) }
        for s in ["ativ", "ativa", "ative", "ativi", "ativă", "ațiune", "atoare", "ator", "atori", "ătoare", "ător",
                  "ători"] { table.append((s, "at")) }
        for s in ["itiv", "itiva", "itive", "itivi", "itivă", "ițiune", "itoare", "itor", "itori"] { table.append((s, "it")) }
        return table.map { (scalars($0.0), scalars($0.1)) }
    }()

    enum Standard { case delete, tiune, ist }
    static let standard: [(Word, Standard)] = {
        var table: [(String, Standard)] = []
        for s in ["at", "ata", "ată", "ati", "ate", "ut", "uta", "ută", "uti", "ute", "it", "ita", "ită", "iti", "ite",
                  "ic", "ica", "ice", "ici", "ică", "abil", "abila", "abile", "abili", "abilă", "ibil", "ibila", "ibile",
                  "ibili", "ibilă", "oasa", "oasă", "oase", "os", "osi", "oși", "ant", "anta", "ante", "anti", "antă",
                  "ator", "atori", "itate", "itati", "ităi", "ități", "iv", "iva", "ive", "ivi", "ivă"] {
            table.append((s, .delete))
        }
        for s in ["iune", "iuni"] { table.append((s, .tiune)) }
        for s in ["ism", "isme", "ist", "ista", "iste", "isti", "istă", "iști"] { table.append((s, .ist)) }
        return table.map { (scalars($0.0), $0.1) }
    }()

    /// Verb endings; true for those removed only after a consonant or a u.
    static let verb: [(Word, Bool)] = {
        let afterConsonantOrU = [
            "are", "ere", "ire", "âre", "ind", "ând", "indu", "ându", "eze", "ească", "ez", "ezi", "ează", "esc", "ăsc",
            "ește", "ăște", "ești", "ăști", "ea", "ia", "ai", "eai", "iai", "ui", "âi", "au", "eau", "iau", "am", "eam",
            "iam", "ași", "iși", "uși", "âși", "eați", "iați", "ase", "ise", "use", "âse", "aseși", "iseși", "useși",
            "âseși", "asem", "isem", "usem", "âsem", "aserăți", "iserăți", "userăți", "âserăți", "aserăm", "iserăm",
            "userăm", "âserăm", "aseră", "iseră", "useră", "âseră", "arăți", "irăți", "urăți", "ârăți", "arăm", "irăm",
            "urăm", "ârăm", "ară", "iră", "ură", "âră",
        ]
        let always = [
            "ați", "eți", "iți", "âți", "sei", "se", "sese", "seși", "seseși", "serăți", "seserăți", "serăm", "seserăm",
            "seră", "seseră", "em", "sesem", "im", "âm", "ăm",
        ]
        return afterConsonantOrU.map { (scalars($0), true) } + always.map { (scalars($0), false) }
    }()

    static let vowelEndings: [(Word, Void)] = ["a", "e", "ie", "i", "ă"].map { (scalars($0), ()) }

    public static func stem(_ input: String) -> String {
        var w = prelude(scalars(input))
        let (pV, p1, p2) = Snowball.romanceRegions(w, vowels: vowels)
        step0Suffix(&w, p1: p1)
        if !standardSuffix(&w, p1: p1, p2: p2) { verbSuffix(&w, pV: pV) }
        if let found = Snowball.longest(w, vowelEndings), w.count - found.length >= pV { w.removeLast(found.length) }
        return String(String.UnicodeScalarView(w.map { $0 == "I" ? "i" : $0 == "U" ? "u" : $0 }))
    }

    static func prelude(_ input: Word) -> Word {
        var w = input.map { $0 == "ş" ? "ș" : $0 == "ţ" ? "ț" : $0 }
        var k = 0
        while k + 2 < w.count {
            if isVowel(w[k]), isVowel(w[k + 2]) {
                if w[k + 1] == "u" { w[k + 1] = "U" } else if w[k + 1] == "i" { w[k + 1] = "I" }
            }
            k += 1
        }
        return w
    }

    static func step0Suffix(_ w: inout Word, p1: Int) {
        guard let found = Snowball.longest(w, step0) else { return }
        let start = w.count - found.length
        guard start >= p1 else { return }
        switch found.value {
        case .replace(let text):
            w.replaceSubrange(start..., with: scalars(text))
        case .iUnlessAfterAb:
            if !Snowball.ends(Array(w[..<start]), with: "ab") { w.replaceSubrange(start..., with: ["i"]) }
        }
    }

    /// Reduces combined suffixes while one is found in R1, then removes a standard
    /// suffix in R2; true when either changed the word.
    static func standardSuffix(_ w: inout Word, p1: Int, p2: Int) -> Bool {
        var removed = false
        // Every reduction shortens the word, so this ends.
        while let found = Snowball.longest(w, combo), w.count - found.length >= p1 {
            w.replaceSubrange((w.count - found.length)..., with: found.value)
            removed = true
        }
        guard let found = Snowball.longest(w, standard) else { return removed }
        let start = w.count - found.length
        guard start >= p2 else { return removed }
        switch found.value {
        case .delete:
            w.removeSubrange(start...)
        case .tiune:
            // Only after ț, which becomes t.
            guard start >= 1, w[start - 1] == "ț" else { return removed }
            w.replaceSubrange((start - 1)..., with: ["t"])
        case .ist:
            w.replaceSubrange(start..., with: scalars("ist"))
        }
        return true
    }

    static func verbSuffix(_ w: inout Word, pV: Int) {
        guard let found = Snowball.longest(w, verb, from: pV) else { return }
        let start = w.count - found.length
        if found.value {
            guard start - 1 >= pV, !isVowel(w[start - 1]) || w[start - 1] == "u" else { return }
        }
        w.removeSubrange(start...)
    }
}
