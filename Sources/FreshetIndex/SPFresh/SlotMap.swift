/// The index's id → slot map: open addressing with linear probing over any number of
/// buckets, filled to 7/8. A Swift `Dictionary` keeps at most 3/4 of a power-of-two
/// bucket count, so 1M UInt64 ids took 2²¹ buckets (25 MB); sized for them here it is
/// 1.14M buckets (13.7 MB). Removed entries leave a marker that a rehash clears.
struct SlotMap<Key: Hashable & Sendable>: Sendable {
    private static var empty: Int32 { -1 }
    private static var removed: Int32 { -2 }
    /// Keys by bucket; buckets without one hold any key as filler.
    private var keys: [Key] = []
    /// Slots by bucket, or `empty` / `removed`.
    private var slots: [Int32] = []
    private(set) var count = 0
    /// Buckets not `empty` (live plus removed): probes stop only at an empty one.
    private var occupied = 0

    init() {}

    var isEmpty: Bool { count == 0 }
    /// Buckets allocated (for memory estimates).
    var buckets: Int { slots.count }

    /// The live slots, in bucket order.
    var values: [Int32] { slots.filter { $0 >= 0 } }

    /// Room for `count` entries without a rehash.
    mutating func reserveCapacity(_ count: Int, filler: Key) {
        if count * 8 > slots.count * 7 { rehash(buckets: count * 8 / 7 + 16, filler: filler) }
    }

    subscript(key: Key) -> Int32? {
        get { find(key).map { slots[$0] } }
        set {
            if let newValue { insert(key, newValue) } else { removeValue(forKey: key) }
        }
    }

    @discardableResult
    mutating func removeValue(forKey key: Key) -> Int32? {
        guard let bucket = find(key) else { return nil }
        let slot = slots[bucket]
        slots[bucket] = Self.removed
        count -= 1
        return slot
    }

    private func home(_ key: Key) -> Int {
        Int(UInt64(UInt(bitPattern: key.hashValue)).multipliedFullWidth(by: UInt64(slots.count)).high)
    }

    private func find(_ key: Key) -> Int? {
        guard count > 0 else { return nil }
        var bucket = home(key)
        while true {
            let slot = slots[bucket]
            if slot == Self.empty { return nil }
            if slot >= 0, keys[bucket] == key { return bucket }
            bucket += 1
            if bucket == slots.count { bucket = 0 }
        }
    }

    private mutating func insert(_ key: Key, _ slot: Int32) {
        precondition(slot >= 0, "slots are not negative")
        if let bucket = find(key) {
            slots[bucket] = slot
            return
        }
        if (occupied + 1) * 8 > slots.count * 7 {
            // Grown by half past the live count (removed markers are dropped, not kept).
            rehash(buckets: max(16, (count + 1) * 3 / 2 * 8 / 7), filler: key)
        }
        var bucket = home(key)
        while slots[bucket] >= 0 {
            bucket += 1
            if bucket == slots.count { bucket = 0 }
        }
        if slots[bucket] == Self.empty { occupied += 1 }
        keys[bucket] = key
        slots[bucket] = slot
        count += 1
    }

    private mutating func rehash(buckets: Int, filler: Key) {
        let (oldKeys, oldSlots) = (keys, slots)
        keys = [Key](repeating: oldKeys.first ?? filler, count: buckets)
        slots = [Int32](repeating: Self.empty, count: buckets)
        count = 0
        occupied = 0
        for (key, slot) in zip(oldKeys, oldSlots) where slot >= 0 {
            var bucket = home(key)
            while slots[bucket] != Self.empty {
                bucket += 1
                if bucket == slots.count { bucket = 0 }
            }
            keys[bucket] = key
            slots[bucket] = slot
            count += 1
            occupied += 1
        }
    }
}
