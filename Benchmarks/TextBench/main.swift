// freshet-bench-text: Freshet's full-text index (FreshetText: analyzer, inverted index,
// block-max WAND BM25) on a JSON-lines corpus, driven by Benchmarks/text_bench.py,
// which runs tantivy on the same files.
//
// Prints JSON lines: one "index" event (documents, seconds, resident bytes) and one
// "search" event (queries, seconds, p50/p99). Writes each query's top-k ids to --out,
// one JSON line per query in order. Single threaded throughout; reading and parsing
// the corpus is not timed.
import Foundation
import FreshetBenchSupport
import FreshetEngine
import FreshetText

struct Options {
    var corpus = ""
    var queries = ""
    var out = ""
    var k = 10
    var tokenizer = TextAnalyzerOptions.Tokenizer.wordV2
    var limit = Int.max

    static func parse() -> Options {
        var options = Options()
        let arguments = OptionReader()
        let value = arguments.value
        while let argument = arguments.next() {
            switch argument {
            case "--corpus": options.corpus = value(argument)
            case "--queries": options.queries = value(argument)
            case "--out": options.out = value(argument)
            case "--k": options.k = Int(value(argument)) ?? 10
            case "--docs": options.limit = Int(value(argument)) ?? .max
            case "--tokenizer":
                guard let tokenizer = TextAnalyzerOptions.Tokenizer(rawValue: value(argument)) else { fail("unknown --tokenizer") }
                options.tokenizer = tokenizer
            default: fail("unknown option \(argument)")
            }
        }
        guard !options.corpus.isEmpty, !options.queries.isEmpty else {
            fail("usage: freshet-bench-text --corpus C.jsonl --queries Q.txt [--out R.jsonl] [--k 10] [--docs N] [--tokenizer word_v2]")
        }
        return options
    }
}

let options = Options.parse()
guard let corpusData = FileManager.default.contents(atPath: options.corpus) else { fail("cannot read \(options.corpus)") }
var ids: [Int64] = []
var texts: [String] = []
for line in corpusData.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
    guard ids.count < options.limit else { break }
    guard let object = try? JSONParser.parse(Array(line)), let id = object["id"]?.intValue, let text = object["text"]?.stringValue else {
        fail("corpus lines are {\"id\": integer, \"text\": string}")
    }
    ids.append(Int64(id))
    texts.append(text)
}
guard let queryText = try? String(contentsOfFile: options.queries, encoding: .utf8) else { fail("cannot read \(options.queries)") }
let queries = queryText.split(separator: "\n").map(String.init).filter { !$0.isEmpty }

// Defaults of the reference's schema with tantivy's default analyzer's tokenizing:
// letters-and-digits runs, lowercase, tokens over 39 bytes dropped, no stemming or stop words.
var analyzerOptions = TextAnalyzerOptions()
analyzerOptions.tokenizer = options.tokenizer
let analyzer = TextAnalyzer(analyzerOptions)
let before = residentBytes()
var index = InvertedIndex()
let clock = ContinuousClock()
let indexStart = clock.now
for text in texts { index.add(analyzer.terms(text)) }
let indexSeconds = seconds(clock.now - indexStart)
emit(["event": "index", "docs": texts.count, "seconds": indexSeconds, "docs_per_second": Double(texts.count) / indexSeconds,
      "rss_bytes": residentBytes() - before, "terms": index.termCount, "tokenizer": options.tokenizer.rawValue])

var latencies: [Double] = []
var results: [[Int64]] = []
latencies.reserveCapacity(queries.count)
let searchStart = clock.now
for query in queries {
    let start = clock.now
    let hits = index.search(analyzer.terms(query), k: options.k)
    latencies.append(seconds(clock.now - start) * 1000)
    results.append(hits.map { ids[Int($0.ordinal)] })
}
let searchSeconds = seconds(clock.now - searchStart)
emit(["event": "search", "queries": queries.count, "seconds": searchSeconds, "qps": Double(queries.count) / searchSeconds,
      "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99), "k": options.k])

if !options.out.isEmpty {
    var lines = ""
    for (query, top) in zip(queries, results) {
        let data = try JSONSerialization.data(withJSONObject: ["query": query, "ids": top], options: [.sortedKeys])
        lines += String(decoding: data, as: UTF8.self) + "\n"
    }
    do { try lines.write(toFile: options.out, atomically: true, encoding: .utf8) } catch { fail("cannot write \(options.out): \(error)") }
}
