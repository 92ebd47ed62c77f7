import ArgumentParser
import Foundation
import FreshetEngine
import FreshetIndex
import FreshetRocksDB
import FreshetServer
import FreshetStorage
import Logging

@main
struct Freshet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "freshet",
        abstract: "A vector and full-text search database that speaks turbopuffer's v2 API.",
        subcommands: [Serve.self, Import.self, Namespaces.self, Query.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server.",
        discussion: """
        Settings come from, in increasing priority: a JSON config file (--config or \
        FRESHET_CONFIG), environment variables (FRESHET_HOST, FRESHET_PORT, FRESHET_STORAGE, \
        FRESHET_API_KEYS as a comma-separated list, FRESHET_LOG_LEVEL), then flags.
        """
    )

    @Option(help: "JSON config file; unknown keys are errors.") var config: String?
    @Option(help: "Address to bind (default 127.0.0.1).") var host: String?
    @Option(help: "Port (default 8080).") var port: Int?
    @Option(help: "Storage URL: rocksdb://PATH (default rocksdb://./data), memory://, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://CONTAINER/PREFIX, or hybrid://<object store URL>.") var storage: String?
    @Option(help: "S3 endpoint for S3-compatible stores, e.g. http://127.0.0.1:9000 (default: AWS).") var s3Endpoint: String?
    @Option(help: "S3 region (default: AWS_REGION, the AWS config file, else us-east-1).") var s3Region: String?
    @Flag(inversion: .prefixedNo, help: "Path-style S3 addressing (default: on for custom endpoints, off for AWS).") var s3PathStyle: Bool?
    @Option(help: "Local disk cache directory for object-store storage (required by hybrid://).") var cacheDir: String?
    @Option(help: "Memory cache size in bytes (K/M/G suffixes; default 512M).") var cacheMemory: String?
    @Option(help: "Disk cache size in bytes (K/M/G suffixes; default 16G).") var cacheDisk: String?
    @Option(help: "Shared Redis cache for a fleet, e.g. redis://127.0.0.1:6379.") var cacheRedis: String?
    @Option(help: "Directory for the index posting file cache (postings read by offset; cleared at start).") var indexFileCache: String?
    @Option(help: "Index posting file cache size in bytes (K/M/G suffixes; default 4G).") var indexFileCacheSize: String?
    @Option(help: "How index postings store vectors: f16 (default), i8 (least memory), or f32.") var indexPostingEncoding: String?
    @Option(name: .customLong("api-key"), help: "An accepted API key; repeat for several.") var apiKeys: [String] = []
    @Option(help: "Largest request body in bytes.") var maxBodyBytes: Int?
    @Option(help: "Write deadline in seconds.") var writeTimeout: Double?
    @Option(help: "Query deadline in seconds.") var queryTimeout: Double?
    @Option(help: "Seconds /readyz reports 503 before the listener closes on shutdown.") var drainSeconds: Double?
    @Option(name: .customLong("cors-origin"), help: "An origin allowed by CORS ('*' for any); repeat for several.") var corsOrigins: [String] = []
    @Option(help: "Queries running at once per namespace before queueing (default 16).") var maxConcurrentQueries: Int?
    @Option(help: "Vectors a namespace holds before it gets an ANN index (default 2000).") var indexMinVectors: Int?
    @Option(help: "Filtered vector queries matching at most this many documents use exact distances (default 4000).") var filteredExactLimit: Int?
    @Option(help: "Documents above which enabling full-text search builds its index in the background (default 20000).") var textInlineBuildLimit: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String?

    func run() async throws {
        // Large indexes: allocations of 128 KiB and more get their own mappings, so a
        // build's freed arrays go back to the system instead of pinning heap pages.
        Allocator.fixMmapThreshold()
        let environment = ProcessInfo.processInfo.environment
        var settings = ServerConfiguration()
        if let path = config ?? environment["FRESHET_CONFIG"] {
            try ConfigFile.apply(path: path, to: &settings)
        }
        if let value = environment["FRESHET_HOST"] { settings.host = value }
        if let value = environment["FRESHET_PORT"] {
            guard let port = Int(value) else { throw ValidationError("FRESHET_PORT=\(value) is not a port number") }
            settings.port = port
        }
        if let value = environment["FRESHET_STORAGE"] { settings.storage = value }
        if let value = environment["FRESHET_API_KEYS"] {
            settings.apiKeys = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let host { settings.host = host }
        if let port { settings.port = port }
        if let storage { settings.storage = storage }
        if !apiKeys.isEmpty { settings.apiKeys = apiKeys }
        if let s3Endpoint { settings.s3Endpoint = s3Endpoint }
        if let s3Region { settings.s3Region = s3Region }
        if let s3PathStyle { settings.s3PathStyle = s3PathStyle }
        if let cacheDir { settings.cacheDirectory = cacheDir }
        if let cacheMemory { settings.cacheMemoryBytes = try Self.size(cacheMemory, flag: "--cache-memory") }
        if let cacheDisk { settings.cacheDiskBytes = try Self.size(cacheDisk, flag: "--cache-disk") }
        if let cacheRedis { settings.cacheRedisURL = cacheRedis }
        if let indexFileCache { settings.indexFileCacheDirectory = indexFileCache }
        if let indexFileCacheSize { settings.indexFileCacheBytes = try Self.size(indexFileCacheSize, flag: "--index-file-cache-size") }
        if let indexPostingEncoding { settings.indexPostingEncoding = try Self.encoding(indexPostingEncoding, flag: "--index-posting-encoding") }
        if let maxBodyBytes { settings.maxBodyBytes = maxBodyBytes }
        if let writeTimeout { settings.writeTimeoutSeconds = writeTimeout }
        if let queryTimeout { settings.queryTimeoutSeconds = queryTimeout }
        if let drainSeconds { settings.drainSeconds = drainSeconds }
        if !corsOrigins.isEmpty { settings.corsOrigins = corsOrigins }
        if let maxConcurrentQueries { settings.maxConcurrentQueriesPerNamespace = maxConcurrentQueries }
        if let indexMinVectors {
            guard indexMinVectors >= 1 else { throw ValidationError("--index-min-vectors must be at least 1") }
            settings.indexMinimumVectors = indexMinVectors
        }
        if let filteredExactLimit {
            guard filteredExactLimit >= 0 else { throw ValidationError("--filtered-exact-limit must not be negative") }
            settings.filteredExactLimit = filteredExactLimit
        }
        if let textInlineBuildLimit {
            guard textInlineBuildLimit >= 0 else { throw ValidationError("--text-inline-build-limit must not be negative") }
            settings.textInlineBuildLimit = textInlineBuildLimit
        }

        let levelName = logLevel ?? environment["FRESHET_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("log level \(levelName) is not one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "freshet")
        do {
            try await FreshetServer.run(configuration: settings, logger: logger)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}

/// `storage_routes`: {"backends": {name: url}, "routes": [{"namespace"|"region": …, "backends": [names]}], "default": [names]}.
func parseRoutes(_ value: JSONValue, path: String) throws -> StorageRoutes {
    guard case .object(let object) = value else { throw ValidationError("config storage_routes must be an object") }
    for key in object.keys where !["backends", "routes", "default"].contains(key) {
        throw ValidationError("config storage_routes: unknown key \"\(key)\"; known: backends, routes, default")
    }
    guard case .object(let named)? = object["backends"], !named.isEmpty else {
        throw ValidationError("config storage_routes.backends must name at least one backend: {\"name\": \"s3://bucket/prefix\"}")
    }
    var backends: [String: String] = [:]
    for (name, url) in named {
        guard let text = url.stringValue else { throw ValidationError("config storage_routes.backends.\(name) must be a storage URL") }
        backends[name] = text
    }
    func names(_ json: JSONValue?, _ field: String) throws -> [String] {
        guard case .array(let items)? = json, !items.isEmpty, items.allSatisfy({ $0.stringValue != nil }) else {
            throw ValidationError("config \(field) must be a non-empty array of backend names")
        }
        return items.compactMap(\.stringValue)
    }
    var routes: [(match: StorageRouter.Route.Match, backends: [String])] = []
    if let list = object["routes"] {
        guard case .array(let items) = list else { throw ValidationError("config storage_routes.routes must be an array") }
        for (index, item) in items.enumerated() {
            let field = "storage_routes.routes[\(index)]"
            if let pattern = item["namespace"]?.stringValue {
                routes.append((.namespace(pattern), try names(item["backends"], field + ".backends")))
            } else if let region = item["region"]?.stringValue {
                routes.append((.region(region), try names(item["backends"], field + ".backends")))
            } else {
                throw ValidationError("config \(field) needs \"namespace\" (a glob) or \"region\"")
            }
        }
    }
    return StorageRoutes(backends: backends, routes: routes, defaultBackends: try names(object["default"], "storage_routes.default"))
}

extension Serve {
    static func size(_ text: String, flag: String) throws -> Int {
        guard let value = ByteSize.parse(text), value >= 0 else {
            throw ValidationError("\(flag) \(text) is not a size: give bytes, optionally with K, M or G (e.g. 512M)")
        }
        return value
    }

    static func encoding(_ text: String, flag: String) throws -> PostingEncoding {
        guard let encoding = PostingEncoding(name: text) else {
            throw ValidationError("\(flag) \(text) is not a posting encoding: give f16, i8 or f32")
        }
        return encoding
    }
}

/// The JSON config file: the same settings as the flags, in snake_case.
enum ConfigFile {
    static let keys = [
        "host", "port", "storage", "api_keys", "max_body_bytes", "write_timeout_seconds", "query_timeout_seconds",
        "admin_timeout_seconds", "drain_seconds", "cors_origins", "max_concurrent_queries", "max_queued_queries",
        "max_pending_write_bytes", "index_min_vectors", "filtered_exact_limit", "text_inline_build_limit",
        "s3_endpoint", "s3_region", "s3_path_style", "cache_dir", "cache_memory_bytes", "cache_disk_bytes", "cache_redis_url",
        "index_file_cache_dir", "index_file_cache_bytes", "index_posting_encoding", "storage_routes",
    ]

    static func apply(path: String, to settings: inout ServerConfiguration) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read config file \(path)")
        }
        let json: JSONValue
        do { json = try JSONParser.parse([UInt8](data)) } catch { throw ValidationError("config file \(path): \(error)") }
        guard case .object(let object) = json else { throw ValidationError("config file \(path) must hold a JSON object") }
        for (key, value) in object {
            func string() throws -> String {
                guard let text = value.stringValue else { throw ValidationError("config \(key) must be a string") }
                return text
            }
            func number() throws -> Double {
                guard let number = value.numberValue else { throw ValidationError("config \(key) must be a number") }
                return number
            }
            func strings() throws -> [String] {
                guard case .array(let items) = value, let texts = Optional(items.compactMap(\.stringValue)), texts.count == items.count else {
                    throw ValidationError("config \(key) must be an array of strings")
                }
                return texts
            }
            switch key {
            case "host": settings.host = try string()
            case "port": settings.port = Int(try number())
            case "storage": settings.storage = try string()
            case "api_keys": settings.apiKeys = try strings()
            case "max_body_bytes": settings.maxBodyBytes = Int(try number())
            case "write_timeout_seconds": settings.writeTimeoutSeconds = try number()
            case "query_timeout_seconds": settings.queryTimeoutSeconds = try number()
            case "admin_timeout_seconds": settings.adminTimeoutSeconds = try number()
            case "drain_seconds": settings.drainSeconds = try number()
            case "cors_origins": settings.corsOrigins = try strings()
            case "max_concurrent_queries": settings.maxConcurrentQueriesPerNamespace = Int(try number())
            case "max_queued_queries": settings.maxQueuedQueriesPerNamespace = Int(try number())
            case "max_pending_write_bytes": settings.maxPendingWriteBytesPerNamespace = Int(try number())
            case "index_min_vectors": settings.indexMinimumVectors = max(1, Int(try number()))
            case "filtered_exact_limit": settings.filteredExactLimit = max(0, Int(try number()))
            case "text_inline_build_limit": settings.textInlineBuildLimit = max(0, Int(try number()))
            case "s3_endpoint": settings.s3Endpoint = try string()
            case "s3_region": settings.s3Region = try string()
            case "s3_path_style":
                guard case .bool(let flag) = value else { throw ValidationError("config s3_path_style must be true or false") }
                settings.s3PathStyle = flag
            case "cache_dir": settings.cacheDirectory = try string()
            case "cache_memory_bytes": settings.cacheMemoryBytes = max(0, Int(try number()))
            case "cache_disk_bytes": settings.cacheDiskBytes = max(0, Int(try number()))
            case "cache_redis_url": settings.cacheRedisURL = try string()
            case "index_file_cache_dir": settings.indexFileCacheDirectory = try string()
            case "index_file_cache_bytes": settings.indexFileCacheBytes = max(0, Int(try number()))
            case "index_posting_encoding": settings.indexPostingEncoding = try Serve.encoding(try string(), flag: "config index_posting_encoding")
            case "storage_routes": settings.storageRoutes = try parseRoutes(value, path: path)
            default:
                throw ValidationError("config file \(path): unknown key \"\(key)\"; known keys: \(keys.joined(separator: ", "))")
            }
        }
    }
}
