import Foundation
import FreshetObjectStore
import FreshetRedis
import FreshetRocksDB
import FreshetStorage

/// A parsed `--storage` URL.
///
/// - `rocksdb://PATH[?option=value&…]` — embedded RocksDB (the default, `./data`).
/// - `memory://` — nothing survives the process (tests, demos).
/// - `s3://BUCKET[/PREFIX][?region=…&endpoint=…&path_style=true&storage_class.KIND=CLASS&…]`
/// - `gs://BUCKET[/PREFIX]` — `STORAGE_EMULATOR_HOST` or `?endpoint=` for an emulator.
/// - `az://CONTAINER[/PREFIX]?account=NAME` (or `AZURE_STORAGE_ACCOUNT`).
/// - `hybrid://` + one of the object-store URLs above: a RocksDB hot tier in
///   `--cache-dir` over the object store.
public enum StorageLocation: Sendable, Equatable {
    case rocksdb(path: String, options: [String: String])
    case memory
    case s3(bucket: String, prefix: String, options: [String: String])
    case gcs(bucket: String, prefix: String, options: [String: String])
    case azure(container: String, prefix: String, options: [String: String])
    indirect case hybrid(StorageLocation)

    public static func parse(_ text: String) throws -> StorageLocation {
        if text == "memory://" || text == "memory" { return .memory }
        if text.hasPrefix("hybrid://") {
            let inner = try parse(String(text.dropFirst("hybrid://".count)))
            guard inner.isObjectStore else {
                throw ConfigurationError("hybrid:// wraps an object store URL (s3://, gs:// or az://), e.g. hybrid://s3://bucket/prefix; got \(text)")
            }
            return .hybrid(inner)
        }
        guard let schemeEnd = text.range(of: "://") else {
            throw ConfigurationError("unknown storage URL \(text); use rocksdb://PATH (for example rocksdb://./data), memory://, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://CONTAINER/PREFIX or hybrid://s3://BUCKET/PREFIX")
        }
        let scheme = String(text[..<schemeEnd.lowerBound])
        let rest = String(text[schemeEnd.upperBound...])
        let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var options: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard keyValue.count == 2 else { throw ConfigurationError("storage option \(pair) must be key=value") }
                options[keyValue[0]] = URIEncoding.decode(keyValue[1])
            }
        }
        let location = parts[0]
        switch scheme {
        case "rocksdb":
            guard !location.isEmpty else { throw ConfigurationError("rocksdb:// needs a directory, e.g. rocksdb://./data") }
            return .rocksdb(path: location, options: options)
        case "s3", "gs", "az":
            let segments = location.split(separator: "/", maxSplits: 1).map(String.init)
            guard let first = segments.first, !first.isEmpty else {
                throw ConfigurationError("\(scheme):// needs a \(scheme == "az" ? "container" : "bucket"), e.g. \(scheme)://my-bucket/freshet")
            }
            let prefix = segments.count > 1 ? segments[1] : ""
            let known: Set<String>
            switch scheme {
            case "s3": known = ["region", "endpoint", "path_style", "multipart_threshold", "part_size", "abort_multipart_days"]
            case "gs": known = ["endpoint"]
            default: known = ["account", "endpoint", "block_size"]
            }
            for key in options.keys where !known.contains(key) && !(scheme == "s3" && key.hasPrefix("storage_class."))
                && !(scheme == "gs" && key.hasPrefix("storage_class.")) {
                throw ConfigurationError("unknown \(scheme):// option \(key); known: \(known.sorted().joined(separator: ", "))\(scheme == "az" ? "" : ", storage_class.KIND")")
            }
            switch scheme {
            case "s3": return .s3(bucket: first, prefix: prefix, options: options)
            case "gs": return .gcs(bucket: first, prefix: prefix, options: options)
            default: return .azure(container: first, prefix: prefix, options: options)
            }
        default:
            throw ConfigurationError("unknown storage URL scheme \(scheme)://; use rocksdb://, memory://, s3://, gs://, az:// or hybrid://")
        }
    }

    public var isObjectStore: Bool {
        switch self {
        case .s3, .gcs, .azure: return true
        case .rocksdb, .memory, .hybrid: return false
        }
    }
}

