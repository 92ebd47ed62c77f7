import CRocksDB
import Dispatch
import Foundation
import FreshetStorage
import Synchronization

/// The embedded storage backend: RocksDB through its C API.
///
/// Each value is stored as an 8-byte little-endian version followed by the body, so
/// conditional puts can compare versions. Conditional and unconditional writes to one
/// key are serialised by a striped lock (RocksDB itself has no CAS in its plain C
/// API), which makes them atomic within this process; RocksDB's LOCK file keeps other
/// processes out of the directory. Blocking RocksDB calls run on a dedicated dispatch
/// queue, never on Swift's cooperative threads.
public final class RocksDBBackend: StorageBackend, @unchecked Sendable {
    public let configuration: RocksDBConfiguration

    private let db: OpaquePointer
    private let options: OpaquePointer
    private let tableOptions: OpaquePointer
    private let cache: OpaquePointer
    private let readOptions: OpaquePointer
    /// For `getManyVerifiedByCaller`: no RocksDB checksum verification.
    private let unverifiedReadOptions: OpaquePointer
    private let writeOptions: OpaquePointer
    private let queue = DispatchQueue(label: "freshet.rocksdb", qos: .userInitiated, attributes: .concurrent)
    private let stripes: [Stripe] = (0..<64).map { _ in Stripe() }
    private let closed = Atomic<Bool>(false)

    /// Opens (creating if needed) the database at `configuration.path`.
    /// Throws `.unavailable` when another process holds the directory.
    public init(configuration: RocksDBConfiguration) throws {
        self.configuration = configuration
        do {
            try FileManager.default.createDirectory(atPath: configuration.path, withIntermediateDirectories: true)
        } catch {
            throw StorageError(.io, "cannot create the RocksDB directory \(configuration.path): \(error.localizedDescription)")
        }
        options = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(options, 1)
        rocksdb_options_set_write_buffer_size(options, configuration.writeBufferBytes)
        rocksdb_options_set_max_background_jobs(options, Int32(configuration.maxBackgroundJobs))
        rocksdb_options_set_compression(options, Self.code(configuration.compression))
        rocksdb_options_set_bottommost_compression(options, Self.code(configuration.bottommostCompression))
        rocksdb_options_set_level_compaction_dynamic_level_bytes(options, 1)
        if configuration.enableBlobFiles {
            rocksdb_options_set_enable_blob_files(options, 1)
            rocksdb_options_set_min_blob_size(options, UInt64(configuration.minBlobBytes))
            rocksdb_options_set_blob_compression_type(options, Self.code(configuration.compression))
        }
        if configuration.enableStatistics { rocksdb_options_enable_statistics(options) }
        tableOptions = rocksdb_block_based_options_create()
        cache = rocksdb_cache_create_lru(configuration.blockCacheBytes)
        rocksdb_block_based_options_set_block_cache(tableOptions, cache)
        // The table options take ownership of the filter policy.
        rocksdb_block_based_options_set_filter_policy(tableOptions, rocksdb_filterpolicy_create_bloom_full(configuration.bloomBitsPerKey))
        rocksdb_options_set_block_based_table_factory(options, tableOptions)
        readOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_verify_checksums(readOptions, configuration.verifyChecksums ? 1 : 0)
        unverifiedReadOptions = rocksdb_readoptions_create()
        rocksdb_readoptions_set_verify_checksums(unverifiedReadOptions, 0)
        writeOptions = rocksdb_writeoptions_create()
        rocksdb_writeoptions_set_sync(writeOptions, configuration.syncWrites ? 1 : 0)

        var error: UnsafeMutablePointer<CChar>? = nil
        let handle = rocksdb_open(options, configuration.path, &error)
        if let error {
            let message = String(cString: error)
            rocksdb_free(error)
            Self.destroy(options: options, table: tableOptions, cache: cache, read: readOptions, write: writeOptions)
            rocksdb_readoptions_destroy(unverifiedReadOptions)
            let code: StorageError.Code = message.contains("lock") ? .unavailable : .io
            throw StorageError(code, "cannot open RocksDB at \(configuration.path): \(message)")
        }
        db = handle!
    }

    deinit {
        if !closed.exchange(true, ordering: .acquiringAndReleasing) { rocksdb_close(db) }
        Self.destroy(options: options, table: tableOptions, cache: cache, read: readOptions, write: writeOptions)
        rocksdb_readoptions_destroy(unverifiedReadOptions)
    }

