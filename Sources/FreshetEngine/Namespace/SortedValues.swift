/// An attribute's distinct values in ascending order (`AttributeValue.compare`), kept
/// in chunks of at most `2 × chunkSize` so an insert or removal moves one chunk, not the
/// whole list; range filters find their bounds by binary search and walk only the
/// values in range. A value type, like the indexes that hold it.
struct SortedValues: Sendable {
    static let chunkSize = 256
    private var chunks: [[AttributeValue]] = []

    var count: Int { chunks.reduce(0) { $0 + $1.count } }

    private static func less(_ a: AttributeValue, _ b: AttributeValue) -> Bool { (AttributeValue.compare(a, b) ?? 0) < 0 }

    /// The chunk that holds, or would hold, `value`: the first whose last value is not below it.
    private func chunk(for value: AttributeValue) -> Int {
        var low = 0, high = chunks.count
        while low < high {
            let mid = (low + high) / 2
            if Self.less(chunks[mid].last!, value) { low = mid + 1 } else { high = mid }
        }
        return min(low, max(0, chunks.count - 1))
    }

    /// The first position in `values` not below `value` (or, `strictly`, above it).
    private static func position(of value: AttributeValue, in values: [AttributeValue], after strictly: Bool) -> Int {
        var low = 0, high = values.count
        while low < high {
            let mid = (low + high) / 2
            let order = AttributeValue.compare(values[mid], value) ?? 0
            if order < 0 || (strictly && order == 0) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    mutating func insert(_ value: AttributeValue) {
        guard !chunks.isEmpty else { chunks = [[value]]; return }
        let index = chunk(for: value)
        let at = Self.position(of: value, in: chunks[index], after: false)
        if at < chunks[index].count, AttributeValue.compare(chunks[index][at], value) == 0 { return }
        chunks[index].insert(value, at: at)
        if chunks[index].count > 2 * Self.chunkSize {
            let upper = Array(chunks[index][Self.chunkSize...])
            chunks[index].removeSubrange(Self.chunkSize...)
            chunks.insert(upper, at: index + 1)
        }
    }

    mutating func remove(_ value: AttributeValue) {
        guard !chunks.isEmpty else { return }
        let index = chunk(for: value)
        let at = Self.position(of: value, in: chunks[index], after: false)
        guard at < chunks[index].count, AttributeValue.compare(chunks[index][at], value) == 0 else { return }
        chunks[index].remove(at: at)
        if chunks[index].isEmpty { chunks.remove(at: index) }
    }

    /// Values below `bound` (`inclusive`: up to and including it), ascending.
    func values(below bound: AttributeValue, inclusive: Bool) -> [AttributeValue] {
        var out: [AttributeValue] = []
        for values in chunks {
            let end = Self.position(of: bound, in: values, after: inclusive)
            out.append(contentsOf: values[..<end])
            if end < values.count { break }
        }
        return out
    }

    /// Values above `bound` (`inclusive`: from it on), ascending.
    func values(above bound: AttributeValue, inclusive: Bool) -> [AttributeValue] {
        guard !chunks.isEmpty else { return [] }
        var out: [AttributeValue] = []
        let first = chunk(for: bound)
        for index in first..<chunks.count {
            let values = chunks[index]
            let start = index == first ? Self.position(of: bound, in: values, after: !inclusive) : 0
            out.append(contentsOf: values[start...])
        }
        return out
    }

    /// String values starting with `prefix` (its byte-order range), ascending.
    func strings(withPrefix prefix: String) -> [String] {
        var out: [String] = []
        guard !chunks.isEmpty else { return out }
        let first = chunk(for: .string(prefix))
        for index in first..<chunks.count {
            let values = chunks[index]
            let start = index == first ? Self.position(of: .string(prefix), in: values, after: false) : 0
            for value in values[start...] {
                guard case .string(let text) = value, text.utf8.starts(with: prefix.utf8) else { return out }
                out.append(text)
            }
        }
        return out
    }

    var all: [AttributeValue] { chunks.flatMap { $0 } }
}
