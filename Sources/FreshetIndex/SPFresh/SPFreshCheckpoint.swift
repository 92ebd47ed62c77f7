import FreshetStorage

/// Checkpoints: the in-memory part of the index (heads with their posting references
/// and deltas, the per-slot ids and versions) written as one object at a log sequence.
/// Opening an index loads the checkpoint; the caller replays its log after that
/// sequence. Posting objects not referenced by the checkpoint (written by work that a
/// crash interrupted, or retired and not yet deleted) are deleted on open.
extension SPFreshIndex {
    static var checkpointKind: UInt8 { 17 }
    /// 2 adds posting summaries and slot signatures (format 1 loads with every bit set).
    static var checkpointFormat: UInt8 { 2 }

    public var checkpointsPrefix: String { store.prefix + "checkpoints/" }

    /// Writes a checkpoint of the current state, labelled with the caller's log
    /// `sequence` (every update up to it has been applied). Create-only under a unique
    /// key, so concurrent or repeated checkpoints never overwrite one another.
    public func checkpoint(sequence: UInt64) async throws -> SPFreshCheckpoint {
        let (state, nextObjectID, retired, previous, statistics, metadata) = core.withLock { core in
            defer { core.retired = [] }
            return (core.state, core.nextObjectID, core.retired, core.lastCheckpointKey, core.statistics, core.metadata)
        }
        var writer = BinaryWriter(capacity: 64 + state.heads.count * (dimensions * 4 + 24) + state.ids.count * 10)
        writer.u8(Self.checkpointFormat)
        writer.u32(UInt32(dimensions))
        writer.u64(sequence)
        writer.u64(nextObjectID)
        writer.u64(UInt64(statistics.splits))
        writer.u64(UInt64(statistics.merges))
        writer.u64(UInt64(statistics.reassigned))
        writer.u32(UInt32(state.postings.count))
        for head in 0..<state.postings.count {
            let ref = state.postings[head]
            guard ref.alive else { writer.u8(0); continue }
            writer.u8(1)
            writer.raw(state.heads.row(head))
            writer.u64(ref.base)
            writer.u32(UInt32(ref.baseCount))
            writer.u32(UInt32(ref.deltaCount))
            writer.raw(ref.delta.slots)
            writer.raw(ref.delta.versions)
            writer.raw(ref.delta.vectors)
        }
        writer.u32(UInt32(state.ids.count))
        for slot in 0..<state.ids.count {
            writer.u32(state.versions[slot])
            if let id = state.ids[slot] { writer.u8(1); id.write(to: &writer) } else { writer.u8(0) }
        }
        for head in 0..<state.postings.count where state.postings[head].alive { writer.u64(state.postings[head].summary) }
        for slot in 0..<state.ids.count { writer.u64(state.signatures[slot]) }
        writer.blob(metadata)
        let body = ObjectFrame.seal(writer.bytes, kind: Self.checkpointKind)
        let key = checkpointsPrefix + Self.sequenceLabel(sequence) + "-" + Self.hex(UInt64.random(in: 1...UInt64.max))
        do {
            _ = try await store.storage.put(key, body, condition: .ifAbsent)
        } catch {
            core.withLock { $0.retired += retired }
            throw error
        }
        core.withLock { core in
            core.lastCheckpointKey = key
            core.statistics.checkpoints += 1
        }
        return SPFreshCheckpoint(key: key, sequence: sequence, bytes: body.count, retired: retired, superseded: previous.map { [$0] } ?? [])
    }

    /// After the caller has made `checkpoint` the one to recover from, deletes the
    /// posting objects it no longer needs and the checkpoints it supersedes.
    public func release(_ checkpoint: SPFreshCheckpoint) async throws {
        try await store.delete(checkpoint.retired)
        for key in checkpoint.superseded { try await store.storage.delete(key) }
    }

    /// Checkpoint and release in one step, for an index that is its own log's owner
    /// (the newest checkpoint by sequence is the one `open` loads).
    @discardableResult
    public func checkpointAndRelease(sequence: UInt64) async throws -> SPFreshCheckpoint {
        let checkpoint = try await checkpoint(sequence: sequence)
        try await release(checkpoint)
        return checkpoint
    }

