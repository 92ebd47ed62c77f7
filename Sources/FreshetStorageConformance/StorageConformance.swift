import FreshetStorage

/// A failed conformance check: which check, and what it saw.
public struct ConformanceFailure: Error, CustomStringConvertible, Sendable {
    public var check: String
    public var message: String
    public var description: String { "\(check): \(message)" }
}

/// The one conformance suite every `StorageBackend` runs: memory, RocksDB, sharded,
/// fault-injecting (with no faults), and every backend added later.
///
/// All keys live under `prefix`, so the suite can run in a shared bucket. It never
/// uses XCTest, so any test framework (or a command) can drive it.
public struct StorageConformance: Sendable {
    public let backend: any StorageBackend
    public let prefix: String

    public init(backend: any StorageBackend, prefix: String) {
        self.backend = backend
        self.prefix = prefix
    }

    /// Runs every check and returns the failures (empty when the backend conforms).
    public func runAll() async -> [ConformanceFailure] {
        var failures: [ConformanceFailure] = []
        for (name, check) in Self.checks {
            do {
                try await check(self)
            } catch let failure as ConformanceFailure {
                failures.append(failure)
            } catch {
                failures.append(ConformanceFailure(check: name, message: "unexpected error: \(error)"))
            }
        }
        return failures
    }

    typealias Check = @Sendable (StorageConformance) async throws -> Void
    static let checks: [(name: String, run: Check)] = [
        ("getAbsent", { try await $0.getAbsent() }),
        ("putGetRoundTrip", { try await $0.putGetRoundTrip() }),
        ("overwriteChangesVersion", { try await $0.overwriteChangesVersion() }),
        ("createOnly", { try await $0.createOnly() }),
        ("compareAndSwap", { try await $0.compareAndSwap() }),
        ("createOnlyRace", { try await $0.createOnlyRace() }),
        ("casCounterUnderContention", { try await $0.casCounterUnderContention() }),
        ("deleteSemantics", { try await $0.deleteSemantics() }),
        ("rangedGet", { try await $0.rangedGet() }),
        ("getManyKeepsOrder", { try await $0.getManyKeepsOrder() }),
        ("listByPrefixPaginates", { try await $0.listByPrefixPaginates() }),
        ("batchWrite", { try await $0.batchWrite() }),
        ("invalidArguments", { try await $0.invalidArguments() }),
        ("unicodeKeys", { try await $0.unicodeKeys() }),
    ]

