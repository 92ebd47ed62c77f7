/// The Snowball French stemmer (snowballstem.org/algorithms/french), written here
/// and checked against PyPI `snowballstemmer` 3.0.1 (Tests/FreshetTextTests/Fixtures/make_stems.py).
///
/// An elided article or pronoun (l', qu', …) is dropped; u, i and y next to vowels are
/// marked (so they count as consonants), ë and ï become He and Hi; standard suffixes,
/// else i-verb suffixes, else other verb suffixes, all within RV (after which a final
/// Y becomes i and ç becomes c); otherwise a residual suffix; then a doubled final
/// consonant is undone and é or è before final consonants loses its accent.
public enum FrenchStemmer {
    typealias Word = Snowball.Word
    static func scalars(_ text: String) -> Word { Snowball.scalars(text) }
    static let vowels: Set<Unicode.Scalar> = Set("aeiouyâàëéêèïîôûù".unicodeScalars)
    static func isVowel(_ c: Unicode.Scalar) -> Bool { vowels.contains(c) }
    static func table<T>(_ pairs: KeyValuePairs<String, T>) -> [(Word, T)] { pairs.map { (scalars($0.key), $0.value) } }

    enum Standard {
        case r2, r2ThenIc, log, u, ent, ement, ite, iv, eaux, aux, oux, euse, issement, amment, emment, ment
    }
    static let standard: [(Word, Standard)] = {
        var table: [(String, Standard)] = []
        for s in ["ance", "iqUe", "isme", "able", "iste", "eux", "ances", "iqUes", "ismes", "ables", "istes"] {
            table.append((s, .r2))
        }
        for s in ["atrice", "ateur", "ation", "atrices", "ateurs", "ations"] { table.append((s, .r2ThenIc)) }
        for s in ["logie", "logies"] { table.append((s, .log)) }
        for s in ["usion", "ution", "usions", "utions"] { table.append((s, .u)) }
        for s in ["ence", "ences"] { table.append((s, .ent)) }
        for s in ["ement", "ements"] { table.append((s, .ement)) }
        for s in ["ité", "ités"] { table.append((s, .ite)) }
        for s in ["if", "ive", "ifs", "ives"] { table.append((s, .iv)) }
        table.append(("eaux", .eaux))
        table.append(("aux", .aux))
        table.append(("oux", .oux))
        for s in ["euse", "euses"] { table.append((s, .euse)) }
        for s in ["issement", "issements"] { table.append((s, .issement)) }
        table.append(("amment", .amment))
        table.append(("emment", .emment))
        for s in ["ment", "ments"] { table.append((s, .ment)) }
        return table.map { (scalars($0.0), $0.1) }
    }()

    /// Endings of second-conjugation (finir) verbs.
    static let iVerb: [(Word, Void)] = [
        "ira", "ie", "isse", "issante", "i", "irai", "ir", "iras", "ies", "îmes", "isses", "issantes", "îtes", "is", "irais",
        "issais", "irions", "issions", "irons", "issons", "issants", "it", "irait", "issait", "issant", "iraIent", "issaIent",
        "irent", "issent", "iront", "ît", "iriez", "issiez", "irez", "issez",
    ].map { (scalars($0), ()) }

    enum Verb { case ions, plain, a, ais }
    static let verb: [(Word, Verb)] = {
        var table: [(String, Verb)] = [("ions", .ions)]
        for s in ["é", "ée", "ées", "és", "èrent", "er", "era", "erai", "eras", "erais", "erait", "eraIent", "erions",
                  "erons", "eront", "erez", "eriez", "ez", "iez", "eais"] { table.append((s, .plain)) }
        for s in ["a", "asse", "ante", "ai", "as", "âmes", "asses", "antes", "âtes", "ants", "ait", "ant", "aIent", "assent",
                  "ât", "assions", "assiez"] { table.append((s, .a)) }
        for s in ["aise", "aises", "ais"] { table.append((s, .ais)) }
        return table.map { (scalars($0.0), $0.1) }
    }()

    enum Residual { case ion, ier, e }
    static let residual: [(Word, Residual)] = table(["ion": .ion, "ier": .ier, "ière": .ier, "Ier": .ier, "Ière": .ier, "e": .e])

    public static func stem(_ input: String) -> String {
        var w = prelude(withoutElision(scalars(input)))
        let (pV, p1, p2) = regions(w)
        if standardSuffix(&w, pV: pV, p1: p1, p2: p2) || iVerbSuffix(&w, pV: pV) || verbSuffix(&w, pV: pV, p2: p2) {
            if w.last == "Y" { w[w.count - 1] = "i" } else if w.last == "ç" { w[w.count - 1] = "c" }
        } else {
            residualSuffix(&w, pV: pV, p2: p2)
        }
        undouble(&w)
        unaccent(&w)
        return postlude(w)
    }

