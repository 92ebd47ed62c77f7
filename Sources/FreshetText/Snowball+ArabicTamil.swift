/// Pieces the Arabic and Tamil stemmers share: Snowball's forward `among` (the
/// longest of several prefixes at a position) and suffix tables grouped by what
/// each suffix does.
extension Snowball {
    /// The longest of `candidates` that `word` has starting at index `start`.
    static func longestPrefix<T>(_ word: Word, _ candidates: [(Word, T)], at start: Int = 0) -> (length: Int, value: T)? {
        guard start >= 0, start <= word.count else { return nil }
        var best: (Int, T)? = nil
        for (prefix, value) in candidates where prefix.count <= word.count - start && prefix.count > (best?.0 ?? -1) {
            if word[start..<start + prefix.count].elementsEqual(prefix) { best = (prefix.count, value) }
        }
        return best
    }

    /// A table for `longest` or `longestPrefix` from groups of affixes that share a value.
    static func table<T>(_ groups: [(T, [String])]) -> [(Word, T)] {
        groups.flatMap { group in group.1.map { (scalars($0), group.0) } }
    }
}
