import CFreshetIO
import FreshetStorage
import Foundation
import Synchronization

/// A node-local cache of posting objects in append-only segment files, read by
/// offset: SPANN's "postings on disk" for a node whose truth is elsewhere (object
/// storage, or RocksDB). A read is one positioned read into the caller's buffer —
/// tried first without waiting for the device, so a page-cached posting is read on
/// the query's own thread — and the query scans the bytes where they land, with no
/// decoding into arrays. Postings read through RocksDB instead cost a MultiGet, two
/// copies and four allocations each (GloVe with a 64 MiB memory cache: RocksDB 35%
/// and decoding 20% of a query's time).
///
/// Log-structured with a byte budget: appends go to the newest segment (a new one
/// every `segmentBytes`); past the budget the oldest segment is dropped whole, and
/// what it held is read from storage again (and appended anew) when next wanted.
/// Entries are the posting objects as stored (framed, checksummed, carrying their
/// id), so a damaged or misplaced read is caught and answered from storage instead:
/// the CRC until an entry has passed it once, its frame, id and sizes on every read.
/// The cache starts empty: its directory is cleared when opened. Shared by every
/// index of a node; each `PostingStore` registers as an owner with its own ids.
public final class PostingFileCache: Sendable {
    public struct Statistics: Sendable, Equatable {
        /// Reads served from the page cache on the caller's thread.
        public var hits = 0
        /// Reads that had to wait for the device (served on a blocking thread).
        public var deviceReads = 0
        /// Lookups of postings the cache does not hold.
        public var misses = 0
        public var appends = 0
        public var appendedBytes = 0
        public var droppedSegments = 0
        /// Reads or writes that failed (I/O errors, damaged entries); each is answered
        /// from storage instead.
        public var errors = 0
        /// Bytes in the segment files now.
        public var bytes = 0
        public var entries = 0
    }

    typealias Location = LocationTable.Entry

    /// An open segment file; closed when the last reader lets go of it.
    final class Segment: Sendable {
        let number: Int
        let descriptor: Int32
        init(number: Int, descriptor: Int32) { (self.number, self.descriptor) = (number, descriptor) }
        deinit { close(descriptor) }
    }

    private struct State {
        var entries = LocationTable()
        var segments: [Int: Segment] = [:]
        var order: [Int] = []
        /// Bytes reserved in each segment (the active one's is where the next entry goes).
        var lengths: [Int: Int] = [:]
        var active: Segment?
        var bytes = 0
        var nextSegment = 0
        var nextOwner: UInt32 = 0
        var statistics = Statistics()
        /// Set by a failed write: appends stop (reads of what is there go on).
        var writeFailure: String?
    }

    public let directory: String
    public let budgetBytes: Int
    public let segmentBytes: Int
    private let state = Mutex(State())
    private let blockingQueue = DispatchQueue(label: "freshet.posting-file-cache", attributes: .concurrent)

