/// A compressed set of 32-bit ordinals in the Roaring layout: ordinals are grouped by
/// their high 16 bits into containers, each a sorted array of low halves while it
/// holds at most 4,096 of them, and a 65,536-bit bitmap beyond. Sparse sets cost two
/// bytes an entry, dense ones one bit; unions and intersections work container by
/// container.
public struct OrdinalBitmap: Sendable, Equatable {
    enum Container: Sendable, Equatable {
        case array([UInt16])
        case bits([UInt64])  // 1,024 words

        static let arrayLimit = 4096

        var count: Int {
            switch self {
            case .array(let values): return values.count
            case .bits(let words): return words.reduce(0) { $0 + $1.nonzeroBitCount }
            }
        }

        func contains(_ low: UInt16) -> Bool {
            switch self {
            case .array(let values): return Self.search(values, low).found
            case .bits(let words): return words[Int(low >> 6)] & (1 << UInt64(low & 63)) != 0
            }
        }

        /// Where `low` is, or would go, in the ascending `values`.
        static func search(_ values: [UInt16], _ low: UInt16) -> (index: Int, found: Bool) {
            var lower = 0, upper = values.count
            while lower < upper {
                let mid = (lower + upper) / 2
                if values[mid] < low { lower = mid + 1 } else { upper = mid }
            }
            return (lower, lower < values.count && values[lower] == low)
        }

        /// Inserts; returns whether it was new.
        mutating func insert(_ low: UInt16) -> Bool {
            switch self {
            case .array(var values):
                let (index, found) = Self.search(values, low)
                guard !found else { return false }
                self = .array([])  // drop our reference so the insert does not copy
                values.insert(low, at: index)
                self = values.count > Self.arrayLimit ? Self.bits(from: values) : .array(values)
                return true
            case .bits(var words):
                let bit: UInt64 = 1 << UInt64(low & 63)
                guard words[Int(low >> 6)] & bit == 0 else { return false }
                self = .array([])
                words[Int(low >> 6)] |= bit
                self = .bits(words)
                return true
            }
        }

        /// Removes; returns whether it was present.
        mutating func remove(_ low: UInt16) -> Bool {
            switch self {
            case .array(var values):
                let (index, found) = Self.search(values, low)
                guard found else { return false }
                self = .array([])
                values.remove(at: index)
                self = .array(values)
                return true
            case .bits(var words):
                let bit: UInt64 = 1 << UInt64(low & 63)
                guard words[Int(low >> 6)] & bit != 0 else { return false }
                self = .array([])
                words[Int(low >> 6)] &= ~bit
                let remaining = words.reduce(0) { $0 + $1.nonzeroBitCount }
                self = remaining <= Self.arrayLimit ? .array(Self.values(of: words)) : .bits(words)
                return true
            }
        }

        static func bits(from values: [UInt16]) -> Container {
            var words = [UInt64](repeating: 0, count: 1024)
            for low in values { words[Int(low >> 6)] |= 1 << UInt64(low & 63) }
            return .bits(words)
        }

        static func values(of words: [UInt64]) -> [UInt16] {
            var out: [UInt16] = []
            for (index, word) in words.enumerated() where word != 0 {
                var rest = word
                while rest != 0 {
                    out.append(UInt16(index * 64 + rest.trailingZeroBitCount))
                    rest &= rest - 1
                }
            }
            return out
        }

        var words: [UInt64] {
            switch self {
            case .bits(let words): return words
            case .array(let values):
                var words = [UInt64](repeating: 0, count: 1024)
                for low in values { words[Int(low >> 6)] |= 1 << UInt64(low & 63) }
                return words
            }
        }

        var values: [UInt16] {
            switch self {
            case .array(let values): return values
            case .bits(let words): return Self.values(of: words)
            }
        }

        static func normalized(_ words: [UInt64]) -> Container? {
            let count = words.reduce(0) { $0 + $1.nonzeroBitCount }
            if count == 0 { return nil }
            return count <= arrayLimit ? .array(values(of: words)) : .bits(words)
        }

        func union(_ other: Container) -> Container {
            if case .array(let a) = self, case .array(let b) = other, a.count + b.count <= Self.arrayLimit {
                var merged: [UInt16] = []
                merged.reserveCapacity(a.count + b.count)
                var i = 0, j = 0
                while i < a.count || j < b.count {
                    if j == b.count || (i < a.count && a[i] < b[j]) { merged.append(a[i]); i += 1 }
                    else if i == a.count || b[j] < a[i] { merged.append(b[j]); j += 1 }
                    else { merged.append(a[i]); i += 1; j += 1 }
                }
                return .array(merged)
            }
            var words = self.words
            let others = other.words
            for index in 0..<1024 { words[index] |= others[index] }
            return Self.normalized(words)!
        }

        func intersection(_ other: Container) -> Container? {
            switch (self, other) {
            case (.array(let a), _):
                let kept = a.filter { other.contains($0) }
                return kept.isEmpty ? nil : .array(kept)
            case (_, .array(let b)):
                let kept = b.filter { contains($0) }
                return kept.isEmpty ? nil : .array(kept)
            case (.bits(let a), .bits(let b)):
                return Self.normalized((0..<1024).map { a[$0] & b[$0] })
            }
        }

