@testable import FreshetEngine
import FreshetStorage
import XCTest

extension Engine {
    @discardableResult
    func write(_ namespace: String, _ json: String) async throws -> WriteResult {
        try await write(namespace: namespace, WriteRequest.parse(JSONParser.parse(json)))
    }

    func query(_ namespace: String, _ json: String) async throws -> QueryResult {
        try await query(namespace: namespace, QueryRequest.parse(JSONParser.parse(json)))
    }

    func ids(_ namespace: String, _ json: String) async throws -> [String] {
        try await query(namespace, json).rows.map { $0.document.id.description }
    }
}

/// Asserts that `body` throws an EngineError with `code` whose message contains `fragment`.
func assertEngineError(
    _ code: EngineError.Code, containing fragment: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        XCTFail("expected \(code) error containing \"\(fragment)\"", file: file, line: line)
    } catch let error as EngineError {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        XCTAssertTrue(error.message.contains(fragment), "message \"\(error.message)\" lacks \"\(fragment)\"", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

/// A random filter of `depth` levels of And/Or/Not over conditions `condition` makes.
func randomFilter(_ depth: Int, _ random: inout SeededRandom, condition: (inout SeededRandom) -> String) -> String {
    switch depth == 0 ? 0 : Int.random(in: 0..<4, using: &random) {
    case 1: return #"["And",[\#(randomFilter(depth - 1, &random, condition: condition)),\#(randomFilter(depth - 1, &random, condition: condition))]]"#
    case 2: return #"["Or",[\#(randomFilter(depth - 1, &random, condition: condition)),\#(randomFilter(depth - 1, &random, condition: condition))]]"#
    case 3: return #"["Not",\#(randomFilter(depth - 1, &random, condition: condition))]"#
    default: return condition(&random)
    }
}

/// A deterministic generator for test data.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9e37_79b9_7f4a_7c15 }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
