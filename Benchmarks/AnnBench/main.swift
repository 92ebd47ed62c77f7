// freshet-bench-ann: Freshet's SPFresh index on a TEXMEX-format dataset, driven by
// Benchmarks/ann_bench.py (which runs hnswlib and faiss on the same files).
//
// Prints JSON lines: one "build" event, one "search" event per sweep point and, in
// churn mode, "churn" events (before / during / after / fresh). Search is single
// threaded: one query at a time, background work stopped.
import Foundation
import FreshetIndex
import FreshetRocksDB
import FreshetStorage
import FreshetBenchSupport


struct Options {
    var base = ""
    var queries = ""
    var truth = ""
    var metric = "l2"
    var storage = "bench-data/freshet-ann"
    var sweep = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]
    var k = 10
    var queryLimit = Int.max
    var cacheMB = 64
    var fileCacheMB = 0
    var churn = false
    var ingest = false
    var replacement = ""
    var batch = 10_000
    var churnQueries = 200
    var churnSearchHeads = 64
    var buildThreads = 2
    var insertThreads = SPFreshConfiguration().insertThreads
    var backgroundWorkers = SPFreshConfiguration().backgroundWorkers
    var placementProbe = SPFreshConfiguration().headIndexProbe
    var reassignNeighbours = SPFreshConfiguration().reassignNeighbours
    var postingLimit = 128
    var rocksdb: [String: String] = [:]
    var replicas = 8
    var replicaClosure = Float.infinity
    var encoding = PostingEncoding.f32
    var headFraction = 0.1
    var headProbe = SPFreshConfiguration().searchHeadIndexProbe
    var headRows = SPFreshConfiguration().searchHeadRows
    var quantizedHeadScanMB = SPFreshConfiguration().quantizedHeadScanBytes >> 20

    static func parse() -> Options {
        var options = Options()
        let arguments = OptionReader()
        let value = arguments.value
        while let argument = arguments.next() {
            switch argument {
            case "--base": options.base = value(argument)
            case "--queries": options.queries = value(argument)
            case "--truth": options.truth = value(argument)
            case "--metric": options.metric = value(argument)
            case "--storage": options.storage = value(argument)
            case "--sweep": options.sweep = value(argument).split(separator: ",").compactMap { Int($0) }
            case "--k": options.k = Int(value(argument)) ?? 10
            case "--query-limit": options.queryLimit = Int(value(argument)) ?? .max
            case "--cache-mb": options.cacheMB = Int(value(argument)) ?? 64
            case "--file-cache-mb": options.fileCacheMB = Int(value(argument)) ?? 0
            case "--churn": options.churn = true
            case "--ingest": options.ingest = true
            case "--replacement": options.replacement = value(argument)
            case "--batch": options.batch = Int(value(argument)) ?? 10_000
            case "--churn-queries": options.churnQueries = Int(value(argument)) ?? 200
            case "--churn-search-heads": options.churnSearchHeads = Int(value(argument)) ?? 64
            case "--build-threads": options.buildThreads = Int(value(argument)) ?? 2
            case "--insert-threads": options.insertThreads = Int(value(argument)) ?? options.insertThreads
            case "--placement-probe": options.placementProbe = Int(value(argument)) ?? options.placementProbe
            case "--background-workers": options.backgroundWorkers = Int(value(argument)) ?? options.backgroundWorkers
            case "--reassign-neighbours": options.reassignNeighbours = Int(value(argument)) ?? options.reassignNeighbours
            case "--posting-limit": options.postingLimit = Int(value(argument)) ?? 128
            case "--replicas": options.replicas = Int(value(argument)) ?? 8
            case "--replica-closure": options.replicaClosure = Float(value(argument)) ?? .infinity
            case "--encoding":
                guard let encoding = ["f32": PostingEncoding.f32, "f16": .f16, "i8": .i8][value(argument)] else { fail("--encoding is f32, f16 or i8") }
                options.encoding = encoding
            case "--head-fraction": options.headFraction = Double(value(argument)) ?? 0.1
            case "--quantized-head-scan-mb": options.quantizedHeadScanMB = Int(value(argument)) ?? options.quantizedHeadScanMB
            case "--head-rows": options.headRows = Int(value(argument)) ?? options.headRows
            case "--head-probe": options.headProbe = Int(value(argument)) ?? options.headProbe
            case "--rocksdb":
                for pair in value(argument).split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else { fail("--rocksdb takes key=value pairs") }
                    options.rocksdb[parts[0]] = parts[1]
                }
            default: fail("unknown option \(argument)")
            }
        }
        guard !options.base.isEmpty, !options.queries.isEmpty, !options.truth.isEmpty else {
            fail("usage: freshet-bench-ann --base B.fvecs --queries Q.fvecs --truth T.ivecs [--metric l2|cosine] [--storage DIR] [--sweep 1,2,4] [--churn --replacement R.fvecs]")
        }
        guard options.metric == "l2" || options.metric == "cosine" else { fail("--metric is l2 or cosine") }
        return options
    }
}