        func subtracting(_ other: Container) -> Container? {
            switch self {
            case .array(let a):
                let kept = a.filter { !other.contains($0) }
                return kept.isEmpty ? nil : .array(kept)
            case .bits(var words):
                let others = other.words
                for index in 0..<1024 { words[index] &= ~others[index] }
                return Self.normalized(words)
            }
        }
    }

    /// Containers by high half, ascending.
    private var keys: [UInt16] = []
    private var containers: [Container] = []

    public init() {}

    public init<S: Sequence>(_ ordinals: S) where S.Element == UInt32 {
        for ordinal in ordinals { insert(ordinal) }
    }

    public var isEmpty: Bool { keys.isEmpty }
    public var count: Int { containers.reduce(0) { $0 + $1.count } }

    private func slot(_ high: UInt16) -> (index: Int, found: Bool) { Container.search(keys, high) }

    public func contains(_ ordinal: UInt32) -> Bool {
        let (index, found) = slot(UInt16(ordinal >> 16))
        return found && containers[index].contains(UInt16(truncatingIfNeeded: ordinal))
    }

    @discardableResult
    public mutating func insert(_ ordinal: UInt32) -> Bool {
        let high = UInt16(ordinal >> 16), low = UInt16(truncatingIfNeeded: ordinal)
        let (index, found) = slot(high)
        if found { return containers[index].insert(low) }
        keys.insert(high, at: index)
        containers.insert(.array([low]), at: index)
        return true
    }

    @discardableResult
    public mutating func remove(_ ordinal: UInt32) -> Bool {
        let (index, found) = slot(UInt16(ordinal >> 16))
        guard found, containers[index].remove(UInt16(truncatingIfNeeded: ordinal)) else { return false }
        if containers[index].count == 0 {
            keys.remove(at: index)
            containers.remove(at: index)
        }
        return true
    }

    /// The union of many bitmaps in one pass (a range filter unions one per value):
    /// containers are ORed into per-key bitsets, then each is stored in its best form.
    public static func union(_ bitmaps: [OrdinalBitmap]) -> OrdinalBitmap {
        if bitmaps.count <= 2 { return bitmaps.reduce(OrdinalBitmap()) { $0.union($1) } }
        var words: [UInt16: [UInt64]] = [:]
        for bitmap in bitmaps {
            for (key, container) in zip(bitmap.keys, bitmap.containers) {
                switch container {
                case .array(let values):
                    words[key, default: [UInt64](repeating: 0, count: 1024)].withUnsafeMutableBufferPointer { target in
                        for low in values { target[Int(low >> 6)] |= 1 << UInt64(low & 63) }
                    }
                case .bits(let bits):
                    words[key, default: [UInt64](repeating: 0, count: 1024)].withUnsafeMutableBufferPointer { target in
                        for index in 0..<1024 { target[index] |= bits[index] }
                    }
                }
            }
        }
        var out = OrdinalBitmap()
        for key in words.keys.sorted() {
            guard let container = Container.normalized(words[key]!) else { continue }
            out.keys.append(key)
            out.containers.append(container)
        }
        return out
    }

    public func union(_ other: OrdinalBitmap) -> OrdinalBitmap {
        var out = OrdinalBitmap()
        var i = 0, j = 0
        while i < keys.count || j < other.keys.count {
            if j == other.keys.count || (i < keys.count && keys[i] < other.keys[j]) {
                out.keys.append(keys[i]); out.containers.append(containers[i]); i += 1
            } else if i == keys.count || other.keys[j] < keys[i] {
                out.keys.append(other.keys[j]); out.containers.append(other.containers[j]); j += 1
            } else {
                out.keys.append(keys[i]); out.containers.append(containers[i].union(other.containers[j])); i += 1; j += 1
            }
        }
        return out
    }

    public func intersection(_ other: OrdinalBitmap) -> OrdinalBitmap {
        var out = OrdinalBitmap()
        var i = 0, j = 0
        while i < keys.count && j < other.keys.count {
            if keys[i] < other.keys[j] { i += 1 } else if other.keys[j] < keys[i] { j += 1 } else {
                if let both = containers[i].intersection(other.containers[j]) { out.keys.append(keys[i]); out.containers.append(both) }
                i += 1; j += 1
            }
        }
        return out
    }

    public func subtracting(_ other: OrdinalBitmap) -> OrdinalBitmap {
        var out = OrdinalBitmap()
        var j = 0
        for (i, key) in keys.enumerated() {
            while j < other.keys.count && other.keys[j] < key { j += 1 }
            if j < other.keys.count, other.keys[j] == key {
                if let rest = containers[i].subtracting(other.containers[j]) { out.keys.append(key); out.containers.append(rest) }
            } else {
                out.keys.append(key); out.containers.append(containers[i])
            }
        }
        return out
    }

    /// Every ordinal, ascending.
    public func forEach(_ body: (UInt32) -> Void) {
        for (key, container) in zip(keys, containers) {
            let base = UInt32(key) << 16
            for low in container.values { body(base | UInt32(low)) }
        }
    }

    public var ordinals: [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(count)
        forEach { out.append($0) }
        return out
    }
}
