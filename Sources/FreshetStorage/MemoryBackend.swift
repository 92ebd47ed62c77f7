import Synchronization

/// A backend that keeps every object in this process's memory.
///
/// Thread-safe: one lock guards the map, so conditional puts are atomic. Not durable;
/// used by tests and by `freshet serve --storage memory://`.
public final class MemoryBackend: StorageBackend {
    private struct Entry: Sendable {
        var body: [UInt8]
        var version: UInt64
    }
    private struct State: Sendable {
        var objects: [String: Entry] = [:]
        var keys = SortedKeys()
        var nextVersion: UInt64 = 1
    }
    private let state = Mutex(State())

    public init() {}

    public var kind: BackendKind { .memory }
    public var capabilities: StorageCapabilities {
        StorageCapabilities(atomicBatch: true, durable: false, strongReadAfterWrite: true, maxObjectSize: Int.max)
    }

    /// The number of bytes held, for tests and memory accounting.
    public var storedBytes: Int {
        state.withLock { $0.objects.values.reduce(0) { $0 + $1.body.count } }
    }

    public func get(_ key: String) async throws -> StoredObject? {
        try StorageArguments.check(key: key)
        return state.withLock { state in
            state.objects[key].map { StoredObject(body: $0.body, version: Self.token($0.version)) }
        }
    }

    public func get(_ key: String, range: Range<Int>) async throws -> StoredObject? {
        try StorageArguments.check(key: key)
        try StorageArguments.check(range: range)
        return state.withLock { state in
            guard let entry = state.objects[key] else { return nil }
            let clamped = StorageArguments.clamp(range, size: entry.body.count)
            return StoredObject(body: Array(entry.body[clamped]), version: Self.token(entry.version), size: entry.body.count)
        }
    }

    public func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try StorageArguments.check(limit: limit)
        return state.withLock { state in
            let (keys, more) = state.keys.range(prefix: prefix, startAfter: startAfter, limit: limit)
            let objects = keys.map { key in
                let entry = state.objects[key]!
                return ListedObject(key: key, size: entry.body.count, version: Self.token(entry.version))
            }
            return ListPage(objects: objects, nextCursor: more ? objects.last?.key : nil)
        }
    }

    public func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try StorageArguments.check(key: key)
        return try state.withLock { state in
            let existing = state.objects[key]
            switch condition {
            case .none: break
            case .ifAbsent:
                if existing != nil { throw StorageError(.conditionFailed, "object \(key) already exists") }
            case .ifVersion(let expected):
                guard let existing, Self.token(existing.version) == expected else {
                    throw StorageError(.conditionFailed, "object \(key) is not at version \(expected)")
                }
            }
            let version = state.nextVersion
            state.nextVersion += 1
            state.objects[key] = Entry(body: body, version: version)
            state.keys.insert(key)
            return Self.token(version)
        }
    }

    public func delete(_ key: String) async throws {
        try StorageArguments.check(key: key)
        state.withLock { state in
            if state.objects.removeValue(forKey: key) != nil { state.keys.remove(key) }
        }
    }

    public func write(batch: [BatchOperation]) async throws {
        for operation in batch { try StorageArguments.check(key: operation.key) }
        state.withLock { state in
            for operation in batch {
                switch operation {
                case .put(let key, let body):
                    state.objects[key] = Entry(body: body, version: state.nextVersion)
                    state.nextVersion += 1
                    state.keys.insert(key)
                case .delete(let key):
                    if state.objects.removeValue(forKey: key) != nil { state.keys.remove(key) }
                }
            }
        }
    }

    private static func token(_ version: UInt64) -> ObjectVersion { ObjectVersion(String(version)) }
}
