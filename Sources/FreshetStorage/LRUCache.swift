/// A least-recently-used map bounded by the total cost (bytes) of its values.
///
/// Not synchronised: the owner wraps it in a lock. Entries live in one array threaded
/// by an intrusive doubly linked list (most recent at `head`), so lookups, inserts and
/// evictions are O(1) without a node allocation per entry.
public struct LRUCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    struct Node: Sendable {
        var key: Key
        var value: Value?
        var cost: Int
        var previous: Int32
        var next: Int32
    }

    public let budget: Int
    public private(set) var cost = 0
    public private(set) var hits = 0
    public private(set) var misses = 0
    public private(set) var evictions = 0
    private var nodes: [Node] = []
    private var index: [Key: Int32] = [:]
    private var free: [Int32] = []
    private var head: Int32 = -1
    private var tail: Int32 = -1

    public init(budget: Int) { self.budget = max(0, budget) }

    public var count: Int { index.count }

    public mutating func value(for key: Key) -> Value? {
        guard let slot = index[key] else { misses += 1; return nil }
        hits += 1
        unlink(slot)
        pushFront(slot)
        return nodes[Int(slot)].value
    }

    /// Inserts or replaces; a value costing more than the whole budget is not kept.
    public mutating func set(_ value: Value, for key: Key, cost: Int) {
        remove(key)
        guard cost <= budget else { return }
        while self.cost + cost > budget, tail >= 0 { evict(tail) }
        let node = Node(key: key, value: value, cost: cost, previous: -1, next: -1)
        let slot: Int32
        if let reused = free.popLast() { slot = reused; nodes[Int(slot)] = node } else { slot = Int32(nodes.count); nodes.append(node) }
        index[key] = slot
        pushFront(slot)
        self.cost += cost
    }

    public mutating func remove(_ key: Key) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
        cost -= nodes[Int(slot)].cost
        nodes[Int(slot)].value = nil
        free.append(slot)
    }

    private mutating func evict(_ slot: Int32) {
        evictions += 1
        remove(nodes[Int(slot)].key)
    }

    private mutating func unlink(_ slot: Int32) {
        let node = nodes[Int(slot)]
        if node.previous >= 0 { nodes[Int(node.previous)].next = node.next } else { head = node.next }
        if node.next >= 0 { nodes[Int(node.next)].previous = node.previous } else { tail = node.previous }
    }

    private mutating func pushFront(_ slot: Int32) {
        nodes[Int(slot)].previous = -1
        nodes[Int(slot)].next = head
        if head >= 0 { nodes[Int(head)].previous = slot }
        head = slot
        if tail < 0 { tail = slot }
    }
}
