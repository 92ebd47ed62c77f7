/// Pieces the Russian, Finnish and Hungarian stemmers share: the R1/R2 region rule
/// and suffix tests confined to a region (Snowball's `setlimit`), where a suffix, or
/// the letters a rule looks at before it, must lie wholly inside the region.
extension Snowball {
    /// The start of the region after the first non-vowel that follows a vowel, looking
    /// from `start`: R1 from 0, R2 from R1. `w.count` (an empty region) when there is none.
    static func regionStart(_ w: Word, after start: Int, isVowel: (Unicode.Scalar) -> Bool) -> Int {
        var i = start
        while i < w.count && !isVowel(w[i]) { i += 1 }
        while i < w.count && isVowel(w[i]) { i += 1 }
        return i < w.count ? i + 1 : w.count
    }

    /// Whether `w[..<end]` ends with `text`, all of it at or after `limit`.
    static func has(_ w: Word, _ text: String, endingAt end: Int, from limit: Int = 0) -> Bool {
        let suffix = scalars(text)
        let start = end - suffix.count
        guard start >= max(limit, 0), end <= w.count else { return false }
        return w[start..<end].elementsEqual(suffix)
    }

    /// Removes the longest of `suffixes` that the word ends with and that starts at or
    /// after `start`; a longer one reaching before `start` does not hide a shorter one.
    @discardableResult
    static func removeLongest(_ w: inout Word, of suffixes: [(Word, Void)], within start: Int) -> Bool {
        guard let found = longest(w, suffixes, from: start) else { return false }
        w.removeLast(found.length)
        return true
    }
}
