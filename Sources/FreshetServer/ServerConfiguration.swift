import FreshetIndex

/// Everything `freshet serve` can be told. Every default is documented with its reason.
public struct ServerConfiguration: Sendable, Equatable {
    /// Address to bind. Loopback by default: an open (keyless) server must not be
    /// reachable from other machines.
    public var host = "127.0.0.1"
    public var port = 8080
    /// `rocksdb://PATH` (default `./data`) or `memory://`.
    public var storage = "rocksdb://./data"
    /// Accepted `Authorization: Bearer` keys. Empty means open mode, which is allowed
    /// only on a loopback address.
    public var apiKeys: [String] = []
    /// Largest request body before decompression, in bytes (the reference's 512 MB).
    public var maxBodyBytes = 512 << 20
    /// Largest request body after gzip decompression, in bytes.
    public var maxDecompressedBytes = 1 << 30
    /// Per-operation deadlines, in seconds. Writes wait for durable commit, so they
    /// get longer than queries.
    public var writeTimeoutSeconds = 60.0
    public var queryTimeoutSeconds = 30.0
    public var adminTimeoutSeconds = 60.0
    /// Seconds between SIGTERM and closing the listener, during which `/readyz` answers
    /// 503 so load balancers stop routing here while in-flight requests finish.
    public var drainSeconds = 1.0
    /// Origins allowed by CORS; empty disables CORS headers.
    public var corsOrigins: [String] = []
    /// Queries running at once per namespace (the reference's published limit is 16);
    /// more wait in a queue of `maxQueuedQueriesPerNamespace`, and beyond that get 429.
    public var maxConcurrentQueriesPerNamespace = 16
    public var maxQueuedQueriesPerNamespace = 256
    /// Bytes of unacknowledged writes per namespace before new writes get 429
    /// (unless they set `disable_backpressure`).
    public var maxPendingWriteBytesPerNamespace = 1 << 30
    /// A namespace gets an SPFresh ANN index once it holds this many vectors; below it
    /// an exhaustive scan is as fast and exact.
    public var indexMinimumVectors = 2_000
    /// Filtered vector queries whose filter matches at most this many documents compute
    /// exact distances over them instead of probing the index.
    public var filteredExactLimit = 4_000
    /// Enabling full-text search on a namespace with more documents than this builds
    /// the index in the background (BM25 queries on it get 202 meanwhile).
    public var textInlineBuildLimit = 20_000
    /// Object-store storage: the node's local disk cache directory (L2, and the hot
    /// tier of hybrid://). Nil: no disk cache (a hybrid:// URL requires one).
    public var cacheDirectory: String? = nil
    /// L1 memory cache of immutable objects (postings, snapshots, checkpoints). 512 MiB:
    /// a few hundred thousand postings of a 1M-vector namespace.
    public var cacheMemoryBytes = 512 << 20
    /// L2 disk cache budget. 16 GiB: a node's working set of several large namespaces.
    public var cacheDiskBytes = 16 << 30
    /// The posting file cache: a directory for index postings in local segment files,
    /// read by offset and scanned in place (queries that miss the index's memory cache
    /// skip the storage backend). Cleared at start. Nil: none.
    public var indexFileCacheDirectory: String? = nil
    /// Its budget. 4 GiB: the postings of a few million 128-d vectors in f16.
    public var indexFileCacheBytes = 4 << 30
    /// How new index postings store vectors: f16 (default: half of f32's bytes), i8 (a
    /// quarter, per-vector scale: the least memory and page cache; the index alone tops
    /// out near recall 0.98, which the engine's exact rerank makes up), or f32.
    /// Postings carry their encoding, so a change applies to postings written after it.
    public var indexPostingEncoding = PostingEncoding.f16
    /// L3: a Redis shared by the fleet (`redis://host:port`). Nil: none.
    public var cacheRedisURL: String? = nil
    /// A storage router (config file only: `storage_routes`); when set it replaces `storage`.
    public var storageRoutes: StorageRoutes? = nil
    /// Overrides of the s3:// URL's endpoint, region and addressing.
    public var s3Endpoint: String? = nil
    public var s3Region: String? = nil
    public var s3PathStyle: Bool? = nil
    /// Responses larger than this are gzip-compressed when the client accepts gzip.
    public var compressResponsesAbove = 1024

    public init() {}

    public var isLoopback: Bool {
        host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Rejects configurations that would be unsafe or cannot work.
    public func validate() throws {
        if apiKeys.isEmpty, !isLoopback {
            throw ConfigurationError("refusing to serve on \(host) without API keys: set --api-key (or FRESHET_API_KEYS), or bind to 127.0.0.1")
        }
        if !(1...65535).contains(port) { throw ConfigurationError("port \(port) is outside 1...65535") }
        if cacheMemoryBytes < 0 || cacheDiskBytes < 0 { throw ConfigurationError("cache sizes must not be negative") }
        if indexFileCacheDirectory != nil, indexFileCacheBytes < 1 << 20 {
            throw ConfigurationError("the index file cache needs at least 1 MiB, got \(indexFileCacheBytes) bytes")
        }
        if maxBodyBytes < 1024 { throw ConfigurationError("max body size \(maxBodyBytes) is below 1 KiB") }
        if maxConcurrentQueriesPerNamespace < 1 { throw ConfigurationError("max concurrent queries must be at least 1") }
        if maxQueuedQueriesPerNamespace < 0 { throw ConfigurationError("max queued queries must not be negative") }
        for (name, value) in [("write", writeTimeoutSeconds), ("query", queryTimeoutSeconds), ("admin", adminTimeoutSeconds)] where value <= 0 {
            throw ConfigurationError("the \(name) timeout must be positive, got \(value)")
        }
    }
}

/// A configuration mistake, reported before the server starts.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
