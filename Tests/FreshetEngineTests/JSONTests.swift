@testable import FreshetEngine
import XCTest

final class JSONTests: XCTestCase {
    func testParsesEveryKindAndKeepsIntegersExact() throws {
        let value = try JSONParser.parse(#"{"a":[1,-2,18446744073709551615,1.5,2e3,true,false,null,"x\u00e9\n\ud83d\ude00"]}"#)
        XCTAssertEqual(value["a"], .array([.int(1), .int(-2), .uint(UInt64.max), .double(1.5), .double(2000), .bool(true), .bool(false), .null, .string("xé\n😀")]))
    }

    func testRejectsMalformedInputWithAnOffset() {
        for bad in ["{", "[1,]", "{\"a\" 1}", "01", "\"\\x\"", "1 2", "[\"\\ud800\"]", "nul", "-", "{\"a\":1,}"] {
            XCTAssertThrowsError(try JSONParser.parse(bad), bad) { error in
                XCTAssertTrue(error is JSONParseError, "\(bad): \(error)")
            }
        }
    }

    func testDeepNestingIsRejectedNotCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try JSONParser.parse(deep))
    }

    func testRoundTrip() throws {
        let text = #"{"b":[1,2.5,"q\"uote"],"a":{"n":null}}"#
        let value = try JSONParser.parse(text)
        XCTAssertEqual(try JSONParser.parse(JSONWriter.serialize(value)), value)
        XCTAssertEqual(JSONWriter.string(value), #"{"a":{"n":null},"b":[1,2.5,"q\"uote"]}"#)
    }
}

final class JSONNumberTests: XCTestCase {
    func testFastPathMatchesTheStandardLibraryOnRandomDecimals() throws {
        var random = SeededRandom(seed: 3)
        for _ in 0..<20_000 {
            let value = Double(bitPattern: random.next() >> 2) // positive, any exponent
            let texts = [String(value), String(Float(bitPattern: UInt32(truncatingIfNeeded: random.next()) & 0x7EFF_FFFF)),
                         "\(Int.random(in: -99999...99999, using: &random)).\(Int.random(in: 0...999999, using: &random))",
                         "\(Int.random(in: 1...999, using: &random))e\(Int.random(in: -30...30, using: &random))"]
            for text in texts where Double(text)?.isFinite == true {
                guard case .double(let parsed) = try JSONParser.parse(text) else {
                    if case .int = try JSONParser.parse(text) { continue }
                    XCTFail("\(text) did not parse as a number"); continue
                }
                XCTAssertEqual(parsed.bitPattern, Double(text)!.bitPattern, text)
            }
        }
    }
}