    /// Drops a leading c' d' j' l' m' n' s' t' or qu' that has something after it.
    static func withoutElision(_ w: Word) -> Word {
        let elided: Set<Unicode.Scalar> = Set("cdjlmnst".unicodeScalars)
        if w.count > 2, elided.contains(w[0]), w[1] == "'" { return Array(w[2...]) }
        if w.count > 3, w[0] == "q", w[1] == "u", w[2] == "'" { return Array(w[3...]) }
        return w
    }

    /// Marks u or i between vowels, y next to a vowel and u after q as consonants (U, I,
    /// Y), and writes ë and ï as He and Hi; the postlude undoes it.
    static func prelude(_ input: Word) -> Word {
        var w = input
        var k = 0
        while k < w.count {
            let c = w[k]
            let next: Unicode.Scalar? = k + 1 < w.count ? w[k + 1] : nil
            let vowelAfterNext = k + 2 < w.count && isVowel(w[k + 2])
            if isVowel(c), next == "u" && vowelAfterNext || next == "i" && vowelAfterNext || next == "y" {
                w[k + 1] = next == "u" ? "U" : next == "i" ? "I" : "Y"
            } else if c == "ë" {
                w.replaceSubrange(k...k, with: ["H", "e"])
            } else if c == "ï" {
                w.replaceSubrange(k...k, with: ["H", "i"])
            } else if c == "y", let next, isVowel(next) {
                w[k] = "Y"
            } else if c == "q", next == "u" {
                w[k + 1] = "U"
            } else {
                k += 1
            }
            // After a change the same position is looked at again, as Snowball's `repeat goto` does.
        }
        return w
    }

    /// R1 and R2 as usual; RV starts after the third letter when the word begins with
    /// two vowels, after par, col, tap or ni plus a vowel, and otherwise after the first
    /// vowel that is not the first letter.
    static func regions(_ w: Word) -> (Int, Int, Int) {
        let (_, p1, p2) = Snowball.romanceRegions(w, vowels: vowels)
        let n = w.count
        var pV = n
        if n >= 3, isVowel(w[0]), isVowel(w[1]) {
            pV = 3
        } else if ["par", "col", "tap"].contains(where: { w.starts(with: scalars($0)) }) {
            pV = 3
        } else if n >= 3, w[0] == "n", w[1] == "i", isVowel(w[2]) {
            pV = 3
        } else if n >= 2, let vowel = (1..<n).first(where: { isVowel(w[$0]) }) {
            pV = vowel + 1
        }
        return (pV, p1, p2)
    }

    /// Step 1. True when a suffix was removed or rewritten and the verb steps are to be
    /// skipped; the amment, emment and ment rules rewrite the word yet return false.
    static func standardSuffix(_ w: inout Word, pV: Int, p1: Int, p2: Int) -> Bool {
        guard let found = Snowball.longest(w, standard) else { return false }
        let start = w.count - found.length
        func replace(with text: String) { w.replaceSubrange(start..., with: scalars(text)) }
        switch found.value {
        case .r2:
            guard start >= p2 else { return false }
            w.removeSubrange(start...)
        case .r2ThenIc:
            guard start >= p2 else { return false }
            w.removeSubrange(start...)
            icSuffix(&w, p2: p2)
        case .log:
            guard start >= p2 else { return false }
            replace(with: "log")
        case .u:
            guard start >= p2 else { return false }
            replace(with: "u")
        case .ent:
            guard start >= p2 else { return false }
            replace(with: "ent")
        case .ement:
            guard start >= pV else { return false }
            w.removeSubrange(start...)
            afterEment(&w, pV: pV, p1: p1, p2: p2)
        case .ite:
            guard start >= p2 else { return false }
            w.removeSubrange(start...)
            let before: [(Word, String?)] = table(["abil": "abl", "ic": "iqU", "iv": nil])
            if let found = Snowball.longest(w, before) {
                let at = w.count - found.length
                if at >= p2 {
                    w.removeSubrange(at...)
                } else if let replacement = found.value {
                    w.replaceSubrange(at..., with: scalars(replacement))
                }
            }
        case .iv:
            guard start >= p2 else { return false }
            w.removeSubrange(start...)
            if Snowball.removeSuffix(&w, "at", ifFrom: p2) { icSuffix(&w, p2: p2) }
        case .eaux:
            replace(with: "eau")
        case .aux:
            guard start >= p1 else { return false }
            replace(with: "al")
        case .oux:
            guard start >= 1, "bhjlnp".unicodeScalars.contains(w[start - 1]) else { return false }
            replace(with: "ou")
        case .euse:
            if start >= p2 {
                w.removeSubrange(start...)
            } else {
                guard start >= p1 else { return false }
                replace(with: "eux")
            }
        case .issement:
            guard start >= p1, start >= 1, !isVowel(w[start - 1]) else { return false }
            w.removeSubrange(start...)
        case .amment:
            if start >= pV { replace(with: "ant") }
            return false
        case .emment:
            if start >= pV { replace(with: "ent") }
            return false
        case .ment:
            if start >= 1, isVowel(w[start - 1]), start - 1 >= pV { w.removeSubrange(start...) }
            return false
        }
        return true
    }

