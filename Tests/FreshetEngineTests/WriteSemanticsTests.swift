import Foundation
@testable import FreshetEngine
import FreshetStorage
import XCTest

final class WriteSemanticsTests: XCTestCase {
    var engine: Engine!

    override func setUp() { engine = Engine(storage: MemoryBackend()) }

    func testUpsertRowsAndColumnsThenQueryByVector() async throws {
        try await engine.write("ns", #"{"upsert_rows":[{"id":1,"vector":[1,0],"name":"a"},{"id":2,"vector":[0,1],"name":"b"}],"distance_metric":"euclidean_squared"}"#)
        try await engine.write("ns", #"{"upsert_columns":{"id":[3,4],"vector":[[1,1],[-1,0]],"name":["c",null]}}"#)
        let result = try await engine.query("ns", #"{"rank_by":["vector","ANN",[1,0.1]],"top_k":3,"include_attributes":["name"]}"#)
        XCTAssertEqual(result.rows.map { $0.document.id.description }, ["1", "3", "2"])
        XCTAssertEqual(result.rows[0].distance!, 0.01, accuracy: 1e-6)
        XCTAssertEqual(result.rows[1].document.attributes["name"], .string("c"))
        let four = try await engine.query("ns", #"{"rank_by":["id","asc"],"filters":["id","Eq",4],"include_attributes":true}"#)
        XCTAssertNil(four.rows.first?.document.attributes["name"], "a null column value must leave the attribute missing")
    }

    func testBase64VectorsAreAccepted() async throws {
        let floats: [Float] = [0.5, -2]
        var bytes: [UInt8] = []
        for value in floats { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        let encoded = Data(bytes).base64EncodedString()
        try await engine.write("ns", #"{"upsert_rows":[{"id":"x","vector":"\#(encoded)"}]}"#)
        let state = try await engine.state(namespace: "ns")
        XCTAssertEqual(state.document(.string("x"))?.vector, floats)
    }

    func testHalfPrecisionVectorsAreRoundedAndAcceptBase64Halves() async throws {
        try await engine.write("h", #"{"schema":{"vector":"[2]f16"},"upsert_rows":[{"id":1,"vector":[0.1,1000.3]}]}"#)
        var state = try await engine.state(namespace: "h")
        XCTAssertEqual(state.document(.uint(1))?.vector, [Float(Float16(0.1)), Float(Float16(1000.3))])
        var bytes: [UInt8] = []
        for value: Float16 in [0.5, -2] { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        try await engine.write("h", #"{"upsert_rows":[{"id":2,"vector":"\#(Data(bytes).base64EncodedString())"}]}"#)
        state = try await engine.state(namespace: "h")
        XCTAssertEqual(state.document(.uint(2))?.vector, [0.5, -2])
        XCTAssertEqual(state.schema.vectorType?.element, .f16)
    }

    func testLogicalBytesFollowVectorsThroughOverwritesPatchesAndDeletes() async throws {
        try await engine.write("b", #"{"upsert_rows":[{"id":1,"vector":[1,2,3,4],"s":"ab"}]}"#)
        var state = try await engine.state(namespace: "b")
        XCTAssertEqual(state.logicalBytes, 8 + 16 + 1 + 2)
        try await engine.write("b", #"{"patch_rows":[{"id":1,"s":"abcd"}]}"#)
        state = try await engine.state(namespace: "b")
        XCTAssertEqual(state.document(.uint(1))?.vector, [1, 2, 3, 4], "a patch keeps the vector")
        XCTAssertEqual(state.logicalBytes, 8 + 16 + 1 + 4)
        try await engine.write("b", #"{"upsert_rows":[{"id":1,"s":"x"}]}"#)
        state = try await engine.state(namespace: "b")
        XCTAssertNil(state.document(.uint(1))?.vector, "an upsert without a vector drops it")
        XCTAssertEqual(state.logicalBytes, 8 + 1 + 1)
        try await engine.write("b", #"{"deletes":[1]}"#)
        state = try await engine.state(namespace: "b")
        XCTAssertEqual(state.logicalBytes, 0)
    }

    func testPatchMergesAndSkipsMissingIdsAndNullRemoves() async throws {
        try await engine.write("ns", #"{"upsert_rows":[{"id":1,"a":1,"b":"keep"}]}"#)
        let result = try await engine.write("ns", #"{"patch_rows":[{"id":1,"a":2,"b":null},{"id":99,"a":5}],"return_affected_ids":true}"#)
        XCTAssertEqual(result.rowsPatched, 1)
        XCTAssertEqual(result.patchedIDs, [.uint(1)])
        let state = try await engine.state(namespace: "ns")
        XCTAssertEqual(state.documents[.uint(1)]?.attributes, ["a": .int(2)])
        XCTAssertNil(state.documents[.uint(99)], "patching a missing id must not create it")
        await assertEngineError(.invalidRequest, containing: "cannot change vectors") {
            try await self.engine.write("ns", #"{"patch_rows":[{"id":1,"vector":[1]}]}"#)
        }
    }

    func testInRequestOrderDeleteByFilterThenPatchByFilterThenUpsertsPatchesDeletes() async throws {
        try await engine.write("ns", #"{"upsert_rows":[{"id":1,"g":"old"},{"id":2,"g":"old"},{"id":3,"g":"keep"},{"id":4,"g":"other"}]}"#)
        let result = try await engine.write("ns", #"""
        {"delete_by_filter":["g","Eq","old"],
         "patch_by_filter":{"filters":["g","Eq","keep"],"patch":{"p":true}},
         "upsert_rows":[{"id":1,"g":"new"}],
         "patch_rows":[{"id":4,"q":1}],
         "deletes":[3],
         "return_affected_ids":true}
        """#)
        XCTAssertEqual(result.deletedIDs, [.uint(1), .uint(2), .uint(3)])
        XCTAssertEqual(result.patchedIDs, [.uint(3), .uint(4)])
        XCTAssertEqual(result.upsertedIDs, [.uint(1)])
        let state = try await engine.state(namespace: "ns")
        XCTAssertEqual(state.documents.keys.sorted(), [.uint(1), .uint(4)])
        XCTAssertEqual(state.documents[.uint(1)]?.attributes, ["g": .string("new")])
        XCTAssertEqual(state.documents[.uint(4)]?.attributes, ["g": .string("other"), "q": .int(1)])
    }

    func testDuplicateIdInOneRequestIsRejectedAndNothingChanges() async throws {
        try await engine.write("ns", #"{"upsert_rows":[{"id":1,"v":1}]}"#)
        await assertEngineError(.invalidRequest, containing: "appears more than once") {
            try await self.engine.write("ns", #"{"upsert_rows":[{"id":1,"v":2}],"deletes":[1]}"#)
        }
        let state = try await engine.state(namespace: "ns")
        XCTAssertEqual(state.documents[.uint(1)]?.attributes["v"], .int(1))
    }

    func testConditionalUpsertWithRefNewAndInsertIfAbsent() async throws {
        try await engine.write("ns", #"{"upsert_rows":[{"id":1,"version":5,"v":"five"},{"id":2,"version":1,"v":"one"}]}"#)
        let result = try await engine.write("ns", #"""
        {"upsert_rows":[{"id":1,"version":4,"v":"four"},{"id":2,"version":2,"v":"two"},{"id":3,"version":1,"v":"new"}],
         "upsert_condition":["version","Lt",{"$ref_new":"version"}],"return_affected_ids":true}
        """#)
        XCTAssertEqual(result.upsertedIDs, [.uint(2), .uint(3)], "older version must be skipped; a missing document is inserted")
        var state = try await engine.state(namespace: "ns")
        XCTAssertEqual(state.documents[.uint(1)]?.attributes["v"], .string("five"))
        XCTAssertEqual(state.documents[.uint(2)]?.attributes["v"], .string("two"))
        let absent = try await engine.write("ns", #"{"upsert_rows":[{"id":1,"v":"clobber"},{"id":9,"v":"nine"}],"upsert_condition":["id","Eq",null]}"#)
        XCTAssertEqual(absent.rowsUpserted, 1)
        state = try await engine.state(namespace: "ns")
        XCTAssertEqual(state.documents[.uint(1)]?.attributes["v"], .string("five"))
        XCTAssertEqual(state.documents[.uint(9)]?.attributes["v"], .string("nine"))
    }

    func testConditionalPatchAndDelete() async throws {
        try await engine.write("ns", #"{"upsert_rows":[{"id":1,"s":"open"},{"id":2,"s":"closed"}]}"#)
        let patched = try await engine.write("ns", #"{"patch_rows":[{"id":1,"s":"done"},{"id":2,"s":"done"}],"patch_condition":["s","Eq","open"]}"#)
        XCTAssertEqual(patched.rowsPatched, 1)
        let deleted = try await engine.write("ns", #"{"deletes":[1,2],"delete_condition":["s","Eq","done"],"return_affected_ids":true}"#)
        XCTAssertEqual(deleted.deletedIDs, [.uint(1)])
        let state = try await engine.state(namespace: "ns")
        XCTAssertEqual(state.documents.keys.sorted(), [.uint(2)])
    }

    func testSchemaInferenceDeclarationAndTypeErrors() async throws {
        try await engine.write("ns", #"{"upsert_rows":[{"id":"a","n":1,"f":1.5,"t":["x"],"b":true}],"schema":{"when":"datetime","u":{"type":"uuid"}}}"#)
        let schema = try await engine.schema(namespace: "ns")
        XCTAssertEqual(schema.idType, .string)
        XCTAssertEqual(schema.attributes["n"]?.type, .scalar(.int))
        XCTAssertEqual(schema.attributes["f"]?.type, .scalar(.float))
        XCTAssertEqual(schema.attributes["t"]?.type, .array(.string))
        XCTAssertEqual(schema.attributes["when"]?.type, .scalar(.datetime))
        await assertEngineError(.invalidRequest, containing: "n has type int") {
            try await self.engine.write("ns", #"{"upsert_rows":[{"id":"b","n":"seven"}]}"#)
        }
        await assertEngineError(.invalidRequest, containing: "unknown type \"strng\"") {
            try await self.engine.write("ns", #"{"upsert_rows":[{"id":"b"}],"schema":{"x":"strng"}}"#)
        }
        await assertEngineError(.invalidRequest, containing: "changing it to string is not allowed") {
            try await self.engine.write("ns", #"{"schema":{"n":"string"}}"#)
        }
        try await engine.write("ns", #"{"upsert_rows":[{"id":"c","when":"2024-03-15T10:30:45Z","u":"6ba7b810-9dad-11d1-80b4-00c04fd430c8"}]}"#)
        let rows = try await engine.query("ns", #"{"rank_by":["when","asc"],"filters":["when","Gt","2024-01-01T00:00:00Z"],"include_attributes":["when","u"]}"#)
        XCTAssertEqual(rows.rowsJSON(), .array([.object(["id": .string("c"), "when": .string("2024-03-15T10:30:45.000Z"), "u": .string("6ba7b810-9dad-11d1-80b4-00c04fd430c8")])]))
    }

    func testBadInputGetsTypedErrorsAndLeavesDataIntact() async throws {
        try await engine.write("ns", #"{"upsert_rows":[{"id":1,"vector":[1,2,3],"k":1}]}"#)
        let before = try await engine.state(namespace: "ns")
        await assertEngineError(.invalidRequest, containing: "has 2 dimensions but this namespace's vectors have 3") {
            try await self.engine.write("ns", #"{"upsert_rows":[{"id":2,"vector":[1,2]}]}"#)
        }
        await assertEngineError(.invalidRequest, containing: "exceeds the 64-byte limit") {
            try await self.engine.write("ns", #"{"upsert_rows":[{"id":"\#(String(repeating: "x", count: 65))"}]}"#)
        }
        await assertEngineError(.invalidRequest, containing: "uses uint ids") {
            try await self.engine.write("ns", #"{"upsert_rows":[{"id":"str"}]}"#)
        }
        await assertEngineError(.invalidRequest, containing: "unknown filter operator \"Equals\"") {
            try await self.engine.write("ns", #"{"delete_by_filter":["k","Equals",1]}"#)
        }
        await assertEngineError(.invalidRequest, containing: "a filter is [attribute, operator, value]") {
            try await self.engine.write("ns", #"{"delete_by_filter":{"k":1}}"#)
        }
        await assertEngineError(.invalidRequest, containing: "unknown write field \"upsert_row\"") {
            _ = try WriteRequest.parse(JSONParser.parse(#"{"upsert_row":[]}"#))
        }
        await assertEngineError(.invalidRequest, containing: "namespace name \"a/b\" contains \"/\"") {
            try await self.engine.write("a/b", #"{"upsert_rows":[{"id":1}]}"#)
        }
        await assertEngineError(.invalidRequest, containing: "reserved") {
            try await self.engine.write("..", #"{"upsert_rows":[{"id":1}]}"#)
        }
        let after = try await engine.state(namespace: "ns")
        XCTAssertEqual(after.allDocuments(), before.allDocuments())
        XCTAssertEqual(after.sequence, before.sequence, "a rejected write must not commit a WAL entry")
    }

    func testOneBadRequestInAGroupCommitDoesNotSinkTheOthers() async throws {
        try await engine.write("ns", #"{"upsert_rows":[{"id":0,"vector":[1,1]}]}"#)
        let engine = self.engine!
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 1...40 {
                group.addTask {
                    let body = index % 10 == 0 ? #"{"upsert_rows":[{"id":\#(index),"vector":[1,2,3]}]}"# : #"{"upsert_rows":[{"id":\#(index),"vector":[1,\#(index)]}]}"#
                    return (try? await engine.write("ns", body)) != nil
                }
            }
            var outcomes: [Bool] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        XCTAssertEqual(results.filter { $0 }.count, 36)
        let state = try await engine.state(namespace: "ns")
        XCTAssertEqual(state.documents.count, 37)
        XCTAssertLessThan(state.sequence, 38, "concurrent writes should share WAL entries (group commit)")
    }
}