/// Cache settings for object-store storage.
public struct CacheSettings: Sendable, Equatable {
    /// L2 (and the hybrid hot tier) directory; nil: no disk cache.
    public var directory: String?
    public var memoryBytes: Int
    public var diskBytes: Int
    /// L3: `redis://host:port` shared by the fleet; nil: none.
    public var redisURL: String?

    public init(directory: String? = nil, memoryBytes: Int = 512 << 20, diskBytes: Int = 16 << 30, redisURL: String? = nil) {
        self.directory = directory
        self.memoryBytes = memoryBytes
        self.diskBytes = diskBytes
        self.redisURL = redisURL
    }
}

extension CacheSettings {
    /// The cache tiers in read order — memory, then the disk cache in `directory`
    /// (when `disk` and a directory is set), then Redis (when a URL is set) — and what
    /// closes them, first to last.
    func openTiers(disk: Bool) async throws -> (tiers: [any CacheTier], closers: [@Sendable () async -> Void]) {
        var tiers: [any CacheTier] = [MemoryCacheTier(budget: memoryBytes)]
        var closers: [@Sendable () async -> Void] = []
        if disk, let directory {
            let tier = try await DiskCacheTier(path: directory, budget: diskBytes)
            tiers.append(tier)
            closers.append { tier.close() }
        }
        if let redisURL {
            let client = RedisClient(configuration: try StorageLocation.redisConfiguration(redisURL))
            tiers.append(RedisCacheTier(client: client))
            closers.append { await client.close() }
        }
        return (tiers, closers)
    }
}

/// A storage backend opened for the server, with what must be closed after draining
/// and the cache statistics `/_debug/cache` reports.
public struct OpenedStorage: Sendable {
    public var backend: any StorageBackend
    public var close: @Sendable () async -> Void
    public var cacheStatistics: @Sendable () -> (tiers: [CacheTierStatistics], cacheableReads: Int, storeReads: Int)?
}

extension StorageLocation {
    /// Opens the backend, wrapping object stores in the configured cache tiers.
    ///
    /// - Parameters:
    ///   - environment: for credentials (AWS_*, GOOGLE_APPLICATION_CREDENTIALS,
    ///     STORAGE_EMULATOR_HOST, AZURE_STORAGE_*).
    ///   - s3: `--s3-endpoint`, `--s3-region`, `--s3-path-style`, applied over URL options.
    public func open(cache: CacheSettings = CacheSettings(), environment: [String: String] = [:],
                     s3 overrides: S3Overrides = S3Overrides(), transport: (any HTTPTransport)? = nil) async throws -> OpenedStorage {
        switch self {
        case .memory:
            return OpenedStorage(backend: MemoryBackend(), close: {}, cacheStatistics: { nil })
        case .rocksdb(let path, let options):
            let configuration: RocksDBConfiguration
            do { configuration = try RocksDBConfiguration(path: path, options: options) } catch let error as StorageError {
                throw ConfigurationError(error.message)
            }
            let backend = try RocksDBBackend(configuration: configuration)
            return OpenedStorage(backend: backend, close: { backend.close() }, cacheStatistics: { nil })
        case .s3, .gcs, .azure, .hybrid:
            let http = AsyncHTTPTransport()
            let wire = transport ?? http
            var closers: [@Sendable () async -> Void] = [{ try? await http.shutdown() }]
            let objectStore: any StorageBackend
            let inner: StorageLocation
            if case .hybrid(let wrapped) = self { inner = wrapped } else { inner = self }
            do {
                objectStore = try await inner.openObjectStore(environment: environment, overrides: overrides, transport: wire)
            } catch let error as StorageError {
                try? await http.shutdown()
                throw ConfigurationError(error.message)
            }
            if case .hybrid = self {
                guard let directory = cache.directory else {
                    throw ConfigurationError("hybrid:// storage keeps its hot tier in --cache-dir; set it (e.g. --cache-dir ./cache)")
                }
                // The hot tier takes the disk cache's place below memory and Redis.
                let (upper, tierClosers) = try await cache.openTiers(disk: false)
                closers += tierClosers
                let hybrid = try await HybridBackend(cold: objectStore, hotPath: directory,
                                                     policy: .init(hotBudget: cache.diskBytes), upperTiers: upper)
                closers.insert({ hybrid.close() }, at: 0)
                let all = closers
                return OpenedStorage(backend: hybrid, close: { for close in all { await close() } },
                                     cacheStatistics: { hybrid.statistics })
            }
            let (tiers, tierClosers) = try await cache.openTiers(disk: true)
            closers = tierClosers + closers
            let cached = TieredCacheBackend(base: objectStore, tiers: tiers)
            let all = closers
            return OpenedStorage(backend: cached, close: { for close in all { await close() } },
                                 cacheStatistics: { cached.statistics })
        }
    }