    /// Opens (and clears) the cache in `directory`. `budgetBytes` bounds the segment
    /// files (at least two segments); `segmentBytes` is the unit of eviction.
    public init(directory: String, budgetBytes: Int, segmentBytes: Int = 64 << 20) throws {
        guard budgetBytes > 0, (1 << 16)...Int(UInt32.max) ~= segmentBytes else {
            throw StorageError(.invalidArgument, "posting file cache: budget (\(budgetBytes) bytes) must be positive and segments (\(segmentBytes) bytes) from 64 KiB to 4 GiB")
        }
        self.directory = directory
        self.segmentBytes = segmentBytes
        self.budgetBytes = max(budgetBytes, 2 * segmentBytes)
        let files = FileManager.default
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for name in try files.contentsOfDirectory(atPath: directory) where name.hasSuffix(".postings") {
                try files.removeItem(atPath: directory + "/" + name)
            }
        } catch {
            throw StorageError(.unavailable, "posting file cache: cannot prepare \(directory): \(error)")
        }
    }

    /// A number that keeps one owner's ids apart from another's.
    public func register() -> UInt32 {
        state.withLock { state in
            state.nextOwner += 1
            return state.nextOwner
        }
    }

    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.bytes = state.bytes
            statistics.entries = state.entries.count
            return statistics
        }
    }

    /// Why appends stopped, if they did.
    public var writeFailure: String? { state.withLock { $0.writeFailure } }

    /// Appends `object` (a stored posting object) as the entry for `id`. Best effort:
    /// a failure is counted and later appends are skipped, never thrown — the cache only
    /// makes reads cheaper.
    func append(owner: UInt32, id: UInt64, object: [UInt8]) {
        guard object.count <= min(segmentBytes, LocationTable.maximumLength) else { return }
        let reserved: (Segment, Int)? = state.withLock { state in
            guard state.writeFailure == nil else { return nil }
            if state.active.map({ state.lengths[$0.number, default: 0] + object.count > segmentBytes }) ?? true {
                do { try startSegment(&state) } catch {
                    state.writeFailure = "\(error)"
                    state.statistics.errors += 1
                    return nil
                }
            }
            guard let active = state.active else { return nil }
            let offset = state.lengths[active.number, default: 0]
            state.lengths[active.number] = offset + object.count
            state.bytes += object.count
            return (active, offset)
        }
        guard let (segment, offset) = reserved else { return }
        let written = object.withUnsafeBytes { freshet_pwrite_full(segment.descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        let failure = written == 0 ? nil : String(cString: strerror(errno))
        state.withLock { state in
            if let failure {
                state.writeFailure = "writing \(directory)/\(segment.number).postings: \(failure)"
                state.statistics.errors += 1
                return
            }
            // Installed only once written; a segment dropped meanwhile takes it along.
            guard state.segments[segment.number] != nil else { return }
            state.entries.insert(Location(owner: owner, id: id, segment: UInt32(segment.number), offset: UInt32(offset), length: object.count))
            state.statistics.appends += 1
            state.statistics.appendedBytes += object.count
        }
    }

    /// Forgets entries (their bytes go when their segment is dropped).
    func remove(owner: UInt32, ids: [UInt64]) {
        state.withLock { state in for id in ids { state.entries.remove(owner: owner, id: id) } }
    }

    enum Read {
        case absent
        /// In the cache but not in memory: read with `readWaiting`.
        case wouldBlock
        /// The entry's bytes are at `buffer.bytes(count: entry.length)`. Unless
        /// `entry.checked` (an earlier read verified its checksum), report a pass with
        /// `checked(_:)`.
        case read(Location)
    }

    /// Reads `id`'s entry into `buffer` if the page cache holds it, without waiting for
    /// the device. A failed read forgets the entry and answers `absent`.
    func readIfCached(owner: UInt32, id: UInt64, into buffer: PostingReadBuffer) -> Read {
        guard let (segment, location) = locate(owner: owner, id: id, countingHit: true) else { return .absent }
        buffer.reserve(location.length)
        let got = freshet_pread_full(segment.descriptor, buffer.start, location.length, off_t(location.offset), 1)
        if got == -2 {
            state.withLock { $0.statistics.hits -= 1 }
            return .wouldBlock
        }
        guard got == location.length else {
            state.withLock { $0.statistics.hits -= 1 }
            forget(owner: owner, id: id)
            return .absent
        }
        return .read(location)
    }

    /// Records that `id`'s entry passed its checksum: later reads of it check its frame,
    /// id and sizes, not every byte again (the CRC was 7–9% of a GloVe query read from
    /// the file cache). The bytes are this process's own writes; a page evicted and read
    /// back from a device that returns wrong bytes without an I/O error would go unseen.
    func checked(_ entry: Location) {
        state.withLock { $0.entries.markChecked(entry) }
    }

    /// Reads `id`'s entry waiting for the device as needed, on a thread of the cache's
    /// own (never the caller's cooperative pool). Nil when absent or unreadable.
    func readWaiting(owner: UInt32, id: UInt64) async -> [UInt8]? {
        guard let (segment, location) = locate(owner: owner, id: id, countingHit: false) else { return nil }
        let bytes: [UInt8]? = await withCheckedContinuation { continuation in
            blockingQueue.async {
                var bytes = [UInt8](repeating: 0, count: location.length)
                let got = bytes.withUnsafeMutableBytes {
                    freshet_pread_full(segment.descriptor, $0.baseAddress, location.length, off_t(location.offset), 0)
                }
                continuation.resume(returning: got == location.length ? bytes : nil)
            }
        }
        if bytes == nil { forget(owner: owner, id: id) } else { state.withLock { $0.statistics.deviceReads += 1 } }
        return bytes
    }

    /// Forgets an entry whose bytes could not be read or failed their checks.
    func failed(owner: UInt32, id: UInt64) { forget(owner: owner, id: id) }

    private func forget(owner: UInt32, id: UInt64) {
        state.withLock { state in
            state.entries.remove(owner: owner, id: id)
            state.statistics.errors += 1
        }
    }

    /// The entry and its open segment, under one lock (a query makes one call per posting).
    private func locate(owner: UInt32, id: UInt64, countingHit: Bool) -> (Segment, Location)? {
        state.withLock { state in
            guard let location = state.entries.find(owner: owner, id: id) else {
                state.statistics.misses += 1
                return nil
            }
            guard let segment = state.segments[Int(location.segment)] else {
                state.entries.remove(owner: owner, id: id)
                state.statistics.misses += 1
                return nil
            }
            if countingHit { state.statistics.hits += 1 }
            return (segment, location)
        }
    }

    /// Opens the next segment and drops the oldest ones past the budget. Their entries
    /// go in one sweep; readers holding a dropped segment finish on its descriptor.
    private func startSegment(_ state: inout State) throws {
        let number = state.nextSegment
        let path = "\(directory)/\(number).postings"
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StorageError(.unavailable, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        state.nextSegment += 1
        let segment = Segment(number: number, descriptor: descriptor)
        state.segments[number] = segment
        state.order.append(number)
        state.active = segment
        var dropped = Set<Int>()
        while state.bytes + segmentBytes > budgetBytes, state.order.count > 1 {
            let oldest = state.order.removeFirst()
            dropped.insert(oldest)
            state.segments[oldest] = nil
            state.bytes -= state.lengths.removeValue(forKey: oldest) ?? 0
            unlink("\(directory)/\(oldest).postings")
            state.statistics.droppedSegments += 1
        }
        if !dropped.isEmpty { state.entries.removeAll { dropped.contains(Int($0.segment)) } }
    }
}

/// A reusable, aligned read buffer (one per query): a posting read lands so that its
/// 4-byte arrays are aligned for the scan that reads them in place.
final class PostingReadBuffer {
    /// Bytes before the entry: the payload's arrays start 26 bytes into a posting
    /// object (8 of frame, 18 of header), so 2 more make them 4-byte aligned.
    static let lead = 2
    private(set) var storage: UnsafeMutableRawPointer
    private(set) var capacity: Int

    init(capacity: Int = 64 << 10) {
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity + Self.lead, alignment: 64)
    }

    deinit { storage.deallocate() }

    var start: UnsafeMutableRawPointer { storage + Self.lead }

    func reserve(_ count: Int) {
        guard count > capacity else { return }
        storage.deallocate()
        capacity = max(count, capacity * 2)
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity + Self.lead, alignment: 64)
    }

    func bytes(count: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: start, count: count) }
}

