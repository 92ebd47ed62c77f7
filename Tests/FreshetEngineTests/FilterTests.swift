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

    /// Filters of every wrong length are rejected with a message, never trapped on.
    func testMalformedFilterShapesAreRejected() async throws {
        let engine = Engine(storage: MemoryBackend())
        try await engine.write("ns", #"{"upsert_rows":[{"id":1,"n":1}]}"#)
        for filter in [#"["n"]"#, #"[]"#, #"["n","Eq"]"#, #"["n","Eq",1,{}]"#, #"["n","ContainsAnyToken"]"#, #"["And"]"#, #"["Not"]"#, #"[1,2,3]"#] {
            await assertEngineError(.invalidRequest, containing: "filter") {
                _ = try await engine.query("ns", #"{"rank_by":["id","asc"],"filters":\#(filter)}"#)
            }
        }
        for rankBy in [#"["n","BM25"]"#, #"["Sum"]"#, #"["Product",1]"#, #"["Saturate",["Attribute","n"]]"#, #"["Max",1,2,3]"#] {
            do {
                _ = try await engine.query("ns", #"{"rank_by":\#(rankBy),"top_k":5}"#)
                XCTFail("\(rankBy) was accepted")
            } catch let error as EngineError {
                XCTAssertEqual(error.code, .invalidRequest, "\(rankBy): \(error)")
            }
        }
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

final class GroupingTests: XCTestCase {
    func testGroupByAndPerGroupLimits() async throws {
        let engine = Engine(storage: MemoryBackend())
        try await engine.write("ns", #"""
        {"upsert_rows":[
          {"id":1,"color":"red","size":"S","price":10,"tags":["a","b"]},
          {"id":2,"color":"red","size":"M","price":20,"tags":["b"]},
          {"id":3,"color":"blue","size":"S","price":5,"tags":["a","a"]},
          {"id":4,"color":"red","size":"S","price":1},
          {"id":5,"size":"L","price":7,"tags":["c"]}]}
        """#)
        let grouped = try await engine.query("ns", #"{"aggregate_by":{"n":["Count"],"total":["Sum","price"]},"group_by":["color"],"top_k":10}"#)
        XCTAssertEqual(grouped.aggregationGroups, [
            .object(["n": .int(1), "total": .double(7)]),
            .object(["color": .string("blue"), "n": .int(1), "total": .double(5)]),
            .object(["color": .string("red"), "n": .int(3), "total": .double(31)]),
        ], "ordered by key, a missing color first")
        let two = try await engine.query("ns", #"{"aggregate_by":{"n":["Count"]},"group_by":["color","size"],"filters":["price","Gt",1],"top_k":2}"#)
        XCTAssertEqual(two.aggregationGroups?.count, 2, "limit.total caps the groups")
        let tags = try await engine.query("ns", #"{"aggregate_by":{"n":["Count"]},"group_by":[{"tag":["ForEachUnique","tags"]}],"top_k":10}"#)
        XCTAssertEqual(tags.aggregationGroups, [
            .object(["n": .int(1)]),
            .object(["tag": .string("a"), "n": .int(2)]),
            .object(["tag": .string("b"), "n": .int(2)]),
            .object(["tag": .string("c"), "n": .int(1)]),
        ], "a repeated element counts its document once")

        let perColor = try await engine.ids("ns", #"{"rank_by":["price","desc"],"limit":{"total":10,"per":{"attributes":["color"],"limit":2}}}"#)
        XCTAssertEqual(perColor, ["2", "1", "5", "3"], "red keeps its two most expensive; missing color is a group too")
        let capped = try await engine.ids("ns", #"{"rank_by":["price","desc"],"limit":{"total":2,"per":{"attributes":["color"],"limit":1}}}"#)
        XCTAssertEqual(capped, ["2", "5"])

        await assertEngineError(.invalidRequest, containing: "aggregate_by") {
            _ = try await engine.query("ns", #"{"group_by":["color"],"top_k":10}"#)
        }
        await assertEngineError(.invalidRequest, containing: "limit.per") {
            _ = try await engine.query("ns", #"{"rank_by":["price","desc"],"limit":{"total":2,"per":{"attributes":["color"]}}}"#)
        }
    }
}

final class AttributeIndexTests: XCTestCase {
    /// Every operator, alone and combined, through the attribute indexes (after
    /// updates and deletes), equals evaluating the filter on each document.
    func testIndexedFiltersEqualPerDocumentEvaluation() async throws {
        var random = SeededRandom(seed: 21)
        let engine = Engine(storage: MemoryBackend())
        func document(_ id: Int) -> String {
            var fields = ["\"id\":\(id)"]
            if Int.random(in: 0..<5, using: &random) > 0 { fields.append("\"n\":\(Int.random(in: -5..<20, using: &random))") }
            if Int.random(in: 0..<5, using: &random) > 0 { fields.append("\"f\":\(Double(Int.random(in: 0..<40, using: &random)) / 4)") }
            if Int.random(in: 0..<5, using: &random) > 0 { fields.append("\"s\":\"\(["ant", "bee", "cat", "dog", "eel"][Int.random(in: 0..<5, using: &random)])\"") }
            if Int.random(in: 0..<4, using: &random) > 0 {
                let tags = (0..<Int.random(in: 0..<4, using: &random)).map { _ in "\"\(["x", "y", "z", "w"][Int.random(in: 0..<4, using: &random)])\"" }
                fields.append("\"tags\":[\(tags.joined(separator: ","))]")
            }
            if Int.random(in: 0..<4, using: &random) > 0 {
                let nums = (0..<Int.random(in: 0..<3, using: &random)).map { _ in String(Int.random(in: 0..<10, using: &random)) }
                fields.append("\"nums\":[\(nums.joined(separator: ","))]")
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
        try await engine.write("ns", #"{"upsert_rows":[\#((0..<600).map(document).joined(separator: ","))]}"#)
        let updates = (0..<150).map { document($0 * 3) }.joined(separator: ",")
        let deleted: [Int] = (0..<100).map { $0 * 5 + 1 }.filter { $0 % 3 != 0 }
        let deletes = deleted.map(String.init).joined(separator: ",")
        try await engine.write("ns", #"{"upsert_rows":[\#(updates)],"deletes":[\#(deletes)]}"#)
        try await engine.write("ns", #"{"patch_rows":[{"id":2,"n":null,"tags":["x"]},{"id":4,"s":"zebra"}]}"#)

        func literal(_ op: String, _ random: inout SeededRandom) -> String {
            switch op {
            case "In", "NotIn":
                return Bool.random(using: &random) ? "[\(Int.random(in: -5..<20, using: &random)),\(Int.random(in: -5..<20, using: &random)),null]" : #"["ant","cat"]"#
            case "ContainsAny", "NotContainsAny": return Bool.random(using: &random) ? #"["x","w"]"# : "[3,7]"
            case "Contains", "NotContains": return Bool.random(using: &random) ? #""y""# : "5"
            case "Glob", "NotGlob", "IGlob", "NotIGlob":
                return #""\#(["a*", "*e*", "B?e", "[a-c]*", "zeb*", "x", "*"][Int.random(in: 0..<7, using: &random)])""#
            default:
                switch Int.random(in: 0..<4, using: &random) {
                case 0: return "null"
                case 1: return #""\#(["ant", "bee", "cat", "zebra"][Int.random(in: 0..<4, using: &random)])""#
                case 2: return String(Double(Int.random(in: 0..<40, using: &random)) / 4)
                default: return String(Int.random(in: -5..<20, using: &random))
                }
            }
        }
        let operators = ["Eq", "NotEq", "In", "NotIn", "Lt", "Lte", "Gt", "Gte", "Contains", "NotContains", "ContainsAny", "NotContainsAny",
                         "AnyLt", "AnyLte", "AnyGt", "AnyGte", "Glob", "NotGlob", "IGlob", "NotIGlob"]
        func condition(_ random: inout SeededRandom) -> String {
            let op = operators[Int.random(in: 0..<operators.count, using: &random)]
            var attributes = ["n", "f", "s"]
            if op.hasSuffix("Glob") { attributes = ["s", "tags", "n"] }
            if op.hasPrefix("Contains") || op.hasPrefix("NotContains") || op.hasPrefix("Any") { attributes = ["tags", "nums", "n", "s"] }
            let attribute = attributes[Int.random(in: 0..<attributes.count, using: &random)]
            return #"["\#(attribute)","\#(op)",\#(literal(op, &random))]"#
        }
        let state = try await engine.existing("ns").readState(strong: true)
        var indexed = 0
        for trial in 0..<400 {
            let json = randomFilter(trial % 3, &random) { condition(&$0) }
            let compiled: Filter
            do { compiled = try Filter.compile(JSONParser.parse(json), schema: state.schema, field: "filters") } catch { continue }  // literal of another type
            if FilterPlan(compiled, state: state).candidates != nil { indexed += 1 }
            let expected = state.documents.values.filter { compiled.matches($0) }.map(\.id).sorted().map(\.description)
            let got = try await engine.ids("ns", #"{"rank_by":["id","asc"],"top_k":10000,"filters":\#(json)}"#)
            XCTAssertEqual(got, expected, json)
        }
        XCTAssertGreaterThan(indexed, 200, "most filters should be answered from the indexes")
    }
}

extension AttributeIndexTests {
    /// Exact distances over a filter's matches find vectors by attribute ordinal: they
    /// stay right through deletes, replacements, documents that lose their vector and
    /// slot reuse.
    func testExactFilteredDistancesFollowVectorChanges() async throws {
        var random = SeededRandom(seed: 41)
        func vector() -> String { "[" + (0..<4).map { _ in String(Double(random.next() % 1000) / 100) }.joined(separator: ",") + "]" }
        let engine = Engine(storage: MemoryBackend())
        let rows = (0..<500).map { #"{"id":\#($0),"g":\#($0 % 10),"vector":\#(vector())}"# }
        try await engine.write("ns", #"{"distance_metric":"euclidean_squared","upsert_rows":[\#(rows.joined(separator: ","))]}"#)
        try await engine.write("ns", #"{"deletes":[\#((0..<50).map { String($0 * 7) }.joined(separator: ","))]}"#)
        let replaced = (0..<50).map { #"{"id":\#($0 * 3),"g":\#(($0 * 3) % 10),"vector":\#(vector())}"# }
        let added = (500..<540).map { #"{"id":\#($0),"g":\#($0 % 10),"vector":\#(vector())}"# }
        let vectorless = (0..<30).map { #"{"id":\#($0 * 11 + 1),"g":\#(($0 * 11 + 1) % 10)}"# }
        try await engine.write("ns", #"{"upsert_rows":[\#((replaced + added).joined(separator: ","))]}"#)
        try await engine.write("ns", #"{"upsert_rows":[\#(vectorless.joined(separator: ","))]}"#)
        let state = try await engine.existing("ns").readState(strong: true)
        let query: [Float] = [5, 5, 5, 5]
        for g in 0..<10 {
            var expected: [(DocumentID, Float)] = []
            for document in state.allDocuments() where document.attributes["g"] == .int(Int64(g)) {
                guard let vector = document.vector else { continue }
                expected.append((document.id, zip(vector, query).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }))
            }
            expected.sort { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
            let got = try await engine.ids("ns", #"{"rank_by":["vector","kNN",[5,5,5,5]],"top_k":15,"filters":["g","Eq",\#(g)]}"#)
            XCTAssertEqual(got, expected.prefix(15).map(\.0.description), "g = \(g)")
        }
    }

    /// Making an attribute filterable on a large namespace builds its index in the
    /// background: filters answer correctly meanwhile (evaluated per document), writes
    /// made during the build are caught up, and then the index answers.
    func testNewlyFilterableAttributesAreIndexedInTheBackground() async throws {
        var configuration = EngineConfiguration()
        configuration.attributeInlineBuildLimit = 100
        let engine = Engine(storage: MemoryBackend(), configuration: configuration)
        let rows = (0..<20_000).map { #"{"id":\#($0),"n":\#($0 % 50),"tags":["t\#($0 % 7)"]}"# }
        try await engine.write("ns", #"{"schema":{"n":{"type":"int","filterable":false},"tags":{"type":"[]string","filterable":false}},"upsert_rows":[\#(rows.joined(separator: ","))]}"#)
        try await engine.write("ns", #"{"schema":{"n":{"type":"int","filterable":true},"tags":{"type":"[]string","filterable":true}}}"#)
        // Written while the build may still run: replacements, deletes, new documents.
        try await engine.write("ns", #"{"upsert_rows":[{"id":3,"n":7,"tags":["t0"]},{"id":20000,"n":7,"tags":["t3"]}],"deletes":[57,107]}"#)
        let during = try await engine.ids("ns", #"{"rank_by":["id","asc"],"top_k":10000,"filters":["n","Eq",7]}"#)
        var state = try await engine.existing("ns").readState(strong: true)
        for _ in 0..<500 where !state.attributes.building.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
            state = try await engine.existing("ns").readState(strong: true)
        }
        XCTAssertTrue(state.attributes.building.isEmpty, "the background build should finish")
        XCTAssertNotNil(state.attributes.attributes["n"])
        for filter in [#"["n","Eq",7]"#, #"["n","Lt",3]"#, #"["tags","Contains","t3"]"#, #"["And",[["n","Gte",40],["tags","ContainsAny",["t0","t1"]]]]"#] {
            let compiled = try Filter.compile(JSONParser.parse(filter), schema: state.schema, field: "filters")
            XCTAssertNotNil(FilterPlan(compiled, state: state).candidates, "\(filter): answered from the installed index")
            let expected = state.documents.values.filter { compiled.matches($0) }.map(\.id).sorted().map(\.description)
            let got = try await engine.ids("ns", #"{"rank_by":["id","asc"],"top_k":10000,"filters":\#(filter)}"#)
            XCTAssertEqual(got, expected, filter)
            if filter == #"["n","Eq",7]"# { XCTAssertEqual(during, expected, "the answer during the build is the same") }
        }
    }

    /// Regex and Glob on an indexed attribute decide per distinct value.
    func testRegexAndGlobThroughTheIndexes() async throws {
        let engine = Engine(storage: MemoryBackend())
        try await engine.write("ns", #"{"schema":{"name":{"type":"string","regex":true,"filterable":true}},"upsert_rows":[{"id":1,"name":"alpha"},{"id":2,"name":"alphabet"},{"id":3,"name":"beta"},{"id":4}]}"#)
        let state = try await engine.existing("ns").readState(strong: true)
        let filter = try Filter.compile(JSONParser.parse(#"["name","Regex","^al.*t$"]"#), schema: state.schema, field: "filters")
        XCTAssertEqual(FilterPlan(filter, state: state).candidates?.count, 1, "answered from the value bitmaps")
        let regex = try await engine.ids("ns", #"{"rank_by":["id","asc"],"top_k":10,"filters":["name","Regex","^al.*t$"]}"#)
        XCTAssertEqual(regex, ["2"])
        let notGlob = try await engine.ids("ns", #"{"rank_by":["id","asc"],"top_k":10,"filters":["name","NotGlob","alph*"]}"#)
        XCTAssertEqual(notGlob, ["3", "4"], "a missing value matches the negation")
    }
}

final class SortedValuesTests: XCTestCase {
    /// Inserts, removals and range reads against a sorted array, across chunk splits.
    func testAgreesWithASortedArray() {
        var random = SeededRandom(seed: 30)
        var sorted = SortedValues()
        var model = Set<Int64>()
        for step in 0..<6000 {
            let value = Int64(random.next() % 3000)
            if random.next() % 3 == 0 {
                sorted.remove(.int(value))
                model.remove(value)
            } else {
                sorted.insert(.int(value))
                model.insert(value)
            }
            if step % 500 == 0 || step == 5999 {
                let expected = model.sorted()
                XCTAssertEqual(sorted.all, expected.map { .int($0) })
                XCTAssertEqual(sorted.count, expected.count)
                for bound in [Int64(-1), 0, 17, 1500, 2999, 5000] {
                    XCTAssertEqual(sorted.values(below: .int(bound), inclusive: false), expected.filter { $0 < bound }.map { .int($0) })
                    XCTAssertEqual(sorted.values(below: .int(bound), inclusive: true), expected.filter { $0 <= bound }.map { .int($0) })
                    XCTAssertEqual(sorted.values(above: .int(bound), inclusive: false), expected.filter { $0 > bound }.map { .int($0) })
                    XCTAssertEqual(sorted.values(above: .float(Double(bound) + 0.5), inclusive: true), expected.filter { Double($0) >= Double(bound) + 0.5 }.map { .int($0) })
                }
            }
        }
    }
}
