/// The version of a stored object: an etag, a generation number or a backend-local
/// counter. Opaque to callers; equal tokens mean the same write.
public struct ObjectVersion: Hashable, Sendable, CustomStringConvertible {
    public let token: String
    public init(_ token: String) { self.token = token }
    public var description: String { token }
}

/// An object read from storage together with the version it was read at.
public struct StoredObject: Sendable, Equatable {
    public var body: [UInt8]
    public var version: ObjectVersion
    /// The object's full size; differs from `body.count` for ranged reads.
    public var size: Int
    public init(body: [UInt8], version: ObjectVersion, size: Int? = nil) {
        self.body = body
        self.version = version
        self.size = size ?? body.count
    }
}

/// The precondition of a put.
public enum PutCondition: Sendable, Equatable {
    /// Write unconditionally.
    case none
    /// Create only: fail with `.conditionFailed` if the key exists.
    case ifAbsent
    /// Compare-and-swap: fail with `.conditionFailed` unless the object is at this version.
    case ifVersion(ObjectVersion)
}

/// One entry of a listing.
public struct ListedObject: Sendable, Equatable {
    public var key: String
    public var size: Int
    public var version: ObjectVersion
    public init(key: String, size: Int, version: ObjectVersion) {
        self.key = key
        self.size = size
        self.version = version
    }
}

/// One page of a listing, in ascending key order. `nextCursor` is nil on the last page;
/// otherwise pass it as `startAfter` to get the next page.
public struct ListPage: Sendable, Equatable {
    public var objects: [ListedObject]
    public var nextCursor: String?
    public init(objects: [ListedObject], nextCursor: String?) {
        self.objects = objects
        self.nextCursor = nextCursor
    }
}

/// One unconditional change in a batch write.
public enum BatchOperation: Sendable, Equatable {
    case put(key: String, body: [UInt8])
    case delete(key: String)

    public var key: String {
        switch self {
        case .put(let key, _), .delete(let key): return key
        }
    }
}

/// Which kind of backend this is, for runtime introspection and logs.
public struct BackendKind: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public static let memory = BackendKind("memory")
    public static let rocksdb = BackendKind("rocksdb")
    public static let sharded = BackendKind("sharded")
    public static let faultInjecting = BackendKind("fault-injecting")
    public var description: String { name }
}

/// What a backend guarantees beyond the protocol's contract.
public struct StorageCapabilities: Sendable, Equatable {
    /// `write(batch:)` applies all operations or none.
    public var atomicBatch: Bool
    /// Data survives the process (false for memory).
    public var durable: Bool
    /// Reads see every write acknowledged before them (read-after-write).
    public var strongReadAfterWrite: Bool
    /// The largest object the backend accepts, in bytes.
    public var maxObjectSize: Int

    public init(atomicBatch: Bool, durable: Bool, strongReadAfterWrite: Bool, maxObjectSize: Int) {
        self.atomicBatch = atomicBatch
        self.durable = durable
        self.strongReadAfterWrite = strongReadAfterWrite
        self.maxObjectSize = maxObjectSize
    }
}

/// Read access to a key/object store. Keys are non-empty UTF-8 strings; listing order is
/// the byte order of the keys' UTF-8 encoding.
public protocol StorageReader: Sendable {
    /// The whole object, or nil when absent.
    func get(_ key: String) async throws -> StoredObject?
    /// The bytes of `range` (clamped to the object's size), or nil when absent.
    func get(_ key: String, range: Range<Int>) async throws -> StoredObject?
    /// Several objects in one call, in the order of `keys`.
    func getMany(_ keys: [String]) async throws -> [StoredObject?]
    /// `getMany` for objects that verify themselves — a checksum and their own identity
    /// inside the body, checked by the caller — so a backend may skip integrity work of
    /// its own (RocksDB's checksums run in software in Debian's build: without them a
    /// posting read from RocksDB cost about a third less). Same results otherwise; the
    /// default is `getMany`.
    func getManyVerifiedByCaller(_ keys: [String]) async throws -> [StoredObject?]
    /// Drops any cached copies of `keys` (a caller found one damaged), so the next read
    /// goes to the store. Backends without caches do nothing (the default).
    func forgetCached(_ keys: [String]) async
    /// Keys starting with `prefix`, after `startAfter` (exclusive), at most `limit` of them.
    func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage
}

/// Write access to a key/object store. Every method returns only after the change is
/// durable to the extent `capabilities.durable` promises.
public protocol StorageWriter: Sendable {
    /// Stores `body` under `key` if `condition` holds; returns the new version.
    /// Throws `StorageError` with code `.conditionFailed` when it does not.
    @discardableResult
    func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion
    /// Removes `key`; removing an absent key succeeds.
    func delete(_ key: String) async throws
    /// Applies unconditional puts and deletes; atomic when `capabilities.atomicBatch`.
    func write(batch: [BatchOperation]) async throws
}

/// A storage backend: both capabilities plus introspection.
public protocol StorageBackend: StorageReader, StorageWriter {
    var kind: BackendKind { get }
    var capabilities: StorageCapabilities { get }
}

extension StorageReader {
    public func getManyVerifiedByCaller(_ keys: [String]) async throws -> [StoredObject?] {
        try await getMany(keys)
    }

    public func forgetCached(_ keys: [String]) async {}

    public func getMany(_ keys: [String]) async throws -> [StoredObject?] {
        var result: [StoredObject?] = []
        result.reserveCapacity(keys.count)
        for key in keys { result.append(try await get(key)) }
        return result
    }

    /// Every key under `prefix`, following pagination to the end.
    public func listAll(prefix: String, pageSize: Int = 1000) async throws -> [ListedObject] {
        var all: [ListedObject] = []
        var cursor: String? = nil
        repeat {
            let page = try await list(prefix: prefix, startAfter: cursor, limit: pageSize)
            all.append(contentsOf: page.objects)
            cursor = page.nextCursor
        } while cursor != nil
        return all
    }
}

extension StorageWriter {
    @discardableResult
    public func put(_ key: String, _ body: [UInt8]) async throws -> ObjectVersion {
        try await put(key, body, condition: .none)
    }
}

/// Checks shared by backends for arguments every backend must reject the same way.
public enum StorageArguments {
    public static func check(key: String) throws {
        if key.isEmpty { throw StorageError(.invalidArgument, "storage keys must not be empty") }
        if key.utf8.count > 1024 {
            throw StorageError(.invalidArgument, "storage key of \(key.utf8.count) bytes exceeds the 1024-byte limit")
        }
    }

    public static func check(range: Range<Int>) throws {
        if range.lowerBound < 0 {
            throw StorageError(.invalidArgument, "ranged get needs a non-negative start, got \(range.lowerBound)")
        }
    }

    public static func check(limit: Int) throws {
        if limit < 1 { throw StorageError(.invalidArgument, "list limit must be at least 1, got \(limit)") }
    }

    /// Clamps `range` to an object of `size` bytes.
    public static func clamp(_ range: Range<Int>, size: Int) -> Range<Int> {
        let lower = min(range.lowerBound, size)
        return lower..<max(lower, min(range.upperBound, size))
    }
}