/// The file cache's posting locations by (owner, id): open addressing with linear
/// probing, each entry inline in one 24-byte bucket, so a lookup touches one or two
/// cache lines (a `Dictionary` keeps keys and values apart: 4% of a GloVe query went to
/// finding locations). Removal shifts later entries back instead of leaving markers.
/// Posting ids count up, so a multiplicative hash spreads them.
struct LocationTable {
    struct Entry {
        /// Owners count from 1: 0 marks an empty bucket.
        var owner: UInt32
        var segment: UInt32
        var id: UInt64
        var offset: UInt32
        /// The length, with `checkedFlag` set once the entry passed its checksum.
        var lengthAndFlag: UInt32

        init(owner: UInt32, id: UInt64, segment: UInt32, offset: UInt32, length: Int) {
            precondition(owner > 0 && length <= LocationTable.maximumLength)
            (self.owner, self.id, self.segment, self.offset, lengthAndFlag) = (owner, id, segment, offset, UInt32(length))
        }

        var length: Int { Int(lengthAndFlag & ~LocationTable.checkedFlag) }
        var checked: Bool { lengthAndFlag & LocationTable.checkedFlag != 0 }
        static var empty: Entry { Entry(zeroed: ()) }
        private init(zeroed: Void) { (owner, segment, id, offset, lengthAndFlag) = (0, 0, 0, 0, 0) }
    }

