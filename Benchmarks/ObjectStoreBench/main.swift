// freshet-bench-objectstore: a namespace on SeaweedFS behind simulated distance.
//
// Builds an N × D namespace (default 1,000,000 × 128, clustered) through the engine on
// S3 (SeaweedFS, no added latency), then measures, with LATENCY added to every
// object-store request (default 50 ms):
//   - opening the namespace on a fresh node (manifest, snapshot, index checkpoint);
//   - cold queries: no posting cached anywhere (index cache off, no cache tiers), every
//     probed posting read from the object store;
//   - warm queries through the node's caches (memory L1, disk L2, Redis L3), and a
//     second node with empty L1/L2 sharing the Redis;
// printing per phase p50/p99 latency, object-store requests and sequential round trips
// per query (the longest chain of requests that did not overlap), and hit rates per
// cache level.
//
//   make bench-objectstore BENCH_OS_ARGS="--docs 200000"
//   .build/release/freshet-bench-objectstore --endpoint http://127.0.0.1:18333 --redis 127.0.0.1:16379 \
//       [--docs N] [--dims D] [--queries Q] [--latency-ms MS] [--reuse PREFIX]
import Foundation
import FreshetBenchSupport
import FreshetEngine
import FreshetIndex
import FreshetObjectStore
import FreshetRedis
import FreshetRocksDB
import FreshetStorage
import Synchronization

/// Unbuffered lines on standard output, so progress shows while the benchmark runs.
func say(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { bytes in _ = write(1, bytes.baseAddress, bytes.count) }
}
var documents = 1_000_000
var dimensions = 128
var queryCount = 100
var latencyMilliseconds = 50
var endpoint = ProcessInfo.processInfo.environment["FRESHET_TEST_S3_SEAWEED_ENDPOINT"] ?? "http://127.0.0.1:18333"
var bucket = ProcessInfo.processInfo.environment["FRESHET_TEST_S3_BUCKET"] ?? "freshet-test"
var accessKey = ProcessInfo.processInfo.environment["FRESHET_TEST_S3_ACCESS_KEY"] ?? "freshet-test-key"
var secretKey = ProcessInfo.processInfo.environment["FRESHET_TEST_S3_SECRET_KEY"] ?? "freshet-test-secret"
var redisAddress = ProcessInfo.processInfo.environment["FRESHET_TEST_REDIS"] ?? "127.0.0.1:16379"
var reusePrefix: String? = nil
let options = OptionReader()
@MainActor func number(_ option: String) -> Int {
    guard let value = Int(options.value(option)) else { fail("\(option) needs a number") }
    return value
}
while let option = options.next() {
    switch option {
    case "--docs": documents = number(option)
    case "--dims": dimensions = number(option)
    case "--queries": queryCount = number(option)
    case "--latency-ms": latencyMilliseconds = number(option)
    case "--endpoint": endpoint = options.value(option)
    case "--bucket": bucket = options.value(option)
    case "--redis": redisAddress = options.value(option)
    case "--reuse": reusePrefix = options.value(option)
    default: fail("unknown option \(option); options: --docs N --dims D --queries Q --latency-ms MS --endpoint URL --bucket B --redis HOST:PORT --reuse PREFIX")
    }
}

/// Adds latency to every request and records when each ran.
final class MeasuringTransport: HTTPTransport {
    let base: any HTTPTransport
    let latency: Duration
    private let log = Mutex<[(start: ContinuousClock.Instant, end: ContinuousClock.Instant)]>([])

    init(base: any HTTPTransport, latency: Duration) {
        self.base = base
        self.latency = latency
    }

    func send(_ request: ObjectRequest, timeout: Duration) async throws -> ObjectResponse {
        let start = ContinuousClock.now
        if latency > .zero { try await Task.sleep(for: latency) }
        defer { let end = ContinuousClock.now; log.withLock { $0.append((start, end)) } }
        return try await base.send(request, timeout: timeout)
    }

    /// Requests since the last call, and the longest chain of them that ran one after another.
    func take() -> (requests: Int, sequential: Int) {
        let intervals = log.withLock { log -> [(start: ContinuousClock.Instant, end: ContinuousClock.Instant)] in
            defer { log.removeAll() }
            return log
        }
        var chain = 0
        var lastEnd: ContinuousClock.Instant? = nil
        for interval in intervals.sorted(by: { $0.end < $1.end }) where lastEnd == nil || interval.start >= lastEnd! {
            chain += 1
            lastEnd = interval.end
        }
        return (intervals.count, chain)
    }
}

