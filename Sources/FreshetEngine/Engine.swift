import FreshetIndex
import FreshetStorage
import Logging

/// The database: every namespace over one storage backend.
///
/// Thread-safe (an actor). Namespaces open lazily on first use and stay open; a write
/// creates its namespace. `shutdown()` refuses new work and waits for queued writes.
public actor Engine {
    public let storage: any StorageBackend
    public let configuration: EngineConfiguration
    let logger: Logger

    private var namespaces: [NamespaceName: Task<NamespaceEngine?, any Error>] = [:]
    private var shuttingDown = false
    /// Namespaces being deleted: refused until the deletion finishes.
    private var deleting: Set<NamespaceName> = []

    public init(storage: any StorageBackend, configuration: EngineConfiguration = EngineConfiguration(),
                logger: Logger = Logger(label: "freshet.engine")) {
        self.storage = storage
        self.configuration = configuration
        self.logger = logger
    }

    private func namespace(_ id: String, create: Bool) async throws -> NamespaceEngine? {
        if shuttingDown { throw EngineError(.shuttingDown, "the server is shutting down; retry against another node") }
        let name = try NamespaceName(id)
        if deleting.contains(name) {
            throw EngineError(.conflict, "namespace \(id) is being deleted; retry once the deletion finishes")
        }
        if let task = namespaces[name] {
            do {
                if let engine = try await task.value { return engine }
            } catch {
                if namespaces[name] == task { namespaces[name] = nil }
                throw error
            }
            if namespaces[name] == task { namespaces[name] = nil }
            if !create { return nil }
        }
        let storage = self.storage, configuration = self.configuration, logger = self.logger
        let task = Task {
            try await NamespaceEngine.open(name, storage: storage, configuration: configuration, logger: logger, create: create)
        }
        namespaces[name] = task
        do {
            let engine = try await task.value
            if engine == nil, namespaces[name] == task { namespaces[name] = nil }
            return engine
        } catch {
            if namespaces[name] == task { namespaces[name] = nil }
            throw NamespaceEngine.serviceError(error, doing: "open namespace \(name)")
        }
    }

    func existing(_ id: String) async throws -> NamespaceEngine {
        guard let engine = try await namespace(id, create: false) else {
            throw EngineError(.namespaceNotFound, "namespace \(id) does not exist; write to it first to create it")
        }
        return engine
    }

    // MARK: writes

    /// Applies a write and returns once it is durably committed.
    public func write(namespace id: String, _ request: WriteRequest) async throws -> WriteResult {
        var request = request
        if let source = request.copyFromNamespace {
            let sourceState = try await existing(source).readState(strong: true)
            request.copiedDocuments = sourceState.allDocuments()
            request.copiedSchema = sourceState.schema
            request.copiedMetric = sourceState.distanceMetric
        }
        let engine = try await namespace(id, create: true)!
        do {
            return try await engine.write(request)
        } catch let error as EngineError where error.code == .namespaceNotFound {
            // Deleted underneath us: forget the handle so the next write re-creates it.
            forget(try NamespaceName(id))
            throw EngineError(.conflict, "namespace \(id) was deleted while this write was in flight; retry the write", cause: error)
        }
    }

    private func forget(_ name: NamespaceName) { namespaces[name] = nil }

    /// Replaces or extends the schema (`POST …/schema`).
    public func updateSchema(namespace id: String, _ schema: JSONValue) async throws -> NamespaceSchema {
        var request = WriteRequest()
        request.schema = schema
        _ = try await write(namespace: id, request)
        return try await existing(id).readState(strong: false).schema
    }

    // MARK: reads

    public func query(namespace id: String, _ request: QueryRequest) async throws -> QueryResult {
        let engine = try await existing(id)
        let (state, index) = try await engine.readStateAndIndex(strong: request.consistency == .strong)
        let started = ContinuousClock.now
        var result = try await QueryExecutor.execute(request, on: state, index: index)
        let elapsed = ContinuousClock.now - started
        result.executionMilliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        return result
    }

    /// Several queries against one snapshot of the namespace.
    public func multiQuery(namespace id: String, _ requests: [QueryRequest]) async throws -> [QueryResult] {
        let engine = try await existing(id)
        let strong = requests.contains { $0.consistency == .strong }
        let (state, index) = try await engine.readStateAndIndex(strong: strong)
        var results: [QueryResult] = []
        for request in requests { results.append(try await QueryExecutor.execute(request, on: state, index: index)) }
        return results
    }

    /// Folds the namespace's WAL into a snapshot now (with an index checkpoint first)
    /// instead of waiting for the thresholds, so a node opening it next reads one
    /// snapshot and checkpoint and replays nothing. False when it could not (another
    /// node holds a newer epoch, or the index did not catch up in time).
    public func compact(namespace id: String) async throws -> Bool {
        let engine = try await existing(id)
        _ = try await engine.readState(strong: true)
        return await engine.compactNow()
    }

    public func metadata(namespace id: String) async throws -> NamespaceMetadata {
        let engine = try await existing(id)
        let state = try await engine.readState(strong: true)
        var metadata = NamespaceMetadata(state: state)
        (metadata.readOnly, metadata.pinning) = await engine.settings
        metadata.unindexedBytes = await engine.unindexedBytes
        return metadata
    }

    /// `PATCH …/metadata`: `read_only` and `pinning` (true, false/null, or a config object).
    public func updateMetadata(namespace id: String, _ body: JSONValue) async throws -> NamespaceMetadata {
        guard case .object(let object) = body else { throw EngineError.malformed("the metadata patch must be a JSON object") }
        if let unknown = object.keys.sorted().first(where: { $0 != "read_only" && $0 != "pinning" }) {
            throw EngineError.invalid("unknown metadata field \"\(unknown)\"; updatable fields are read_only and pinning")
        }
        var readOnly: Bool? = nil
        if let value = object["read_only"] {
            guard let bool = value.boolValue else { throw EngineError.malformed("read_only must be a boolean") }
            readOnly = bool
        }
        var pinning: JSONValue?? = nil
        switch object["pinning"] {
        case nil: break
        case .null?, .bool(false)?: pinning = .some(nil)
        case .bool(true)?: pinning = .some(.object(["replicas": .int(1)]))
        case .object(let config)?:
            if let unknown = config.keys.first(where: { $0 != "replicas" }) {
                throw EngineError.invalid("pinning: unknown field \"\(unknown)\"; the configuration takes replicas")
            }
            let replicas = config["replicas"]?.intValue ?? 1
            guard (1...64).contains(replicas) else { throw EngineError.invalid("pinning.replicas must be between 1 and 64, got \(replicas)") }
            pinning = .some(.object(["replicas": .int(Int64(replicas))]))
        case let other?: throw EngineError.malformed("pinning must be a boolean, null or {\"replicas\": n}, got \(other.typeName)")
        }
        let engine = try await existing(id)
        try await engine.updateSettings(readOnly: readOnly, pinning: pinning)
        return try await metadata(namespace: id)
    }

    public func schema(namespace id: String) async throws -> NamespaceSchema {
        try await existing(id).readState(strong: true).schema
    }

    /// The state as of the newest commit, for tests, tools and the recall endpoint.
    public func state(namespace id: String) async throws -> NamespaceState {
        try await existing(id).readState(strong: true)
    }

    /// Namespaces in id order, `pageSize` at a time.
    public func listNamespaces(prefix: String = "", cursor: String? = nil, pageSize: Int = 100) async throws -> (names: [String], nextCursor: String?) {
        guard (1...1000).contains(pageSize) else { throw EngineError.invalid("page_size must be between 1 and 1000, got \(pageSize)") }
        let retry = StorageRetry(configuration: configuration, logger: logger)
        let page = try await retry.run("list namespaces") {
            try await self.storage.list(prefix: NamespaceKeys.catalogPrefix + prefix,
                                        startAfter: cursor.map { NamespaceKeys.catalogPrefix + $0 }, limit: pageSize)
        }
        let names = page.objects.map { String($0.key.dropFirst(NamespaceKeys.catalogPrefix.count)) }
        return (names, page.nextCursor == nil ? nil : names.last)
    }

    // MARK: deletion

    /// Deletes a namespace and every object it owns. Throws `namespaceNotFound` if absent.
    public func deleteNamespace(_ id: String) async throws {
        let name = try NamespaceName(id)
        let engine = try await existing(id)
        guard deleting.insert(name).inserted else {
            throw EngineError(.conflict, "namespace \(id) is already being deleted")
        }
        defer { deleting.remove(name) }
        await engine.close(reason: EngineError(.namespaceNotFound, "namespace \(id) was deleted"))
        namespaces[name] = nil
        let incarnation = await engine.incarnation
        let keys = NamespaceKeys(name)
        let retry = StorageRetry(configuration: configuration, logger: logger)
        do {
            // The manifest goes first (only if it is still this incarnation's): from then
            // on no writer can commit and no reader can open it, even if the rest of the
            // deletion is interrupted (the next creation reclaims what is left).
            if let object = try await retry.run("read manifest", { try await self.storage.get(keys.manifest) }),
               (try? Manifest.decode(object.body, key: keys.manifest))?.incarnation == incarnation {
                try await retry.run("delete manifest") { try await self.storage.delete(keys.manifest) }
                try await retry.run("delete catalog entry") { try await self.storage.delete(NamespaceKeys.catalog(name)) }
            }
            let prefix = keys.data(incarnation).prefix
            let objects = try await retry.run("list namespace objects") { try await self.storage.listAll(prefix: prefix) }
            for batch in stride(from: 0, to: objects.count, by: 256) {
                let operations = objects[batch..<min(batch + 256, objects.count)].map { BatchOperation.delete(key: $0.key) }
                try await retry.run("delete namespace objects") { try await self.storage.write(batch: operations) }
            }
        } catch {
            throw NamespaceEngine.serviceError(error, doing: "delete namespace \(id)")
        }
    }

    // MARK: lifecycle

    /// Refuses new requests, then waits for every queued write to commit.
    public func shutdown() async {
        shuttingDown = true
        for task in namespaces.values {
            if let engine = try? await task.value { await engine.close(reason: EngineError(.shuttingDown, "the server is shutting down")) }
        }
    }

    /// Figures for metrics and explain: each indexed namespace's SPFresh statistics and
    /// its unindexed bytes.
    public func indexStatistics() async -> [String: (index: SPFreshStatistics, unindexedBytes: Int)] {
        var result: [String: (index: SPFreshStatistics, unindexedBytes: Int)] = [:]
        for (name, task) in namespaces {
            if let engine = try? await task.value, let indexer = await engine.indexer {
                result[name.id] = (indexer.index.statistics, await engine.unindexedBytes)
            }
        }
        return result
    }

    /// Figures for metrics: commits and conflicts per open namespace.
    public func statistics() async -> [String: (commits: Int, conflicts: Int, sequence: UInt64)] {
        var result: [String: (commits: Int, conflicts: Int, sequence: UInt64)] = [:]
        for (name, task) in namespaces {
            if let engine = try? await task.value {
                result[name.id] = (await engine.commits, await engine.conflicts, await engine.state.sequence)
            }
        }
        return result
    }
}

