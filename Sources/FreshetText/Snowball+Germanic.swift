/// Pieces the Danish, Norwegian, Swedish and German stemmers share: their R1 region,
/// and the letter before a position. (Suffix tests at a position use `has(_:_:endingAt:)`
/// and region starts `regionStart(_:after:isVowel:)` from Snowball+Uralic.swift.)
extension Snowball {
    /// R1 as the Scandinavian and German stemmers define it: just past the first
    /// non-vowel that follows a vowel, but never before index 3, so at least three
    /// letters always stay. The word's end when there is no such letter or the word
    /// is shorter than three letters.
    static func germanicR1(_ w: Word, vowels: Set<Unicode.Scalar>) -> Int {
        guard w.count >= 3 else { return w.count }
        return max(regionStart(w, after: 0, isVowel: vowels.contains), 3)
    }

    /// The letter just before index `at`, or nil at the start of the word.
    static func letter(_ w: Word, before at: Int) -> Unicode.Scalar? {
        at >= 1 && at <= w.count ? w[at - 1] : nil
    }
}
