/// The Snowball Dutch stemmer (snowballstem.org/algorithms/dutch), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// This is Snowball 3.0's Dutch algorithm (Kraaij and Pohlmann's), not the older
/// `dutch_porter`. Vowels include accented ones, and ij counts as a vowel. R1 and R2
/// start after the first and second vowel-then-consonant. Four suffix steps each
/// rewrite at most one suffix (plurals and -en; diminutives and adjective endings;
/// derivations such as -heid, -ing, -atie; adjectives such as -baar, -ig), often
/// lengthening the vowel left before a final consonant (lop to loop). Then a ge-
/// prefix, and after it a ge- infix, is removed when enough of the word remains, each
/// followed by a final d or t; finally kt, ft, pt lose the t and, if anything was
/// removed, a doubled consonant is undoubled (v, z become f, s).
public enum DutchStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let aou: Set<Unicode.Scalar> = Set("aäáàâoöóòôuüúùû".unicodeScalars)
    static let eLetters: Set<Unicode.Scalar> = Set("eëéèê".unicodeScalars)
    static let aiou: Set<Unicode.Scalar> = aou.union("iïíìî".unicodeScalars)
    static let aeiou: Set<Unicode.Scalar> = aiou.union(eLetters)
    static let vowels: Set<Unicode.Scalar> = aeiou.union(["y"])
    static func isVowel(_ c: Unicode.Scalar) -> Bool { vowels.contains(c) }

    /// What a suffix needs before it is rewritten: nothing; its start in R1; also a
    /// consonant (not the j of ij) before it; also a vowel (or ij) before it; or its
    /// start in R2.
    enum Condition { case always, r1, r1Consonant, r1Vowel, r2 }
    /// A suffix rewrite: the condition, the replacement, and whether the vowel before
    /// the final consonant is lengthened afterwards.
    struct Rewrite {
        var condition: Condition
        var replacement: String
        var lengthen = false
    }

    enum Step1 { case rule(Rewrite), s, es, en }
    static let step1Suffixes: [(Word, Step1)] = {
        let table: [(String, Step1)] = [
            ("'s", .rule(Rewrite(condition: .always, replacement: ""))), ("s", .s),
            ("ies", .rule(Rewrite(condition: .r1, replacement: "ie"))), ("es", .es),
            ("és", .rule(Rewrite(condition: .r1, replacement: "é"))),
            ("aus", .rule(Rewrite(condition: .r1Vowel, replacement: "au"))), ("en", .en),
            ("nde", .rule(Rewrite(condition: .always, replacement: "nd"))),
        ]
        return table.map { (scalars($0.0), $0.1) }
    }()

    enum Step2 { case rule(Rewrite), je }
    static let step2Suffixes: [(Word, Step2)] = {
        let table: [(String, Step2)] = [
            ("je", .je), ("ge", .rule(Rewrite(condition: .r1, replacement: "g"))),
            ("lijke", .rule(Rewrite(condition: .r1, replacement: "lijk"))),
            ("ische", .rule(Rewrite(condition: .r1, replacement: "isch"))),
            ("de", .rule(Rewrite(condition: .r1Consonant, replacement: ""))),
            ("te", .rule(Rewrite(condition: .r1, replacement: "t"))), ("se", .rule(Rewrite(condition: .r1, replacement: "s"))),
            ("re", .rule(Rewrite(condition: .r1, replacement: "r"))),
            ("le", .rule(Rewrite(condition: .r1, replacement: "l", lengthen: true))),
            ("ene", .rule(Rewrite(condition: .r1Consonant, replacement: "en", lengthen: true))),
            ("ieve", .rule(Rewrite(condition: .r1Consonant, replacement: "ief"))),
        ]
        return table.map { (scalars($0.0), $0.1) }
    }()

    /// `ingLike` is ing, isme and erij: they become er after ild (so schilderij does
    /// not meet schild), else go from R1 with the vowel lengthened.
    enum Step3 { case rule(Rewrite), ingLike }
    static let step3Suffixes: [(Word, Step3)] = {
        var table: [(String, Step3)] = [
            ("atie", .rule(Rewrite(condition: .r1, replacement: "eer"))),
            ("iteit", .rule(Rewrite(condition: .r1, replacement: "", lengthen: true))),
            ("rder", .rule(Rewrite(condition: .always, replacement: "r"))),
            ("arij", .rule(Rewrite(condition: .r1Consonant, replacement: "aar"))),
            ("fie", .rule(Rewrite(condition: .r2, replacement: "f", lengthen: true))),
            ("gie", .rule(Rewrite(condition: .r2, replacement: "g", lengthen: true))),
            ("tst", .rule(Rewrite(condition: .r1Consonant, replacement: "t"))),
            ("dst", .rule(Rewrite(condition: .r1Consonant, replacement: "d"))),
        ]
        for s in ["heid", "sel", "ster"] { table.append((s, .rule(Rewrite(condition: .r1, replacement: "")))) }
        for s in ["ing", "isme", "erij"] { table.append((s, .ingLike)) }
        return table.map { (scalars($0.0), $0.1) }
    }()

    static let step4Suffixes: [(Word, Rewrite)] = {
        var table: [(String, Rewrite)] = [
            ("ioneel", Rewrite(condition: .r1, replacement: "ie")), ("atief", Rewrite(condition: .r1, replacement: "eer")),
            ("baar", Rewrite(condition: .r1, replacement: "")), ("naar", Rewrite(condition: .r1Vowel, replacement: "n")),
            ("laar", Rewrite(condition: .r1Vowel, replacement: "l")), ("raar", Rewrite(condition: .r1Vowel, replacement: "r")),
            ("tant", Rewrite(condition: .r1, replacement: "teer")),
        ]
        for s in ["lijker", "lijkst"] { table.append((s, Rewrite(condition: .r1, replacement: "lijk"))) }
        for s in ["achtig", "achtiger", "achtigst"] { table.append((s, Rewrite(condition: .r1, replacement: ""))) }
        for s in ["eriger", "erigst", "erig", "end"] {
            table.append((s, Rewrite(condition: .r1Consonant, replacement: "", lengthen: true)))
        }
        return table.map { (scalars($0.0), $0.1) }
    }()
    static let igSuffixes: [(Word, Void)] = ["ig", "iger", "igst"].map { (scalars($0), ()) }

    public static func stem(_ input: String) -> String {
        var w = scalars(input)
        var (p1, p2) = measure(w)
        var stemmed = false
        if step1(&w, p1: p1) { stemmed = true }
        if step2(&w, p1: p1) { stemmed = true }
        if step3(&w, p1: p1, p2: p2) { stemmed = true }
        if step4(&w, p1: p1) { stemmed = true }
        if losePrefix(&w) {
            stemmed = true
            (p1, p2) = measure(w)
            step1c(&w, p1: p1)
        }
        if loseInfix(&w) {
            stemmed = true
            (p1, p2) = measure(w)
            step1c(&w, p1: p1)
        }
        if Snowball.ends(w, with: "kt") || Snowball.ends(w, with: "ft") || Snowball.ends(w, with: "pt") {
            w.removeLast()
            stemmed = true
        }
        if stemmed { undouble(&w) }
        return String(String.UnicodeScalarView(w))
    }

    // MARK: Letters before a position

    /// Whether the part of the word before `at` ends with a vowel or ij (Snowball's V).
    static func vowelBefore(_ w: Word, _ at: Int) -> Bool {
        (at >= 1 && isVowel(w[at - 1])) || Snowball.has(w, "ij", endingAt: at)
    }

    /// Whether the part of the word before `at` ends with a non-vowel that is not the
    /// j of ij (Snowball's C).
    static func consonantBefore(_ w: Word, _ at: Int) -> Bool {
        at >= 1 && !isVowel(w[at - 1]) && !Snowball.has(w, "ij", endingAt: at)
    }

    static func holds(_ condition: Condition, _ w: Word, at start: Int, p1: Int, p2: Int) -> Bool {
        switch condition {
        case .always: return true
        case .r1: return start >= p1
        case .r1Consonant: return start >= p1 && consonantBefore(w, start)
        case .r1Vowel: return start >= p1 && vowelBefore(w, start)
        case .r2: return start >= p2
        }
    }

    /// Applies `rule` to the suffix starting at `start`; returns whether it did.
    static func apply(_ rule: Rewrite, _ w: inout Word, at start: Int, p1: Int, p2: Int = Int.max) -> Bool {
        guard holds(rule.condition, w, at: start, p1: p1, p2: p2) else { return false }
        w.replaceSubrange(start..., with: scalars(rule.replacement))
        if rule.lengthen { lengthenVowel(&w) }
        return true
    }

    // MARK: Regions

    /// The index past the vowels (ij counting as one) starting at `start`.
    static func skipVowels(_ w: Word, from start: Int) -> Int {
        var i = start
        while i < w.count {
            if w[i] == "i", i + 1 < w.count, w[i + 1] == "j" {
                i += 2
            } else if isVowel(w[i]) {
                i += 1
            } else {
                break
            }
        }
        return i
    }

    /// R1 and R2: each starts after non-vowels, at least one vowel, and one non-vowel.
    static func measure(_ w: Word) -> (Int, Int) {
        func pastSyllable(from start: Int) -> Int? {
            var i = start
            while i < w.count && !isVowel(w[i]) { i += 1 }
            let end = skipVowels(w, from: i)
            return end > i && end < w.count ? end + 1 : nil
        }
        guard let p1 = pastSyllable(from: 0) else { return (w.count, w.count) }
        return (p1, pastSyllable(from: p1) ?? w.count)
    }

    // MARK: Steps

    /// Doubles the vowel before a final consonant (not w or x) when it stands alone:
    /// a, o, u (and accented forms) after a non-vowel or at the start; e (not ë) the
    /// same, unless the letters before suggest an unstressed syllable; eë and ië before
    /// the consonant become eëe and iee.
    static func lengthenVowel(_ w: inout Word) {
        let n = w.count
        guard n >= 2, !isVowel(w[n - 1]), w[n - 1] != "w", w[n - 1] != "x" else { return }
        let j = n - 2
        let v = w[j]
        if v == "ë" {
            if j >= 1, w[j - 1] == "e" {
                w.replaceSubrange((j - 1)...j, with: scalars("eëe"))
            } else if j >= 1, w[j - 1] == "i" {
                w.replaceSubrange((j - 1)...j, with: scalars("iee"))
            }
            return
        }
        guard aou.contains(v) || eLetters.contains(v), j == 0 || !aeiou.contains(w[j - 1]) else { return }
        if eLetters.contains(v), j >= 2 {
            // Looking back past the consonant before the e.
            if aiou.contains(w[j - 2]) || (eLetters.contains(w[j - 2]) && j == 2) { return }
            if j >= 4, aiou.contains(w[j - 3]), !aeiou.contains(w[j - 4]) { return }
        }
        w.insert(v, at: j)
    }

    static func step1(_ w: inout Word, p1: Int) -> Bool {
        guard let found = Snowball.longest(w, step1Suffixes) else { return false }
        let s = w.count - found.length
        switch found.value {
        case .rule(let rule):
            return apply(rule, &w, at: s, p1: p1)
        case .s:
            guard s >= p1, !(Snowball.has(w, "t", endingAt: s) && s - 1 >= p1), consonantBefore(w, s) else { return false }
            w.removeSubrange(s...)
        case .es:
            if Snowball.has(w, "ar", endingAt: s), s - 2 >= p1, consonantBefore(w, s - 2) {
                w.removeSubrange(s...)
                lengthenVowel(&w)
            } else if Snowball.has(w, "er", endingAt: s), s - 2 >= p1, consonantBefore(w, s - 2) {
                w.removeSubrange(s...)
            } else {
                return apply(Rewrite(condition: .r1Consonant, replacement: "e"), &w, at: s, p1: p1)
            }
        case .en:
            if Snowball.has(w, "hed", endingAt: s), s - 3 >= p1 {
                w.replaceSubrange((s - 3)..., with: scalars("heid"))
            } else if Snowball.has(w, "nd", endingAt: s) {
                w.removeSubrange(s...)
            } else if Snowball.has(w, "d", endingAt: s), s - 1 >= p1, consonantBefore(w, s - 1) {
                w.removeSubrange((s - 1)...)
            } else if Snowball.has(w, "i", endingAt: s) || Snowball.has(w, "j", endingAt: s), vowelBefore(w, s - 1) {
                w.removeSubrange(s...)
            } else {
                return apply(Rewrite(condition: .r1Consonant, replacement: "", lengthen: true), &w, at: s, p1: p1)
            }
        }
        return true
    }

    static func step2(_ w: inout Word, p1: Int) -> Bool {
        guard let found = Snowball.longest(w, step2Suffixes) else { return false }
        let s = w.count - found.length
        switch found.value {
        case .rule(let rule):
            return apply(rule, &w, at: s, p1: p1)
        case .je:
            if Snowball.has(w, "'t", endingAt: s) {
                w.removeSubrange((s - 2)...)
            } else if Snowball.has(w, "et", endingAt: s), s - 2 >= p1, consonantBefore(w, s - 2) {
                w.removeSubrange((s - 2)...)
            } else if Snowball.has(w, "rnt", endingAt: s) {
                w.replaceSubrange((s - 3)..., with: scalars("rn"))
            } else if Snowball.has(w, "t", endingAt: s), s - 1 >= p1, s >= 2, vowelBefore(w, s - 2) {
                // A vowel one letter before the t (Snowball's VX).
                w.removeSubrange((s - 1)...)
            } else if Snowball.has(w, "ink", endingAt: s) {
                w.replaceSubrange((s - 3)..., with: scalars("ing"))
            } else if Snowball.has(w, "mp", endingAt: s) {
                w.replaceSubrange((s - 2)..., with: scalars("m"))
            } else if Snowball.has(w, "'", endingAt: s), s - 1 >= p1 {
                w.removeSubrange((s - 1)...)
            } else {
                return apply(Rewrite(condition: .r1Consonant, replacement: ""), &w, at: s, p1: p1)
            }
        }
        return true
    }

    static func step3(_ w: inout Word, p1: Int, p2: Int) -> Bool {
        guard let found = Snowball.longest(w, step3Suffixes) else { return false }
        let s = w.count - found.length
        switch found.value {
        case .rule(let rule):
            return apply(rule, &w, at: s, p1: p1, p2: p2)
        case .ingLike:
            if Snowball.has(w, "ild", endingAt: s) {
                w.replaceSubrange(s..., with: scalars("er"))
                return true
            }
            return apply(Rewrite(condition: .r1, replacement: "", lengthen: true), &w, at: s, p1: p1)
        }
    }

    /// Adjective suffixes; failing those (or their conditions), ig, iger or igst go from
    /// R1 after a consonant, except in innig (which would otherwise meet in).
    static func step4(_ w: inout Word, p1: Int) -> Bool {
        if let found = Snowball.longest(w, step4Suffixes), apply(found.value, &w, at: w.count - found.length, p1: p1) {
            return true
        }
        guard let found = Snowball.longest(w, igSuffixes) else { return false }
        let s = w.count - found.length
        guard !(s == 3 && Snowball.has(w, "inn", endingAt: s)) else { return false }
        return apply(Rewrite(condition: .r1Consonant, replacement: "", lengthen: true), &w, at: s, p1: p1)
    }

    /// Drops a final d or t in R1 after a consonant, once a ge- is gone; but not nd or
    /// ht in R1, and geïnd gives inn (meeting innen) and geënt keeps its t.
    static func step1c(_ w: inout Word, p1: Int) {
        guard let last = w.last, last == "d" || last == "t" else { return }
        let s = w.count - 1
        guard s >= p1, consonantBefore(w, s) else { return }
        if last == "d" {
            if Snowball.has(w, "n", endingAt: s), s - 1 >= p1 { return }
            if s == 2, Snowball.has(w, "in", endingAt: s) { w[s] = "n" } else { w.removeLast() }
        } else {
            if Snowball.has(w, "h", endingAt: s), s - 1 >= p1 { return }
            if s == 2, Snowball.has(w, "en", endingAt: s) { return }
            w.removeLast()
        }
    }

    /// Whether, from `start`, a vowel comes and the vowels there are followed by more.
    static func hasVowelThenMore(_ w: Word, from start: Int) -> Bool {
        var i = start
        while i < w.count && !isVowel(w[i]) { i += 1 }
        return i < w.count && skipVowels(w, from: i) < w.count
    }

    /// ë or ï where a ge- was removed loses its diaeresis (geëerd to eerd).
    static func undoDiaeresis(_ w: inout Word, at index: Int) {
        guard index < w.count else { return }
        if w[index] == "ë" { w[index] = "e" } else if w[index] == "ï" { w[index] = "i" }
    }

    /// Removes a ge- prefix followed by at least three letters containing a vowel and
    /// something after it, except before eft, vaa, val (but vali), vare (geeft, gevaar,
    /// geval would otherwise meet effen, varen, vallen).
    static func losePrefix(_ w: inout Word) -> Bool {
        guard w.count >= 5, w[0] == "g", w[1] == "e", hasVowelThenMore(w, from: 2) else { return false }
        let rest = w[2...]
        var diaeresisAt = 0
        if rest.starts(with: scalars("vali")) {
            diaeresisAt = 4
        } else if ["eft", "vaa", "val", "vare"].contains(where: { rest.starts(with: scalars($0)) }) {
            return false
        }
        w.removeFirst(2)
        undoDiaeresis(&w, at: diaeresisAt)
        return true
    }

    /// Removes the first ge after the first letter when at least three letters, with a
    /// vowel and something after it, follow.
    static func loseInfix(_ w: inout Word) -> Bool {
        guard w.count >= 6, let g = (1..<(w.count - 1)).first(where: { w[$0] == "g" && w[$0 + 1] == "e" }) else { return false }
        guard g + 5 <= w.count, hasVowelThenMore(w, from: g + 2) else { return false }
        w.removeSubrange(g..<(g + 2))
        undoDiaeresis(&w, at: g)
        return true
    }

    /// A final doubled consonant is undoubled (but the nn of inn stays); a final v or z
    /// becomes f or s.
    static func undouble(_ w: inout Word) {
        guard let last = w.last else { return }
        let n = w.count
        if n >= 2, w[n - 2] == last, "bcdfghjklmnpqrstvwxz".unicodeScalars.contains(last) {
            if last == "n", n == 3, w[0] == "i" { return }
            w.removeLast()
        } else if last == "v" {
            w[n - 1] = "f"
        } else if last == "z" {
            w[n - 1] = "s"
        }
    }
}