    /// Closes the database; later calls fail with `.closed`. Call only after in-flight
    /// calls have returned (the engine drains before closing storage).
    public func close() {
        if !closed.exchange(true, ordering: .acquiringAndReleasing) { rocksdb_close(db) }
    }

    public var kind: BackendKind { .rocksdb }
    public var capabilities: StorageCapabilities {
        StorageCapabilities(atomicBatch: true, durable: true, strongReadAfterWrite: true, maxObjectSize: 2_000_000_000)
    }

    // MARK: reads

    public func get(_ key: String) async throws -> StoredObject? {
        try StorageArguments.check(key: key)
        return try await blocking { try self.read(key) }
    }

    public func get(_ key: String, range: Range<Int>) async throws -> StoredObject? {
        try StorageArguments.check(key: key)
        try StorageArguments.check(range: range)
        guard let object = try await get(key) else { return nil }
        let clamped = StorageArguments.clamp(range, size: object.body.count)
        return StoredObject(body: Array(object.body[clamped]), version: object.version, size: object.body.count)
    }

    public func getMany(_ keys: [String]) async throws -> [StoredObject?] {
        for key in keys { try StorageArguments.check(key: key) }
        if keys.isEmpty { return [] }
        return try await blocking { try self.multiRead(keys, options: self.readOptions) }
    }

    /// `getMany` without RocksDB's checksum verification (the caller's objects carry
    /// their own checksum and identity, see `StorageReader`).
    public func getManyVerifiedByCaller(_ keys: [String]) async throws -> [StoredObject?] {
        for key in keys { try StorageArguments.check(key: key) }
        if keys.isEmpty { return [] }
        return try await blocking { try self.multiRead(keys, options: self.unverifiedReadOptions) }
    }

