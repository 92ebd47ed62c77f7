import Foundation
import FreshetStorage

/// Configuration of a `GCSBackend`.
public struct GCSConfiguration: Sendable {
    public var bucket: String
    /// Prepended to every object name (empty, or ending in `/`).
    public var prefix: String
    /// `scheme://host[:port]` of the JSON API. Default `https://storage.googleapis.com`;
    /// `STORAGE_EMULATOR_HOST` overrides it the way Google's client libraries do.
    public var endpoint: String
    public var authentication: GCSAuthentication
    /// `storageClass` per object kind; kinds not listed use the bucket default.
    public var storageClasses: [ObjectKind: String]
    public var batchConcurrency: Int
    /// GETs of one `getMany` in flight at once (a query's postings in one round trip).
    public var readConcurrency = 128
    public var retry: RetryPolicy

    public init(bucket: String, prefix: String = "", endpoint: String? = nil, authentication: GCSAuthentication,
                storageClasses: [ObjectKind: String] = [:], batchConcurrency: Int = 16, retry: RetryPolicy = RetryPolicy()) throws {
        guard (3...222).contains(bucket.utf8.count), !bucket.contains("/") else {
            throw StorageError(.invalidArgument, "'\(bucket)' is not a valid GCS bucket name")
        }
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        var chosen = endpoint ?? "https://storage.googleapis.com"
        if !chosen.hasPrefix("http://") && !chosen.hasPrefix("https://") { chosen = "http://" + chosen }
        while chosen.hasSuffix("/") { chosen.removeLast() }
        self.endpoint = chosen
        self.authentication = authentication
        self.storageClasses = storageClasses
        self.batchConcurrency = max(1, batchConcurrency)
        self.retry = retry
    }
}

/// A `StorageBackend` on Google Cloud Storage's JSON API.
///
/// Versions are object generations. Create-only is `ifGenerationMatch=0`, CAS is
/// `ifGenerationMatch=<generation>`; uploads are `uploadType=multipart` (metadata and
/// bytes in one request), carrying the writer nonce in the object's metadata so an
/// unknown outcome is settled by reading it back.
public final class GCSBackend: StorageBackend {
    public static let kindName = BackendKind("gcs")
    static let nonceKey = "freshet-writer"
    static let chainKey = "freshet-chain"

    public let configuration: GCSConfiguration
    let runner: RequestRunner
    let tokens: GCSTokenSource
    let stamps = WriterStamps()

    public init(configuration: GCSConfiguration, transport: any HTTPTransport) {
        self.configuration = configuration
        self.runner = RequestRunner(transport: transport, policy: configuration.retry, service: "GCS")
        self.tokens = GCSTokenSource(authentication: configuration.authentication, transport: transport, policy: configuration.retry)
    }

    public var kind: BackendKind { Self.kindName }
    public var capabilities: StorageCapabilities {
        StorageCapabilities(atomicBatch: false, durable: true, strongReadAfterWrite: true, maxObjectSize: 5 << 40)
    }

    var bucketPath: String { "/storage/v1/b/\(URIEncoding.encode(configuration.bucket))" }
    func objectPath(_ key: String) -> String { bucketPath + "/o/" + URIEncoding.encode(configuration.prefix + key) }

    func request(_ method: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
                 body: [UInt8] = []) async throws -> ObjectRequest {
        var all = headers.map { (name: $0.0, value: $0.1) }
        if let token = try await tokens.token() { all.append(("authorization", "Bearer \(token)")) }
        let encodedQuery = URIEncoding.canonicalQuery(query)
        return ObjectRequest(method: method, url: configuration.endpoint + path + (encodedQuery.isEmpty ? "" : "?" + encodedQuery),
                             headers: all, body: body)
    }

    /// `run` with a request that needs a fresh token per attempt.
    func send(_ what: String, idempotent: Bool, _ method: String, path: String, query: [(String, String)] = [],
              headers: [(String, String)] = [], body: [UInt8] = []) async throws -> ObjectResponse {
        let built = try await request(method, path: path, query: query, headers: headers, body: body)
        return try await runner.run(what, idempotent: idempotent) { built }
    }

