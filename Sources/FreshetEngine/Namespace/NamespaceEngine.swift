import Foundation
import FreshetIndex
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

    /// The objects of this incarnation (everything but the manifest).
    private var data: IncarnationKeys { keys.data(manifest.incarnation) }
    /// Nonces of the entries applied since the snapshot, by sequence: a compaction
    /// publishes them so a writer can tell its folded entry from a reused slot.
    private var recentNonces: [UInt64: UInt64] = [:]
    private var compactionWaiters: [CheckedContinuation<Void, Never>] = []

    private var walEntriesSinceSnapshot = 0
    private var walBytesSinceSnapshot = 0
    private var lastSnapshotBytes = 0
    /// Text segments the installed snapshot references (older ones are deleted once a
    /// newer snapshot stops referencing them).
    private var storedTextSegmentKeys = Set<String>()
    private var compacting = false

    /// Figures for metrics and tests.
    /// The namespace's SPFresh index, once it holds `indexMinimumVectors` vectors.
    private(set) var indexer: VectorIndexer?
    /// A full-text index being built in the background: the state it started from, the
    /// documents written since (caught up when it is installed) and its task.
    private var textBuild: (snapshot: NamespaceState, touched: Set<DocumentID>, task: Task<Void, Never>, token: UInt64)?
    private var attributeBuild: (snapshot: NamespaceState, touched: Set<DocumentID>, task: Task<Void, Never>, token: UInt64)?
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
        self.state.textBuildInlineLimit = configuration.textInlineBuildLimit
        self.state.attributeBuildInlineLimit = configuration.attributeInlineBuildLimit
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
                let now = Clock.milliseconds()
                let manifest = Manifest(namespace: name.id, epoch: 1, incarnation: UInt64.random(in: 1...UInt64.max),
                                        createdAtMilliseconds: now, snapshotSequence: 0, snapshotKey: nil)
                do {
                    _ = try await retry.run("create manifest of \(name)") {
                        try await storage.put(keys.manifest, manifest.encode(), condition: .ifAbsent)
                    }
                    // We created it, so no other incarnation is live: what remains of
                    // earlier ones (an interrupted deletion) is garbage.
                    try await removeOtherIncarnations(keys: keys, keeping: manifest.incarnation, storage: storage, retry: retry)
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
            guard let loaded = try await loadSnapshot(manifest, keys: keys, storage: storage, retry: retry) else {
                continue  // the snapshot was replaced while we read: start over
            }
            var state = loaded.0
            let bytes = loaded.1
            let engine = NamespaceEngine(name: name, storage: storage, configuration: configuration, logger: logger,
                                         state: state, manifest: manifest, epoch: manifest.epoch)
            await engine.setLastSnapshotBytes(bytes)
            await engine.removeUnreferencedTextSegments()
            state = NamespaceState(createdAtMilliseconds: 0)  // release our copy before replay mutates the engine's
            try await engine.replayWAL()
            await engine.maybeStartIndexer()
            let sequence = await engine.state.sequence
            logger.info("opened namespace", metadata: ["namespace": "\(name)", "epoch": "\(manifest.epoch)", "sequence": "\(sequence)"])
            return engine
        }
        throw EngineError(.conflict, "namespace \(name) is being opened or created concurrently by other writers; retry")
    }

    private func setLastSnapshotBytes(_ bytes: Int) { lastSnapshotBytes = bytes }

    /// On open (this engine now holds the newest epoch, so no older compactor can still
    /// install a snapshot): deletes text segments the snapshot does not reference — a
    /// crashed compaction's.
    private func removeUnreferencedTextSegments() async {
        storedTextSegmentKeys = state.textSegmentKeys
        guard let stored = try? await storage.listAll(prefix: data.textPrefix) else { return }
        for object in stored where !storedTextSegmentKeys.contains(object.key) { try? await storage.delete(object.key) }
    }

    private static func loadSnapshot(_ manifest: Manifest, keys: NamespaceKeys, storage: any StorageBackend,
                                     retry: StorageRetry) async throws -> (NamespaceState, Int)? {
        guard let key = manifest.snapshotKey else {
            var state = NamespaceState(createdAtMilliseconds: manifest.createdAtMilliseconds)
            state.sequence = manifest.snapshotSequence
            return (state, 0)
        }
        guard let object = try await retry.run("read snapshot \(key)", { try await storage.get(key) }) else { return nil }
        var (state, incarnation) = try await Task.detached { try NamespaceState.decodeSnapshot(object.body, key: key) }.value
        guard incarnation == manifest.incarnation, state.sequence == manifest.snapshotSequence else {
            throw EngineError(.corruptData, "snapshot \(key) belongs to another life of the namespace or sequence (\(state.sequence) vs manifest \(manifest.snapshotSequence))")
        }
        let pending = state.pendingTextSegmentKeys
        if !pending.isEmpty {
            let objects = try await retry.run("read \(pending.count) text segments") { try await storage.getMany(pending) }
            var bodies: [String: [UInt8]] = [:]
            for (key, object) in zip(pending, objects) { if let object { bodies[key] = object.body } }
            // A newer snapshot replaced this one and its segments were deleted: start over.
            guard bodies.count == pending.count else { return nil }
            let decoded = state
            state = try await Task.detached {
                var assembled = decoded
                try assembled.assembleTextSegments(bodies)
                return assembled
            }.value
        }
        return (state, object.body.count)
    }

    /// Deletes objects of earlier incarnations (left by an interrupted deletion). They
    /// are never read either way; this only reclaims space.
    private static func removeOtherIncarnations(keys: NamespaceKeys, keeping incarnation: UInt64, storage: any StorageBackend, retry: StorageRetry) async throws {
        // The live incarnation's keys (`<prefix><16 hex>/…`) are skipped, not listed: on
        // an object store a namespace holds 100,000+ postings, and listing them is a
        // round trip per thousand. Keys before it are read until the first live key;
        // keys after it start past `<prefix><16 hex>0` ('0' sorts right after '/').
        let live = keys.data(incarnation).prefix
        var garbage: [String] = []
        var cursor: String? = nil
        before: while true {
            let after = cursor
            let page = try await retry.run("list \(keys.prefix)") { try await storage.list(prefix: keys.prefix, startAfter: after, limit: 1000) }
            for object in page.objects {
                if object.key.hasPrefix(live) { break before }
                if object.key != keys.manifest { garbage.append(object.key) }
            }
            guard let next = page.nextCursor else { break }
            cursor = next
        }
        cursor = String(live.dropLast()) + "0"
        while true {
            let after = cursor
            let page = try await retry.run("list \(keys.prefix)") { try await storage.list(prefix: keys.prefix, startAfter: after, limit: 1000) }
            garbage += page.objects.map(\.key).filter { $0 != keys.manifest && !$0.hasPrefix(live) }
            guard let next = page.nextCursor else { break }
            cursor = next
        }
        for batch in stride(from: 0, to: garbage.count, by: 256) {
            let operations = garbage[batch..<min(batch + 256, garbage.count)].map { BatchOperation.delete(key: $0) }
            try await retry.run("remove earlier incarnations") { try await storage.write(batch: operations) }
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
            let key = data.wal(state.sequence + 1)
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
        indexer?.enqueue(VectorChange(entry))
        followBackgroundBuilds(entry)
        recentNonces[entry.sequence] = entry.nonce
        walEntriesSinceSnapshot += 1
        walBytesSinceSnapshot += body.count
        maybeStartIndexer()
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

    /// The state and, when it is ready, the vector index to query alongside it.
    func readStateAndIndex(strong: Bool) async throws -> (NamespaceState, VectorIndexer?) {
        let state = try await readState(strong: strong)
        return (state, indexer?.isReady == true ? indexer : nil)
    }

    /// Brings the state up to the newest committed entry.
    ///
    /// Reads the next WAL slot first and the manifest second: compaction swaps the
    /// manifest before it deletes folded entries, so an empty slot followed by a
    /// manifest that has not folded past it proves the slot was never written.
    func catchUp() async throws {
        let retry = StorageRetry(configuration: configuration, logger: logger)
        let storage = self.storage, keys = self.keys
        var snapshotMisses = 0
        while true {
            let sequence = state.sequence
            let walKey = data.wal(sequence + 1)
            let entry = try await retry.run("read \(walKey)") { try await storage.get(walKey) }
            if let entry {
                if state.sequence == sequence { try applyStored(entry.body, key: walKey) }
                continue
            }
            let latest = try await readLiveManifest(retry: retry, whenDeleted: "namespace \(name) was deleted")
            guard state.sequence == sequence else { continue }  // a commit advanced us meanwhile
            guard latest.snapshotSequence > state.sequence else { return }
            // Another writer folded entries we never saw; jump to its snapshot.
            guard let (snapshot, bytes) = try await Self.loadSnapshot(latest, keys: keys, storage: storage, retry: retry) else {
                snapshotMisses += 1
                if snapshotMisses > configuration.storageAttempts {
                    throw EngineError(.unavailable, "namespace \(name): the snapshot named by the manifest kept disappearing while reading it; retry")
                }
                try await retry.backoff(attempt: snapshotMisses)
                continue
            }
            if snapshot.sequence > state.sequence {
                state = snapshot
                state.textBuildInlineLimit = configuration.textInlineBuildLimit
                state.attributeBuildInlineLimit = configuration.attributeInlineBuildLimit
                textBuild?.task.cancel()
                textBuild = nil
                attributeBuild?.task.cancel()
                attributeBuild = nil
                // Entries we never saw were folded: the index restarts from storage.
                if let running = indexer {
                    indexer = nil
                    await running.stop()
                }
                manifest.snapshotSequence = latest.snapshotSequence
                manifest.snapshotKey = latest.snapshotKey
                lastSnapshotBytes = bytes
                storedTextSegmentKeys = state.textSegmentKeys
                recentNonces = [:]
                walEntriesSinceSnapshot = 0
                walBytesSinceSnapshot = 0
                maybeStartIndexer()
            }
        }
    }

    // MARK: vector index

    /// Vector bytes the index has not folded: everything while it builds, then the queue.
    /// Bytes no index covers yet: the vector index's queue, plus the documents a
    /// background full-text build is indexing (metadata reports "updating" meanwhile).
    var unindexedBytes: Int {
        let text = state.text.building.isEmpty ? 0 : state.logicalBytes
        guard let indexer else { return text }
        let status = indexer.status
        if !status.ready { return text + (state.vectors?.count ?? 0) * (state.vectors?.dimensions ?? 0) * 4 }
        return text + status.unindexedBytes
    }

    /// Starts the index once the namespace holds enough vectors (below that, an
    /// exhaustive scan is as fast and exact). It loads its newest checkpoint and replays
    /// the WAL after it, or builds from the current state when it has none.
    func maybeStartIndexer() {
        guard indexer == nil, closedReason == nil, let arena = state.vectors,
              arena.count >= max(1, configuration.indexMinimumVectors) else { return }
        let store = PostingStore(storage: storage, prefix: data.prefix + "index/", dimensions: arena.dimensions,
                                 cacheBytes: configuration.indexCacheBytes, encoding: configuration.indexPostingEncoding,
                                 fileCache: configuration.indexFileCache)
        let started = VectorIndexer(store: store, metric: state.distanceMetric ?? .cosineDistance, configuration: configuration.index,
                                    filteredExactLimit: configuration.filteredExactLimit, postingSummaries: configuration.postingSummaries,
                                    startingAt: state.sequence,
                                    objectIDFloor: VectorIndexer.objectIDFloor(epoch: epoch), logger: logger)
        indexer = started
        let snapshot = state
        let oldestReplayable = manifest.snapshotSequence + 1
        Task { await started.start(state: snapshot, oldestReplayable: oldestReplayable, changes: { [weak self] from, to in
            guard let self else { return [] }
            return try await self.changes(from: from, through: to)
        }) }
    }

    /// The index's view of WAL entries `from...to` (read back from storage).
    func changes(from: UInt64, through to: UInt64) async throws -> [VectorChange] {
        let retry = StorageRetry(configuration: configuration, logger: logger)
        var changes: [VectorChange] = []
        guard from <= to else { return [] }
        for sequence in from...to {
            let key = data.wal(sequence)
            guard let object = try await retry.run("read \(key)", { try await self.storage.get(key) }) else {
                throw EngineError(.corruptData, "\(key) is missing; the vector index cannot replay past it")
            }
            changes.append(VectorChange(try WALEntry.decode(object.body, key: key)))
        }
        return changes
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
        var caughtUpForEmpty = false
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
                // Nothing to write, judged on this node's state: make sure no other
                // writer committed since, or the answer could be stale.
                if !caughtUpForEmpty {
                    caughtUpForEmpty = true
                    let before = state.sequence
                    do {
                        try await catchUp()
                    } catch {
                        fail(batch, outcomes, Self.serviceError(error, doing: "check for newer writes"))
                        return
                    }
                    if state.sequence != before { continue }
                }
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
            let key = data.wal(sequence)
            do {
                try await createWALObject(key: key, body: body, retry: retry)
                let folded = try await verifyNotFolded(sequence: sequence, nonce: entry.nonce, key: key, body: body, retry: retry)
                if !folded, state.sequence < sequence {
                    state.apply(entry)
                    indexer?.enqueue(VectorChange(entry))
                    followBackgroundBuilds(entry)
                    maybeStartIndexer()
                    recentNonces[sequence] = entry.nonce
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
    /// put landed; other bytes mean another writer won; nothing means try again. When
    /// the attempts run out, the slot is read until it tells which happened, and only
    /// an unreadable slot is reported as an unknown outcome.
    private func createWALObject(key: String, body: [UInt8], retry: StorageRetry) async throws {
        var attempt = 0
        var mayHaveLanded = false
        while attempt < configuration.storageAttempts {
            attempt += 1
            do {
                _ = try await storage.put(key, body, condition: .ifAbsent)
                return
            } catch let error as StorageError where error.code == .conditionFailed {
                if !mayHaveLanded { throw CommitConflict() }
                // An earlier attempt may have landed before its response was lost.
                let existing = try await retry.run("re-read \(key)") { try await self.storage.get(key) }
                if existing?.body == body { return }
                throw CommitConflict()
            } catch let error as StorageError where error.isRetryable {
                mayHaveLanded = true
                logger.warning("WAL put failed; re-reading to resolve", metadata: ["key": "\(key)", "error": "\(error)"])
                if let existing = try? await storage.get(key) {
                    if existing.body == body { return }
                    throw CommitConflict()
                }
                try await retry.backoff(attempt: attempt)
            }
        }
        for attempt in 1...configuration.storageAttempts {
            do {
                let existing = try await storage.get(key)
                if existing?.body == body { return }
                if existing != nil { throw CommitConflict() }
                throw EngineError(.unavailable, "storage kept failing the write to namespace \(name); it was not committed, retry it")
            } catch let error as StorageError where error.isRetryable {
                try await retry.backoff(attempt: attempt)
            }
        }
        throw EngineError(.unavailable, "outcome unknown: storage failed while committing to namespace \(name) and the write may or may not have been committed; read before retrying it")
    }

    /// Checks the committed slot was not inside a range another writer had already
    /// folded into a snapshot. Returns true when our entry itself was folded (another
    /// engine read it and compacted past it: durable and visible, the write succeeded);
    /// throws `CommitConflict` when the slot had been garbage-collected and reused, so
    /// our entry would never be replayed (it is removed and the batch retried).
    private func verifyNotFolded(sequence: UInt64, nonce: UInt64, key: String, body: [UInt8], retry: StorageRetry) async throws -> Bool {
        let latest: Manifest
        do {
            latest = try await readLiveManifest(retry: retry, whenDeleted: "namespace \(name) was deleted while the write committed")
        } catch let error as StorageError {
            throw EngineError(.unavailable, "outcome unknown: the write to namespace \(name) was stored but could not be verified (\(error)); read before retrying it")
        }
        guard latest.snapshotSequence >= sequence else { return false }
        // Was it our entry that got folded, or a different one at this sequence?
        let lists = try await retry.run("list folded entries") { try await self.storage.listAll(prefix: self.data.foldedPrefix) }
        for listed in lists.sorted(by: { $0.key < $1.key }) {
            guard let list = try await retry.run("read \(listed.key)", { try await self.storage.get(listed.key) }) else { continue }
            let folded = try FoldedEntries.decode(list.body, key: listed.key)
            guard folded.range.contains(sequence) else { continue }
            if folded.nonces[sequence] == nonce { return true }
            logger.warning("WAL entry landed in a reused slot; removing it and retrying", metadata: ["key": "\(key)"])
            if let existing = try? await storage.get(key), existing.body == body { try? await storage.delete(key) }
            throw CommitConflict()
        }
        throw EngineError(.unavailable, "outcome unknown: the write to namespace \(name) at sequence \(sequence) was folded by another writer before it could be verified; read before retrying it")
    }

    /// Reads the manifest, checks it still belongs to this incarnation, and refreshes
    /// the settings it carries.
    private func readLiveManifest(retry: StorageRetry, whenDeleted message: String) async throws -> Manifest {
        guard let object = try await retry.run("read manifest", { try await self.storage.get(self.keys.manifest) }) else {
            throw EngineError(.namespaceNotFound, message)
        }
        let latest = try Manifest.decode(object.body, key: keys.manifest)
        guard latest.incarnation == manifest.incarnation else { throw EngineError(.namespaceNotFound, message) }
        manifest.readOnly = latest.readOnly
        manifest.pinning = latest.pinning
        return latest
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

    /// Writes a snapshot of `snapshot` under a key unique to this attempt, records the
    /// nonces of the entries it folds, points the manifest at it with CAS (only while
    /// this engine holds the newest epoch), then deletes the folded WAL objects, the
    /// previous snapshot and folded lists older than the previous one. Never deletes a
    /// key the manifest names.
    func compact(_ snapshot: NamespaceState) async {
        defer {
            compacting = false
            let waiters = compactionWaiters
            compactionWaiters = []
            for waiter in waiters { waiter.resume() }
        }
        let retry = StorageRetry(configuration: configuration, logger: logger)
        let incarnation = manifest.incarnation
        let data = self.data
        var writtenSegments: [String] = []
        var installed = false
        do {
            guard let before = try await retry.run("read manifest", { try await self.storage.get(self.keys.manifest) }) else { return }
            let current = try Manifest.decode(before.body, key: keys.manifest)
            guard current.epoch == epoch, current.incarnation == incarnation, current.snapshotSequence < snapshot.sequence else {
                logger.info("skipping compaction: another writer holds a newer epoch", metadata: ["namespace": "\(name)"])
                return
            }
            if let indexer {
                // The index must be recoverable without the entries this compaction deletes.
                guard try await indexer.checkpoint(atLeast: snapshot.sequence, timeout: configuration.indexCheckpointTimeout) != nil else {
                    logger.info("deferring compaction until the vector index catches up", metadata: ["namespace": "\(name)"])
                    return
                }
            }
            // Text segments first (the documents added since the last snapshot, merges):
            // the snapshot references them.
            let plan = snapshot.planTextSegments { data.textSegment(UInt64.random(in: 1...UInt64.max)) }
            for write in plan.writes {
                let segment = await Task.detached { snapshot.textSegmentBody(write) }.value
                _ = try await retry.run("write text segment \(write.key)") { try await self.storage.put(write.key, segment, condition: .none) }
                writtenSegments.append(write.key)
            }
            let key = data.snapshot(snapshot.sequence, epoch: epoch, nonce: UInt64.random(in: 1...UInt64.max))
            let body = await Task.detached { snapshot.encodeSnapshot(incarnation: incarnation, textSegments: plan.stored) }.value
            _ = try await retry.run("write snapshot \(key)") { try await self.storage.put(key, body, condition: .none) }
            var folded = FoldedEntries(range: (current.snapshotSequence + 1)...snapshot.sequence, nonces: [:])
            for sequence in folded.range { folded.nonces[sequence] = recentNonces[sequence] }
            let foldedKey = data.folded(snapshot.sequence)
            let foldedBody = folded.encode()
            _ = try await retry.run("write \(foldedKey)") { try await self.storage.put(foldedKey, foldedBody, condition: .none) }

            guard let object = try await retry.run("read manifest", { try await self.storage.get(self.keys.manifest) }) else { return }
            var latest = try Manifest.decode(object.body, key: keys.manifest)
            guard latest.epoch == epoch, latest.incarnation == incarnation, latest.snapshotSequence == current.snapshotSequence else {
                try? await storage.delete(key)  // unique to this attempt: nobody else can name it
                await deleteUnused(writtenSegments)
                return
            }
            let previousSnapshot = latest.snapshotKey
            let previousSequence = latest.snapshotSequence
            latest.snapshotSequence = snapshot.sequence
            latest.snapshotKey = key
            latest.schema = Manifest.SchemaRecord(snapshot)
            let updated = latest
            do {
                _ = try await storage.put(keys.manifest, updated.encode(), condition: .ifVersion(object.version))
            } catch let error as StorageError where error.code == .conditionFailed || error.code == .ambiguousOutcome {
                // Re-read: a lost response may have landed.
                let check = try? await storage.get(keys.manifest)
                if let check, let decoded = try? Manifest.decode(check.body, key: keys.manifest), decoded.snapshotKey == key {
                    // It landed; carry on with the clean-up below.
                } else {
                    if error.code == .conditionFailed {
                        // Certainly not installed: nothing can name what this attempt wrote.
                        try? await storage.delete(key)
                        await deleteUnused(writtenSegments)
                    }
                    // Otherwise it may have landed and been built on (a newer snapshot
                    // can keep these segments): leave them to the clean-up on open.
                    return
                }
            }
            installed = true
            state.recordTextSegments(plan.stored)
            let referenced = Set(plan.stored.values.flatMap { $0.segments.map(\.key) })
            await deleteUnused(Array(storedTextSegmentKeys.subtracting(referenced)))
            storedTextSegmentKeys = referenced
            manifest.snapshotSequence = snapshot.sequence
            manifest.snapshotKey = key
            manifest.schema = updated.schema
            lastSnapshotBytes = body.count
            for sequence in folded.range { recentNonces[sequence] = nil }
            walEntriesSinceSnapshot = Int(state.sequence - snapshot.sequence)
            walBytesSinceSnapshot = walBytesSinceSnapshot * walEntriesSinceSnapshot / max(1, walEntriesSinceSnapshot + folded.range.count)
            if let previousSnapshot, previousSnapshot != key { try? await storage.delete(previousSnapshot) }
            var next = previousSequence + 1
            while next <= snapshot.sequence {
                try? await storage.delete(data.wal(next))
                next += 1
            }
            // Keep the newest two folded lists: writers verifying a recent commit read them.
            if let lists = try? await storage.listAll(prefix: data.foldedPrefix) {
                for stale in lists.map(\.key).sorted().dropLast(2) { try? await storage.delete(stale) }
            }
            logger.info("compacted namespace", metadata: ["namespace": "\(name)", "snapshot_sequence": "\(snapshot.sequence)", "bytes": "\(body.count)"])
        } catch {
            if !installed { await deleteUnused(writtenSegments) }
            logger.warning("compaction failed; will retry after later writes", metadata: ["namespace": "\(name)", "error": "\(error)"])
        }
    }

    /// Deletes objects nothing references (segments of a failed or superseded snapshot).
    private func deleteUnused(_ keys: [String]) async {
        for key in keys { try? await storage.delete(key) }
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
    // MARK: background full-text builds

    /// Records what an applied entry touched while a build runs, and starts a build
    /// when the schema asked for one.
    private func followBackgroundBuilds(_ entry: WALEntry) {
        if textBuild != nil || attributeBuild != nil {
            for operation in entry.operations {
                let id: DocumentID
                switch operation {
                case .put(let document): id = document.id
                case .delete(let deleted): id = deleted
                }
                textBuild?.touched.insert(id)
                attributeBuild?.touched.insert(id)
            }
        }
        startTextBuildIfNeeded()
        startAttributeBuildIfNeeded()
    }

    private func startAttributeBuildIfNeeded() {
        guard attributeBuild == nil, closedReason == nil, !state.attributesBuilding.isEmpty else { return }
        let snapshot = state
        let wanted = state.attributesBuilding
        logger.info("building attribute indexes in the background", metadata: [
            "namespace": "\(name)", "attributes": "\(wanted.keys.sorted())", "documents": "\(snapshot.documents.count)"])
        let token = UInt64.random(in: 1...UInt64.max)
        let task = Task.detached { [weak self] in
            var built: [(String, AttributeIndexes.Attribute)] = []
            for (attribute, isArray) in wanted {
                if Task.isCancelled { return }
                built.append((attribute, snapshot.buildAttributeIndex(attribute, isArray: isArray)))
            }
            await self?.installAttributeBuild(built, token: token)
        }
        attributeBuild = (snapshot, [], task, token)
    }

    /// Brings the built attribute indexes up to the current state and installs them
    /// (unless the build was cancelled or replaced meanwhile: its ordinals may be stale).
    private func installAttributeBuild(_ built: [(String, AttributeIndexes.Attribute)], token: UInt64) {
        guard let (snapshot, touched, _, current) = attributeBuild, current == token else { return }
        attributeBuild = nil
        for (name, attribute) in built { state.installAttributeIndex(name, attribute, from: snapshot, touched: touched) }
        logger.info("attribute indexes ready", metadata: ["namespace": "\(name)", "attributes": "\(built.map(\.0).sorted())"])
        startAttributeBuildIfNeeded()  // the schema may have changed again meanwhile
    }

    private func startTextBuildIfNeeded() {
        guard textBuild == nil, closedReason == nil, !state.text.building.isEmpty else { return }
        let snapshot = state
        let wanted = state.text.building
        logger.info("building full-text indexes in the background", metadata: [
            "namespace": "\(name)", "attributes": "\(wanted.keys.sorted())", "documents": "\(snapshot.documents.count)"])
        let token = UInt64.random(in: 1...UInt64.max)
        let task = Task.detached { [weak self] in
            var built: [TextIndexes.Attribute] = []
            for (attribute, declaration) in wanted {
                if Task.isCancelled { return }
                built.append(TextIndexes.Attribute.build(name: attribute, declaration: declaration, documents: snapshot.documents))
            }
            await self?.installTextBuild(built, token: token)
        }
        textBuild = (snapshot, [], task, token)
    }

    /// Brings the built indexes up to the current state (the documents written since
    /// the build started are re-indexed) and installs them.
    private func installTextBuild(_ built: [TextIndexes.Attribute], token: UInt64) {
        guard let (snapshot, touched, _, current) = textBuild, current == token else { return }
        textBuild = nil
        for var attribute in built {
            for id in touched {
                if let old = snapshot.documents[id] { attribute.remove(old) }
                if let current = state.documents[id] { attribute.put(current, replacing: nil) }
            }
            state.installText(attribute)
        }
        logger.info("full-text indexes ready", metadata: ["namespace": "\(name)", "attributes": "\(built.map(\.name).sorted())"])
        startTextBuildIfNeeded()  // the schema may have changed again meanwhile
    }

    /// Folds everything committed so far into a snapshot now, whatever the thresholds
    /// (after an index checkpoint covering it). Returns whether the manifest now names
    /// a snapshot at the current sequence.
    func compactNow() async -> Bool {
        while compacting { await withCheckedContinuation { compactionWaiters.append($0) } }
        guard closedReason == nil else { return false }
        if manifest.snapshotSequence < state.sequence {
            compacting = true
            await compact(state)
        }
        return manifest.snapshotSequence >= state.sequence
    }

    func close(reason: EngineError) async {
        closedReason = reason
        textBuild?.task.cancel()
        textBuild = nil
        attributeBuild?.task.cancel()
        attributeBuild = nil
        await drain()
        if compacting { await withCheckedContinuation { compactionWaiters.append($0) } }
        if let running = indexer {
            indexer = nil
            await running.stop()
        }
    }

    var incarnation: UInt64 { manifest.incarnation }
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
