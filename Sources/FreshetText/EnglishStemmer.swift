/// The Snowball English ("Porter2") stemmer, over ASCII lowercase words; a word with
/// any other byte is returned unchanged (fold or lowercase first to stem it).
public enum EnglishStemmer {
    public static func stem(_ word: String) -> String {
        var bytes = Array(word.utf8)
        guard bytes.count > 2, bytes.allSatisfy({ $0 >= 0x27 && $0 < 0x80 }) else { return word }
        guard bytes.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x27 }) else { return word }
        if let special = exceptions[word] { return special }
        var stemmer = Stemmer(bytes)
        stemmer.run()
        bytes = stemmer.word
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let exceptions: [String: String] = [
        "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie",
        "idly": "idl", "gently": "gentl", "ugly": "ugli", "early": "earli", "only": "onli",
        "singly": "singl", "sky": "sky", "news": "news", "howe": "howe", "atlas": "atlas",
        "cosmos": "cosmos", "bias": "bias", "andes": "andes",
    ]

    /// Words left as they are after step 1a.
    private static let invariantAfter1a: Set<String> = [
        "inning", "outing", "canning", "herring", "earring", "evening", "proceed", "exceed", "succeed",
    ]

    private struct Stemmer {
        var word: [UInt8]
        var r1 = 0
        var r2 = 0

        init(_ word: [UInt8]) { self.word = word }

        static let a = UInt8(ascii: "a"), e = UInt8(ascii: "e"), i = UInt8(ascii: "i"), o = UInt8(ascii: "o")
        static let u = UInt8(ascii: "u"), y = UInt8(ascii: "y"), Y = UInt8(ascii: "Y"), apostrophe = UInt8(ascii: "'")

        func isVowel(_ at: Int) -> Bool {
            switch word[at] {
            case Self.a, Self.e, Self.i, Self.o, Self.u, Self.y: return true
            default: return false
            }
        }

        func ends(_ suffix: String) -> Bool {
            let length = suffix.utf8.count
            return word.count >= length && word[(word.count - length)...].elementsEqual(suffix.utf8)
        }

        mutating func replace(_ suffixLength: Int, with replacement: String) {
            word.removeLast(suffixLength)
            word.append(contentsOf: replacement.utf8)
        }

        /// The longest of `suffixes` the word ends with.
        func longest(_ suffixes: [String]) -> String? {
            var best: String?
            for suffix in suffixes where ends(suffix) && suffix.utf8.count > (best?.utf8.count ?? -1) { best = suffix }
            return best
        }

        func inR1(_ suffix: String) -> Bool { word.count - suffix.utf8.count >= r1 }
        func inR2(_ suffix: String) -> Bool { word.count - suffix.utf8.count >= r2 }

        /// Region after the first non-vowel following a vowel, from `start`.
        func region(from start: Int) -> Int {
            var index = start
            while index + 1 < word.count {
                if isVowel(index) && !isVowel(index + 1) { return index + 2 }
                index += 1
            }
            return word.count
        }

        /// A vowel followed by a non-vowel other than w, x, Y and preceded by a
        /// non-vowel; or, at the word's start, a vowel followed by a non-vowel; or
        /// "past" (Snowball 2 counts it short, so "pasting" → "paste").
        func endsInShortSyllable(_ length: Int) -> Bool {
            if length == 2 { return isVowel(0) && !isVowel(1) }
            guard length >= 3 else { return false }
            if length >= 4, Array(word[(length - 4)..<length]) == Array("past".utf8) { return true }
            let last = word[length - 1]
            return !isVowel(length - 3) && isVowel(length - 2) && !isVowel(length - 1)
                && last != UInt8(ascii: "w") && last != UInt8(ascii: "x") && last != Self.Y
        }

        func isShort() -> Bool { r1 >= word.count && endsInShortSyllable(word.count) }

        func containsVowel(before end: Int) -> Bool { (0..<max(0, end)).contains { isVowel($0) } }

        mutating func run() {
            if word.first == Self.apostrophe { word.removeFirst() }
            if word.first == Self.y { word[0] = Self.Y }
            if word.count > 1 {
                for index in 1..<word.count where word[index] == Self.y && isVowel(index - 1) { word[index] = Self.Y }
            }
            markRegions()
            step0()
            step1a()
            if EnglishStemmer.invariantAfter1a.contains(String(decoding: word, as: UTF8.self)) { restoreY(); return }
            step1b()
            step1c()
            step2()
            step3()
            step4()
            step5()
            restoreY()
        }

        mutating func markRegions() {
            let text = String(decoding: word, as: UTF8.self)
            // Words whose R1 starts after a fixed stem (Snowball 2's list).
            if let prefix = ["gener", "commun", "arsen", "past", "univers", "later", "emerg", "organ"].first(where: { text.hasPrefix($0) }) {
                r1 = prefix.utf8.count
            } else {
                r1 = region(from: 0)
            }
            r2 = r1 < word.count ? region(from: r1) : word.count
            r2 = max(r2, r1)
        }

        mutating func restoreY() {
            for index in word.indices where word[index] == Self.Y { word[index] = Self.y }
        }

        mutating func step0() {
            if let suffix = longest(["'s'", "'s", "'"]) { word.removeLast(suffix.utf8.count) }
        }

        mutating func step1a() {
            guard let suffix = longest(["sses", "ied", "ies", "s", "us", "ss"]) else { return }
            switch suffix {
            case "sses": replace(4, with: "ss")
            case "ied", "ies": replace(3, with: word.count - 3 > 1 ? "i" : "ie")
            case "s":
                // Delete if a vowel comes earlier than the letter just before the s.
                if containsVowel(before: word.count - 2) { word.removeLast() }
            default: break  // us, ss
            }
        }

        mutating func step1b() {
            guard let suffix = longest(["eed", "eedly", "ed", "edly", "ing", "ingly"]) else { return }
            if suffix == "eed" || suffix == "eedly" {
                if inR1(suffix) { replace(suffix.utf8.count, with: "ee") }
                return
            }
            let stemEnd = word.count - suffix.utf8.count
            guard containsVowel(before: stemEnd) else { return }
            word.removeLast(suffix.utf8.count)
            if suffix == "ing", word.count == 2, word[1] == Self.y, !isVowel(0) {
                // One consonant then y ("rying"): the y was an ie ("die", "lie").
                word[1] = Self.i
                word.append(Self.e)
            } else if ends("at") || ends("bl") || ends("iz") {
                word.append(Self.e)
            } else if let last = word.last, word.count >= 2, word[word.count - 2] == last,
                      "bdfgmnprt".utf8.contains(last), !(word.count == 3 && "aeo".utf8.contains(word[0])) {
                // Undouble ("hopp" → "hop"), but not a, e or o and a double alone ("add", "egg").
                word.removeLast()
            } else if isShort() {
                word.append(Self.e)
            }
        }

        mutating func step1c() {
            guard let last = word.last, last == Self.y || last == Self.Y, word.count > 2, !isVowel(word.count - 2) else { return }
            word[word.count - 1] = Self.i
        }

        mutating func step2() {
            let rules: [(String, String)] = [
                ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("abli", "able"), ("entli", "ent"),
                ("izer", "ize"), ("ization", "ize"), ("ational", "ate"), ("ation", "ate"), ("ator", "ate"),
                ("alism", "al"), ("aliti", "al"), ("alli", "al"), ("fulness", "ful"), ("ousli", "ous"),
                ("ousness", "ous"), ("iveness", "ive"), ("iviti", "ive"), ("biliti", "ble"), ("bli", "ble"),
                ("ogi", "og"), ("fulli", "ful"), ("lessli", "less"), ("li", ""),
            ]
            guard let suffix = longest(rules.map(\.0)), inR1(suffix) else { return }
            let stemEnd = word.count - suffix.utf8.count
            switch suffix {
            case "ogi":
                guard stemEnd > 0, word[stemEnd - 1] == UInt8(ascii: "l") else { return }
            case "li":
                guard stemEnd > 0, "cdeghkmnrt".utf8.contains(word[stemEnd - 1]) else { return }
            default: break
            }
            replace(suffix.utf8.count, with: rules.first { $0.0 == suffix }!.1)
        }

        mutating func step3() {
            let rules: [(String, String)] = [
                ("tional", "tion"), ("ational", "ate"), ("alize", "al"), ("icate", "ic"), ("iciti", "ic"),
                ("ical", "ic"), ("ful", ""), ("ness", ""), ("ative", ""),
            ]
            guard let suffix = longest(rules.map(\.0)), inR1(suffix) else { return }
            if suffix == "ative", !inR2(suffix) { return }
            replace(suffix.utf8.count, with: rules.first { $0.0 == suffix }!.1)
        }

        mutating func step4() {
            let suffixes = ["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
                            "ism", "ate", "iti", "ous", "ive", "ize", "ion"]
            guard let suffix = longest(suffixes), inR2(suffix) else { return }
            if suffix == "ion" {
                let stemEnd = word.count - 3
                guard stemEnd > 0, word[stemEnd - 1] == UInt8(ascii: "s") || word[stemEnd - 1] == UInt8(ascii: "t") else { return }
            }
            word.removeLast(suffix.utf8.count)
        }

        mutating func step5() {
            if word.last == Self.e {
                if inR2("e") || (inR1("e") && !endsInShortSyllable(word.count - 1)) { word.removeLast() }
            } else if word.last == UInt8(ascii: "l"), inR2("l"), word.count >= 2, word[word.count - 2] == UInt8(ascii: "l") {
                word.removeLast()
            }
        }
    }
}
