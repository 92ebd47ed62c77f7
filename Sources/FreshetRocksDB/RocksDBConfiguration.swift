import FreshetStorage

/// Tuning for the embedded RocksDB backend. Every default is documented with its reason.
public struct RocksDBConfiguration: Sendable, Equatable {
    public enum Compression: String, Sendable, CaseIterable {
        case none, lz4, zstd
    }

    /// Directory of the database; created if missing.
    public var path: String
    /// Shared LRU block cache. The plan sizes it at 8 GiB for a dedicated node; the
    /// default of 512 MiB suits a developer machine. Raise it to most of the free RAM.
    public var blockCacheBytes: Int = 512 << 20
    /// Memtable size before a flush. 64 MiB (the plan's figure) absorbs write bursts
    /// without stalling on L0 compaction.
    public var writeBufferBytes: Int = 64 << 20
    /// Store values of at least `minBlobBytes` in blob files (key-value separation):
    /// WAL batches and index files are large and immutable, so compaction should not
    /// rewrite them.
    public var enableBlobFiles: Bool = true
    /// 4 KiB: below it a value stays inline in the SST block.
    public var minBlobBytes: Int = 4096
    /// Compression of SST blocks: LZ4 is fast enough for the hot levels.
    public var compression: Compression = .lz4
    /// Compression of the bottommost level, where most data sits: ZSTD for its ratio.
    public var bottommostCompression: Compression = .zstd
    /// Bloom filter bits per key; 10 gives about 1% false positives on point lookups.
    public var bloomBitsPerKey: Double = 10
    /// Background flush + compaction threads.
    public var maxBackgroundJobs: Int = 4
    /// fsync RocksDB's own WAL before a write returns. On (the default) a write
    /// survives power loss; off, it survives a process crash only.
    public var syncWrites: Bool = true
    /// Verify RocksDB's block and blob checksums on every read. Freshet's objects carry
    /// their own CRC-32C, which catches a damaged value but not an index block that
    /// points at another intact one, so this stays on unless reads must be cheapest.
    public var verifyChecksums: Bool = true
    /// Collect RocksDB statistics (a few percent of overhead); exposed by `statistics()`.
    public var enableStatistics: Bool = true

    public init(path: String) { self.path = path }

    /// Builds a configuration from `key=value` options, rejecting unknown keys.
    public init(path: String, options: [String: String]) throws {
        self.init(path: path)
        for (key, value) in options {
            func int() throws -> Int {
                guard let number = ByteSize.parse(value) else {
                    throw StorageError(.invalidArgument, "RocksDB option \(key)=\(value) is not a number (bytes may use K, M, G suffixes)")
                }
                return number
            }
            func bool() throws -> Bool {
                switch value.lowercased() {
                case "true", "1", "yes", "on": return true
                case "false", "0", "no", "off": return false
                default: throw StorageError(.invalidArgument, "RocksDB option \(key)=\(value) must be true or false")
                }
            }
            func compression() throws -> Compression {
                guard let compression = Compression(rawValue: value.lowercased()) else {
                    throw StorageError(.invalidArgument, "RocksDB option \(key)=\(value) must be one of none, lz4, zstd")
                }
                return compression
            }
            switch key {
            case "block_cache": blockCacheBytes = try int()
            case "write_buffer": writeBufferBytes = try int()
            case "blob_files": enableBlobFiles = try bool()
            case "min_blob_size": minBlobBytes = try int()
            case "compression": self.compression = try compression()
            case "bottommost_compression": bottommostCompression = try compression()
            case "bloom_bits": bloomBitsPerKey = Double(try int())
            case "background_jobs": maxBackgroundJobs = try int()
            case "sync": syncWrites = try bool()
            case "statistics": enableStatistics = try bool()
            case "verify_checksums": verifyChecksums = try bool()
            default:
                throw StorageError(.invalidArgument, "unknown RocksDB option \(key); known: block_cache, write_buffer, blob_files, min_blob_size, compression, bottommost_compression, bloom_bits, background_jobs, sync, statistics, verify_checksums")
            }
        }
    }
}

/// Parses byte sizes such as `512M`, `8G`, `4096`.
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: " ")
        guard let last = trimmed.last else { return nil }
        let multipliers: [Character: Int] = ["k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30]
        if let multiplier = multipliers[last] {
            return Int(trimmed.dropLast()).map { $0 * multiplier }
        }
        return Int(trimmed)
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice.removeFirst() }
        while slice.last == character { slice.removeLast() }
        return String(slice)
    }
}