    func unexpected(_ what: String, _ key: String, _ response: ObjectResponse) -> StorageError {
        switch response.status {
        case 401, 403:
            return StorageError(.io, "GCS denied \(what) of \(key) (check the service account's roles on bucket \(configuration.bucket)): \(RequestRunner.describe(response))")
        case 400:
            return StorageError(.invalidArgument, "GCS rejected \(what) of \(key): \(RequestRunner.describe(response))")
        default:
            return StorageError(.io, "GCS \(what) of \(key) failed: \(RequestRunner.describe(response))")
        }
    }

    struct ObjectResource: Decodable {
        var name: String
        var size: String?
        var generation: String
        var metadata: [String: String]?
    }

    struct ObjectList: Decodable {
        var items: [ObjectResource]?
        var nextPageToken: String?
    }

    func decode<T: Decodable>(_ type: T.Type, _ response: ObjectResponse, _ what: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(response.body)) } catch {
            throw StorageError(.corrupt, "GCS \(what) answered JSON we cannot read: \(error)")
        }
    }

    // MARK: reads

    public func get(_ key: String) async throws -> StoredObject? {
        try StorageArguments.check(key: key)
        let response = try await send("GET", idempotent: true, "GET", path: objectPath(key), query: [("alt", "media")])
        switch response.status {
        case 200:
            guard let generation = response.header("x-goog-generation") else {
                throw StorageError(.io, "GCS GET of \(key) returned no x-goog-generation")
            }
            stamps.record(key, ObjectVersion(generation), Self.stamp(response))
            return StoredObject(body: response.body, version: ObjectVersion(generation))
        case 404: return nil
        default: throw unexpected("GET", key, response)
        }
    }

    public func get(_ key: String, range: Range<Int>) async throws -> StoredObject? {
        try StorageArguments.check(key: key)
        try StorageArguments.check(range: range)
        if range.isEmpty {
            return try await metadata(key).map { StoredObject(body: [], version: $0.version, size: $0.size) }
        }
        let response = try await send("ranged GET", idempotent: true, "GET", path: objectPath(key), query: [("alt", "media")],
                                      headers: [("range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")])
        switch response.status {
        case 206:
            guard let generation = response.header("x-goog-generation") else {
                throw StorageError(.io, "GCS ranged GET of \(key) returned no x-goog-generation")
            }
            stamps.record(key, ObjectVersion(generation), Self.stamp(response))
            let total = response.header("content-range").flatMap { $0.split(separator: "/").last.flatMap { Int($0) } }
            return StoredObject(body: response.body, version: ObjectVersion(generation), size: total ?? range.lowerBound + response.body.count)
        case 200:
            guard let generation = response.header("x-goog-generation") else {
                throw StorageError(.io, "GCS GET of \(key) returned no x-goog-generation")
            }
            let clamped = StorageArguments.clamp(range, size: response.body.count)
            return StoredObject(body: Array(response.body[clamped]), version: ObjectVersion(generation), size: response.body.count)
        case 416:
            return try await metadata(key).map { StoredObject(body: [], version: $0.version, size: $0.size) }
        case 404: return nil
        default: throw unexpected("ranged GET", key, response)
        }
    }

    static func stamp(_ response: ObjectResponse) -> WriterStamp {
        WriterStamp(writer: response.header("x-goog-meta-" + nonceKey), chainHeader: response.header("x-goog-meta-" + chainKey))
    }

    /// Generation, size and writer stamp of `key`, nil when absent.
    func metadata(_ key: String) async throws -> (version: ObjectVersion, size: Int, stamp: WriterStamp)? {
        let response = try await send("metadata GET", idempotent: true, "GET", path: objectPath(key))
        switch response.status {
        case 200:
            let resource = try decode(ObjectResource.self, response, "metadata GET of \(key)")
            let stamp = WriterStamp(writer: resource.metadata?[Self.nonceKey], chainHeader: resource.metadata?[Self.chainKey])
            stamps.record(key, ObjectVersion(resource.generation), stamp)
            return (ObjectVersion(resource.generation), Int(resource.size ?? "0") ?? 0, stamp)
        case 404: return nil
        default: throw unexpected("metadata GET", key, response)
        }
    }

    public func getMany(_ keys: [String]) async throws -> [StoredObject?] {
        try await concurrentMap(keys, limit: configuration.readConcurrency) { try await self.get($0) }
    }

    public func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try StorageArguments.check(limit: limit)
        let fullPrefix = configuration.prefix + prefix
        var query = [("prefix", fullPrefix), ("maxResults", String(min(limit, 1000) + (startAfter == nil ? 0 : 1)))]
        // startOffset is inclusive: ask for one more and drop the cursor itself.
        if let startAfter { query.append(("startOffset", configuration.prefix + startAfter)) }
        let response = try await send("LIST", idempotent: true, "GET", path: bucketPath + "/o", query: query)
        guard response.status == 200 else { throw unexpected("LIST", prefix, response) }
        let listing = try decode(ObjectList.self, response, "LIST of \(prefix)")
        var objects: [ListedObject] = []
        var more = listing.nextPageToken != nil
        for item in listing.items ?? [] where item.name.hasPrefix(configuration.prefix) {
            let key = String(item.name.dropFirst(configuration.prefix.count))
            if let startAfter, !startAfter.utf8.lexicographicallyPrecedes(key.utf8) { continue }
            if objects.count == limit { more = true; break }
            objects.append(ListedObject(key: key, size: Int(item.size ?? "0") ?? 0, version: ObjectVersion(item.generation)))
        }
        return ListPage(objects: objects, nextCursor: more && !objects.isEmpty ? objects.last!.key : nil)
    }

    // MARK: writes

    public func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try StorageArguments.check(key: key)
        return try await stamps.put(
            key: key, condition: condition, service: "GCS", retry: configuration.retry,
            attempt: { nonce, chain in
                try await upload(key, body, condition: condition, nonce: nonce, chain: chain).map { .stored($0) } ?? .conditionFailed
            },
            readBack: { try await metadata(key).map { ($0.version, $0.stamp) } },
            conditionFailed: { conditionFailed(key, condition) })
    }

    func conditionFailed(_ key: String, _ condition: PutCondition) -> StorageError {
        switch condition {
        case .ifVersion(let version): return StorageError(.conditionFailed, "\(key) is no longer at generation \(version)")
        default: return StorageError(.conditionFailed, "\(key) already exists")
        }
    }

    /// One multipart upload; nil when the precondition failed.
    func upload(_ key: String, _ body: [UInt8], condition: PutCondition, nonce: String, chain: [String]) async throws -> ObjectVersion? {
        var query = [("uploadType", "multipart")]
        switch condition {
        case .none: break
        case .ifAbsent: query.append(("ifGenerationMatch", "0"))
        case .ifVersion(let version):
            guard version.token.allSatisfy(\.isNumber) else { return nil }  // not a generation: cannot match
            query.append(("ifGenerationMatch", version.token))
        }
        var metadata = "{\"name\":\(jsonString(configuration.prefix + key)),\"metadata\":{\"\(Self.nonceKey)\":\(jsonString(nonce))"
        if !chain.isEmpty { metadata += ",\"\(Self.chainKey)\":\(jsonString(chain.joined(separator: ",")))" }
        metadata += "}"
        if let storageClass = configuration.storageClasses[ObjectKind.of(key)] {
            metadata += ",\"storageClass\":\(jsonString(storageClass))"
        }
        metadata += "}"
        let boundary = "freshet-" + nonce
        var payload = Array("--\(boundary)\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n\(metadata)\r\n--\(boundary)\r\ncontent-type: application/octet-stream\r\n\r\n".utf8)
        payload.append(contentsOf: body)
        payload.append(contentsOf: Array("\r\n--\(boundary)--\r\n".utf8))
        let response = try await send("upload", idempotent: condition == .none, "POST",
                                      path: "/upload" + bucketPath + "/o", query: query,
                                      headers: [("content-type", "multipart/related; boundary=\(boundary)")], body: payload)
        switch response.status {
        case 200:
            return ObjectVersion(try decode(ObjectResource.self, response, "upload of \(key)").generation)
        case 412:
            return nil
        default:
            throw unexpected("upload", key, response)
        }
    }

    public func delete(_ key: String) async throws {
        try StorageArguments.check(key: key)
        let response = try await send("DELETE", idempotent: true, "DELETE", path: objectPath(key))
        guard [200, 204, 404].contains(response.status) else { throw unexpected("DELETE", key, response) }
    }

    public func write(batch: [BatchOperation]) async throws {
        let effective = try effectiveOperations(batch)
        _ = try await concurrentMap(effective, limit: configuration.batchConcurrency) { operation in
            switch operation {
            case .put(let key, let body): _ = try await self.put(key, body, condition: .none)
            case .delete(let key): try await self.delete(key)
            }
        }
    }
}
