@testable import FreshetStorage
import FreshetStorageConformance
import XCTest

final class StorageRouterTests: XCTestCase {
    func testRouterPassesConformance() async throws {
        let router = try StorageRouter(backends: ["a": MemoryBackend(), "b": MemoryBackend()],
                                       routes: [.init(match: .namespace("conf*"), backends: ["b"])],
                                       defaultBackends: ["a"])
        let failures = await StorageConformance(backend: router, prefix: "conformance/").runAll()
        XCTAssertEqual(failures.map(\.description), [])
    }

    func testRoutesByNamespacePatternAndRegion() async throws {
        let us = MemoryBackend(), eu = MemoryBackend(), fallback = MemoryBackend()
        let router = try StorageRouter(
            backends: ["us": us, "eu": eu, "default": fallback],
            routes: [.init(match: .region("eu-west-1"), backends: ["eu", "us"]),
                     .init(match: .namespace("us-*"), backends: ["us"])],
            defaultBackends: ["default"])
        XCTAssertEqual(router.route(for: "namespaces/aws:eu-west-1:a:docs/manifest"), ["eu", "us"])
        XCTAssertEqual(router.route(for: "catalog/aws:eu-west-1:a:docs"), ["eu", "us"])
        XCTAssertEqual(router.route(for: "namespaces/us-logs/0000000000000001/wal/1"), ["us"])
        XCTAssertEqual(router.route(for: "namespaces/other/manifest"), ["default"])
        XCTAssertEqual(router.route(for: "tools/x"), ["default"])

        try await router.put("namespaces/aws:eu-west-1:a:docs/manifest", [1])
        try await router.put("catalog/aws:eu-west-1:a:docs", [1])
        try await router.put("catalog/us-logs", [2])
        try await router.put("catalog/other", [3])
        let inEU = try await eu.get("namespaces/aws:eu-west-1:a:docs/manifest")
        let inUS = try await us.get("namespaces/aws:eu-west-1:a:docs/manifest")
        XCTAssertNotNil(inEU)
        XCTAssertNil(inUS, "writes go to the primary only")
        // The catalog spans backends: one ordered listing, paginated across them.
        var keys: [String] = []
        var cursor: String? = nil
        repeat {
            let page = try await router.list(prefix: "catalog/", startAfter: cursor, limit: 2)
            keys += page.objects.map(\.key)
            cursor = page.nextCursor
        } while cursor != nil
        XCTAssertEqual(keys, ["catalog/aws:eu-west-1:a:docs", "catalog/other", "catalog/us-logs"])
    }

    func testReadsFailOverToSecondaries() async throws {
        let primary = FaultInjectingBackend(wrapping: MemoryBackend())
        let secondary = MemoryBackend()
        let router = try StorageRouter(backends: ["primary": primary, "secondary": secondary],
                                       routes: [.init(match: .namespace("*"), backends: ["primary", "secondary"])],
                                       defaultBackends: ["primary"])
        let key = "namespaces/docs/0000000000000001/snapshot/1-1-1"
        try await primary.base.put(key, [1])
        try await secondary.put(key, [1])
        primary.injectRandomly(.fail, on: .get, probability: 1)
        let read = try await router.get(key)
        XCTAssertEqual(read?.body, [1], "a failed primary read should be served by the secondary")
        primary.injectRandomly(.fail, on: .get, probability: 0)
        try await primary.base.delete(key)
        let miss = try await router.get(key)
        XCTAssertNil(miss, "a miss on a healthy primary is an answer, not a reason to fail over")
    }

    func testConfigurationErrorsNameTheProblem() {
        XCTAssertThrowsError(try StorageRouter(backends: ["a": MemoryBackend()], routes: [.init(match: .region("x"), backends: ["zz"])],
                                               defaultBackends: ["a"])) { error in
            XCTAssertTrue("\(error)".contains("'zz'"), "\(error)")
        }
        XCTAssertThrowsError(try StorageRouter(backends: ["a": MemoryBackend()], routes: [], defaultBackends: []))
        XCTAssertTrue(StorageRouter.glob("a*c?", matches: "abbbcd"))
        XCTAssertFalse(StorageRouter.glob("a*c?", matches: "abbbc"))
    }
}
