import Dispatch
import Foundation
import FreshetEngine
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
    public static func makeRouter(engine: Engine, configuration: ServerConfiguration, lifecycle: ServerLifecycle) -> Router<FreshetRequestContext> {
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
        let storage = try StorageLocation.parse(configuration.storage).open()
        var engineConfiguration = EngineConfiguration()
        engineConfiguration.indexMinimumVectors = configuration.indexMinimumVectors
        engineConfiguration.filteredExactLimit = configuration.filteredExactLimit
        engineConfiguration.textInlineBuildLimit = configuration.textInlineBuildLimit
        let engine = Engine(storage: storage, configuration: engineConfiguration, logger: logger)
        let lifecycle = ServerLifecycle()
        let router = makeRouter(engine: engine, configuration: configuration, lifecycle: lifecycle)
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
        (storage as? RocksDBBackend)?.close()
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