    func key(_ name: String) -> String { prefix + name }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String, check: String = #function) throws {
        if !condition { throw ConformanceFailure(check: Self.name(check), message: message()) }
    }

    func expectCode(_ code: StorageError.Code, check: String = #function, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as StorageError {
            try expect(error.code == code, "expected \(code), got \(error)", check: check)
            return
        }
        throw ConformanceFailure(check: Self.name(check), message: "expected a \(code) error, the call succeeded")
    }

    func getAbsent() async throws {
        let object = try await backend.get(key("absent/never-written"))
        try expect(object == nil, "get of an absent key returned \(String(describing: object))")
        let ranged = try await backend.get(key("absent/never-written"), range: 0..<10)
        try expect(ranged == nil, "ranged get of an absent key returned a value")
    }

    func putGetRoundTrip() async throws {
        let bodies: [(String, [UInt8])] = [
            ("rt/empty", []),
            ("rt/bytes", Array(0...255)),
            ("rt/large", (0..<(1 << 20) + 7).map { UInt8(truncatingIfNeeded: $0 &* 31) }),
        ]
        for (name, body) in bodies {
            let version = try await backend.put(key(name), body)
            let read = try await backend.get(key(name))
            try expect(read?.body == body, "\(name): read back \(read?.body.count ?? -1) bytes, wrote \(body.count)")
            try expect(read?.version == version, "\(name): read version \(String(describing: read?.version)) != put version \(version)")
            try expect(read?.size == body.count, "\(name): size \(read?.size ?? -1) != \(body.count)")
        }
    }

    func overwriteChangesVersion() async throws {
        let first = try await backend.put(key("ow/a"), [1])
        let second = try await backend.put(key("ow/a"), [2, 2])
        try expect(first != second, "two writes returned the same version \(first)")
        let read = try await backend.get(key("ow/a"))
        try expect(read?.body == [2, 2] && read?.version == second, "overwrite not visible: \(String(describing: read))")
    }

    func createOnly() async throws {
        let created = try await backend.put(key("co/a"), [7], condition: .ifAbsent)
        try await expectCode(.conditionFailed) { _ = try await backend.put(key("co/a"), [8], condition: .ifAbsent) }
        let read = try await backend.get(key("co/a"))
        try expect(read?.body == [7] && read?.version == created, "failed create-only changed the object: \(String(describing: read))")
    }

    func compareAndSwap() async throws {
        let v1 = try await backend.put(key("cas/a"), [1])
        let v2 = try await backend.put(key("cas/a"), [2], condition: .ifVersion(v1))
        try expect(v2 != v1, "CAS returned the old version")
        try await expectCode(.conditionFailed) { _ = try await backend.put(key("cas/a"), [3], condition: .ifVersion(v1)) }
        let read = try await backend.get(key("cas/a"))
        try expect(read?.body == [2] && read?.version == v2, "stale CAS changed the object: \(String(describing: read))")
        try await expectCode(.conditionFailed) { _ = try await backend.put(key("cas/absent"), [1], condition: .ifVersion(v2)) }
        let absent = try await backend.get(key("cas/absent"))
        try expect(absent == nil, "CAS on an absent key created it")
    }

    func createOnlyRace() async throws {
        let contenders = 16
        let target = key("race/create")
        let backend = self.backend
        let wins = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<contenders {
                group.addTask { (try? await backend.put(target, [UInt8(index)], condition: .ifAbsent)) != nil }
            }
            var wins = 0
            for await won in group where won { wins += 1 }
            return wins
        }
        try expect(wins == 1, "\(wins) of \(contenders) concurrent create-only puts succeeded; exactly 1 must")
    }

    func casCounterUnderContention() async throws {
        let target = key("race/counter")
        try await backend.put(target, Self.encode(0))
        let workers = 6, increments = 8
        let backend = self.backend
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    for _ in 0..<increments {
                        while true {
                            guard let current = try await backend.get(target) else {
                                throw ConformanceFailure(check: "casCounterUnderContention", message: "counter vanished")
                            }
                            let next = Self.encode(Self.decode(current.body) + 1)
                            do {
                                try await backend.put(target, next, condition: .ifVersion(current.version))
                                break
                            } catch let error as StorageError where error.code == .conditionFailed {
                                continue
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try await backend.get(target).map { Self.decode($0.body) }
        try expect(final == workers * increments, "CAS counter ended at \(final ?? -1), expected \(workers * increments): an update was lost")
    }

    func deleteSemantics() async throws {
        try await backend.put(key("del/a"), [1])
        try await backend.delete(key("del/a"))
        let read = try await backend.get(key("del/a"))
        try expect(read == nil, "deleted key still readable")
        try await backend.delete(key("del/never"))
        _ = try await backend.put(key("del/a"), [2], condition: .ifAbsent)
        let page = try await backend.list(prefix: key("del/"), startAfter: nil, limit: 10)
        try expect(page.objects.map(\.key) == [key("del/a")], "listing after delete/recreate: \(page.objects.map(\.key))")
    }

    func rangedGet() async throws {
        let body = (0..<100).map { UInt8($0) }
        let version = try await backend.put(key("range/a"), body)
        let middle = try await backend.get(key("range/a"), range: 10..<20)
        try expect(middle?.body == Array(body[10..<20]), "range 10..<20 returned \(middle?.body ?? [])")
        try expect(middle?.size == 100 && middle?.version == version, "ranged get lost size or version: \(String(describing: middle))")
        let tail = try await backend.get(key("range/a"), range: 90..<500)
        try expect(tail?.body == Array(body[90...]), "range past the end was not clamped: \(tail?.body.count ?? -1) bytes")
        let beyond = try await backend.get(key("range/a"), range: 200..<300)
        try expect(beyond?.body == [], "range beyond the end returned \(beyond?.body.count ?? -1) bytes")
    }

    func getManyKeepsOrder() async throws {
        try await backend.put(key("many/b"), [2])
        try await backend.put(key("many/a"), [1])
        let objects = try await backend.getMany([key("many/b"), key("many/missing"), key("many/a")])
        try expect(objects.map { $0?.body } == [[2], nil, [1]], "getMany returned \(objects.map { $0?.body })")
        let unchecked = try await backend.getManyVerifiedByCaller([key("many/b"), key("many/missing"), key("many/a")])
        try expect(unchecked.map { $0?.body } == [[2], nil, [1]], "getManyVerifiedByCaller returned \(unchecked.map { $0?.body })")
    }

    func listByPrefixPaginates() async throws {
        let names = (0..<10).map { "list/k" + ($0 < 10 ? "0\($0)" : "\($0)") }
        for name in names.reversed() { try await backend.put(key(name), [UInt8(name.count)]) }
        try await backend.put(key("listx"), [0])       // shares the prefix string "list" but not "list/"
        try await backend.put(key("lis"), [0])         // sorts before the prefix
        var seen: [String] = []
        var cursor: String? = nil
        var pages = 0
        repeat {
            let page = try await backend.list(prefix: key("list/"), startAfter: cursor, limit: 3)
            try expect(page.objects.count <= 3, "page of \(page.objects.count) exceeds limit 3")
            seen += page.objects.map(\.key)
            cursor = page.nextCursor
            pages += 1
        } while cursor != nil && pages < 20
        try expect(seen == names.map(key), "paginated listing returned \(seen)")
        let sizes = try await backend.list(prefix: key("list/k0"), startAfter: nil, limit: 100)
        try expect(sizes.objects.allSatisfy { $0.size == 1 }, "listing reports wrong sizes: \(sizes.objects.map(\.size))")
        let after = try await backend.list(prefix: key("list/"), startAfter: key("list/k07"), limit: 100)
        try expect(after.objects.map(\.key) == [key("list/k08"), key("list/k09")] && after.nextCursor == nil,
                   "startAfter listing returned \(after.objects.map(\.key)), cursor \(after.nextCursor ?? "nil")")
        let empty = try await backend.list(prefix: key("nothing-here/"), startAfter: nil, limit: 5)
        try expect(empty.objects.isEmpty && empty.nextCursor == nil, "empty prefix listed \(empty.objects.map(\.key))")
    }

    func batchWrite() async throws {
        try await backend.put(key("batch/old"), [9])
        try await backend.write(batch: [
            .put(key: key("batch/a"), body: [1]),
            .put(key: key("batch/b"), body: [2]),
            .delete(key: key("batch/old")),
        ])
        let objects = try await backend.getMany([key("batch/a"), key("batch/b"), key("batch/old")])
        try expect(objects.map { $0?.body } == [[1], [2], nil], "batch results: \(objects.map { $0?.body })")
    }

    func invalidArguments() async throws {
        try await expectCode(.invalidArgument) { _ = try await backend.put("", [1]) }
        try await expectCode(.invalidArgument) { _ = try await backend.list(prefix: key(""), startAfter: nil, limit: 0) }
        try await expectCode(.invalidArgument) { _ = try await backend.get(key("x"), range: -1..<3) }
    }

    func unicodeKeys() async throws {
        let names = ["uni/ä", "uni/z", "uni/日本", "uni/a b"]
        for name in names { try await backend.put(key(name), Array(name.utf8)) }
        let listed = try await backend.list(prefix: key("uni/"), startAfter: nil, limit: 10).objects.map(\.key)
        let expected = names.map(key).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        try expect(listed == expected, "unicode keys listed as \(listed), expected UTF-8 byte order \(expected)")
        for name in names {
            let read = try await backend.get(key(name))
            try expect(read?.body == Array(name.utf8), "unicode key \(name) did not round-trip")
        }
    }

    static func name(_ function: String) -> String {
        function.hasSuffix("()") ? String(function.dropLast(2)) : function
    }

    static func encode(_ value: Int) -> [UInt8] { Array(String(value).utf8) }
    static func decode(_ body: [UInt8]) -> Int { Int(String(decoding: body, as: UTF8.self)) ?? -1 }
}
