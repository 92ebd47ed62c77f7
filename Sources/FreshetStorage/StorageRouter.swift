/// Chooses a backend per object by configuration: per namespace (by name pattern) or
/// per region (read off a placement-qualified id, `provider:region:zone:name`), with
/// read failover to secondaries in order of locality preference.
///
/// Writes go to the route's primary only (copying to other regions is replication's
/// job, not the router's). A read that fails on the primary with a transient error
/// (`unavailable`, `io`) is retried on each secondary in turn; a miss on the primary
/// is an answer, not a failure. A listing confined to one namespace follows its route;
/// a wider one (the catalog, `namespaces/`) merges every backend's keys in order.
public final class StorageRouter: StorageBackend {
    public struct Route: Sendable {
        public enum Match: Sendable, Equatable {
            /// Namespaces whose id matches a glob (`*` any run, `?` one character).
            case namespace(String)
            /// Namespaces placed in a region (`aws:us-east-1:…:name` → `us-east-1`).
            case region(String)
        }
        public var match: Match
        /// Backend names: the first is the primary, the rest are read fallbacks in
        /// order of preference (nearest first).
        public var backends: [String]

        public init(match: Match, backends: [String]) {
            self.match = match
            self.backends = backends
        }
    }

    public static let kindName = BackendKind("router")
    public let backends: [String: any StorageBackend]
    public let routes: [Route]
    /// Where objects no route claims go: first primary, then fallbacks.
    public let defaultBackends: [String]

    public init(backends: [String: any StorageBackend], routes: [Route], defaultBackends: [String]) throws {
        for name in routes.flatMap(\.backends) + defaultBackends where backends[name] == nil {
            throw StorageError(.invalidArgument, "storage route names backend '\(name)', which is not configured (have: \(backends.keys.sorted().joined(separator: ", ")))")
        }
        guard !defaultBackends.isEmpty else { throw StorageError(.invalidArgument, "the storage router needs a default backend") }
        for route in routes where route.backends.isEmpty {
            throw StorageError(.invalidArgument, "storage route \(route.match) names no backend")
        }
        self.backends = backends
        self.routes = routes
        self.defaultBackends = defaultBackends
    }

    public var kind: BackendKind { Self.kindName }
    public var capabilities: StorageCapabilities {
        let all = backends.values.map(\.capabilities)
        return StorageCapabilities(atomicBatch: false, durable: all.allSatisfy(\.durable),
                                   strongReadAfterWrite: all.allSatisfy(\.strongReadAfterWrite),
                                   maxObjectSize: all.map(\.maxObjectSize).min() ?? 0)
    }

    /// The namespace id a key belongs to, if any.
    static func namespace(of key: String) -> Substring? {
        for prefix in ["namespaces/", "catalog/"] where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            let id = rest.prefix { $0 != "/" }
            return id.isEmpty ? nil : id
        }
        return nil
    }

    /// The backend names for `key`, primary first.
    public func route(for key: String) -> [String] {
        guard let namespace = Self.namespace(of: key) else { return defaultBackends }
        let parts = namespace.split(separator: ":", omittingEmptySubsequences: false)
        let region = parts.count == 4 ? String(parts[1]) : nil
        for route in routes {
            switch route.match {
            case .namespace(let pattern) where Self.glob(pattern, matches: String(namespace)):
                return route.backends
            case .region(let wanted) where region == wanted:
                return route.backends
            default:
                continue
            }
        }
        return defaultBackends
    }

    func primary(_ key: String) -> any StorageBackend { backends[route(for: key)[0]]! }

    /// Every backend on the key's route forgets its cached copies.
    public func forgetCached(_ keys: [String]) async {
        for key in keys { for name in route(for: key) { await backends[name]!.forgetCached([key]) } }
    }

    /// Runs a read on the route's backends in order until one answers.
    func read<T: Sendable>(_ key: String, _ body: (any StorageBackend) async throws -> T) async throws -> T {
        let names = route(for: key)
        var lastError: StorageError? = nil
        for name in names {
            do {
                return try await body(backends[name]!)
            } catch let error as StorageError where error.code == .unavailable || error.code == .io {
                lastError = StorageError(error.code, "backend \(name): \(error.message)", cause: error)
            }
        }
        throw lastError ?? StorageError(.unavailable, "no backend could serve \(key)")
    }

    public func get(_ key: String) async throws -> StoredObject? {
        try await read(key) { try await $0.get(key) }
    }

    public func get(_ key: String, range: Range<Int>) async throws -> StoredObject? {
        try await read(key) { try await $0.get(key, range: range) }
    }

    public func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try StorageArguments.check(limit: limit)
        // `namespaces/<id>/…` names one namespace; a catalog prefix may match several.
        if prefix.hasPrefix("namespaces/"), let namespace = Self.namespace(of: prefix),
           prefix.dropFirst("namespaces/".count + namespace.count).hasPrefix("/") {
            return try await read(prefix) { try await $0.list(prefix: prefix, startAfter: startAfter, limit: limit) }
        }
        // Spans namespaces: merge each distinct primary's page in key order.
        let primaries = Set(routes.map { $0.backends[0] } + [defaultBackends[0]]).sorted()
        var merged: [ListedObject] = []
        var anyMore = false
        for name in primaries {
            let page = try await backends[name]!.list(prefix: prefix, startAfter: startAfter, limit: limit)
            merged += page.objects.filter { route(for: $0.key)[0] == name }
            if page.nextCursor != nil { anyMore = true }
        }
        merged.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        if merged.count > limit {
            merged.removeLast(merged.count - limit)
            anyMore = true
        }
        return ListPage(objects: merged, nextCursor: anyMore ? merged.last?.key : nil)
    }

    public func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try await primary(key).put(key, body, condition: condition)
    }

    public func delete(_ key: String) async throws {
        try await primary(key).delete(key)
    }

    public func write(batch: [BatchOperation]) async throws {
        var groups: [String: [BatchOperation]] = [:]
        for operation in batch { groups[route(for: operation.key)[0], default: []].append(operation) }
        for (name, operations) in groups.sorted(by: { $0.key < $1.key }) {
            try await backends[name]!.write(batch: operations)
        }
    }

    /// `*` matches any run of characters, `?` one.
    static func glob(_ pattern: String, matches text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) { pi += 1; ti += 1 }
            else if pi < p.count && p[pi] == "*" { star = pi; mark = ti; pi += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; ti = mark }
            else { return false }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
