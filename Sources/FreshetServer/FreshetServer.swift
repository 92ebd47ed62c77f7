import Dispatch
import Foundation
import FreshetEngine
import FreshetIndex
import FreshetRocksDB
import FreshetStorage
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds Freshet's HTTP application: middleware stack, routes, health endpoints.
///
/// The middleware order, outermost first: request id → access log → CORS → auth →
/// compression → routes. A new concern (metrics, tracing, rate limits, RBAC) is one
/// more `RouterMiddleware` added here.
public enum FreshetServer {
    public static func makeRouter(
        engine: Engine, configuration: ServerConfiguration, lifecycle: ServerLifecycle,
        cacheStatistics: (@Sendable () -> (tiers: [CacheTierStatistics], cacheableReads: Int, storeReads: Int)?)? = nil
    ) -> Router<FreshetRequestContext> {
        let router = Router(context: FreshetRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: AccessLogMiddleware())
        if !configuration.corsOrigins.isEmpty {
            let origin: CORSMiddleware<FreshetRequestContext>.AllowOrigin =
                configuration.corsOrigins == ["*"] ? .all : .custom(configuration.corsOrigins.joined(separator: ", "))
            router.add(middleware: CORSMiddleware(
                allowOrigin: origin,
                allowHeaders: [.authorization, .contentType, .contentEncoding, .acceptEncoding, HTTPField.Name.requestID],
                allowMethods: [.get, .post, .put, .patch, .delete, .options],
                exposedHeaders: ["x-request-id"]
            ))
        }
        router.add(middleware: AuthMiddleware(apiKeys: configuration.apiKeys))
        router.add(middleware: CompressionMiddleware(
            maxBodyBytes: configuration.maxBodyBytes,
            maxDecompressedBytes: configuration.maxDecompressedBytes,
            compressAbove: configuration.compressResponsesAbove
        ))

        router.get("healthz") { _, _ in HTTP.json(.object(["status": .string("ok")])) }
        router.get("readyz") { _, _ in
            switch lifecycle.current {
            case .ready: return HTTP.json(.object(["status": .string("ready")]))
            case .starting: return HTTP.json(.object(["status": .string("starting")]), status: .serviceUnavailable)
            case .draining: return HTTP.json(.object(["status": .string("draining")]), status: .serviceUnavailable)
            }
        }
        // Hit rates per cache level (object-store storage); 404 when storage has no caches.
        router.get("_debug/cache") { _, _ in
            guard let statistics = cacheStatistics?() else {
                throw APIError(.notFound, "this server's storage (\(configuration.storage)) has no object caches")
            }
            let tiers: [JSONValue] = statistics.tiers.map { tier in
                var object: [String: JSONValue] = [
                    "level": .string(tier.name), "hits": .int(Int64(tier.hits)), "misses": .int(Int64(tier.misses)),
                    "hit_rate": .double(tier.hitRate), "stores": .int(Int64(tier.stores)),
                    "evictions": .int(Int64(tier.evictions)), "errors": .int(Int64(tier.errors)),
                ]
                if let bytes = tier.bytes { object["bytes"] = .int(Int64(bytes)) }
                if let budget = tier.budget { object["budget"] = .int(Int64(budget)) }
                return .object(object)
            }
            return HTTP.json(.object([
                "tiers": .array(tiers),
                "cacheable_reads": .int(Int64(statistics.cacheableReads)),
                "object_store_reads": .int(Int64(statistics.storeReads)),
            ]))
        }
        let admission = Admission(limits: .init(
            maxConcurrentQueries: configuration.maxConcurrentQueriesPerNamespace,
            maxQueuedQueries: configuration.maxQueuedQueriesPerNamespace,
            maxPendingWriteBytes: configuration.maxPendingWriteBytesPerNamespace
        ))
        let routes = NamespaceRoutes(engine: engine, configuration: configuration, admission: admission)
        routes.register(on: router.group(""))
        // Tolerate a leading region segment such as /gcp-us-central1/v2/namespaces/...
        routes.register(on: router.group(":region"))
        return router
    }

    /// Opens storage, serves until SIGTERM/SIGINT, then drains: `/readyz` turns 503 for
    /// `drainSeconds`, the listener closes, in-flight requests finish, queued writes
    /// commit, storage closes. Returns normally (exit 0) after a clean drain.
    public static func run(configuration: ServerConfiguration, logger: Logger) async throws {
        try configuration.validate()
        let cache = CacheSettings(directory: configuration.cacheDirectory, memoryBytes: configuration.cacheMemoryBytes,
                                  diskBytes: configuration.cacheDiskBytes, redisURL: configuration.cacheRedisURL)
        let overrides = S3Overrides(endpoint: configuration.s3Endpoint, region: configuration.s3Region, pathStyle: configuration.s3PathStyle)
        let environment = ProcessInfo.processInfo.environment
        let opened: OpenedStorage
        if let routes = configuration.storageRoutes {
            opened = try await routes.open(cache: cache, environment: environment, s3: overrides)
        } else {
            opened = try await StorageLocation.parse(configuration.storage).open(cache: cache, environment: environment, s3: overrides)
        }
        let storage = opened.backend
        var engineConfiguration = EngineConfiguration()
        engineConfiguration.indexMinimumVectors = configuration.indexMinimumVectors
        engineConfiguration.filteredExactLimit = configuration.filteredExactLimit
        engineConfiguration.textInlineBuildLimit = configuration.textInlineBuildLimit
        engineConfiguration.indexPostingEncoding = configuration.indexPostingEncoding
        if let directory = configuration.indexFileCacheDirectory {
            engineConfiguration.indexFileCache = try PostingFileCache(
                directory: directory, budgetBytes: configuration.indexFileCacheBytes, segmentBytes: min(64 << 20, max(1 << 16, configuration.indexFileCacheBytes / 8)))
        }
        let engine = Engine(storage: storage, configuration: engineConfiguration, logger: logger)
        let lifecycle = ServerLifecycle()
        let router = makeRouter(engine: engine, configuration: configuration, lifecycle: lifecycle,
                                cacheStatistics: opened.cacheStatistics)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "freshet"),
            onServerRunning: { _ in
                lifecycle.set(.ready)
                logger.info("freshet is serving", metadata: ["address": "\(configuration.host):\(configuration.port)", "storage": "\(configuration.storage)"])
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) {
            guard lifecycle.current != .draining else { return }
            lifecycle.set(.draining)
            logger.info("shutdown requested: draining", metadata: ["drain_seconds": "\(configuration.drainSeconds)"])
            Task {
                try? await Task.sleep(for: .milliseconds(Int64(configuration.drainSeconds * 1000)))
                await group.triggerGracefulShutdown()
            }
        }
        try await group.run()
        withExtendedLifetime(signals) {}
        await engine.shutdown()
        await opened.close()
        logger.info("freshet stopped cleanly")
    }
}

/// Runs a handler on SIGTERM/SIGINT instead of the default (immediate exit).
final class SignalWatcher: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []

    init(signals: [Int32], handler: @escaping @Sendable () -> Void) {
        for signalNumber in signals {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
    }
}