    static func redisConfiguration(_ url: String) throws -> RedisClient.Configuration {
        do { return try RedisClient.Configuration.parse(url) } catch let error as StorageError {
            throw ConfigurationError(error.message)
        }
    }

    func openObjectStore(environment: [String: String], overrides: S3Overrides, transport: any HTTPTransport) async throws -> any StorageBackend {
        switch self {
        case .s3(let bucket, let prefix, let options):
            let chain = AWSCredentialChain(environment: environment)
            let region = overrides.region ?? options["region"] ?? chain.region() ?? "us-east-1"
            let endpoint = overrides.endpoint ?? options["endpoint"] ?? environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"]
            var addressing: S3Configuration.Addressing? = nil
            if let pathStyle = overrides.pathStyle ?? options["path_style"].map({ ["true", "1", "yes"].contains($0.lowercased()) }) {
                addressing = pathStyle ? .path : .virtualHost
            }
            var storageClasses: [ObjectKind: String] = [:]
            for (key, value) in options where key.hasPrefix("storage_class.") {
                let kindName = String(key.dropFirst("storage_class.".count))
                guard let kind = ObjectKind(rawValue: kindName) else {
                    throw StorageError(.invalidArgument, "storage_class.\(kindName): unknown object kind; use one of \(ObjectKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                storageClasses[kind] = value
            }
            var lifecycle: [LifecycleRule] = []
            if let days = options["abort_multipart_days"] {
                guard let number = Int(days), number > 0 else { throw StorageError(.invalidArgument, "abort_multipart_days must be a positive whole number") }
                lifecycle.append(LifecycleRule(id: "freshet-abort-incomplete-uploads", abortIncompleteMultipartDays: number))
            }
            func size(_ name: String, _ fallback: Int) throws -> Int {
                guard let text = options[name] else { return fallback }
                guard let value = ByteSize.parse(text) else { throw StorageError(.invalidArgument, "\(name)=\(text) is not a size (bytes, or with K/M/G)") }
                return value
            }
            let configuration = try S3Configuration(
                bucket: bucket, prefix: prefix, endpoint: endpoint, region: region, addressing: addressing,
                credentials: try chain.credentials(), multipartThreshold: try size("multipart_threshold", 64 << 20),
                partSize: try size("part_size", 16 << 20), storageClasses: storageClasses, lifecycle: lifecycle)
            let backend = S3Backend(configuration: configuration, transport: transport)
            try await backend.applyLifecycle()
            return backend
        case .gcs(let bucket, let prefix, let options):
            let emulator = options["endpoint"] ?? environment["STORAGE_EMULATOR_HOST"]
            let authentication: GCSAuthentication
            if emulator != nil {
                authentication = .none
            } else if let path = environment["GOOGLE_APPLICATION_CREDENTIALS"] {
                authentication = .serviceAccount(try GCSServiceAccount.load(path: path))
            } else {
                throw StorageError(.invalidArgument, "gs:// needs credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key file (or STORAGE_EMULATOR_HOST for an emulator)")
            }
            var storageClasses: [ObjectKind: String] = [:]
            for (key, value) in options where key.hasPrefix("storage_class.") {
                guard let kind = ObjectKind(rawValue: String(key.dropFirst("storage_class.".count))) else {
                    throw StorageError(.invalidArgument, "\(key): unknown object kind")
                }
                storageClasses[kind] = value
            }
            return GCSBackend(configuration: try GCSConfiguration(bucket: bucket, prefix: prefix, endpoint: emulator,
                                                                  authentication: authentication, storageClasses: storageClasses),
                              transport: transport)
        case .azure(let container, let prefix, let options):
            guard let account = options["account"] ?? environment["AZURE_STORAGE_ACCOUNT"] else {
                throw StorageError(.invalidArgument, "az:// needs the storage account: add ?account=NAME or set AZURE_STORAGE_ACCOUNT")
            }
            let authentication: AzureConfiguration.Authentication
            if let key = environment["AZURE_STORAGE_KEY"] {
                authentication = .sharedKey(try AzureSharedKeySigner(account: account, accountKey: key))
            } else if let sas = environment["AZURE_STORAGE_SAS_TOKEN"] {
                authentication = .sas(sas)
            } else {
                throw StorageError(.invalidArgument, "az:// needs AZURE_STORAGE_KEY (Shared Key) or AZURE_STORAGE_SAS_TOKEN")
            }
            return AzureBlobBackend(configuration: try AzureConfiguration(account: account, container: container, prefix: prefix,
                                                                          endpoint: options["endpoint"], authentication: authentication),
                                    transport: transport)
        case .rocksdb, .memory, .hybrid:
            preconditionFailure("not an object store: \(self)")
        }
    }
}

/// `--s3-endpoint`, `--s3-region`, `--s3-path-style`: override the URL's options.
public struct S3Overrides: Sendable, Equatable {
    public var endpoint: String?
    public var region: String?
    public var pathStyle: Bool?
    public init(endpoint: String? = nil, region: String? = nil, pathStyle: Bool? = nil) {
        self.endpoint = endpoint
        self.region = region
        self.pathStyle = pathStyle
    }
}

/// A storage router from configuration: named backends (storage URLs), routes by
/// namespace glob or region, and the default route. The config file's
/// `storage_routes` key:
///
/// ```json
/// {"backends": {"us": "s3://bucket-us/freshet", "eu": "gs://bucket-eu/freshet"},
///  "routes": [{"region": "europe-west1", "backends": ["eu", "us"]},
///             {"namespace": "logs-*", "backends": ["us"]}],
///  "default": ["us"]}
/// ```
///
/// Each route's first backend is the primary; the rest serve reads when it fails, in
/// order of preference. The node's caches sit in front of the router.
public struct StorageRoutes: Sendable, Equatable {
    public var backends: [String: String]
    public var routes: [(match: StorageRouter.Route.Match, backends: [String])]
    public var defaultBackends: [String]

    public init(backends: [String: String], routes: [(match: StorageRouter.Route.Match, backends: [String])], defaultBackends: [String]) {
        self.backends = backends
        self.routes = routes
        self.defaultBackends = defaultBackends
    }

    public static func == (a: StorageRoutes, b: StorageRoutes) -> Bool {
        a.backends == b.backends && a.defaultBackends == b.defaultBackends
            && a.routes.map(\.match) == b.routes.map(\.match) && a.routes.map(\.backends) == b.routes.map(\.backends)
    }

    /// Opens every backend without caches, routes between them, and puts the node's
    /// cache tiers in front.
    public func open(cache: CacheSettings, environment: [String: String], s3 overrides: S3Overrides) async throws -> OpenedStorage {
        var opened: [String: any StorageBackend] = [:]
        var closers: [@Sendable () async -> Void] = []
        let http = AsyncHTTPTransport()
        closers.append { try? await http.shutdown() }
        for (name, url) in backends.sorted(by: { $0.key < $1.key }) {
            let location = try StorageLocation.parse(url)
            switch location {
            case .memory:
                opened[name] = MemoryBackend()
            case .rocksdb:
                let single = try await location.open()
                opened[name] = single.backend
                closers.insert(single.close, at: 0)
            case .hybrid:
                throw ConfigurationError("storage route backend \(name): hybrid:// cannot be routed; route to its object store and use --cache-dir")
            case .s3, .gcs, .azure:
                do {
                    opened[name] = try await location.openObjectStore(environment: environment, overrides: overrides, transport: http)
                } catch let error as StorageError {
                    throw ConfigurationError("storage route backend \(name): \(error.message)")
                }
            }
        }
        let router: StorageRouter
        do {
            router = try StorageRouter(backends: opened, routes: routes.map { StorageRouter.Route(match: $0.match, backends: $0.backends) },
                                       defaultBackends: defaultBackends)
        } catch let error as StorageError {
            throw ConfigurationError(error.message)
        }
        let (tiers, tierClosers) = try await cache.openTiers(disk: true)
        closers = tierClosers + closers
        let cached = TieredCacheBackend(base: router, tiers: tiers)
        let all = closers
        return OpenedStorage(backend: cached, close: { for close in all { await close() } }, cacheStatistics: { cached.statistics })
    }
}
