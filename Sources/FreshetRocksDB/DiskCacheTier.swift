import FreshetStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// L2: the node's local disk cache, a RocksDB of its own bounded in bytes.
///
/// Which keys it holds and their sizes are kept in memory (rebuilt by one scan on
/// open); when the total passes the budget the least recently used tenth is evicted.
/// The cache is disposable: writes are not synced (a crash may lose recent entries,
/// never the truth), and a directory that cannot be opened is wiped and recreated.
public final class DiskCacheTier: CacheTier {
    private struct Entry: Sendable { var size: Int; var tick: UInt64; var lastAccess: Int64 }
    private struct State: Sendable {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var tick: UInt64 = 0
        var statistics = CacheTierStatistics(name: "disk")
    }

    public let path: String
    public let budget: Int
    let database: RocksDBBackend
    private let state = Mutex(State())

    /// Opens (or creates) the cache at `path`, holding at most `budget` bytes.
    public init(path: String, budget: Int) async throws {
        self.path = path
        self.budget = budget
        var configuration = RocksDBConfiguration(path: path)
        configuration.syncWrites = false
        configuration.blockCacheBytes = 32 << 20
        configuration.writeBufferBytes = 16 << 20
        configuration.maxBackgroundJobs = 2
        configuration.enableStatistics = false
        configuration.bottommostCompression = .lz4
        do {
            database = try RocksDBBackend(configuration: configuration)
        } catch {
            Self.removeTree(path)
            database = try RocksDBBackend(configuration: configuration)
        }
        let existing = try await database.listAll(prefix: "")
        state.withLock { state in
            state.statistics.budget = budget
            for object in existing {
                state.tick += 1
                state.entries[object.key] = Entry(size: object.size, tick: state.tick, lastAccess: Self.now())
                state.bytes += object.size
            }
        }
        await evictIfNeeded()
    }

    public var name: String { "disk" }

    public func close() { database.close() }

    public func value(for key: String) async -> [UInt8]? {
        let known = state.withLock { state -> Bool in
            guard state.entries[key] != nil else { state.statistics.misses += 1; return false }
            state.tick += 1
            state.entries[key]?.tick = state.tick
            state.entries[key]?.lastAccess = Self.now()
            return true
        }
        guard known else { return nil }
        do {
            if let object = try await database.get(key) {
                state.withLock { $0.statistics.hits += 1 }
                return object.body
            }
            state.withLock { state in
                state.statistics.misses += 1
                if let entry = state.entries.removeValue(forKey: key) { state.bytes -= entry.size }
            }
        } catch {
            state.withLock { $0.statistics.errors += 1; $0.statistics.misses += 1 }
        }
        return nil
    }

    public func store(_ value: [UInt8], for key: String) async {
        guard value.count <= budget / 4 else { return }  // one object never floods the cache
        do {
            try await database.put(key, value)
        } catch {
            state.withLock { $0.statistics.errors += 1 }
            return
        }
        state.withLock { state in
            state.tick += 1
            if let previous = state.entries[key] { state.bytes -= previous.size }
            state.entries[key] = Entry(size: value.count, tick: state.tick, lastAccess: Self.now())
            state.bytes += value.count
            state.statistics.stores += 1
        }
        await evictIfNeeded()
    }

    public func remove(_ key: String) async {
        let known = state.withLock { state -> Bool in
            guard let entry = state.entries.removeValue(forKey: key) else { return false }
            state.bytes -= entry.size
            return true
        }
        if known { try? await database.delete(key) }
    }

    public var statistics: CacheTierStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.bytes = state.bytes
            return statistics
        }
    }

    /// Over budget: drop the least recently used entries down to 90% of it.
    func evictIfNeeded() async {
        let victims: [String] = state.withLock { state in
            guard state.bytes > budget else { return [] }
            let target = budget / 10 * 9
            var chosen: [String] = []
            var bytes = state.bytes
            for (key, entry) in state.entries.sorted(by: { $0.value.tick < $1.value.tick }) {
                if bytes <= target { break }
                chosen.append(key)
                bytes -= entry.size
            }
            for key in chosen {
                if let entry = state.entries.removeValue(forKey: key) { state.bytes -= entry.size }
            }
            state.statistics.evictions += chosen.count
            return chosen
        }
        guard !victims.isEmpty else { return }
        do {
            try await database.write(batch: victims.map { .delete(key: $0) })
        } catch {
            state.withLock { $0.statistics.errors += 1 }
        }
    }

    /// Drops entries not read or written for `idleSeconds` (the hybrid backend's
    /// demotion: the object store keeps them). Returns how many were dropped.
    @discardableResult
    public func demote(idleSeconds: Int64) async -> Int {
        let cutoff = Self.now() - idleSeconds
        let victims: [String] = state.withLock { state in
            let chosen = state.entries.filter { $0.value.lastAccess < cutoff }.map(\.key)
            for key in chosen {
                if let entry = state.entries.removeValue(forKey: key) { state.bytes -= entry.size }
            }
            state.statistics.evictions += chosen.count
            return chosen
        }
        guard !victims.isEmpty else { return 0 }
        do { try await database.write(batch: victims.map { .delete(key: $0) }) } catch {
            state.withLock { $0.statistics.errors += 1 }
        }
        return victims.count
    }

    static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec)
    }

    static func removeTree(_ path: String) {
        guard let directory = opendir(path) else { unlink(path); return }
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { removeTree(child) } else { unlink(child) }
        }
        closedir(directory)
        rmdir(path)
    }
}
