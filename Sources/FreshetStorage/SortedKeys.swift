/// A sorted array of keys with binary search, ordered by UTF-8 bytes (the order every
/// backend lists in). Used by backends that keep their keys in memory.
struct SortedKeys: Sendable {
    private(set) var keys: [String] = []

    /// The index of the first key that is not less than `key`.
    func lowerBound(_ key: String) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if Self.less(keys[mid], key) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    mutating func insert(_ key: String) {
        let index = lowerBound(key)
        if index < keys.count, keys[index] == key { return }
        keys.insert(key, at: index)
    }

    mutating func remove(_ key: String) {
        let index = lowerBound(key)
        if index < keys.count, keys[index] == key { keys.remove(at: index) }
    }

    /// Keys with `prefix`, strictly after `startAfter`, at most `limit`, plus whether more follow.
    func range(prefix: String, startAfter: String?, limit: Int) -> (keys: ArraySlice<String>, more: Bool) {
        var start = lowerBound(prefix)
        if let startAfter, Self.less(prefix, startAfter) || prefix == startAfter {
            start = lowerBound(startAfter)
            if start < keys.count, keys[start] == startAfter { start += 1 }
        }
        var end = start
        while end < keys.count, end - start < limit, keys[end].utf8.starts(with: prefix.utf8) { end += 1 }
        let more = end < keys.count && keys[end].utf8.starts(with: prefix.utf8)
        return (keys[start..<end], more)
    }

    static func less(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