    /// An `ic` before a removed suffix: gone within R2, else iqU.
    static func icSuffix(_ w: inout Word, p2: Int) {
        guard Snowball.ends(w, with: "ic") else { return }
        let start = w.count - 2
        if start >= p2 { w.removeSubrange(start...) } else { w.replaceSubrange(start..., with: scalars("iqU")) }
    }

    /// What may precede a removed ement(s): iv (and at), eus, abl, iqU, ièr.
    static func afterEment(_ w: inout Word, pV: Int, p1: Int, p2: Int) {
        enum Before { case r2, ier, eus, iv }
        let before: [(Word, Before)] = table(["iqU": .r2, "abl": .r2, "Ièr": .ier, "ièr": .ier, "eus": .eus, "iv": .iv])
        guard let found = Snowball.longest(w, before) else { return }
        let start = w.count - found.length
        switch found.value {
        case .r2:
            if start >= p2 { w.removeSubrange(start...) }
        case .ier:
            if start >= pV { w.replaceSubrange(start..., with: ["i"]) }
        case .eus:
            if start >= p2 {
                w.removeSubrange(start...)
            } else if start >= p1 {
                w.replaceSubrange(start..., with: scalars("eux"))
            }
        case .iv:
            if start >= p2 {
                w.removeSubrange(start...)
                Snowball.removeSuffix(&w, "at", ifFrom: p2)
            }
        }
    }

    /// Step 2a: an i-verb ending in RV after a consonant (not the H of ë or ï) in RV.
    static func iVerbSuffix(_ w: inout Word, pV: Int) -> Bool {
        guard let found = Snowball.longest(w, iVerb, from: pV) else { return false }
        let start = w.count - found.length
        guard start - 1 >= pV, w[start - 1] != "H", !isVowel(w[start - 1]) else { return false }
        w.removeSubrange(start...)
        return true
    }

    /// Step 2b: other verb endings in RV.
    static func verbSuffix(_ w: inout Word, pV: Int, p2: Int) -> Bool {
        guard let found = Snowball.longest(w, verb, from: pV) else { return false }
        let start = w.count - found.length
        switch found.value {
        case .ions:
            guard start >= p2 else { return false }
        case .plain:
            break
        case .a:
            // An e before the ending goes too, when in RV.
            w.removeSubrange(start...)
            if w.last == "e", w.count - 1 >= pV { w.removeLast() }
            return true
        case .ais:
            // Kept after épl, auv, and after al that follows a single letter (palais).
            let keep: [(Word, Bool)] = table(["al": true, "épl": false, "auv": false])
            if let found = Snowball.longest(Array(w[..<start]), keep), !found.value || start - found.length == 1 {
                return false
            }
        }
        w.removeSubrange(start...)
        return true
    }

    /// Step 4: a final s (not after a, i, o, u, è or s, unless the i is ï), then ion
    /// after s or t in R2, ier/ière to i, or e, within RV.
    static func residualSuffix(_ w: inout Word, pV: Int, p2: Int) {
        if w.last == "s", w.count >= 2 {
            let keepWithS: Set<Unicode.Scalar> = Set("aiouès".unicodeScalars)
            let before = w[w.count - 2]
            if !keepWithS.contains(before) || before == "i" && w.count >= 3 && w[w.count - 3] == "H" { w.removeLast() }
        }
        guard let found = Snowball.longest(w, residual, from: pV) else { return }
        let start = w.count - found.length
        switch found.value {
        case .ion:
            guard start >= p2, start - 1 >= pV, w[start - 1] == "s" || w[start - 1] == "t" else { return }
            w.removeSubrange(start...)
        case .ier:
            w.replaceSubrange(start..., with: ["i"])
        case .e:
            w.removeSubrange(start...)
        }
    }

    /// enn, onn, ett, ell, eill lose their last letter.
    static func undouble(_ w: inout Word) {
        if ["enn", "onn", "ett", "ell", "eill"].contains(where: { Snowball.ends(w, with: $0) }) { w.removeLast() }
    }

    /// é or è followed only by (at least one) consonants becomes e.
    static func unaccent(_ w: inout Word) {
        var index = w.count
        while index > 0, !isVowel(w[index - 1]) { index -= 1 }
        guard index > 0, index < w.count, w[index - 1] == "é" || w[index - 1] == "è" else { return }
        w[index - 1] = "e"
    }

    /// Back to lower case: I, U, Y to i, u, y; He and Hi to ë and ï; a lone H goes.
    static func postlude(_ w: Word) -> String {
        var out = String.UnicodeScalarView()
        var index = 0
        while index < w.count {
            let c = w[index]
            index += 1
            switch c {
            case "I": out.append("i")
            case "U": out.append("u")
            case "Y": out.append("y")
            case "H":
                if index < w.count, w[index] == "e" {
                    out.append("ë")
                    index += 1
                } else if index < w.count, w[index] == "i" {
                    out.append("ï")
                    index += 1
                }
            default: out.append(c)
            }
        }
        return String(out)
    }
}