    /// The newest checkpoint under the store's prefix, if any.
    public static func latestCheckpointKey(in store: PostingStore) async throws -> String? {
        try await store.storage.listAll(prefix: store.prefix + "checkpoints/").map(\.key).max()
    }

    /// The sequence a checkpoint key is labelled with.
    public static func sequence(ofCheckpointKey key: String) -> UInt64? {
        guard let name = key.split(separator: "/").last, let label = name.split(separator: "-").first else { return nil }
        return UInt64(label)
    }

    /// Opens the index from a checkpoint (`key`, or the newest one) and returns it with
    /// the checkpoint's sequence; the caller replays its log after that sequence. No
    /// checkpoint: an empty index at sequence 0. `collectGarbage` (the index's single
    /// writer only) deletes objects the checkpoint does not reference.
    public static func open(
        store: PostingStore, checkpointKey key: String? = nil, configuration: SPFreshConfiguration = SPFreshConfiguration(),
        kernels: Kernels = .best, collectGarbage: Bool = true
    ) async throws -> (index: SPFreshIndex, sequence: UInt64) {
        let index = SPFreshIndex(dimensions: store.dimensions, store: store, configuration: configuration, kernels: kernels)
        let resolved: String?
        if let key { resolved = key } else { resolved = try await latestCheckpointKey(in: store) }
        var sequence: UInt64 = 0
        if let resolved { sequence = try await index.load(checkpointKey: resolved, collectGarbage: false) }
        if collectGarbage { try await index.collectGarbage() }
        return (index, sequence)
    }

    /// Replaces this (empty, idle) index's state with a checkpoint's and returns its
    /// sequence.
    public func load(checkpointKey key: String, collectGarbage: Bool = true) async throws -> UInt64 {
        guard let object = try await store.storage.get(key) else {
            throw StorageError(.corrupt, "index checkpoint \(key) is missing from storage")
        }
        let sequence = try load(object.body, key: key)
        if collectGarbage { try await self.collectGarbage() }
        signal()
        return sequence
    }

    /// Makes every object id allocated from now on at least `floor`. A writer passes a
    /// floor unique to its epoch, so ids written after the last checkpoint by an earlier
    /// writer (a crashed node, whose objects caches may still hold) are never reused.
    public func reserveObjectIDs(atLeast floor: UInt64) {
        core.withLock { core in core.nextObjectID = max(core.nextObjectID, floor) }
    }

    /// Deletes posting objects the in-memory state does not reference and checkpoints
    /// other than the last one loaded or written. Only the index's single writer may
    /// call this, with no background work in flight.
    public func collectGarbage() async throws {
        let (referenced, keep) = core.withLock { core in
            (Set((0..<core.state.postings.count).map { core.state.postings[$0].base }.filter { $0 != 0 }), core.lastCheckpointKey)
        }
        let unreferenced = try await store.storedIDs().filter { !referenced.contains($0) }
        try await store.delete(unreferenced)
        for other in try await store.storage.listAll(prefix: checkpointsPrefix) where other.key != keep {
            try await store.storage.delete(other.key)
        }
    }

    /// After `load`, before any other work: deletes the posting objects allocated after
    /// the loaded checkpoint was taken (a crashed writer's, which nothing references;
    /// ids are allocated in ascending order, so they sort after the checkpoint's
    /// counter and are listed without listing the rest) and checkpoints other than the
    /// loaded one. On an object store this costs a round trip or two where listing
    /// every posting of a large index costs one per thousand. Returns how many
    /// postings it deleted.
    @discardableResult
    public func collectOrphans() async throws -> Int {
        let (next, referenced, keep) = core.withLock { core in
            (core.nextObjectID, Set((0..<core.state.postings.count).map { core.state.postings[$0].base }.filter { $0 != 0 }), core.lastCheckpointKey)
        }
        var orphans: [UInt64] = []
        var cursor: String? = next > 0 ? store.key(next - 1) : nil
        while true {
            let after = cursor
            let page = try await store.storage.list(prefix: store.postingsPrefix, startAfter: after, limit: 1000)
            for object in page.objects {
                if let id = PostingStore.id(fromKey: object.key.dropFirst(store.postingsPrefix.count)), id >= next, !referenced.contains(id) {
                    orphans.append(id)
                }
            }
            guard let nextCursor = page.nextCursor else { break }
            cursor = nextCursor
        }
        try await store.delete(orphans)
        for other in try await store.storage.listAll(prefix: checkpointsPrefix) where other.key != keep {
            try await store.storage.delete(other.key)
        }
        return orphans.count
    }