/// Reads a TEXMEX .fvecs/.ivecs file: per row an int32 dimension then the values.
func readVecs<T: BitwiseCopyable>(_ path: String, as: T.Type) -> (dimensions: Int, values: [T]) {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return data.withUnsafeBytes { raw -> (Int, [T]) in
        guard raw.count >= 4 else { fail("\(path) is empty") }
        let dimensions = Int(raw.loadUnaligned(as: Int32.self))
        let rowBytes = 4 + dimensions * 4
        guard dimensions > 0, raw.count % rowBytes == 0 else { fail("\(path) is not a vecs file of \(dimensions)-d rows") }
        let rows = raw.count / rowBytes
        var values = [T]()
        values.reserveCapacity(rows * dimensions)
        for row in 0..<rows {
            for d in 0..<dimensions { values.append(raw.loadUnaligned(fromByteOffset: row * rowBytes + 4 + d * 4, as: T.self)) }
        }
        return (dimensions, values)
    }
}

func normalise(_ values: inout [Float], dimensions: Int) {
    for row in 0..<(values.count / dimensions) {
        var norm: Float = 0
        for d in 0..<dimensions { norm += values[row * dimensions + d] * values[row * dimensions + d] }
        let scale = norm > 0 ? 1 / norm.squareRoot() : 0
        for d in 0..<dimensions { values[row * dimensions + d] *= scale }
    }
}




func openStorage(_ path: String, options: [String: String]) throws -> RocksDBBackend {
    try? FileManager.default.removeItem(atPath: path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    // Small block cache and write buffer: postings are meant to be read from disk (the
    // OS page cache), with only the index's own cache resident. No compression: float
    // vectors do not compress, and decompressing them costs every read. Unsynced: a
    // benchmark. `--rocksdb k=v,…` overrides any of these.
    var defaults = ["block_cache": "\(16 << 20)", "write_buffer": "\(16 << 20)", "sync": "false", "statistics": "false",
                    "compression": "none", "bottommost_compression": "none"]
    defaults.merge(options) { _, override in override }
    return try RocksDBBackend(configuration: RocksDBConfiguration(path: path, options: defaults))
}

struct Measurement {
    var recall: Double
    var qps: Double
    var p50: Double
    var p99: Double
    var postingsRead: Double
}

/// Runs `queries` one at a time; recall against `truth` (first k ids per query).
func measure(_ index: SPFreshIndex<UInt64>, queries: [[Float]], truth: [[UInt64]], k: Int, searchHeads: Int) async throws -> Measurement {
    var latencies: [Double] = []
    latencies.reserveCapacity(queries.count)
    var found = 0, expected = 0, postings = 0
    let clock = ContinuousClock()
    let start = clock.now
    for (position, query) in queries.enumerated() {
        let began = clock.now
        let result = try await index.search(query, k: k, searchHeads: searchHeads)
        latencies.append(seconds(clock.now - began) * 1000)
        let wanted = Set(truth[position].prefix(k))
        found += result.hits.filter { wanted.contains($0.id) }.count
        expected += wanted.count
        postings += result.postingsRead
    }
    let elapsed = seconds(clock.now - start)
    return Measurement(recall: Double(found) / Double(max(expected, 1)), qps: Double(queries.count) / elapsed,
                       p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99),
                       postingsRead: Double(postings) / Double(max(queries.count, 1)))
}

