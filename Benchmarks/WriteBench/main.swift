// Write throughput of the namespace engine on the RocksDB backend, in 1,000-document
// batches of 128-d and 768-d vectors, beside the storage ceiling measured in the same
// run: raw RocksDB puts of the same WAL bytes with the same durability (fsync).
//
//   make bench-write            (or: swift build -c release --product freshet-bench-write
//                                    && .build/release/freshet-bench-write [--batches N])
import Foundation
import FreshetBenchSupport
import FreshetEngine
import FreshetIndex
import FreshetRocksDB
import FreshetStorage

extension SplitMix64 {
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
}


func makeBodies(dimensions: Int, batches: Int, batchSize: Int, seed: UInt64) -> [[UInt8]] {
    var rng = SplitMix64(state: seed)
    return (0..<batches).map { batch in
        var text = "{\"upsert_rows\":["
        for row in 0..<batchSize {
            if row > 0 { text += "," }
            let id = batch * batchSize + row
            text += "{\"id\":\(id),\"category\":\"c\(id % 16)\",\"price\":\(id % 1000),\"vector\":["
            for d in 0..<dimensions {
                if d > 0 { text += "," }
                text += String(rng.float())
            }
            text += "]}"
        }
        text += "],\"distance_metric\":\"cosine_distance\"}"
        return Array(text.utf8)
    }
}

func run(dimensions: Int, batches: Int, concurrency: Int, directory: String) async throws -> (docsPerSecond: Double, megabytesPerSecond: Double, walBytes: Int, parseSeconds: Double) {
    let batchSize = 1000
    let bodies = makeBodies(dimensions: dimensions, batches: batches, batchSize: batchSize, seed: UInt64(dimensions))
    let parseStart = ContinuousClock.now
    let requests = try bodies.map { try WriteRequest.parse(JSONParser.parse($0)) }
    let parseSeconds = seconds(ContinuousClock.now - parseStart)
    let storage = try RocksDBBackend(configuration: RocksDBConfiguration(path: directory))
    let engine = Engine(storage: storage)
    let started = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                var index = worker
                while index < requests.count {
                    _ = try await engine.write(namespace: "bench", requests[index])
                    index += concurrency
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = seconds(ContinuousClock.now - started)
    await engine.shutdown()
    let walBytes = try await storage.listAll(prefix: "namespaces/bench/").reduce(0) { $0 + $1.size }
    let documents = Double(batches * batchSize)
    let payloadBytes = Double(bodies.reduce(0) { $0 + $1.count })
    storage.close()
    return (documents / elapsed, payloadBytes / elapsed / 1e6, walBytes, parseSeconds)
}

/// The ceiling: the same number of fsynced puts of the same total bytes, straight to RocksDB.
func rawPuts(count: Int, bytesEach: Int, directory: String) async throws -> Double {
    let storage = try RocksDBBackend(configuration: RocksDBConfiguration(path: directory))
    let body = [UInt8](repeating: 7, count: bytesEach)
    let started = ContinuousClock.now
    for index in 0..<count { _ = try await storage.put("raw/\(index)", body, condition: .ifAbsent) }
    let elapsed = seconds(ContinuousClock.now - started)
    storage.close()
    return elapsed
}

let arguments = CommandLine.arguments
let batchesArgument = arguments.firstIndex(of: "--batches").flatMap { Int(arguments[$0 + 1]) }
let root = FileManager.default.temporaryDirectory.appendingPathComponent("freshet-bench-\(UUID().uuidString)").path
defer { try? FileManager.default.removeItem(atPath: root) }

print("Freshet write benchmark — RocksDB backend, fsync on, 1,000-document batches")
print("columns: engine docs/s and request MB/s (JSON in), vs raw RocksDB fsynced puts of the same WAL bytes")
print("")
print("dims  writers  batches  docs/s     MB/s    WAL MB   JSON parse docs/s   raw-put docs/s   engine/raw")
for (dimensions, defaultBatches) in [(128, 100), (768, 30)] {
    let batches = batchesArgument ?? defaultBatches
    for concurrency in [1, 4] {
        let directory = root + "/d\(dimensions)-c\(concurrency)"
        let result = try await run(dimensions: dimensions, batches: batches, concurrency: concurrency, directory: directory)
        let rawSeconds = try await rawPuts(count: batches, bytesEach: result.walBytes / max(1, batches), directory: directory + "-raw")
        let rawDocs = Double(batches * 1000) / rawSeconds
        let parseRate = Double(batches * 1000) / result.parseSeconds
        print(String(format: "%4d  %7d  %7d  %9.0f  %7.1f  %7.1f  %18.0f  %15.0f  %9.2f",
                     dimensions, concurrency, batches, result.docsPerSecond, result.megabytesPerSecond,
                     Double(result.walBytes) / 1e6, parseRate, rawDocs, result.docsPerSecond / rawDocs))
    }
}
