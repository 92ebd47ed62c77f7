// freshet-bench-filter: filtered vector search through the engine, single threaded.
//
// Loads a namespace of clustered vectors with an integer attribute `sel` spread evenly
// over 0..<1000 and `kind`, the vector's cluster mod 10, waits for the SPFresh index to
// catch up, then runs the same queries unfiltered and with filters matching 50%, 10%,
// 1% and 0.1% of the documents, printing QPS, p50/p99 and recall@10 against exact (kNN)
// search with the same filter. Shows the planner's choice: exact distances over few
// matches (counted by the attribute indexes), the index with bitmap acceptance over
// many. A last row filters on a `kind` other than the query's own cluster's: 10% of
// the documents, none of them near the query — the case posting summaries are for.
//
//   make bench-filter   (or: .build/release/freshet-bench-filter [--docs N] [--dims D] [--queries Q] [--no-summaries])
import Foundation
import FreshetBenchSupport
import FreshetEngine
import FreshetIndex
import FreshetStorage

var documents = 200_000
var dimensions = 128
var queryCount = 500
var summaries = true
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--no-summaries" { summaries = false; continue }
    guard let value = arguments.next().flatMap(Int.init) else { fail("\(argument) needs an integer") }
    switch argument {
    case "--docs": documents = value
    case "--dims": dimensions = value
    case "--queries": queryCount = value
    default: fail("unknown option \(argument); options: --docs N --dims D --queries Q --no-summaries")
    }
}

func uniform(_ random: inout SplitMix64) -> Float { Float(random.next() >> 40) / Float(1 << 24) * 2 - 1 }
var random = SplitMix64(state: 42)
let centers = (0..<256).map { _ in (0..<dimensions).map { _ in uniform(&random) * 4 } }
func sample(_ random: inout SplitMix64, _ centers: [[Float]]) -> (vector: [Float], cluster: Int) {
    let cluster = Int(random.next() % UInt64(centers.count))
    return (centers[cluster].map { $0 + uniform(&random) }, cluster)
}
func vectorJSON(_ vector: [Float]) -> String { "[" + vector.map { String($0) }.joined(separator: ",") + "]" }

var configuration = EngineConfiguration()
configuration.postingSummaries = summaries
let engine = Engine(storage: MemoryBackend(), configuration: configuration)
let loadStart = ContinuousClock.now
for start in stride(from: 0, to: documents, by: 5_000) {
    let rows = (start..<min(documents, start + 5_000)).map { id -> String in
        let (vector, cluster) = sample(&random, centers)
        return #"{"id":\#(id),"sel":\#((id &* 7919) % 1000),"kind":\#(cluster % 10),"vector":\#(vectorJSON(vector))}"#
    }
    let body = #"{"distance_metric":"euclidean_squared","upsert_rows":[\#(rows.joined(separator: ","))]}"#
    _ = try await engine.write(namespace: "bench", WriteRequest.parse(JSONParser.parse(body)))
}
while true {
    let metadata = try await engine.metadata(namespace: "bench")
    if metadata.unindexedBytes == 0, await engine.indexStatistics()["bench"] != nil { break }
    try await Task.sleep(for: .milliseconds(50))
}
let loadSeconds = seconds(ContinuousClock.now - loadStart)
emit(["event": "load", "docs": documents, "dims": dimensions, "seconds": loadSeconds])

let samples = (0..<queryCount).map { _ in sample(&random, centers) }
let queries = samples.map(\.vector)
func request(_ vector: [Float], filter: String?, exact: Bool) throws -> QueryRequest {
    let filterPart = filter.map { #","filters":\#($0)"# } ?? ""
    return try QueryRequest.parse(JSONParser.parse(#"{"rank_by":["vector","\#(exact ? "kNN" : "ANN")",\#(vectorJSON(vector))],"top_k":10\#(filterPart)}"#))
}

print("")
print("filtered vector search: \(documents) × \(dimensions)-d, \(queryCount) queries, top 10, single threaded, through the engine")
print("filter        matches   QPS       p50 ms  p99 ms  recall@10  vs unfiltered QPS")
var unfilteredQPS = 0.0
for (threshold, label) in [(1000, "none"), (500, "50%"), (100, "10%"), (10, "1%"), (1, "0.1%"), (-1, "10% far")] {
    // "10% far": the kind of a cluster 5 kinds away from the query's own.
    func filter(_ query: Int) -> String? {
        threshold == 1000 ? nil : threshold < 0 ? #"["kind","Eq",\#((samples[query].cluster + 5) % 10)]"# : #"["sel","Lt",\#(threshold)]"#
    }
    let requests = try queries.indices.map { try request(queries[$0], filter: filter($0), exact: false) }
    _ = try await engine.query(namespace: "bench", requests[0])  // warm
    var latencies: [Double] = []
    var results: [[DocumentID]] = []
    let started = ContinuousClock.now
    for query in requests {
        let start = ContinuousClock.now
        let result = try await engine.query(namespace: "bench", query)
        latencies.append(seconds(ContinuousClock.now - start) * 1000)
        results.append(result.rows.map(\.document.id))
    }
    let qps = Double(requests.count) / seconds(ContinuousClock.now - started)
    if threshold == 1000 { unfilteredQPS = qps }
    var recall = 0.0
    for (index, vector) in queries.enumerated() {
        let truth = Set(try await engine.query(namespace: "bench", request(vector, filter: filter(index), exact: true)).rows.map(\.document.id))
        recall += truth.isEmpty ? 1 : Double(results[index].filter { truth.contains($0) }.count) / Double(truth.count)
    }
    recall /= Double(queries.count)
    let matches = threshold < 0 ? documents / 10 : documents * threshold / 1000
    emit(["event": "search", "filter": label, "matches": matches, "qps": qps, "p50_ms": percentile(latencies, 0.5),
          "p99_ms": percentile(latencies, 0.99), "recall": recall])
    print(String(format: "%-12@  %-8d  %-8.0f  %-6.3f  %-6.3f  %-9.3f  %.2fx", label as NSString, matches, qps,
                 percentile(latencies, 0.5), percentile(latencies, 0.99), recall, qps / unfilteredQPS))
}
await engine.shutdown()
