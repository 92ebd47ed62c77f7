/// The Snowball Tamil stemmer (snowballstem.org/algorithms/tamil), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// Works on Tamil letters and vowel signs (Unicode scalars). An ending is fixed once
/// (sandhi doublings, stray pulli); words of four letters or fewer stop there.
/// Then: a question prefix (எ + consonant) and a demonstrative prefix (அ, இ, உ +
/// consonant), with வ + o/u at the start made the independent vowel; a question
/// vowel (ா, ே, ோ); the clitic உம்; words commonly glued on (உடன், இல்லை, பட்ட, ...);
/// case endings (ஐ, ஆல், இல், ...); the plural கள்; the imperative பி/வி; then tense
/// and person endings, repeatedly while one goes. After most steps the ending is fixed
/// again until nothing changes. Lengths count scalars of the whole word.
public enum TamilStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }

    static let pulli: Unicode.Scalar = "\u{0BCD}"
    /// The hard consonants (vallinam).
    static let hardConsonants: Set<Unicode.Scalar> = Set("கசடதபற".unicodeScalars)
    /// Soft and medium consonants that the rules drop with a pulli.
    static let softConsonants: Set<Unicode.Scalar> = Set("ஞணநனமயரலளழவ".unicodeScalars)
    /// Consonants a question or demonstrative prefix ends with.
    static let prefixConsonants: Set<Unicode.Scalar> = Set("கஙசஞதநபமயவ".unicodeScalars)
    static let independentVowels: Set<Unicode.Scalar> = Set("அஆஇஈஉஊஎஏஐஒஓஔ".unicodeScalars)
    /// The vowel signs ா ி ீ ு ூ ெ ே ை (not the two-part ொ ோ ௌ).
    static let vowelSigns: Set<Unicode.Scalar> = Set("\u{0BBE}\u{0BBF}\u{0BC0}\u{0BC1}\u{0BC2}\u{0BC6}\u{0BC7}\u{0BC8}".unicodeScalars)

    static func isMinLength(_ w: Word) -> Bool { w.count > 4 }

    /// The scalar before index `index`, if any.
    static func scalar(_ w: Word, before index: Int) -> Unicode.Scalar? {
        index > 0 && index <= w.count ? w[index - 1] : nil
    }

    /// Replaces the last `length` scalars with `replacement`.
    static func replaceEnding(_ w: inout Word, length: Int, with replacement: Word) {
        w.replaceSubrange(w.count - length..<w.count, with: replacement)
    }

    public static func stem(_ input: String) -> String {
        var w = scalars(input)
        fixEnding(&w, afterCaseEnding: false)
        if isMinLength(w) {
            removePrefix(&w, questionPrefix)
            removePrefix(&w, demonstrativePrefix)
            removeQuestionSuffix(&w)
            removeUm(&w)
            removeCommonWordEnding(&w)
            let afterCaseEnding = removeCaseEnding(&w)
            removePlural(&w)
            removeCommandSuffix(&w)
            // Each pass shortens the word or turns a final ா into a pulli, which no
            // rule turns back, so this ends.
            while removeTenseSuffix(&w, afterCaseEnding: afterCaseEnding) {}
        }
        return String(String.UnicodeScalarView(w))
    }

    // MARK: Fixing endings

    enum EndingFix {
        case delete
        case replace(Word)
        /// ய் after ை, ி or ீ is dropped.
        case yaAfterI
        /// த்த் becomes ம் once a case ending has gone, unless after ை.
        case doubledTa
        /// னு is dropped unless after a vowel sign.
        case nu
        /// ங் is dropped after ை or a pulli, else becomes ம்.
        case nga
    }
    static let endingFixes: [(Word, EndingFix)] = Snowball.table([
        (.delete, ["ந்த", "ந்த்", "ந்", "ய", "வ", "வ்"]),
        (.yaAfterI, ["ய்"]),
        (.replace(scalars("ள்")), ["ட்க்", "ட்ப்"]),
        (.replace(scalars("ல்")), ["ற்க்", "ன்ற்"]),
        (.replace(scalars("டு")), ["ட்ட்"]),
        (.doubledTa, ["த்த்"]),
        (.replace(scalars("்")), ["ுக்", "ுக்க்"]),
        (.nu, ["னு"]),
        (.nga, ["ங்"]),
    ])

    /// Fixes one ending; returns whether the word changed.
    @discardableResult
    static func fixEnding(_ w: inout Word, afterCaseEnding: Bool) -> Bool {
        guard w.count > 3 else { return false }
        if let found = Snowball.longest(w, endingFixes) {
            let before = scalar(w, before: w.count - found.length)
            var replacement: Word?
            switch found.value {
            case .delete: replacement = []
            case .replace(let text): replacement = text
            case .yaAfterI: if let before, "\u{0BC8}\u{0BBF}\u{0BC0}".unicodeScalars.contains(before) { replacement = [] }
            case .doubledTa: if afterCaseEnding && before != "\u{0BC8}" { replacement = scalars("ம்") }
            case .nu: if !(before.map(vowelSigns.contains) ?? false) { replacement = [] }
            case .nga: replacement = before == "\u{0BC8}" || before == pulli ? [] : scalars("ம்")
            }
            if let replacement {
                replaceEnding(&w, length: found.length, with: replacement)
                return true
            }
        }
        // A final pulli: drop one or two hard consonants with theirs, a soft consonant
        // after another pulli, or a pulli after a vowel sign or pulli.
        guard w.last == pulli, let consonant = scalar(w, before: w.count - 1) else { return false }
        if hardConsonants.contains(consonant) {
            var length = 2
            if scalar(w, before: w.count - 2) == pulli, let earlier = scalar(w, before: w.count - 3), hardConsonants.contains(earlier) {
                length = 4
            }
            w.removeLast(length)
            return true
        }
        if softConsonants.contains(consonant) {
            guard scalar(w, before: w.count - 2) == pulli else { return false }
            w.removeLast(2)
            return true
        }
        if vowelSigns.contains(consonant) || consonant == pulli {
            w.removeLast()
            return true
        }
        return false
    }

    static func fixEndings(_ w: inout Word, afterCaseEnding: Bool) {
        while fixEnding(&w, afterCaseEnding: afterCaseEnding) {}
    }

    // MARK: Prefixes

    /// A prefix: its first letters, then one of `prefixConsonants` and a pulli.
    static let questionPrefix: Set<Unicode.Scalar> = ["எ"]
    static let demonstrativePrefix: Set<Unicode.Scalar> = ["அ", "இ", "உ"]
    static let vaStarts: [(Word, Unicode.Scalar)] = [("வோ", "ஓ"), ("வொ", "ஒ"), ("வு", "உ"), ("வூ", "ஊ")]
        .map { (scalars($0.0), $0.1) }

    static func removePrefix(_ w: inout Word, _ firstLetters: Set<Unicode.Scalar>) {
        guard w.count >= 3, firstLetters.contains(w[0]), prefixConsonants.contains(w[1]), w[2] == pulli else { return }
        w.removeFirst(3)
        if let start = Snowball.longestPrefix(w, vaStarts) { w.replaceSubrange(0..<start.length, with: [start.value]) }
    }

    // MARK: Suffixes

    static func removeQuestionSuffix(_ w: inout Word) {
        guard isMinLength(w) else { return }
        if let last = w.last, "\u{0BBE}\u{0BC7}\u{0BCB}".unicodeScalars.contains(last) { w[w.count - 1] = pulli }
        fixEndings(&w, afterCaseEnding: false)
    }

    static func removeUm(_ w: inout Word) {
        guard isMinLength(w), Snowball.ends(w, with: "ும்") else { return }
        replaceEnding(&w, length: 3, with: [pulli])
        fixEnding(&w, afterCaseEnding: false)
    }

    enum Removal {
        case delete
        case pulli
        /// Becomes a pulli unless after a vowel sign.
        case pulliUnlessAfterVowelSign
    }
    static let commonWordEndings: [(Word, Removal)] = Snowball.table([
        (.pulli, ["ுடன்", "ில்லை", "ிடம்", "ின்றி", "ாகி", "ாகிய", "ென்று", "ுள்ள", "ுடைய", "ுடை", "ெனும்", "ென"]),
        (.pulliUnlessAfterVowelSign, ["ல்ல"]),
        (.delete, ["படு", "பட்ட", "பட்டு", "பட்டது", "பட்டண", "குரிய", "பற்றி", "விடு", "விட்டு", "படிதான", "படி", "தான",
                   "ெல்லாம்"]),
    ])

    static func removeCommonWordEnding(_ w: inout Word) {
        guard isMinLength(w), let found = Snowball.longest(w, commonWordEndings) else { return }
        let before = scalar(w, before: w.count - found.length)
        switch found.value {
        case .delete: w.removeLast(found.length)
        case .pulli: replaceEnding(&w, length: found.length, with: [pulli])
        case .pulliUnlessAfterVowelSign:
            if let before, vowelSigns.contains(before) { return }
            replaceEnding(&w, length: found.length, with: [pulli])
        }
        fixEndings(&w, afterCaseEnding: false)
    }

    enum CaseEnding {
        case delete, pulli
        /// இன் becomes a pulli unless after ம.
        case inUnlessAfterMa
        /// இடம் becomes a pulli in words of seven scalars or more.
        case idam
        /// ல் becomes a pulli unless after a vowel sign.
        case la
        /// து goes unless after a vowel sign.
        case tu
        /// ீ becomes ி.
        case ii
    }
    static let caseEndings: [(Word, CaseEnding)] = Snowball.table([
        (.delete, ["னை", "கண்", "முன்", "மேல்", "மேற்", "கீழ்"]),
        (.pulli, ["ொடு", "ோடு", "ில்", "ிற்", "ின்று", "ிருந்து", "விட", "ால்", "ுடை", "ாமல்", "ுள்"]),
        (.inUnlessAfterMa, ["ின்"]),
        (.idam, ["ிடம்"]),
        (.la, ["ல்"]),
        (.tu, ["து"]),
        (.ii, ["ீ"]),
    ])

    /// Removes a case ending (vetrumai urupu); returns whether one went.
    static func removeCaseEnding(_ w: inout Word) -> Bool {
        guard isMinLength(w) else { return false }
        var removed = false
        if let found = Snowball.longest(w, caseEndings) {
            let before = scalar(w, before: w.count - found.length)
            let afterVowelSign = before.map(vowelSigns.contains) ?? false
            var replacement: Word?
            switch found.value {
            case .delete: replacement = []
            case .pulli: replacement = [pulli]
            case .inUnlessAfterMa: if before != "ம" { replacement = [pulli] }
            case .idam: if w.count >= 7 { replacement = [pulli] }
            case .la: if !afterVowelSign { replacement = [pulli] }
            case .tu: if !afterVowelSign { replacement = [] }
            case .ii: replacement = ["\u{0BBF}"]
            }
            if let replacement {
                replaceEnding(&w, length: found.length, with: replacement)
                removed = true
            }
        }
        if !removed {
            // The accusative ஐ becomes a pulli, after a hard consonant only if it has a pulli before it.
            guard w.last == "\u{0BC8}" else { return false }
            if let before = scalar(w, before: w.count - 1), hardConsonants.contains(before), scalar(w, before: w.count - 2) != pulli {
                return false
            }
            w[w.count - 1] = pulli
        }
        if Snowball.ends(w, with: "ின்") { replaceEnding(&w, length: 3, with: [pulli]) }
        fixEndings(&w, afterCaseEnding: true)
        return true
    }

    static func removePlural(_ w: inout Word) {
        if Snowball.ends(w, with: "ுங்கள்") {
            let afterHard = scalar(w, before: w.count - 6).map(hardConsonants.contains) ?? false
            replaceEnding(&w, length: 6, with: afterHard ? scalars("ுங்") : [pulli])
        } else if Snowball.ends(w, with: "ற்கள்") {
            replaceEnding(&w, length: 5, with: scalars("ல்"))
        } else if Snowball.ends(w, with: "ட்கள்") {
            replaceEnding(&w, length: 5, with: scalars("ள்"))
        } else if Snowball.ends(w, with: "கள்") {
            w.removeLast(3)
        }
    }

    static func removeCommandSuffix(_ w: inout Word) {
        guard isMinLength(w), Snowball.ends(w, with: "பி") || Snowball.ends(w, with: "வி") else { return }
        w.removeLast(2)
    }

    enum TenseEnding {
        case delete, pulli
        /// வன் goes unless after an independent vowel.
        case van
        /// து goes unless after a vowel sign.
        case tu
        /// ான் becomes a pulli unless after ச.
        case aan
        /// கு goes only after a pulli.
        case ku
    }
    static let tenseEndings: [(Word, TenseEnding)] = Snowball.table([
        (.delete, ["க", "த", "ன", "ப", "ய", "படு", "ிற்று", "னை", "வை", "னன்", "பன்", "னான்", "மின்", "னென்", "னம்", "பம்",
                   "கும்", "தும்", "றும்", "னர்", "பர்", "வர்", "னார்", "மார்", "கொண்டிர்", "னள்", "பள்", "வள்", "னாள்"]),
        (.pulli, ["ா", "ேன்", "ாம்", "டும்", "ெம்", "ேம்", "ோம்", "ாய்", "ீயர்", "ார்", "னிர்", "ீர்", "ாள்"]),
        (.van, ["வன்"]),
        (.tu, ["து"]),
        (.aan, ["ான்"]),
        (.ku, ["கு"]),
    ])
    /// Present-tense markers, removed after a tense ending.
    static let presentMarkers: [(Word, Void)] = Snowball.table([((), ["கிற", "கிற்", "கின்ற", "கின்ற்", "ாநின்ற", "ாநின்ற்"])])

    /// Removes a tense or person ending and a present-tense marker; returns whether either went.
    static func removeTenseSuffix(_ w: inout Word, afterCaseEnding: Bool) -> Bool {
        guard isMinLength(w) else { return false }
        var removed = false
        if let found = Snowball.longest(w, tenseEndings) {
            let before = scalar(w, before: w.count - found.length)
            var replacement: Word?
            switch found.value {
            case .delete: replacement = []
            case .pulli: replacement = [pulli]
            case .van: if !(before.map(independentVowels.contains) ?? false) { replacement = [] }
            case .tu: if !(before.map(vowelSigns.contains) ?? false) { replacement = [] }
            case .aan: if before != "ச" { replacement = [pulli] }
            case .ku: if before == pulli { replacement = [] }
            }
            if let replacement {
                replaceEnding(&w, length: found.length, with: replacement)
                removed = true
            }
        }
        if let found = Snowball.longest(w, presentMarkers) {
            w.removeLast(found.length)
            removed = true
        }
        fixEndings(&w, afterCaseEnding: afterCaseEnding)
        return removed
    }
}
