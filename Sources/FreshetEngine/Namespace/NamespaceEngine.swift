import Foundation
import FreshetStorage
import Logging

/// One namespace: its materialised state, its WAL writer with group commit, and its
/// compactor.
///
/// Writes queue up while a commit is in flight and the next commit takes all of them
/// (group commit): one WAL object per batch, created with create-only put so the
/// sequence number is the lock. A write returns only after its WAL object is durably
/// stored and verified not to fall in a range another writer already folded into a
/// snapshot. Queries take a copy of the state and run off the actor.
actor NamespaceEngine {
    let name: NamespaceName
    let keys: NamespaceKeys
    let storage: any StorageBackend
    let configuration: EngineConfiguration
    let logger: Logger

    private(set) var state: NamespaceState
    private var manifest: Manifest
    private let epoch: UInt64

    private struct Pending {
        var request: WriteRequest
        var continuation: CheckedContinuation<WriteResult, any Error>
    }
    private var pending: [Pending] = []
    private var committing = false
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    private var closedReason: EngineError?

    private var walEntriesSinceSnapshot = 0
    private var walBytesSinceSnapshot = 0
    private var lastSnapshotBytes = 0
    private var compacting = false

    /// Figures for metrics and tests.
    private(set) var commits = 0
    private(set) var conflicts = 0

    private init(name: NamespaceName, storage: any StorageBackend, configuration: EngineConfiguration, logger: Logger,
                 state: NamespaceState, manifest: Manifest, epoch: UInt64) {
        self.name = name
        self.keys = NamespaceKeys(name)
        self.storage = storage
        self.configuration = configuration
        self.logger = logger
        self.state = state
        self.manifest = manifest
        self.epoch = epoch
    }

    // MARK: opening

    /// Opens the namespace, creating it when `create` is set; nil when it does not exist.
    /// Claims a new writer epoch, loads the latest snapshot and replays the WAL after it.
    static func open(_ name: NamespaceName, storage: any StorageBackend, configuration: EngineConfiguration,
                     logger: Logger, create: Bool) async throws -> NamespaceEngine? {
        let keys = NamespaceKeys(name)
        let retry = StorageRetry(configuration: configuration, logger: logger)
        for _ in 0..<configuration.maxCommitConflicts {
            let stored = try await retry.run("read manifest of \(name)") { try await storage.get(keys.manifest) }
            guard let stored else {
                guard create else { return nil }
                try await removeLeftovers(keys: keys, storage: storage, retry: retry)
                let now = Clock.milliseconds()
                let manifest = Manifest(namespace: name.id, epoch: 1, incarnation: UInt64.random(in: 1...UInt64.max),
                                        createdAtMilliseconds: now, snapshotSequence: 0, snapshotKey: nil)
                do {
                    _ = try await retry.run("create manifest of \(name)") {
                        try await storage.put(keys.manifest, manifest.encode(), condition: .ifAbsent)
                    }
                } catch let error as StorageError where error.code == .conditionFailed {
                    continue  // created concurrently (or our lost response landed): read it again
                }
                continue
            }
            var manifest = try Manifest.decode(stored.body, key: keys.manifest)
            manifest.epoch += 1
            let claimed = manifest
            do {
                _ = try await retry.run("claim epoch of \(name)") {
                    try await storage.put(keys.manifest, claimed.encode(), condition: .ifVersion(stored.version))
                }
            } catch let error as StorageError where error.code == .conditionFailed {
                continue
            }
            try await ensureCatalogEntry(name, createdAt: manifest.createdAtMilliseconds, storage: storage, retry: retry)
            guard var (state, bytes) = try await loadSnapshot(manifest, keys: keys, storage: storage, retry: retry) else {
                continue  // the snapshot was replaced while we read: start over
            }
            let engine = NamespaceEngine(name: name, storage: storage, configuration: configuration, logger: logger,
                                         state: state, manifest: manifest, epoch: manifest.epoch)
            await engine.setLastSnapshotBytes(bytes)
            state = NamespaceState(createdAtMilliseconds: 0)  // release our copy before replay mutates the engine's
            try await engine.replayWAL()
            let sequence = await engine.state.sequence
            logger.info("opened namespace", metadata: ["namespace": "\(name)", "epoch": "\(manifest.epoch)", "sequence": "\(sequence)"])
            return engine
        }
        throw EngineError(.conflict, "namespace \(name) is being opened or created concurrently by other writers; retry")
    }

    private func setLastSnapshotBytes(_ bytes: Int) { lastSnapshotBytes = bytes }

    private static func loadSnapshot(_ manifest: Manifest, keys: NamespaceKeys, storage: any StorageBackend,
                                     retry: StorageRetry) async throws -> (NamespaceState, Int)? {
        guard let key = manifest.snapshotKey else {
            var state = NamespaceState(createdAtMilliseconds: manifest.createdAtMilliseconds)
            state.sequence = manifest.snapshotSequence
            return (state, 0)
        }
        guard let object = try await retry.run("read snapshot \(key)", { try await storage.get(key) }) else { return nil }
        let (state, incarnation) = try await Task.detached { try NamespaceState.decodeSnapshot(object.body, key: key) }.value
        guard incarnation == manifest.incarnation, state.sequence == manifest.snapshotSequence else {
            throw EngineError(.corruptData, "snapshot \(key) belongs to another life of the namespace or sequence (\(state.sequence) vs manifest \(manifest.snapshotSequence))")
        }
        return (state, object.body.count)
    }

    /// A new namespace must not inherit objects of a deleted one whose deletion was
    /// interrupted.
    private static func removeLeftovers(keys: NamespaceKeys, storage: any StorageBackend, retry: StorageRetry) async throws {
        let leftovers = try await retry.run("list leftovers of \(keys.prefix)") { try await storage.listAll(prefix: keys.prefix) }
        for object in leftovers where object.key != keys.manifest {
            try await retry.run("remove leftover \(object.key)") { try await storage.delete(object.key) }
        }
    }

    static func ensureCatalogEntry(_ name: NamespaceName, createdAt: Int64, storage: any StorageBackend, retry: StorageRetry) async throws {
        let key = NamespaceKeys.catalog(name)
        if try await retry.run("read catalog entry", { try await storage.get(key) }) != nil { return }
        let body = ObjectEnvelope.seal(JSONWriter.serialize(.object(["created_at_ms": .int(createdAt)])), kind: .catalogEntry)
        _ = try await retry.run("write catalog entry") { try await storage.put(key, body, condition: .none) }
    }

    /// Applies every WAL entry after the current state, in order, until the first gap.
    private func replayWAL() async throws {
        let retry = StorageRetry(configuration: configuration, logger: logger)
        while true {
            let key = keys.wal(state.sequence + 1)
            guard let object = try await retry.run("read \(key)", { try await storage.get(key) }) else { return }
            try applyStored(object.body, key: key)
        }
    }

    private func applyStored(_ body: [UInt8], key: String) throws {
        let entry = try WALEntry.decode(body, key: key)
        guard entry.incarnation == manifest.incarnation else {
            throw EngineError(.corruptData, "\(key) belongs to another life of namespace \(name) (incarnation \(entry.incarnation), expected \(manifest.incarnation))")
        }
        guard entry.sequence == state.sequence + 1 else {
            throw EngineError(.corruptData, "\(key) holds sequence \(entry.sequence), expected \(state.sequence + 1)")
        }
        state.apply(entry)
        walEntriesSinceSnapshot += 1
        walBytesSinceSnapshot += body.count
    }

    // MARK: reads

    /// The state for a query. Strong consistency first applies every entry other
    /// writers committed (one round trip: the next WAL slot and the manifest, read
    /// together); eventual serves what this node has.
    func readState(strong: Bool) async throws -> NamespaceState {
        if let closedReason { throw closedReason }
        if strong { try await catchUp() }
        return state
    }

    /// Brings the state up to the newest committed entry.
    func catchUp() async throws {
        let retry = StorageRetry(configuration: configuration, logger: logger)
        let storage = self.storage, keys = self.keys
        while true {
            let sequence = state.sequence
            let walKey = keys.wal(sequence + 1)
            async let nextEntry = retry.run("read \(walKey)") { try await storage.get(walKey) }
            async let currentManifest = retry.run("read manifest") { try await storage.get(keys.manifest) }
            let (entry, manifestObject) = try await (nextEntry, currentManifest)
            guard let manifestObject else {
                throw EngineError(.namespaceNotFound, "namespace \(name) was deleted")
            }
            let latest = try Manifest.decode(manifestObject.body, key: keys.manifest)
            guard latest.incarnation == manifest.incarnation else {
                throw EngineError(.namespaceNotFound, "namespace \(name) was deleted and re-created; retry")
            }
            manifest.readOnly = latest.readOnly
            manifest.pinning = latest.pinning
            guard state.sequence == sequence else { continue }  // a commit advanced us meanwhile
            if latest.snapshotSequence > state.sequence {
                // Another writer folded entries we never saw; jump to its snapshot.
                guard let (snapshot, bytes) = try await Self.loadSnapshot(latest, keys: keys, storage: storage, retry: retry) else { continue }
                if snapshot.sequence > state.sequence {
                    state = snapshot
                    manifest.snapshotSequence = latest.snapshotSequence
                    manifest.snapshotKey = latest.snapshotKey
                    lastSnapshotBytes = bytes
                    walEntriesSinceSnapshot = 0
                    walBytesSinceSnapshot = 0
                }
                continue
            }
            guard let entry else { return }
            if state.sequence == sequence { try applyStored(entry.body, key: walKey) }
        }
    }

    // MARK: writes

    /// Queues a write for the next group commit and returns once it is durable.
    func write(_ request: WriteRequest) async throws -> WriteResult {
        if let closedReason { throw closedReason }
        return try await withCheckedThrowingContinuation { continuation in
            pending.append(Pending(request: request, continuation: continuation))
            if !committing {
                committing = true
                Task { await self.commitLoop() }
            }
        }
    }

    private func commitLoop() async {
        while !pending.isEmpty {
            let count = min(pending.count, configuration.maxRequestsPerCommit)
            let batch = Array(pending.prefix(count))
            pending.removeFirst(count)
            await commit(batch)
        }
        committing = false
        let waiters = drainWaiters
        drainWaiters = []
        for waiter in waiters { waiter.resume() }
        maybeCompact()
    }

    private func commit(_ batch: [Pending]) async {
        var conflictsSeen = 0
        let retry = StorageRetry(configuration: configuration, logger: logger)
        while true {
            var working = WorkingSet(state: state)
            var outcomes: [Result<WriteResult, any Error>] = []
            for item in batch {
                do {
                    if manifest.readOnly {
                        throw EngineError.invalid("namespace \(name) is read-only; PATCH its metadata with \"read_only\": false to allow writes")
                    }
                    let prepared = try PreparedWrite(item.request, schema: working.schema, metric: working.distanceMetric)
                    outcomes.append(.success(prepared.apply(to: &working)))
                } catch {
                    outcomes.append(.failure(error))
                }
            }
            let schemaChanged = working.schema != state.schema
            let metricChanged = working.distanceMetric != state.distanceMetric
            if working.isEmpty, !schemaChanged, !metricChanged {
                finish(batch, outcomes, sequence: state.sequence)
                return
            }
            let sequence = state.sequence + 1
            let entry = WALEntry(sequence: sequence, epoch: epoch, nonce: UInt64.random(in: 1...UInt64.max),
                                 incarnation: manifest.incarnation, timestampMilliseconds: Clock.milliseconds(),
                                 schema: schemaChanged ? working.schema : nil,
                                 distanceMetric: metricChanged ? working.distanceMetric : nil,
                                 operations: working.operations())
            working.releaseBase()
            let body = entry.encode()
            let key = keys.wal(sequence)
            do {
                try await createWALObject(key: key, body: body, retry: retry)
                try await verifyNotFolded(sequence: sequence, key: key, body: body, retry: retry)
                if state.sequence < sequence {
                    state.apply(entry)
                    walEntriesSinceSnapshot += 1
                    walBytesSinceSnapshot += body.count
                }
                commits += 1
                finish(batch, outcomes, sequence: sequence)
                return
            } catch is CommitConflict {
                conflicts += 1
                conflictsSeen += 1
                if conflictsSeen > configuration.maxCommitConflicts {
                    fail(batch, outcomes, EngineError(.conflict, "namespace \(name): other writers won the commit race \(conflictsSeen) times in a row; retry the write"))
                    return
                }
                do {
                    try await catchUp()
                } catch {
                    fail(batch, outcomes, Self.serviceError(error, doing: "catch up with other writers"))
                    return
                }
            } catch {
                fail(batch, outcomes, Self.serviceError(error, doing: "commit a write"))
                return
            }
        }
    }

    private struct CommitConflict: Error {}

    /// Creates the WAL object with create-only put. A transient failure or a lost
    /// response is resolved by reading the slot back: our exact bytes there mean the
    /// put landed; other bytes mean another writer won; nothing means try again.
    private func createWALObject(key: String, body: [UInt8], retry: StorageRetry) async throws {
        var attempt = 0
        while true {
            attempt += 1
            do {
                _ = try await storage.put(key, body, condition: .ifAbsent)
                return
            } catch let error as StorageError where error.code == .conditionFailed {
                if attempt == 1 { throw CommitConflict() }
                // An earlier attempt may have landed before its response was lost.
                let existing = try await retry.run("re-read \(key)") { try await self.storage.get(key) }
                if existing?.body == body { return }
                throw CommitConflict()
            } catch let error as StorageError where error.isRetryable && attempt < configuration.storageAttempts {
                logger.warning("WAL put failed; re-reading to resolve", metadata: ["key": "\(key)", "error": "\(error)"])
                if let existing = try? await storage.get(key) {
                    if existing.body == body { return }
                    throw CommitConflict()
                }
                try await retry.backoff(attempt: attempt)
            }
        }
    }

    /// Checks the committed slot was not inside a range another writer had already
    /// folded into a snapshot (and so deleted): such an entry would never be replayed.
    private func verifyNotFolded(sequence: UInt64, key: String, body: [UInt8], retry: StorageRetry) async throws {
        guard let object = try await retry.run("read manifest", { try await self.storage.get(self.keys.manifest) }) else {
            throw EngineError(.namespaceNotFound, "namespace \(name) was deleted while the write committed")
        }
        let latest = try Manifest.decode(object.body, key: keys.manifest)
        guard latest.incarnation == manifest.incarnation else {
            throw EngineError(.namespaceNotFound, "namespace \(name) was deleted while the write committed")
        }
        manifest.readOnly = latest.readOnly
        manifest.pinning = latest.pinning
        if latest.snapshotSequence >= sequence {
            logger.warning("WAL entry landed in a folded range; removing it and retrying", metadata: ["key": "\(key)"])
            if let existing = try? await storage.get(key), existing.body == body { try? await storage.delete(key) }
            throw CommitConflict()
        }
    }

    private func finish(_ batch: [Pending], _ outcomes: [Result<WriteResult, any Error>], sequence: UInt64) {
        for (item, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .success(var result):
                result.sequence = sequence
                item.continuation.resume(returning: result)
            case .failure(let error):
                item.continuation.resume(throwing: error)
            }
        }
    }

    private func fail(_ batch: [Pending], _ outcomes: [Result<WriteResult, any Error>], _ error: any Error) {
        for (item, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .success: item.continuation.resume(throwing: error)
            case .failure(let own): item.continuation.resume(throwing: own)
            }
        }
    }

    static func serviceError(_ error: any Error, doing what: String) -> EngineError {
        if let engineError = error as? EngineError { return engineError }
        if let storageError = error as? StorageError {
            return EngineError(.unavailable, "storage failed to \(what): \(storageError.message); the write was not acknowledged, retry it", cause: storageError)
        }
        return EngineError(.internalError, "failed to \(what): \(error)")
    }

    // MARK: compaction

    private func maybeCompact() {
        guard !compacting, closedReason == nil,
              walEntriesSinceSnapshot >= configuration.compactionMinEntries,
              walBytesSinceSnapshot >= max(configuration.compactionMinBytes, lastSnapshotBytes / 2) else { return }
        compacting = true
        let snapshot = state
        Task { await self.compact(snapshot) }
    }

    /// Writes a snapshot of `snapshot`, points the manifest at it with CAS (only while
    /// this engine holds the newest epoch), then deletes the folded WAL objects.
    func compact(_ snapshot: NamespaceState) async {
        defer { compacting = false }
        let retry = StorageRetry(configuration: configuration, logger: logger)
        let incarnation = manifest.incarnation
        let key = keys.snapshot(snapshot.sequence)
        do {
            let body = await Task.detached { snapshot.encodeSnapshot(incarnation: incarnation) }.value
            _ = try await retry.run("write snapshot \(key)") { try await self.storage.put(key, body, condition: .none) }
            guard let object = try await retry.run("read manifest", { try await self.storage.get(self.keys.manifest) }) else { return }
            var latest = try Manifest.decode(object.body, key: keys.manifest)
            guard latest.epoch == epoch, latest.incarnation == incarnation, latest.snapshotSequence < snapshot.sequence else {
                logger.info("skipping compaction: another writer holds a newer epoch", metadata: ["namespace": "\(name)"])
                try? await storage.delete(key)
                return
            }
            let previousSnapshot = latest.snapshotKey
            let previousSequence = latest.snapshotSequence
            latest.snapshotSequence = snapshot.sequence
            latest.snapshotKey = key
            let updated = latest
            do {
                _ = try await storage.put(keys.manifest, updated.encode(), condition: .ifVersion(object.version))
            } catch let error as StorageError where error.code == .conditionFailed {
                try? await storage.delete(key)
                return
            }
            manifest.snapshotSequence = snapshot.sequence
            manifest.snapshotKey = key
            lastSnapshotBytes = body.count
            walEntriesSinceSnapshot = Int(state.sequence - snapshot.sequence)
            walBytesSinceSnapshot = walBytesSinceSnapshot * walEntriesSinceSnapshot / max(1, walEntriesSinceSnapshot + Int(snapshot.sequence - previousSequence))
            if let previousSnapshot, previousSnapshot != key { try? await storage.delete(previousSnapshot) }
            var next = previousSequence + 1
            while next <= snapshot.sequence {
                try? await storage.delete(keys.wal(next))
                next += 1
            }
            logger.info("compacted namespace", metadata: ["namespace": "\(name)", "snapshot_sequence": "\(snapshot.sequence)", "bytes": "\(body.count)"])
        } catch {
            logger.warning("compaction failed; will retry after later writes", metadata: ["namespace": "\(name)", "error": "\(error)"])
        }
    }

    // MARK: settings

    /// The namespace's settings as last seen in the manifest.
    var settings: (readOnly: Bool, pinning: JSONValue?) { (manifest.readOnly, manifest.pinning) }

    /// Changes read-only and pinning settings with compare-and-swap on the manifest.
    /// A nil argument leaves that setting unchanged; `.some(nil)` pinning removes it.
    func updateSettings(readOnly: Bool?, pinning: JSONValue??) async throws {
        let retry = StorageRetry(configuration: configuration, logger: logger)
        for _ in 0..<configuration.maxCommitConflicts {
            guard let object = try await retry.run("read manifest", { try await self.storage.get(self.keys.manifest) }) else {
                throw EngineError(.namespaceNotFound, "namespace \(name) was deleted")
            }
            var latest = try Manifest.decode(object.body, key: keys.manifest)
            guard latest.incarnation == manifest.incarnation else { throw EngineError(.namespaceNotFound, "namespace \(name) was deleted") }
            if let readOnly { latest.readOnly = readOnly }
            if let pinning { latest.pinning = pinning }
            let updated = latest
            do {
                _ = try await storage.put(keys.manifest, updated.encode(), condition: .ifVersion(object.version))
                manifest.readOnly = updated.readOnly
                manifest.pinning = updated.pinning
                return
            } catch let error as StorageError where error.code == .conditionFailed {
                continue
            } catch {
                throw Self.serviceError(error, doing: "update the settings of \(name)")
            }
        }
        throw EngineError(.conflict, "namespace \(name): the manifest kept changing under the settings update; retry")
    }

    // MARK: lifecycle

    /// Waits until every queued write has committed or failed.
    func drain() async {
        if !committing { return }
        await withCheckedContinuation { drainWaiters.append($0) }
    }

    /// Refuses new work with `reason`, after letting queued writes finish.
    func close(reason: EngineError) async {
        closedReason = reason
        await drain()
    }

    var isCompacting: Bool { compacting }
}

/// Retries transient storage failures with exponential backoff and full jitter.
struct StorageRetry: Sendable {
    let configuration: EngineConfiguration
    let logger: Logger

    func run<T: Sendable>(_ what: String, _ body: @Sendable () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await body()
            } catch let error as StorageError where error.isRetryable && attempt < configuration.storageAttempts {
                logger.debug("retrying storage call", metadata: ["call": "\(what)", "attempt": "\(attempt)", "error": "\(error)"])
                try await backoff(attempt: attempt)
            }
        }
    }

    func backoff(attempt: Int) async throws {
        let base = configuration.storageBackoff * (1 << min(attempt - 1, 8))
        let nanoseconds = Int64(base.components.seconds) * 1_000_000_000 + base.components.attoseconds / 1_000_000_000
        try await Task.sleep(nanoseconds: UInt64.random(in: 0...UInt64(max(1, nanoseconds))))
    }
}

enum Clock {
    static func milliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
