/// A least-recently-used map bounded by the total cost (bytes) of its values.
///
/// Not synchronised: the owner wraps it in a lock. Entries live in one array threaded
/// by an intrusive doubly linked list (most recent at `head`), so lookups, inserts and
/// evictions are O(1) without a node allocation per entry.
public struct LRUCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline struct Node: Sendable {
        @usableFromInline var key: Key
        @usableFromInline var value: Value?
        @usableFromInline var cost: Int
        @usableFromInline var previous: Int32
        @usableFromInline var next: Int32

        @inlinable init(key: Key, value: Value?, cost: Int, previous: Int32, next: Int32) {
            (self.key, self.value, self.cost, self.previous, self.next) = (key, value, cost, previous, next)
        }
    }

    public let budget: Int
    // Internal storage is @usableFromInline so the methods below specialise in the
    // modules that use the cache (a posting lookup sits on every query's path).
    @usableFromInline var counters = (cost: 0, hits: 0, misses: 0, evictions: 0)
    public var cost: Int { counters.cost }
    public var hits: Int { counters.hits }
    public var misses: Int { counters.misses }
    public var evictions: Int { counters.evictions }
    @usableFromInline var nodes: [Node] = []
    @usableFromInline var index: [Key: Int32] = [:]
    @usableFromInline var free: [Int32] = []
    @usableFromInline var head: Int32 = -1
    @usableFromInline var tail: Int32 = -1

    @inlinable public init(budget: Int) { self.budget = max(0, budget) }

    @inlinable public var count: Int { index.count }

    @inlinable public mutating func value(for key: Key) -> Value? {
        guard let slot = index[key] else { counters.misses += 1; return nil }
        counters.hits += 1
        unlink(slot)
        pushFront(slot)
        return nodes[Int(slot)].value
    }

    /// Inserts or replaces; a value costing more than the whole budget is not kept.
    @inlinable public mutating func set(_ value: Value, for key: Key, cost: Int) {
        remove(key)
        guard cost <= budget else { return }
        while counters.cost + cost > budget, tail >= 0 { evict(tail) }
        let node = Node(key: key, value: value, cost: cost, previous: -1, next: -1)
        let slot: Int32
        if let reused = free.popLast() { slot = reused; nodes[Int(slot)] = node } else { slot = Int32(nodes.count); nodes.append(node) }
        index[key] = slot
        pushFront(slot)
        counters.cost += cost
    }

    @inlinable public mutating func remove(_ key: Key) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
        counters.cost -= nodes[Int(slot)].cost
        nodes[Int(slot)].value = nil
        free.append(slot)
    }

    @inlinable mutating func evict(_ slot: Int32) {
        counters.evictions += 1
        remove(nodes[Int(slot)].key)
    }

    @inlinable mutating func unlink(_ slot: Int32) {
        // Only the links: copying the node would retain its value.
        let (previous, next) = (nodes[Int(slot)].previous, nodes[Int(slot)].next)
        if previous >= 0 { nodes[Int(previous)].next = next } else { head = next }
        if next >= 0 { nodes[Int(next)].previous = previous } else { tail = previous }
    }

    @inlinable mutating func pushFront(_ slot: Int32) {
        nodes[Int(slot)].previous = -1
        nodes[Int(slot)].next = head
        if head >= 0 { nodes[Int(head)].previous = slot }
        head = slot
        if tail < 0 { tail = slot }
    }
}
