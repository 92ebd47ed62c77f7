/// The Snowball Turkish stemmer (snowballstem.org/algorithms/turkish), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// An apostrophe and what follows it (a proper noun's case ending) go first. A word of two or
/// more vowels then loses its nominal verb suffixes (-DUr, -ymUş, -lAr, the personal endings);
/// unless that -lAr ended a verb, its noun suffixes follow (case, possessive and plural endings,
/// and chains ending in -ki). A suffix counts only when the word's vowels agree with it (vowel
/// harmony) and its optional linking letter (y, n, s, or a U vowel) fits. Last, a stem ending in
/// d or g gets back the U vowel it most likely lost, and a final b, c, d or ğ is devoiced.
///
/// Suffix names follow the paper the algorithm comes from (Eryiğit and Adalı, 2004): capital A
/// stands for a or e, U for ı, i, u or ü, D for d or t.
public enum TurkishStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }

    static let vowels: Set<Unicode.Scalar> = Set("aeıioöuü".unicodeScalars)
    static let uVowels: Set<Unicode.Scalar> = Set("ıiuü".unicodeScalars)
    static func isVowel(_ c: Unicode.Scalar) -> Bool { vowels.contains(c) }

    /// The letter a suffix may take before it when it follows a vowel (or, for possessives,
    /// the U vowel it takes after a consonant).
    enum Link { case none, y, n, s, u }

    struct Suffix {
        let forms: [(Word, Void)]
        /// Whether the word's vowels must agree (see `harmonizes`) before the suffix is looked for.
        let harmony: Bool
        let link: Link

        init(_ forms: [String], harmony: Bool = true, link: Link = .none) {
            self.forms = forms.map { (Snowball.scalars($0), ()) }
            self.harmony = harmony
            self.link = link
        }
    }

    // Noun suffixes.
    static let lAr = Suffix(["lar", "ler"])
    static let lArI = Suffix(["ları", "leri"], harmony: false)
    static let possessives = Suffix(["m", "n", "mız", "miz", "muz", "müz", "nız", "niz", "nuz", "nüz"], harmony: false, link: .u)
    static let sU = Suffix(["ı", "i", "u", "ü"], link: .s)
    static let yU = Suffix(["ı", "i", "u", "ü"], link: .y)
    static let nU = Suffix(["nı", "ni", "nu", "nü"])
    static let nUn = Suffix(["ın", "in", "un", "ün"], link: .n)
    static let yA = Suffix(["a", "e"], link: .y)
    static let nA = Suffix(["na", "ne"])
    static let DA = Suffix(["da", "de", "ta", "te"])
    static let ndA = Suffix(["nda", "nde"])
    static let DAn = Suffix(["dan", "den", "tan", "ten"])
    static let ndAn = Suffix(["ndan", "nden"])
    static let ylA = Suffix(["la", "le"], link: .y)
    static let ki = Suffix(["ki"], harmony: false)
    static let ncA = Suffix(["ca", "ce"], link: .n)

    // Nominal verb suffixes.
    static let yUm = Suffix(["ım", "im", "um", "üm"], link: .y)
    static let sUn = Suffix(["sın", "sin", "sun", "sün"])
    static let yUz = Suffix(["ız", "iz", "uz", "üz"], link: .y)
    static let sUnUz = Suffix(["sınız", "siniz", "sunuz", "sünüz"], harmony: false)
    static let nUz = Suffix(["nız", "niz", "nuz", "nüz"])
    static let DUr = Suffix(["dır", "dir", "dur", "dür", "tır", "tir", "tur", "tür"])
    static let cAsInA = Suffix(["casına", "cesine"], harmony: false)
    /// -DU, -DUm, -DUn, -DUk.
    static let yDU = Suffix(["d", "t"].flatMap { d in ["ı", "i", "u", "ü"].flatMap { u in ["", "m", "n", "k"].map { d + u + $0 } } }, link: .y)
    /// Does not obey vowel harmony.
    static let ysA = Suffix(["sa", "se", "sak", "sek", "sam", "sem", "san", "sen"], harmony: false, link: .y)
    static let ymUs = Suffix(["mış", "miş", "muş", "müş"], link: .y)
    static let yken = Suffix(["ken"], harmony: false, link: .y)

    public static func stem(_ input: String) -> String {
        var w = withoutProperNounSuffix(scalars(input))
        if w.filter(isVowel).count >= 2, removeNominalVerbSuffixes(&w) {
            removeNounSuffixes(&w)
            restoreLastLetter(&w)
        }
        return String(String.UnicodeScalarView(w))
    }

    /// Drops leading apostrophes, then an apostrophe from the third letter on and all after it
    /// ("ankara'dan" → "ankara").
    static func withoutProperNounSuffix(_ input: Word) -> Word {
        var w = input
        w.removeFirst(w.prefix(while: { $0 == "'" }).count)
        if w.count >= 2, let apostrophe = w[2...].firstIndex(of: "'") { w.removeSubrange(apostrophe...) }
        return w
    }

    /// Snowball's vowel harmony test: the last vowel of `w` must have an earlier vowel it may
    /// follow (a back vowel before a or ı, a front one before e or i, a rounded one before o, u,
    /// ö or ü) anywhere before it.
    static func harmonizes(_ w: Word) -> Bool {
        guard let last = w.lastIndex(where: isVowel) else { return false }
        let earlier: String
        switch w[last] {
        case "a": earlier = "aıou"
        case "e": earlier = "eiöü"
        case "ı": earlier = "aı"
        case "i": earlier = "ei"
        case "o", "u": earlier = "ou"
        default: earlier = "öü"
        }
        let allowed = Set(earlier.unicodeScalars)
        return w[..<last].contains(where: allowed.contains)
    }

    /// Where `suffix` starts (its linking letter included) when it ends `w[..<end]`, or nil.
    static func start(of suffix: Suffix, in w: Word, before end: Int) -> Int? {
        let head = Array(w[..<end])
        if suffix.harmony && !harmonizes(head) { return nil }
        guard let found = Snowball.longest(head, suffix.forms) else { return nil }
        return linked(suffix.link, head, at: end - found.length)
    }

    /// A suffix starting at `start` may take its linking letter (y, n, s) when a vowel stands
    /// before that letter, or a U when a consonant does; without the letter, Snowball's test
    /// looks at the letter two before the suffix. Returns the suffix's start with the link.
    static func linked(_ link: Link, _ w: Word, at start: Int) -> Int? {
        let isLink: (Unicode.Scalar) -> Bool
        let fitsBefore: (Unicode.Scalar) -> Bool
        switch link {
        case .none: return start
        case .y: (isLink, fitsBefore) = ({ $0 == "y" }, isVowel)
        case .n: (isLink, fitsBefore) = ({ $0 == "n" }, isVowel)
        case .s: (isLink, fitsBefore) = ({ $0 == "s" }, isVowel)
        case .u: (isLink, fitsBefore) = (uVowels.contains, { !isVowel($0) })
        }
        let fits = start >= 2 && fitsBefore(w[start - 2])
        if start >= 1, isLink(w[start - 1]) { return fits ? start - 1 : nil }
        return fits ? start : nil
    }

    /// Removes `suffix` from the end of the word; returns whether it did.
    @discardableResult
    static func strip(_ suffix: Suffix, _ w: inout Word) -> Bool {
        guard let start = start(of: suffix, in: w, before: w.count) else { return false }
        w.removeSubrange(start...)
        return true
    }

    /// Returns false when the suffixes ended in -lAr as a verb's plural: the word is then done.
    static func removeNominalVerbSuffixes(_ w: inout Word) -> Bool {
        func at(_ suffix: Suffix, _ end: Int) -> Int? { start(of: suffix, in: w, before: end) }
        /// A personal ending that may stand between -cAsInA or -DUr and the -ymUş before it.
        func person(_ end: Int) -> Int? { at(sUnUz, end) ?? at(lAr, end) ?? at(yUm, end) ?? at(sUn, end) ?? at(yUz, end) }
        let n = w.count
        if let start = at(ymUs, n) ?? at(yDU, n) ?? at(ysA, n) ?? at(yken, n) {
            w.removeSubrange(start...)
            return true
        }
        if let casina = at(cAsInA, n), let start = at(ymUs, person(casina) ?? casina) {
            w.removeSubrange(start...)
            return true
        }
        if let plural = at(lAr, n) {
            w.removeSubrange(plural...)
            if let start = at(DUr, plural) ?? at(yDU, plural) ?? at(ysA, plural) ?? at(ymUs, plural) {
                w.removeSubrange(start...)
            }
            return false
        }
        if let nuz = at(nUz, n), let start = at(yDU, nuz) ?? at(ysA, nuz) {
            w.removeSubrange(start...)
            return true
        }
        if let ending = at(sUnUz, n) ?? at(yUz, n) ?? at(sUn, n) ?? at(yUm, n) {
            w.removeSubrange((at(ymUs, ending) ?? ending)...)
            return true
        }
        if let dur = at(DUr, n) {
            w.removeSubrange((at(ymUs, person(dur) ?? dur) ?? dur)...)
        }
        return true
    }

    /// Removes -lAr and then any suffix chain ending in -ki before it.
    static func removePluralThenChain(_ w: inout Word) {
        if strip(lAr, &w) { removeChainBeforeKi(&w) }
    }

    /// -ki ("the one of/at") and what comes before it: -DA-ki or -nUn-ki, each after a
    /// possessive or plural, recursively. (The algorithm also lists -ndA-ki, but -DA, tested
    /// first with the same harmony check, always claims it.)
    @discardableResult
    static func removeChainBeforeKi(_ w: inout Word) -> Bool {
        guard let ki = start(of: ki, in: w, before: w.count) else { return false }
        if let start = start(of: DA, in: w, before: ki) {
            w.removeSubrange(start...)
            if strip(lAr, &w) {
                removeChainBeforeKi(&w)
            } else if strip(possessives, &w) {
                removePluralThenChain(&w)
            }
            return true
        }
        if let start = start(of: nUn, in: w, before: ki) {
            w.removeSubrange(start...)
            if strip(lArI, &w) {
            } else if strip(possessives, &w) || strip(sU, &w) {
                removePluralThenChain(&w)
            } else {
                removeChainBeforeKi(&w)
            }
            return true
        }
        return false
    }

    /// The first of these suffix patterns that fits wins.
    static func removeNounSuffixes(_ w: inout Word) {
        let n = w.count
        if strip(lAr, &w) {
            removeChainBeforeKi(&w)
            return
        }
        if strip(ncA, &w) {
            if !strip(lArI, &w) {
                _ = strip(possessives, &w) || strip(sU, &w)
                removePluralThenChain(&w)
            }
            return
        }
        if let locative = start(of: ndA, in: w, before: n) ?? start(of: nA, in: w, before: n) {
            if let start = start(of: lArI, in: w, before: locative) {
                w.removeSubrange(start...)
                return
            }
            if let start = start(of: sU, in: w, before: locative) {
                w.removeSubrange(start...)
                removePluralThenChain(&w)
                return
            }
            // A -ki chain before the case ending goes; the case ending itself stays.
            var head = Array(w[..<locative])
            if removeChainBeforeKi(&head) {
                w = head + w[locative...]
                return
            }
        }
        if let ending = start(of: ndAn, in: w, before: n) ?? start(of: nU, in: w, before: n) {
            if let start = start(of: sU, in: w, before: ending) {
                w.removeSubrange(start...)
                removePluralThenChain(&w)
                return
            }
            // After -lArI the word is left as it is.
            if start(of: lArI, in: w, before: ending) != nil { return }
        }
        if strip(DAn, &w) {
            if strip(possessives, &w) {
                removePluralThenChain(&w)
            } else {
                strip(lAr, &w)
                removeChainBeforeKi(&w)
            }
            return
        }
        if strip(nUn, &w) || strip(ylA, &w) {
            // A plural removed here stays removed even when no -ki chain follows it.
            if strip(lAr, &w), removeChainBeforeKi(&w) { return }
            if strip(possessives, &w) || strip(sU, &w) {
                removePluralThenChain(&w)
            } else {
                removeChainBeforeKi(&w)
            }
            return
        }
        if strip(lArI, &w) { return }
        if removeChainBeforeKi(&w) { return }
        if strip(DA, &w) || strip(yU, &w) || strip(yA, &w) {
            if strip(possessives, &w) {
                strip(lAr, &w)
                removeChainBeforeKi(&w)
            } else if strip(lAr, &w) {
                removeChainBeforeKi(&w)
            }
            return
        }
        if strip(possessives, &w) || strip(sU, &w) { removePluralThenChain(&w) }
    }

    /// Unless the word is "ad" or "soyad": a final d or g gets back the U vowel of the last
    /// vowel's kind ("kedim" → "ked" → "kedi"), then a final b, c, d, ğ becomes p, ç, t, k.
    static func restoreLastLetter(_ w: inout Word) {
        if w == scalars("ad") || w == scalars("soyad") { return }
        if let last = w.last, last == "d" || last == "g", let vowel = w.dropLast().last(where: isVowel) {
            switch vowel {
            case "a", "ı": w.append("ı")
            case "e", "i": w.append("i")
            case "o", "u": w.append("u")
            default: w.append("ü")
            }
        }
        let devoiced: [Unicode.Scalar: Unicode.Scalar] = ["b": "p", "c": "ç", "d": "t", "ğ": "k"]
        if let last = w.last, let voiceless = devoiced[last] { w[w.count - 1] = voiceless }
    }
}
