@testable import FreshetEngine
import FreshetStorage
import XCTest

final class FilterTests: XCTestCase {
    func testOperatorsAndNullRules() async throws {
        let engine = Engine(storage: MemoryBackend())
        try await engine.write("ns", #"""
        {"upsert_rows":[
          {"id":1,"color":"red","size":3.0,"tags":["a","b"],"name":"apple pie"},
          {"id":2,"color":"blue","size":10.0,"tags":["b"],"name":"Banana"},
          {"id":3,"size":7.5,"name":"cherry"},
          {"id":4,"color":"red"}]}
        """#)
        func ids(_ filter: String) async throws -> [String] {
            try await engine.ids("ns", #"{"rank_by":["id","asc"],"top_k":100,"filters":\#(filter)}"#)
        }
        var value = try await ids(#"["color","Eq","red"]"#); XCTAssertEqual(value, ["1", "4"])
        value = try await ids(#"["color","Eq",null]"#); XCTAssertEqual(value, ["3"], "Eq null matches a missing attribute")
        value = try await ids(#"["color","NotEq",null]"#); XCTAssertEqual(value, ["1", "2", "4"])
        value = try await ids(#"["color","NotEq","red"]"#); XCTAssertEqual(value, ["2", "3"], "NotEq matches missing values")
        value = try await ids(#"["color","In",["blue","green"]]"#); XCTAssertEqual(value, ["2"])
        value = try await ids(#"["color","NotIn",["red"]]"#); XCTAssertEqual(value, ["2", "3"])
        value = try await ids(#"["size","Lt",7.5]"#); XCTAssertEqual(value, ["1"], "ordering never matches null, int/float compare numerically")
        value = try await ids(#"["size","Lte",7.5]"#); XCTAssertEqual(value, ["1", "3"])
        value = try await ids(#"["size","Gt",3]"#); XCTAssertEqual(value, ["2", "3"])
        value = try await ids(#"["size","Gte",10]"#); XCTAssertEqual(value, ["2"])
        value = try await ids(#"["tags","Contains","a"]"#); XCTAssertEqual(value, ["1"])
        value = try await ids(#"["tags","ContainsAny",["a","b"]]"#); XCTAssertEqual(value, ["1", "2"])
        value = try await ids(#"["tags","NotContains","a"]"#); XCTAssertEqual(value, ["2", "3", "4"])
        value = try await ids(#"["tags","AnyGt","a"]"#); XCTAssertEqual(value, ["1", "2"])
        value = try await ids(#"["name","Glob","*pie"]"#); XCTAssertEqual(value, ["1"])
        value = try await ids(#"["name","IGlob","b*"]"#); XCTAssertEqual(value, ["2"])
        value = try await ids(#"["name","NotGlob","[ab]*"]"#); XCTAssertEqual(value, ["2", "3", "4"])
        value = try await ids(#"["And",[["color","Eq","red"],["size","Gt",1]]]"#); XCTAssertEqual(value, ["1"])
        value = try await ids(#"["Or",[["color","Eq","blue"],["size","Eq",7.5]]]"#); XCTAssertEqual(value, ["2", "3"])
        value = try await ids(#"["Not",["color","Eq","red"]]"#); XCTAssertEqual(value, ["2", "3"])
        value = try await ids(#"["id","In",[2,4]]"#); XCTAssertEqual(value, ["2", "4"])
        value = try await ids(#"["id","Gt",2]"#); XCTAssertEqual(value, ["3", "4"])
    }

    func testRandomizedFiltersAgreeWithABruteForceEvaluator() async throws {
        var random = SeededRandom(seed: 11)
        let engine = Engine(storage: MemoryBackend())
        var rows: [(Int, Int?, String?)] = []
        var json: [String] = []
        for id in 0..<300 {
            let n: Int? = Int.random(in: 0..<4, using: &random) == 0 ? nil : Int.random(in: 0..<50, using: &random)
            let s: String? = Int.random(in: 0..<4, using: &random) == 0 ? nil : ["x", "y", "z"][Int.random(in: 0..<3, using: &random)]
            rows.append((id, n, s))
            var fields = ["\"id\":\(id)"]
            if let n { fields.append("\"n\":\(n)") }
            if let s { fields.append("\"s\":\"\(s)\"") }
            json.append("{" + fields.joined(separator: ",") + "}")
        }
        try await engine.write("ns", #"{"upsert_rows":[\#(json.joined(separator: ","))]}"#)
        for _ in 0..<60 {
            let threshold = Int.random(in: 0..<50, using: &random)
            let letter = ["x", "y", "z"][Int.random(in: 0..<3, using: &random)]
            let cases: [(String, ((Int, Int?, String?)) -> Bool)] = [
                (#"["n","Lt",\#(threshold)]"#, { $0.1.map { $0 < threshold } ?? false }),
                (#"["n","Gte",\#(threshold)]"#, { $0.1.map { $0 >= threshold } ?? false }),
                (#"["s","NotEq","\#(letter)"]"#, { $0.2 != letter }),
                (#"["Or",[["s","Eq","\#(letter)"],["n","Eq",null]]]"#, { $0.2 == letter || $0.1 == nil }),
                (#"["Not",["And",[["n","Lte",\#(threshold)],["s","In",["\#(letter)"]]]]]"#, { !(($0.1.map { $0 <= threshold } ?? false) && $0.2 == letter) }),
            ]
            for (filter, oracle) in cases {
                let got = try await engine.ids("ns", #"{"rank_by":["id","asc"],"top_k":1000,"filters":\#(filter)}"#)
                let expected = rows.filter(oracle).map { String($0.0) }
                XCTAssertEqual(got, expected, filter)
            }
        }
    }
}
