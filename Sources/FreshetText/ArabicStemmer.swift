/// The Snowball Arabic stemmer (snowballstem.org/algorithms/arabic), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// A word that starts with a definite article (ال, لل, بال, كال, judged on the word as
/// given) is a defined noun; any other word may be a verb or a noun. The word is
/// normalised: diacritics and tatweel dropped, Arabic-Indic digits made ASCII,
/// presentation forms made base letters. Suffixes: for a possible verb, attached
/// pronouns (repeatedly) then a person ending, or else a plural or person ending; if
/// none, noun endings (ta marbuta, pronouns, dual and plural endings) and then a ya'
/// nisba; if none, a final alef maksura becomes yeh. Prefixes: a doubled hamza-alef, a
/// conjunction ف or و, then an article, a preposition, or (for a possible verb) a
/// future or present marker. Last, a final hamza-carrier becomes a bare hamza and
/// the others their carrier letter. Lengths in the rules count the whole word.
public enum ArabicStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }

    /// Affixes with the shortest word (affix included) they may be removed from.
    static func lengthTable(_ groups: [(Int, [String])]) -> [(Word, Int)] { Snowball.table(groups) }

    public static func stem(_ input: String) -> String {
        let original = scalars(input)
        let definite = hasArticle(original)
        var w = normalized(original)
        removeSuffixes(&w, definite: definite)
        removePrefixes(&w, definite: definite)
        normalizeHamza(&w)
        return String(String.UnicodeScalarView(w))
    }

    // MARK: Checks and normalisation

    static let articles = lengthTable([(4, ["ال", "لل"]), (5, ["بال", "كال"])])

    static func hasArticle(_ w: Word) -> Bool {
        guard let found = Snowball.longestPrefix(w, articles) else { return false }
        return w.count >= found.value
    }

    /// Tanween, short vowels, shadda and sukun (U+064B...U+0652), and tatweel.
    static let diacritics: Set<Unicode.Scalar> = Set("\u{064B}\u{064C}\u{064D}\u{064E}\u{064F}\u{0650}\u{0651}\u{0652}\u{0640}".unicodeScalars)

    /// The letters the presentation forms U+FE80...U+FEFC stand for, in code order, with
    /// how many forms (isolated, final, initial, medial) each has.
    static let presentationForms: [(String, Int)] = [
        ("ء", 1), ("آ", 2), ("أ", 2), ("ؤ", 2), ("إ", 2), ("ئ", 4), ("ا", 2), ("ب", 4), ("ة", 2), ("ت", 4), ("ث", 4),
        ("ج", 4), ("ح", 4), ("خ", 4), ("د", 2), ("ذ", 2), ("ر", 2), ("ز", 2), ("س", 4), ("ش", 4), ("ص", 4), ("ض", 4),
        ("ط", 4), ("ظ", 4), ("ع", 4), ("غ", 4), ("ف", 4), ("ق", 4), ("ك", 4), ("ل", 4), ("م", 4), ("ن", 4), ("ه", 4),
        ("و", 2), ("ى", 2), ("ي", 4), ("لآ", 2), ("لأ", 2), ("لإ", 2), ("لا", 2),
    ]
    static let replacements: [Unicode.Scalar: Word] = {
        var map: [Unicode.Scalar: Word] = [:]
        var code: UInt32 = 0xFE80
        for (letters, forms) in presentationForms {
            for _ in 0..<forms {
                if let form = Unicode.Scalar(code) { map[form] = scalars(letters) }
                code += 1
            }
        }
        for digit in 0..<10 {
            if let arabic = Unicode.Scalar(0x0660 + UInt32(digit)), let ascii = Unicode.Scalar(0x30 + UInt32(digit)) {
                map[arabic] = [ascii]
            }
        }
        return map
    }()

    static func normalized(_ input: Word) -> Word {
        var w: Word = []
        w.reserveCapacity(input.count)
        for c in input where !diacritics.contains(c) {
            if let replacement = replacements[c] { w += replacement } else { w.append(c) }
        }
        return w
    }

    /// A final hamza on a carrier becomes a bare hamza; elsewhere the carrier stays.
    static func normalizeHamza(_ w: inout Word) {
        if let last = w.last, "آأؤإئ".unicodeScalars.contains(last) { w[w.count - 1] = "ء" }
        for index in w.indices {
            switch w[index] {
            case "آ", "أ", "إ": w[index] = "ا"
            case "ؤ": w[index] = "و"
            case "ئ": w[index] = "ي"
            default: break
            }
        }
    }

    // MARK: Suffixes

    static let verbPronouns = lengthTable([(4, ["ه", "ك"]), (5, ["ني", "نا", "ها", "هم", "هن", "كم", "كن"]), (6, ["هما", "كما", "كمو"])])
    static let verbPersonEndings = lengthTable([(4, ["ت", "ا", "ن", "ي"]), (5, ["نا", "تا", "تن"]), (6, ["ان", "ون", "ين", "تما"])])
    static let verbPluralEndings = lengthTable([(5, ["وا", "تم"])])
    static let verbWawEndings = lengthTable([(4, ["و"]), (6, ["تمو"])])

    static let taMarbuta = lengthTable([(4, ["ة"])])
    static let nounPronouns = lengthTable([(4, ["ي", "ك", "ه"]), (5, ["نا", "كم", "ها", "هن", "هم"]), (6, ["كما", "هما"])])
    static let nounNun = lengthTable([(6, ["ن"])])
    static let nounLongVowels = lengthTable([(5, ["ا", "ي", "و"])])
    static let nounAt = lengthTable([(5, ["ات"])])
    static let nounTa = lengthTable([(4, ["ت"])])
    static let yaNisba = lengthTable([(3, ["ي"])])

    /// Removes the longest ending of `table` that the word has just before `end` (the
    /// end of the word by default), when the whole word is long enough for it.
    @discardableResult
    static func removeEnding(_ w: inout Word, _ table: [(Word, Int)], before end: Int? = nil) -> Bool {
        let end = min(end ?? w.count, w.count)
        guard end >= 0, let found = Snowball.longest(Array(w[..<end]), table), w.count >= found.value else { return false }
        w.removeSubrange(end - found.length..<end)
        return true
    }

    static func removeSuffixes(_ w: inout Word, definite: Bool) {
        if !definite, removeVerbSuffixes(&w) { return }
        if removeNounSuffixes(&w, definite: definite) { return }
        if w.last == "ى" { w[w.count - 1] = "ي" }
    }

    static func removeVerbSuffixes(_ w: inout Word) -> Bool {
        var pronouns = 0
        while removeEnding(&w, verbPronouns) { pronouns += 1 }
        if pronouns > 0 {
            if !removeEnding(&w, verbPersonEndings) { removeEnding(&w, verbWawEndings) }
            return true
        }
        return removeEnding(&w, verbPluralEndings) || removeEnding(&w, verbPersonEndings)
    }

    /// Noun endings, then the ya' nisba; returns whether a ya' nisba went (only then
    /// does the alef maksura rule not run).
    static func removeNounSuffixes(_ w: inout Word, definite: Bool) -> Bool {
        // After a pronoun with no ending before it, Snowball's cursor has stepped back
        // one letter, so the ya' nisba is looked for before the last letter. (Kept for
        // fidelity: a word that is not defined loses such a pronoun to the verb rules first.)
        var skipLast = false
        if removeEnding(&w, taMarbuta) {
        } else if !definite, removeEnding(&w, nounPronouns) {
            skipLast = !(removeEnding(&w, nounLongVowels) || removeEnding(&w, nounAt) || removeEnding(&w, nounTa))
        } else if removeEnding(&w, nounNun) {
            _ = removeEnding(&w, nounLongVowels) || removeEnding(&w, nounAt) || removeEnding(&w, nounTa)
        } else if !definite, removeEnding(&w, nounLongVowels) {
        } else {
            removeEnding(&w, nounAt)
        }
        return removeEnding(&w, yaNisba, before: skipLast ? w.count - 1 : w.count)
    }

    // MARK: Prefixes

    static let hamzaPairs: [(Word, Word)] = [("أأ", "أ"), ("أآ", "آ"), ("أؤ", "أ"), ("أا", "ا"), ("أإ", "إ")]
        .map { (scalars($0.0), scalars($0.1)) }
    static let articlePrefixes = lengthTable([(5, ["ال", "لل"]), (6, ["بال", "كال"])])
    /// Noun prefixes and what is left of them; nil for با, which is kept and ends the
    /// prefix steps.
    static let nounPrefixes: [(Word, Word?)] = [("ب", ""), ("با", nil), ("بب", "ب"), ("كك", "ك")]
        .map { (scalars($0.0), $0.1.map(scalars)) }
    static let futureMarkers: [(Word, Word)] = [("سي", "ي"), ("ست", "ت"), ("سن", "ن"), ("سأ", "أ")].map { (scalars($0.0), scalars($0.1)) }
    static let presentStems = ["يست", "نست", "تست"].map { (scalars($0), ()) }

    /// Each step looks where the previous one left off: one letter in after a
    /// rewritten hamza pair or future marker, as in Snowball.
    static func removePrefixes(_ w: inout Word, definite: Bool) {
        var at = 0
        if w.count > 3, let pair = Snowball.longestPrefix(w, hamzaPairs) {
            w.replaceSubrange(0..<pair.length, with: pair.value)
            at = pair.value.count
        }
        if w.count > 3, at < w.count, w[at] == "ف" || w[at] == "و", at + 1 == w.count || w[at + 1] != "ا" {
            w.remove(at: at)
        }
        if let article = Snowball.longestPrefix(w, articlePrefixes, at: at), w.count >= article.value {
            w.removeSubrange(at..<at + article.length)
            return
        }
        if let prefix = Snowball.longestPrefix(w, nounPrefixes, at: at) {
            guard let rest = prefix.value else { return }
            if w.count > 3 {
                w.replaceSubrange(at..<at + prefix.length, with: rest)
                return
            }
        }
        guard !definite else { return }
        if w.count > 4, let marker = Snowball.longestPrefix(w, futureMarkers, at: at) {
            w.replaceSubrange(at..<at + marker.length, with: marker.value)
            at += marker.value.count
        }
        if w.count > 4, let present = Snowball.longestPrefix(w, presentStems, at: at) {
            w.replaceSubrange(at..<at + present.length, with: scalars("است"))
        }
    }
}