/// Exact top-k over the live rows (ids → row in `rows`), for churn-time ground truth.
func exactTruth(_ queries: [[Float]], live: [UInt64: Int], rows: [Float], dimensions: Int, k: Int) -> [[UInt64]] {
    let ids = Array(live.keys)
    var packed = [Float]()
    packed.reserveCapacity(ids.count * dimensions)
    for id in ids { let row = live[id]!; packed += rows[(row * dimensions)..<((row + 1) * dimensions)] }
    let matrix = Matrix(dimensions: dimensions, values: packed)
    return queries.map { query in matrix.nearest(to: query, n: k).map { ids[$0.index] } }
}

func run() async throws {
    let options = Options.parse()
    // As the server does (and ann_bench.py sets the same threshold for the peers).
    Allocator.fixMmapThreshold()
    var (dimensions, base) = readVecs(options.base, as: Float.self)
    let (queryDimensions, queryValues) = readVecs(options.queries, as: Float.self)
    let (truthWidth, truthValues) = readVecs(options.truth, as: Int32.self)
    guard queryDimensions == dimensions else { fail("queries are \(queryDimensions)-d, base is \(dimensions)-d") }
    var queryFlat = queryValues
    if options.metric == "cosine" {
        normalise(&base, dimensions: dimensions)
        normalise(&queryFlat, dimensions: dimensions)
    }
    let count = base.count / dimensions
    let queryCount = min(options.queryLimit, queryFlat.count / dimensions)
    let queries = (0..<queryCount).map { Array(queryFlat[($0 * dimensions)..<(($0 + 1) * dimensions)]) }
    let truth = (0..<queryCount).map { q in truthValues[(q * truthWidth)..<((q + 1) * truthWidth)].map { UInt64($0) } }

    var configuration = SPFreshConfiguration()
    configuration.postingLimit = options.postingLimit
    configuration.replicaCount = options.replicas
    configuration.replicaClosure = options.replicaClosure
    configuration.headFraction = options.headFraction
    configuration.searchHeadIndexProbe = options.headProbe
    configuration.searchHeadRows = options.headRows
    configuration.quantizedHeadScanBytes = options.quantizedHeadScanMB << 20
    configuration.insertThreads = options.insertThreads
    configuration.backgroundWorkers = options.backgroundWorkers
    configuration.headIndexProbe = options.placementProbe
    configuration.reassignNeighbours = options.reassignNeighbours
    // With the posting file cache RocksDB is written and read only on the cache's
    // misses: a 4 MiB block cache and write buffer (measured on GloVe: 5 MiB less
    // resident than 16 MiB each, same QPS). `--rocksdb` overrides.
    var rocksdbOptions = options.fileCacheMB > 0 ? ["block_cache": "\(4 << 20)", "write_buffer": "\(4 << 20)"] : [:]
    rocksdbOptions.merge(options.rocksdb) { _, override in override }
    let storage = try openStorage(options.storage, options: rocksdbOptions)
    // The node-local posting file cache (`--file-cache-mb`, 0 = none): postings read by
    // offset from files the OS page cache holds, outside the process's memory.
    func fileCache(_ directory: String) throws -> PostingFileCache? {
        options.fileCacheMB > 0 ? try PostingFileCache(directory: directory, budgetBytes: options.fileCacheMB << 20) : nil
    }
    let store = PostingStore(storage: storage, prefix: "ann/", dimensions: dimensions, cacheBytes: options.cacheMB << 20, encoding: options.encoding,
                             fileCache: try fileCache(options.storage + "-postings"))
    let index = SPFreshIndex<UInt64>(dimensions: dimensions, store: store, configuration: configuration)

    let before = residentBytes()
    let partsBefore = residentParts()
    printMallocStatistics()
    let clock = ContinuousClock()
    var began = clock.now
    try await index.build(ids: (0..<UInt64(count)).map { $0 }, vectors: Matrix(dimensions: dimensions, values: base), threads: options.buildThreads)
    let placed = seconds(clock.now - began)
    try await index.maintainUntilIdle()
    let built = seconds(clock.now - began)
    let statistics = index.statistics
    let after = residentBytes()
    let partsAfter = residentParts()
    printMallocStatistics()
    emit([
        "event": "build", "system": "freshet", "seconds": built, "placement_seconds": placed,
        "rss_bytes": after - before, "index_memory_estimate": index.memoryEstimate,
        "rss_anonymous_bytes": partsAfter.anonymous - partsBefore.anonymous, "rss_file_bytes": partsAfter.file - partsBefore.file,
        "cache_budget_bytes": options.cacheMB << 20, "vectors": count, "dimensions": dimensions,
        "heads": statistics.heads, "splits": statistics.splits, "build_threads": options.buildThreads,
        "replicas": options.replicas, "replica_closure": options.replicaClosure.isFinite ? Double(options.replicaClosure) : -1, "encoding": "\(options.encoding)", "head_fraction": options.headFraction, "head_probe": options.headProbe, "head_rows": options.headRows, "posting_limit": options.postingLimit,
        "posting_bytes_written": store.statistics.bytesWritten, "file_cache_budget_bytes": options.fileCacheMB << 20,
        "file_cache_bytes": store.fileCache?.statistics.bytes ?? 0,
    ])

    for searchHeads in options.sweep {
        let m = try await measure(index, queries: queries, truth: truth, k: options.k, searchHeads: searchHeads)
        emit(["event": "search", "search_heads": searchHeads, "recall": m.recall, "qps": m.qps, "p50_ms": m.p50, "p99_ms": m.p99,
              "postings_read": m.postingsRead, "rss_bytes": residentBytes() - before])
    }

    guard options.churn || options.ingest else { return }
    guard !options.replacement.isEmpty else { fail("--churn and --ingest need --replacement R.fvecs") }
    var (replacementDimensions, replacement) = readVecs(options.replacement, as: Float.self)
    guard replacementDimensions == dimensions else { fail("replacement vectors are \(replacementDimensions)-d") }
    if options.metric == "cosine" { normalise(&replacement, dimensions: dimensions) }
    let replaceCount = min(count, replacement.count / dimensions)
    let churnQueries = Array(queries.prefix(options.churnQueries))
    // All rows (old then new) in one table; `live` maps id → row.
    var rows = base
    rows += replacement[0..<(replaceCount * dimensions)]
    var live: [UInt64: Int] = [:]
    for id in 0..<count { live[UInt64(id)] = id }
    let searchHeads = options.churnSearchHeads
    /// Replacement rows `range` as new ids (after the base ids), now live.
    func newRows(_ range: Range<Int>) -> [(id: UInt64, vector: [Float])] {
        range.map { i in
            let row = count + i
            live[UInt64(row)] = row
            return (UInt64(row), Array(rows[(row * dimensions)..<((row + 1) * dimensions)]))
        }
    }

    if options.ingest {
        // Ingest: the replacement set inserted as new ids (the index doubles), in
        // batches, the background worker keeping up; no queries meanwhile.
        index.startBackgroundWork()
        began = clock.now
        for start in stride(from: 0, to: replaceCount, by: options.batch) {
            index.upsert(newRows(start..<min(replaceCount, start + options.batch)))
        }
        let submitted = seconds(clock.now - began)
        await index.stopBackgroundWork()
        try await index.maintainUntilIdle()
        let settled = seconds(clock.now - began)
        let truthNow = exactTruth(churnQueries, live: live, rows: rows, dimensions: dimensions, k: options.k)
        let m = try await measure(index, queries: churnQueries, truth: truthNow, k: options.k, searchHeads: searchHeads)
        let stats = index.statistics
        emit(["event": "ingest", "inserted": replaceCount, "live": live.count, "submit_seconds": submitted, "settle_seconds": settled,
              "vectors_per_second": Double(replaceCount) / settled, "submitted_per_second": Double(replaceCount) / submitted,
              "recall": m.recall, "p50_ms": m.p50, "p99_ms": m.p99, "search_heads": searchHeads,
              "heads": stats.heads, "splits": stats.splits, "merges": stats.merges, "reassigned": stats.reassigned,
              "reassign_checked": stats.reassignChecked, "rewrites": stats.rewrites, "insert_threads": configuration.insertThreads])
        return
    }

    func phase(_ name: String, _ target: SPFreshIndex<UInt64>, extra: [String: Any] = [:]) async throws {
        let truthNow = exactTruth(churnQueries, live: live, rows: rows, dimensions: dimensions, k: options.k)
        let m = try await measure(target, queries: churnQueries, truth: truthNow, k: options.k, searchHeads: searchHeads)
        var fields: [String: Any] = ["event": "churn", "phase": name, "recall": m.recall, "p50_ms": m.p50, "p99_ms": m.p99,
                                     "qps": m.qps, "search_heads": searchHeads, "live": live.count]
        fields.merge(extra) { a, _ in a }
        emit(fields)
    }
    try await phase("before", index)

    // Replace every vector: new ids upserted, old ids deleted, in batches, with the
    // background worker running and queries timed between batches.
    index.startBackgroundWork()
    var latencies: [Double] = []
    var queryCursor = 0
    began = clock.now
    var nextReport = replaceCount / 4
    for start in stride(from: 0, to: replaceCount, by: options.batch) {
        let end = min(replaceCount, start + options.batch)
        index.upsert(newRows(start..<end))
        index.delete((start..<end).map { UInt64($0) })
        for i in start..<end { live[UInt64(i)] = nil }
        for _ in 0..<10 {
            let query = churnQueries[queryCursor % churnQueries.count]
            queryCursor += 1
            let t = clock.now
            _ = try await index.search(query, k: options.k, searchHeads: searchHeads)
            latencies.append(seconds(clock.now - t) * 1000)
        }
        if end >= nextReport && end < replaceCount {
            nextReport += replaceCount / 4
            try await phase("during", index, extra: ["replaced_fraction": Double(end) / Double(replaceCount),
                                                      "pending_jobs": index.statistics.pendingJobs])
        }
    }
    let submitted = seconds(clock.now - began)
    await index.stopBackgroundWork()
    try await index.maintainUntilIdle()
    let settled = seconds(clock.now - began)
    emit(["event": "churn", "phase": "during_latency", "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99),
          "queries": latencies.count, "replaced": replaceCount, "submit_seconds": submitted, "settle_seconds": settled,
          "updates_per_second": Double(2 * replaceCount) / settled, "vectors_ingested_per_second": Double(replaceCount) / settled])
    let stats = try await index.measure()
    try await phase("after", index, extra: ["heads": stats.heads, "splits": stats.splits, "merges": stats.merges,
                                            "reassigned": stats.reassigned, "garbage_ratio": stats.garbageRatio])

    // A fresh build of the final data, for comparison.
    let freshStorage = try openStorage(options.storage + "-fresh", options: rocksdbOptions)
    let fresh = SPFreshIndex<UInt64>(dimensions: dimensions, store: PostingStore(storage: freshStorage, prefix: "ann/", dimensions: dimensions, cacheBytes: options.cacheMB << 20, encoding: options.encoding,
                                                                                        fileCache: try fileCache(options.storage + "-fresh-postings")), configuration: configuration)
    let finalIDs = Array(live.keys)
    var finalRows = [Float]()
    finalRows.reserveCapacity(finalIDs.count * dimensions)
    for id in finalIDs { let row = live[id]!; finalRows += rows[(row * dimensions)..<((row + 1) * dimensions)] }
    try await fresh.build(ids: finalIDs, vectors: Matrix(dimensions: dimensions, values: finalRows), threads: options.buildThreads)
    try await fresh.maintainUntilIdle()
    try await phase("fresh", fresh, extra: ["heads": fresh.statistics.heads])
    freshStorage.close()
    storage.close()
}

try await run()
