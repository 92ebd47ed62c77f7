/// Pieces the Snowball stemmers share: words as Unicode scalars, longest-suffix
/// matching (Snowball's `among`), and the RV/R1/R2 regions of the Romance languages.
enum Snowball {
    typealias Word = [Unicode.Scalar]

    static func scalars(_ text: String) -> Word { Array(text.unicodeScalars) }

    /// The longest of `candidates` that `word` ends with, starting at or after `from`.
    static func longest<T>(_ word: Word, _ candidates: [(Word, T)], from: Int = 0) -> (length: Int, value: T)? {
        var best: (Int, T)? = nil
        for (suffix, value) in candidates where suffix.count <= word.count - from && suffix.count > (best?.0 ?? -1) {
            if word.suffix(suffix.count).elementsEqual(suffix) { best = (suffix.count, value) }
        }
        return best
    }

    static func ends(_ word: Word, with text: String) -> Bool {
        let suffix = scalars(text)
        return word.count >= suffix.count && word.suffix(suffix.count).elementsEqual(suffix)
    }

    /// RV, R1 and R2 as Snowball defines them for Spanish, Portuguese and Italian.
    static func romanceRegions(_ w: Word, vowels: Set<Unicode.Scalar>) -> (Int, Int, Int) {
        func isVowel(_ c: Unicode.Scalar) -> Bool { vowels.contains(c) }
        let n = w.count
        var pV = n
        if n >= 2 {
            if isVowel(w[0]) {
                if !isVowel(w[1]) {
                    if let next = (2..<n).first(where: { isVowel(w[$0]) }) { pV = next + 1 }
                } else if let next = (2..<n).first(where: { !isVowel(w[$0]) }) {
                    pV = next + 1
                }
            } else if !isVowel(w[1]) {
                if let next = (2..<n).first(where: { isVowel(w[$0]) }) { pV = next + 1 }
            } else if n > 2 {
                pV = 3
            }
        }
        func after(_ start: Int) -> Int {
            var i = start
            while i < n && !isVowel(w[i]) { i += 1 }
            while i < n && isVowel(w[i]) { i += 1 }
            return i < n ? i + 1 : n
        }
        let p1 = after(0)
        let p2 = p1 < n ? after(p1) : n
        return (pV, p1, p2)
    }

    /// Removes `suffix` when the word ends with it and it starts at or after `limit`
    /// (a region's start). Returns whether it did.
    @discardableResult
    static func removeSuffix(_ w: inout Word, _ suffix: String, ifFrom limit: Int) -> Bool {
        let count = suffix.unicodeScalars.count
        guard ends(w, with: suffix), w.count - count >= limit else { return false }
        w.removeLast(count)
        return true
    }

    /// Removes the longest of `suffixes` the word ends with, when it starts at or after
    /// `limit`; returns the removed suffix.
    @discardableResult
    static func removeLongest(_ w: inout Word, of suffixes: [String], ifFrom limit: Int) -> String? {
        guard let found = longest(w, suffixes.map { (scalars($0), $0) }), w.count - found.length >= limit else { return nil }
        w.removeLast(found.length)
        return found.value
    }
}