    static let checkedFlag: UInt32 = 1 << 31
    static let maximumLength = Int(checkedFlag) - 1

    private var buckets: [Entry] = []
    private(set) var count = 0

    init() {}

    private func home(owner: UInt32, id: UInt64) -> Int {
        // The owner through its own multiplier (ids carry an epoch in their high bits).
        let mixed = (id ^ (UInt64(owner) &* 0xD6E8_FEB8_6659_FD93)) &* 0x9E37_79B9_7F4A_7C15
        return Int(mixed.multipliedFullWidth(by: UInt64(buckets.count)).high)
    }

    private func bucket(owner: UInt32, id: UInt64) -> Int? {
        guard count > 0 else { return nil }
        var index = home(owner: owner, id: id)
        while true {
            let entry = buckets[index]
            if entry.owner == 0 { return nil }
            if entry.id == id, entry.owner == owner { return index }
            index += 1
            if index == buckets.count { index = 0 }
        }
    }

    func find(owner: UInt32, id: UInt64) -> Entry? { bucket(owner: owner, id: id).map { buckets[$0] } }

    /// Adds or replaces (a re-appended posting moves to its new place, unchecked).
    mutating func insert(_ entry: Entry) {
        if let index = bucket(owner: entry.owner, id: entry.id) {
            buckets[index] = entry
            return
        }
        // At most 3/4 full; grown by half again past the count.
        if (count + 1) * 4 > buckets.count * 3 { rehash(buckets: max(16, (count + 1) * 2)) }
        var index = home(owner: entry.owner, id: entry.id)
        while buckets[index].owner != 0 {
            index += 1
            if index == buckets.count { index = 0 }
        }
        buckets[index] = entry
        count += 1
    }

    /// Marks `entry` checked if it is still where it was read (not appended anew since).
    mutating func markChecked(_ entry: Entry) {
        guard let index = bucket(owner: entry.owner, id: entry.id),
              buckets[index].segment == entry.segment, buckets[index].offset == entry.offset else { return }
        buckets[index].lengthAndFlag |= Self.checkedFlag
    }

    mutating func remove(owner: UInt32, id: UInt64) {
        guard var hole = bucket(owner: owner, id: id) else { return }
        // Backward shift: an entry after the hole moves into it unless its home lies
        // cyclically in (hole, its bucket], where a probe for it never passes the hole.
        var next = hole
        while true {
            next += 1
            if next == buckets.count { next = 0 }
            let entry = buckets[next]
            if entry.owner == 0 { break }
            let home = home(owner: entry.owner, id: entry.id)
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if stays { continue }
            buckets[hole] = entry
            hole = next
        }
        buckets[hole] = .empty
        count -= 1
    }

    /// Drops every entry `predicate` selects (a dropped segment's) in one pass.
    mutating func removeAll(where predicate: (Entry) -> Bool) {
        let kept = buckets.filter { $0.owner != 0 && !predicate($0) }
        guard kept.count != count else { return }
        buckets = [Entry](repeating: .empty, count: max(16, kept.count * 2))
        count = 0
        for entry in kept { insert(entry) }
    }

    private mutating func rehash(buckets size: Int) {
        let old = buckets
        buckets = [Entry](repeating: .empty, count: size)
        count = 0
        for entry in old where entry.owner != 0 { insert(entry) }
    }

}