let http = AsyncHTTPTransport()
let credentials = AWSCredentials(accessKeyID: accessKey, secretAccessKey: secretKey)
let prefix = reusePrefix ?? "bench/objectstore-\(UInt64.random(in: 0...UInt64.max) % 1_000_000_000)/"
@MainActor func s3(_ transport: any HTTPTransport) throws -> S3Backend {
    S3Backend(configuration: try S3Configuration(bucket: bucket, prefix: prefix, endpoint: endpoint, addressing: .path,
                                                 credentials: credentials), transport: transport)
}

// MARK: build

@MainActor func uniform(_ random: inout SplitMix64) -> Float { Float(random.next() >> 40) / Float(1 << 24) * 2 - 1 }
var random = SplitMix64(state: 2026)
let centers = (0..<1024).map { _ in (0..<dimensions).map { _ in uniform(&random) * 4 } }
@MainActor func sample(_ random: inout SplitMix64) -> [Float] {
    let center = centers[Int(random.next() % UInt64(centers.count))]
    return center.map { $0 + uniform(&random) }
}

say("object storage: \(documents) × \(dimensions)-d on SeaweedFS (\(endpoint), bucket \(bucket), prefix \(prefix))")

/// Waits until the index has folded everything, then folds the WAL into a snapshot and
/// checkpoint, so the nodes measured next open one snapshot and replay nothing.
@MainActor func settle(_ engine: Engine) async throws {
    var reported = ContinuousClock.now
    while true {
        let metadata = try await engine.metadata(namespace: "bench")
        let statistics = await engine.indexStatistics()["bench"]?.index
        if metadata.unindexedBytes == 0, let statistics, statistics.pendingJobs == 0 { break }
        if ContinuousClock.now - reported > .seconds(30), let statistics {
            say("  indexing: \(statistics.heads) heads, \(statistics.deltaEntries) delta entries, \(statistics.pendingJobs) jobs pending, \(metadata.unindexedBytes) bytes unindexed")
            reported = ContinuousClock.now
        }
        try await Task.sleep(for: .milliseconds(200))
    }
    if let statistics = await engine.indexStatistics()["bench"]?.index {
        say("  index: \(statistics.heads) heads, \(statistics.postingEntries) posting entries, \(statistics.deltaEntries) in deltas")
    }
    for _ in 0..<20 {
        if try await engine.compact(namespace: "bench") { return }
        try await Task.sleep(for: .seconds(1))
    }
    fail("the namespace could not be compacted")
}

@MainActor func build() async throws {
    var configuration = EngineConfiguration()
    configuration.compactionMinEntries = 2
    configuration.compactionMinBytes = 1 << 20
    // One bulk build over all documents (balanced clustering, RNG replicas), as a
    // namespace loaded before it is queried gets.
    configuration.indexMinimumVectors = documents
    let builder = Engine(storage: try s3(http), configuration: configuration)
    let started = ContinuousClock.now
    if reusePrefix == nil {
        for start in stride(from: 0, to: documents, by: 5_000) {
            var request = WriteRequest()
            request.distanceMetric = .euclideanSquared
            request.upsertRows = (start..<min(documents, start + 5_000)).map { id in
                ["id": .int(Int64(id)), "vector": .array(sample(&random).map { .double(Double($0)) })]
            }
            _ = try await builder.write(namespace: "bench", request)
        }
        say(String(format: "written in %.1f s", seconds(ContinuousClock.now - started)))
    } else {
        say("reusing the namespace under \(prefix)")
    }
    try await settle(builder)
    await builder.shutdown()
    let built = seconds(ContinuousClock.now - started)
    say(String(format: "indexed, compacted and checkpointed on S3 after %.1f s%@", built,
                 reusePrefix == nil ? String(format: " (%.0f vectors/s end to end)", Double(documents) / built) : ""))
}
try await build()

// MARK: measure