    public func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try StorageArguments.check(limit: limit)
        return try await blocking { try self.scan(prefix: prefix, startAfter: startAfter, limit: limit) }
    }

    // MARK: writes

    public func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try StorageArguments.check(key: key)
        return try await blocking {
            try self.stripe(for: key).withLock {
                if condition != .none {
                    let existing = try self.read(key)
                    switch condition {
                    case .none: break
                    case .ifAbsent:
                        if existing != nil { throw StorageError(.conditionFailed, "object \(key) already exists") }
                    case .ifVersion(let expected):
                        guard let existing, existing.version == expected else {
                            throw StorageError(.conditionFailed, "object \(key) is not at version \(expected)")
                        }
                    }
                }
                let version = UInt64.random(in: 1...UInt64.max)
                try self.writeBatch([(key, body, version)], deletes: [])
                return Self.token(version)
            }
        }
    }

    public func delete(_ key: String) async throws {
        try StorageArguments.check(key: key)
        try await blocking {
            try self.stripe(for: key).withLock { try self.writeBatch([], deletes: [key]) }
        }
    }

    public func write(batch: [BatchOperation]) async throws {
        for operation in batch { try StorageArguments.check(key: operation.key) }
        if batch.isEmpty { return }
        try await blocking {
            var puts: [(String, [UInt8], UInt64)] = []
            var deletes: [String] = []
            for operation in batch {
                switch operation {
                case .put(let key, let body): puts.append((key, body, UInt64.random(in: 1...UInt64.max)))
                case .delete(let key): deletes.append(key)
                }
            }
            // Take every involved stripe in index order so a concurrent CAS on one of
            // these keys cannot interleave between its read and its write.
            let indices = Set(batch.map { self.stripeIndex(for: $0.key) }).sorted()
            try self.withStripes(indices[...]) { try self.writeBatch(puts, deletes: deletes) }
        }
    }

    // MARK: statistics

    /// RocksDB's counters and a few properties, for metrics and `freshet admin`.
    public func statistics() -> RocksDBStatistics {
        var stats = RocksDBStatistics()
        stats.estimatedKeys = property("rocksdb.estimate-num-keys").flatMap { Int($0) }
        stats.liveDataBytes = property("rocksdb.estimate-live-data-size").flatMap { Int($0) }
        stats.blockCacheUsageBytes = property("rocksdb.block-cache-usage").flatMap { Int($0) }
        stats.memtableBytes = property("rocksdb.cur-size-all-mem-tables").flatMap { Int($0) }
        stats.blobFileBytes = property("rocksdb.total-blob-file-size").flatMap { Int($0) }
        if configuration.enableStatistics, let text = rocksdb_options_statistics_get_string(options) {
            let raw = String(cString: text)
            rocksdb_free(text)
            stats.counters = RocksDBStatistics.parseCounters(raw)
        }
        return stats
    }

    /// A RocksDB property such as `rocksdb.estimate-num-keys`.
    public func property(_ name: String) -> String? {
        guard !closed.load(ordering: .acquiring), let value = rocksdb_property_value(db, name) else { return nil }
        defer { rocksdb_free(value) }
        return String(cString: value)
    }

    // MARK: internals (run on `queue`)

    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                if self.closed.load(ordering: .acquiring) {
                    continuation.resume(throwing: StorageError(.closed, "the RocksDB backend at \(self.configuration.path) is closed"))
                    return
                }
                continuation.resume(with: Result { try body() })
            }
        }
    }

    private func stripeIndex(for key: String) -> Int { Int(HashRing.hash(key) % UInt64(stripes.count)) }
    private func stripe(for key: String) -> Stripe { stripes[stripeIndex(for: key)] }

    private func withStripes<T>(_ indices: ArraySlice<Int>, _ body: () throws -> T) throws -> T {
        guard let first = indices.first else { return try body() }
        return try stripes[first].withLock { try withStripes(indices.dropFirst(), body) }
    }

    private func read(_ key: String) throws -> StoredObject? {
        var length = 0
        var error: UnsafeMutablePointer<CChar>? = nil
        let value = key.withCString { rocksdb_get(db, readOptions, $0, key.utf8.count, &length, &error) }
        try check(error, "get \(key)")
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return try decode(UnsafeRawBufferPointer(start: value, count: length), key: key)
    }

    private func multiRead(_ keys: [String], options: OpaquePointer) throws -> [StoredObject?] {
        let count = keys.count
        let keyBytes = keys.map { Array($0.utf8) }
        var values = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        var valueSizes = [Int](repeating: 0, count: count)
        var errors = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
        let keySizes = keyBytes.map(\.count)
        let pointers: [UnsafeMutablePointer<CChar>] = keyBytes.map { bytes in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBufferPointer { source in
                pointer.withMemoryRebound(to: UInt8.self, capacity: max(bytes.count, 1)) { target in
                    target.update(from: source.baseAddress!, count: bytes.count)
                }
            }
            return pointer
        }
        defer { for pointer in pointers { pointer.deallocate() } }
        var constPointers = pointers.map { UnsafePointer<CChar>($0) as UnsafePointer<CChar>? }
        rocksdb_multi_get(db, options, count, &constPointers, keySizes, &values, &valueSizes, &errors)
        var result: [StoredObject?] = []
        result.reserveCapacity(count)
        var firstError: (any Error)? = nil
        for index in 0..<count {
            defer {
                if let value = values[index] { rocksdb_free(value) }
                if let error = errors[index] { rocksdb_free(error) }
            }
            if let error = errors[index], firstError == nil {
                firstError = StorageError(.io, "multi-get \(keys[index]): \(String(cString: error))")
            }
            if let value = values[index] {
                // Never throw mid-loop: every remaining value must still be freed.
                do {
                    result.append(try decode(UnsafeRawBufferPointer(start: value, count: valueSizes[index]), key: keys[index]))
                } catch {
                    if firstError == nil { firstError = error }
                    result.append(nil)
                }
            } else {
                result.append(nil)
            }
        }
        if let firstError { throw firstError }
        return result
    }

    private func scan(prefix: String, startAfter: String?, limit: Int) throws -> ListPage {
        let iterator = rocksdb_create_iterator(db, readOptions)!
        defer { rocksdb_iter_destroy(iterator) }
        let seekKey: String
        if let startAfter, !startAfter.utf8.lexicographicallyPrecedes(prefix.utf8) { seekKey = startAfter } else { seekKey = prefix }
        seekKey.withCString { rocksdb_iter_seek(iterator, $0, seekKey.utf8.count) }
        var objects: [ListedObject] = []
        var more = false
        let prefixBytes = Array(prefix.utf8)
        let startAfterBytes = startAfter.map { Array($0.utf8) }
        while rocksdb_iter_valid(iterator) != 0 {
            var keyLength = 0
            let keyPointer = rocksdb_iter_key(iterator, &keyLength)!
            let keyBuffer = UnsafeRawBufferPointer(start: keyPointer, count: keyLength)
            if !keyBuffer.starts(with: prefixBytes) { break }
            let key = String(decoding: keyBuffer, as: UTF8.self)
            // Byte comparison: String equality would treat NFC and NFD forms as equal.
            if let startAfterBytes, keyBuffer.elementsEqual(startAfterBytes) {
                rocksdb_iter_next(iterator)
                continue
            }
            if objects.count == limit {
                more = true
                break
            }
            var valueLength = 0
            let valuePointer = rocksdb_iter_value(iterator, &valueLength)!
            let object = try decode(UnsafeRawBufferPointer(start: valuePointer, count: valueLength), key: key)
            objects.append(ListedObject(key: key, size: object.size, version: object.version))
            rocksdb_iter_next(iterator)
        }
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_iter_get_error(iterator, &error)
        try check(error, "list \(prefix)")
        return ListPage(objects: objects, nextCursor: more ? objects.last?.key : nil)
    }

    private func writeBatch(_ puts: [(String, [UInt8], UInt64)], deletes: [String]) throws {
        let batch = rocksdb_writebatch_create()!
        defer { rocksdb_writebatch_destroy(batch) }
        for (key, body, version) in puts {
            var value = [UInt8](repeating: 0, count: 8 + body.count)
            withUnsafeBytes(of: version.littleEndian) { value.replaceSubrange(0..<8, with: $0) }
            value.replaceSubrange(8..<value.count, with: body)
            key.withCString { keyPointer in
                value.withUnsafeBufferPointer { valuePointer in
                    valuePointer.withMemoryRebound(to: CChar.self) {
                        rocksdb_writebatch_put(batch, keyPointer, key.utf8.count, $0.baseAddress, value.count)
                    }
                }
            }
        }
        for key in deletes {
            key.withCString { rocksdb_writebatch_delete(batch, $0, key.utf8.count) }
        }
        var error: UnsafeMutablePointer<CChar>? = nil
        rocksdb_write(db, writeOptions, batch, &error)
        try check(error, "write batch of \(puts.count) puts and \(deletes.count) deletes")
    }

    private func decode(_ buffer: UnsafeRawBufferPointer, key: String) throws -> StoredObject {
        guard buffer.count >= 8 else {
            throw StorageError(.corrupt, "RocksDB value of \(key) is \(buffer.count) bytes, shorter than its 8-byte version header")
        }
        let version = buffer.loadUnaligned(as: UInt64.self).littleEndian
        return StoredObject(body: Array(buffer[8...]), version: Self.token(version))
    }

    private func check(_ error: UnsafeMutablePointer<CChar>?, _ what: String) throws {
        guard let error else { return }
        let message = String(cString: error)
        rocksdb_free(error)
        throw StorageError(.io, "RocksDB \(what) failed: \(message)")
    }

    private static func token(_ version: UInt64) -> ObjectVersion {
        ObjectVersion(String(version, radix: 16))
    }

    private static func code(_ compression: RocksDBConfiguration.Compression) -> Int32 {
        switch compression {
        case .none: return 0
        case .lz4: return Int32(rocksdb_lz4_compression)
        case .zstd: return Int32(rocksdb_zstd_compression)
        }
    }

    private static func destroy(options: OpaquePointer, table: OpaquePointer, cache: OpaquePointer, read: OpaquePointer, write: OpaquePointer) {
        rocksdb_readoptions_destroy(read)
        rocksdb_writeoptions_destroy(write)
        rocksdb_options_destroy(options)
        rocksdb_block_based_options_destroy(table)
        rocksdb_cache_destroy(cache)
    }
}

/// A snapshot of RocksDB's state for metrics.
public struct RocksDBStatistics: Sendable, Equatable {
    public var estimatedKeys: Int?
    public var liveDataBytes: Int?
    public var blockCacheUsageBytes: Int?
    public var memtableBytes: Int?
    public var blobFileBytes: Int?
    /// Ticker counters such as `rocksdb.block.cache.hit`.
    public var counters: [String: Int] = [:]

    /// Parses the `name COUNT : value` lines of RocksDB's statistics dump.
    static func parseCounters(_ text: String) -> [String: Int] {
        var counters: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 4, parts[1] == "COUNT", let value = Int(parts[3]) { counters[String(parts[0])] = value }
        }
        return counters
    }
}

/// One lock of the striped key lock.
private final class Stripe: Sendable {
    private let mutex = Mutex(())
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        try mutex.withLock { _ in try body() }
    }
}