    private func load(_ body: [UInt8], key: String) throws -> UInt64 {
        var reader = BinaryReader(try ObjectFrame.open(body, kind: Self.checkpointKind, kindName: "index checkpoint", key: key), what: "index checkpoint \(key)")
        let format = try reader.u8()
        guard format == 1 || format == Self.checkpointFormat else {
            throw StorageError(.corrupt, "index checkpoint \(key) has format \(format); this build reads \(Self.checkpointFormat)")
        }
        let stored = Int(try reader.u32())
        guard stored == dimensions else {
            throw StorageError(.corrupt, "index checkpoint \(key) is \(stored)-d; the index is \(dimensions)-d")
        }
        let sequence = try reader.u64()
        var core = Core(state: State(heads: HeadIndex(dimensions: dimensions, flatLimit: configuration.headIndexFlatLimit, coarseProbe: configuration.headIndexProbe)))
        core.nextObjectID = try reader.u64()
        core.statistics.splits = Int(try reader.u64())
        core.statistics.merges = Int(try reader.u64())
        core.statistics.reassigned = Int(try reader.u64())
        let headCapacity = Int(try reader.u32())
        var dead: [Int] = []
        for head in 0..<headCapacity {
            var ref = PostingRef()
            if try reader.u8() == 1 {
                let vector = try reader.raw(Float.self, count: dimensions)
                let assigned = core.state.heads.add(vector, rebuilding: false)
                precondition(assigned == head)
                ref.alive = true
                ref.base = try reader.u64()
                ref.baseCount = Int(try reader.u32())
                let deltaCount = Int(try reader.u32())
                ref.delta.slots = try reader.raw(Int32.self, count: deltaCount)
                ref.delta.versions = try reader.raw(UInt32.self, count: deltaCount)
                ref.delta.vectors = try reader.raw(Float.self, count: deltaCount * dimensions)
                core.deltaEntries += deltaCount
                if ref.total > configuration.postingLimit || ref.deltaCount >= configuration.flushEntries { core.pending.insert(head) }
            } else {
                _ = core.state.heads.add([Float](repeating: 0, count: dimensions), rebuilding: false)
                dead.append(head)
            }
            core.state.postings.append(ref)
        }
        for head in dead { core.state.heads.remove(head) }
        if core.state.heads.count > configuration.headIndexFlatLimit { core.state.heads.rebuild(kernels: kernels) }
        let slots = Int(try reader.u32())
        for slot in 0..<slots {
            core.state.versions.append(try reader.u32())
            if try reader.u8() == 1 {
                let id = try ID.read(from: &reader)
                core.state.ids.append(id)
                core.slotOf[id] = Int32(slot)
            } else {
                core.state.ids.append(nil)
                core.freeSlots.append(Int32(slot))
            }
        }
        if format >= 2 {
            for head in 0..<headCapacity where core.state.postings[head].alive { core.state.postings[head].summary = try reader.u64() }
            for slot in 0..<slots { core.state.signatures[slot] = try reader.u64() }
            core.metadata = try reader.blob()
        } else {
            for head in 0..<headCapacity { core.state.postings[head].summary = ~0 }
        }
        guard reader.isAtEnd else { throw StorageError(.corrupt, "index checkpoint \(key) has trailing bytes") }
        core.lastCheckpointKey = key
        self.core.withLock { $0 = core }
        return sequence
    }

    static func sequenceLabel(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