let latency = Duration.milliseconds(latencyMilliseconds)
let queries = (0..<queryCount).map { _ in sample(&random) }
@MainActor func request(_ vector: [Float], eventual: Bool) throws -> QueryRequest {
    var query = try QueryRequest.parse(.object([
        "rank_by": .array([.string("vector"), .string("ANN"), .array(vector.map { .double(Double($0)) })]),
        "top_k": .int(10),
    ]))
    if eventual { query.consistency = .eventual }
    return query
}

/// Opens the namespace on `engine` and waits until its index is loaded and caught up.
@MainActor func open(_ engine: Engine) async throws {
    let deadline = ContinuousClock.now + .seconds(600)
    while ContinuousClock.now < deadline {
        let metadata = try await engine.metadata(namespace: "bench")
        if metadata.unindexedBytes == 0, await engine.indexStatistics()["bench"] != nil { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    fail("the index did not load within 600 s")
}

struct Phase {
    var name: String
    var latencies: [Double] = []
    var requests: [Int] = []
    var sequential: [Int] = []
}

@MainActor func run(_ name: String, engine: Engine, transport: MeasuringTransport, eventual: Bool) async throws -> Phase {
    var phase = Phase(name: name)
    _ = transport.take()
    for vector in queries {
        let query = try request(vector, eventual: eventual)
        let start = ContinuousClock.now
        _ = try await engine.query(namespace: "bench", query)
        phase.latencies.append(seconds(ContinuousClock.now - start) * 1000)
        let counts = transport.take()
        phase.requests.append(counts.requests)
        phase.sequential.append(counts.sequential)
    }
    return phase
}

@MainActor func median(_ values: [Int]) -> Int { values.sorted()[values.count / 2] }
@MainActor func row(_ phase: Phase) {
    say(phase.name.padding(toLength: 34, withPad: " ", startingAt: 0)
          + String(format: "%9.1f %9.1f %10.1f %12d %12d", percentile(phase.latencies, 0.5), percentile(phase.latencies, 0.99),
                   Double(phase.requests.reduce(0, +)) / Double(max(1, phase.requests.count)), median(phase.sequential),
                   phase.sequential.max() ?? 0))
}

// A fresh node: no caches at all, index cache off, so every query reads its postings.
let coldTransport = MeasuringTransport(base: http, latency: latency)
var coldConfiguration = EngineConfiguration()
coldConfiguration.indexCacheBytes = 0
let coldNode = Engine(storage: try s3(coldTransport), configuration: coldConfiguration)
let openStart = ContinuousClock.now
_ = try await coldNode.metadata(namespace: "bench")
let openSeconds = seconds(ContinuousClock.now - openStart)
let openCounts = coldTransport.take()
try await open(coldNode)
let readySeconds = seconds(ContinuousClock.now - openStart)
_ = coldTransport.take()
say(String(format: "namespace open on a fresh node (manifest, snapshot, WAL tail): %.2f s, %d object-store requests, %d sequential round trips; index loaded from its checkpoint %.2f s after the start",
             openSeconds, openCounts.requests, openCounts.sequential, readySeconds))
say("")
say("\(queryCount) queries, top 10, single threaded, \(latencyMilliseconds) ms added to every object-store request")
say("phase                              p50 ms    p99 ms  requests/q  seq. RTs p50  seq. RTs max")
let coldStrong = try await run("cold, strong consistency", engine: coldNode, transport: coldTransport, eventual: false)
row(coldStrong)
let coldEventual = try await run("cold, eventual consistency", engine: coldNode, transport: coldTransport, eventual: true)
row(coldEventual)
await coldNode.shutdown()

// A node with its caches: memory, local disk, shared Redis.
let redisPrefix = "bench:\(UInt64.random(in: 0...UInt64.max)):"
let redis = RedisClient(configuration: try RedisClient.Configuration.parse(redisAddress))
@MainActor func cachedNode(_ label: String, transport: MeasuringTransport, directory existing: String? = nil) async throws -> (Engine, TieredCacheBackend, DiskCacheTier, String) {
    let directory = existing ?? NSTemporaryDirectory() + "freshet-bench-cache-\(label)-\(UInt64.random(in: 0...UInt64.max))"
    let disk = try await DiskCacheTier(path: directory, budget: 8 << 30)
    let tiers: [any CacheTier] = [MemoryCacheTier(budget: 512 << 20), disk, RedisCacheTier(client: redis, keyPrefix: redisPrefix)]
    let backend = TieredCacheBackend(base: try s3(transport), tiers: tiers)
    var configuration = EngineConfiguration()
    configuration.indexCacheBytes = 0  // the cache tiers under test serve the postings
    return (Engine(storage: backend, configuration: configuration), backend, disk, directory)
}
@MainActor func hitRates(_ backend: TieredCacheBackend, since before: [CacheTierStatistics]) -> String {
    zip(backend.statistics.tiers, before).map { now, then in
        let hits = now.hits - then.hits, misses = now.misses - then.misses
        return String(format: "%@ %.0f%% (%d/%d)", now.name, hits + misses == 0 ? 0 : 100 * Double(hits) / Double(hits + misses), hits, hits + misses)
    }.joined(separator: ", ")
}

let warmTransport = MeasuringTransport(base: http, latency: latency)
let (warmNode, warmBackend, warmDisk, warmDirectory) = try await cachedNode("a", transport: warmTransport)
try await open(warmNode)
_ = warmTransport.take()
var before = warmBackend.statistics.tiers
let fill = try await run("node A, first pass (fills caches)", engine: warmNode, transport: warmTransport, eventual: true)
row(fill)
let fillRates = hitRates(warmBackend, since: before)
before = warmBackend.statistics.tiers
let warmEventual = try await run("node A, warm, eventual", engine: warmNode, transport: warmTransport, eventual: true)
row(warmEventual)
let warmRates = hitRates(warmBackend, since: before)
let warmStrong = try await run("node A, warm, strong", engine: warmNode, transport: warmTransport, eventual: false)
row(warmStrong)
await warmNode.shutdown()
warmDisk.close()

// Node A restarted: empty memory, its disk cache kept.
let restartTransport = MeasuringTransport(base: http, latency: latency)
let (restartNode, restartBackend, restartDisk, _) = try await cachedNode("a", transport: restartTransport, directory: warmDirectory)
try await open(restartNode)
_ = restartTransport.take()
before = restartBackend.statistics.tiers
let restarted = try await run("node A restarted, disk cache kept", engine: restartNode, transport: restartTransport, eventual: true)
row(restarted)
let restartRates = hitRates(restartBackend, since: before)
await restartNode.shutdown()
restartDisk.close()

let fleetTransport = MeasuringTransport(base: http, latency: latency)
let (fleetNode, fleetBackend, fleetDisk, fleetDirectory) = try await cachedNode("b", transport: fleetTransport)
try await open(fleetNode)
_ = fleetTransport.take()
before = fleetBackend.statistics.tiers
let fleet = try await run("node B, empty L1/L2, shared Redis", engine: fleetNode, transport: fleetTransport, eventual: true)
row(fleet)
let fleetRates = hitRates(fleetBackend, since: before)
await fleetNode.shutdown()
fleetDisk.close()
await redis.close()
try? FileManager.default.removeItem(atPath: warmDirectory)
try? FileManager.default.removeItem(atPath: fleetDirectory)

say("")
say("cache hit rates (posting reads):")
say("  node A first pass: \(fillRates)")
say("  node A warm:       \(warmRates)")
say("  node A restarted:  \(restartRates)")
say("  node B (fleet):    \(fleetRates)")
say(String(format: "\nturbopuffer's published cold p50 for 1M vectors on real S3: ≈ 340 ms; Freshet cold (strong) p50 here: %.0f ms with %d ms per request",
             percentile(coldStrong.latencies, 0.5), latencyMilliseconds))
emit(["event": "objectstore", "docs": documents, "dims": dimensions, "latency_ms": latencyMilliseconds,
      "open_seconds": openSeconds, "open_sequential": openCounts.sequential, "index_ready_seconds": readySeconds,
      "cold_strong_p50_ms": percentile(coldStrong.latencies, 0.5), "cold_strong_p99_ms": percentile(coldStrong.latencies, 0.99),
      "cold_eventual_p50_ms": percentile(coldEventual.latencies, 0.5), "cold_sequential_max": coldStrong.sequential.max() ?? 0,
      "warm_eventual_p50_ms": percentile(warmEventual.latencies, 0.5), "warm_eventual_p99_ms": percentile(warmEventual.latencies, 0.99),
      "warm_strong_p50_ms": percentile(warmStrong.latencies, 0.5), "prefix": prefix])
try await http.shutdown()