/// What `GET …/metadata` returns.
public struct NamespaceMetadata: Sendable {
    public var schema: NamespaceSchema
    public var approxRowCount: Int
    public var approxLogicalBytes: Int
    public var createdAtMilliseconds: Int64
    public var updatedAtMilliseconds: Int64
    public var distanceMetric: DistanceMetric?
    public var readOnly = false
    public var pinning: JSONValue?
    /// Bytes of vectors written but not yet folded into the ANN index (0: up to date).
    /// Unindexed documents are still searched, exhaustively.
    public var unindexedBytes = 0

    init(state: NamespaceState) {
        schema = state.schema
        approxRowCount = state.documents.count
        approxLogicalBytes = state.logicalBytes
        createdAtMilliseconds = state.createdAtMilliseconds
        updatedAtMilliseconds = state.updatedAtMilliseconds
        distanceMetric = state.distanceMetric
    }

    public var json: JSONValue {
        .object([
            "schema": schema.json,
            "approx_row_count": .int(Int64(approxRowCount)),
            "approx_logical_bytes": .int(Int64(approxLogicalBytes)),
            "created_at": .string(DateTimeFormat.format(milliseconds: createdAtMilliseconds)),
            "updated_at": .string(DateTimeFormat.format(milliseconds: updatedAtMilliseconds)),
            "encryption": .object(["mode": .string("default")]),
            // Every committed document is searchable as soon as it is acknowledged; what
            // the index has not folded yet is searched exhaustively.
            "index": unindexedBytes == 0
                ? .object(["status": .string("up-to-date")])
                : .object(["status": .string("updating"), "unindexed_bytes": .int(Int64(unindexedBytes))]),
            "read_only": .bool(readOnly),
        ].merging(pinningJSON.map { ["pinning": $0] } ?? [:]) { first, _ in first })
    }

    /// Pinning as the API reports it: the configuration plus this node's status (a
    /// pinned namespace is held in memory by the node serving it).
    var pinningJSON: JSONValue? {
        guard case .object(var object)? = pinning else { return nil }
        let replicas = object["replicas"] ?? .int(1)
        object["status"] = .object([
            "replicas": replicas, "ready_replicas": replicas,
            "updated_at": .string(DateTimeFormat.format(milliseconds: Clock.milliseconds())), "utilization": .double(0),
        ])
        return .object(object)
    }
}
