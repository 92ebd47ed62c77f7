import FreshetStorage
import Synchronization

/// Configuration of an `AzureBlobBackend`.
public struct AzureConfiguration: Sendable {
    public enum Authentication: Sendable {
        /// Shared Key with the account key.
        case sharedKey(AzureSharedKeySigner)
        /// A shared access signature (the query string the portal or `az` prints, without `?`).
        case sas(String)
    }

    public var account: String
    public var container: String
    /// Prepended to every blob name (empty, or ending in `/`).
    public var prefix: String
    /// Default `https://<account>.blob.core.windows.net`.
    public var endpoint: String
    public var authentication: Authentication
    /// Bodies above this go up as blocks plus a block list. Default 64 MiB.
    public var blockThreshold: Int
    /// Block size. Default 16 MiB (up to 50,000 blocks per blob).
    public var blockSize: Int
    public var blockConcurrency: Int
    public var batchConcurrency: Int
    /// GETs of one `getMany` in flight at once (a query's postings in one round trip).
    public var readConcurrency = 128
    public var retry: RetryPolicy
    /// The REST API version sent as `x-ms-version`.
    public var apiVersion: String

    public init(account: String, container: String, prefix: String = "", endpoint: String? = nil,
                authentication: Authentication, blockThreshold: Int = 64 << 20, blockSize: Int = 16 << 20,
                blockConcurrency: Int = 4, batchConcurrency: Int = 16, retry: RetryPolicy = RetryPolicy(),
                apiVersion: String = "2021-12-02") throws {
        guard (3...24).contains(account.utf8.count), account.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }) else {
            throw StorageError(.invalidArgument, "'\(account)' is not an Azure storage account name (3–24 lower-case letters and digits)")
        }
        guard (3...63).contains(container.utf8.count), !container.contains("/") else {
            throw StorageError(.invalidArgument, "'\(container)' is not an Azure container name (3–63 characters)")
        }
        guard blockSize > 0, blockThreshold >= blockSize else {
            throw StorageError(.invalidArgument, "Azure block threshold \(blockThreshold) must be at least the block size \(blockSize)")
        }
        self.account = account
        self.container = container
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        var chosen = endpoint ?? "https://\(account).blob.core.windows.net"
        while chosen.hasSuffix("/") { chosen.removeLast() }
        self.endpoint = chosen
        self.authentication = authentication
        self.blockThreshold = blockThreshold
        self.blockSize = blockSize
        self.blockConcurrency = max(1, blockConcurrency)
        self.batchConcurrency = max(1, batchConcurrency)
        self.retry = retry
        self.apiVersion = apiVersion
    }
}

/// A `StorageBackend` on Azure Blob Storage (block blobs) over the REST API.
///
/// ETags are versions; create-only is `If-None-Match: *`, CAS is `If-Match`. Every
/// put carries the writer nonce as `x-ms-meta-freshetwriter`, so an unknown outcome
/// is settled by reading the blob's properties. Listings page with Azure's opaque
/// markers; the marker that follows each page's last name is remembered, so walking
/// pages in order costs one request per page.
///
/// Not run against Azure or an emulator here (Azurite needs npm): the signer is checked
/// against Azure's documented string-to-sign examples and the request building
/// against recorded exchanges.
public final class AzureBlobBackend: StorageBackend {
    public static let kindName = BackendKind("azure")
    static let nonceHeader = "x-ms-meta-freshetwriter"
    static let chainHeader = "x-ms-meta-freshetchain"

    public let configuration: AzureConfiguration
    let runner: RequestRunner
    let stamps = WriterStamps()
    /// (prefix, last name of a page) → the marker of the page after it.
    let markers = Mutex([String: String]())

    public init(configuration: AzureConfiguration, transport: any HTTPTransport) {
        self.configuration = configuration
        self.runner = RequestRunner(transport: transport, policy: configuration.retry, service: "Azure Blob")
    }

    public var kind: BackendKind { Self.kindName }
    public var capabilities: StorageCapabilities {
        StorageCapabilities(atomicBatch: false, durable: true, strongReadAfterWrite: true, maxObjectSize: 190 << 40)
    }

    /// Builds and authorizes a request; `key` nil addresses the container.
    func request(_ method: String, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
                 body: [UInt8] = []) -> ObjectRequest {
        var path = "/" + URIEncoding.encode(configuration.container)
        if let key { path += "/" + URIEncoding.encode(configuration.prefix + key, keepSlash: true) }
        var all = headers
        all.append(("x-ms-date", UTCTimestamp.now().rfc1123))
        all.append(("x-ms-version", configuration.apiVersion))
        if method == "PUT" || method == "POST" || !body.isEmpty { all.append(("content-length", String(body.count))) }
        var queryString = URIEncoding.canonicalQuery(query)
        switch configuration.authentication {
        case .sharedKey(let signer):
            all.append(("authorization", signer.authorization(method: method, headers: all, path: path, query: query)))
        case .sas(let token):
            let trimmed = token.hasPrefix("?") ? String(token.dropFirst()) : token
            queryString += (queryString.isEmpty ? "" : "&") + trimmed
        }
        let url = configuration.endpoint + path + (queryString.isEmpty ? "" : "?" + queryString)
        return ObjectRequest(method: method, url: url, headers: all.map { (name: $0.0, value: $0.1) }, body: body)
    }

    func unexpected(_ what: String, _ key: String, _ response: ObjectResponse) -> StorageError {
        let detail = RequestRunner.describe(response)
        switch response.status {
        case 401, 403:
            return StorageError(.io, "Azure denied \(what) of \(key) (check the account key or SAS permissions): \(detail)")
        case 400:
            return StorageError(.invalidArgument, "Azure rejected \(what) of \(key): \(detail)")
        case 404 where RequestRunner.errorCode(in: response) == "ContainerNotFound":
            return StorageError(.io, "Azure container \(configuration.container) does not exist in account \(configuration.account); create it first")
        default:
            return StorageError(.io, "Azure \(what) of \(key) failed: \(detail)")
        }
    }

    // MARK: reads

    public func get(_ key: String) async throws -> StoredObject? {
        try StorageArguments.check(key: key)
        let response = try await runner.run("Get Blob", idempotent: true) { request("GET", key: key) }
        switch response.status {
        case 200:
            guard let etag = response.header("etag") else { throw StorageError(.io, "Azure Get Blob of \(key) returned no ETag") }
            stamps.record(key, ObjectVersion(etag), Self.stamp(response))
            return StoredObject(body: response.body, version: ObjectVersion(etag))
        case 404 where RequestRunner.errorCode(in: response) != "ContainerNotFound":
            return nil
        default:
            throw unexpected("Get Blob", key, response)
        }
    }

    public func get(_ key: String, range: Range<Int>) async throws -> StoredObject? {
        try StorageArguments.check(key: key)
        try StorageArguments.check(range: range)
        if range.isEmpty { return try await properties(key).map { StoredObject(body: [], version: $0.version, size: $0.size) } }
        let header = ("x-ms-range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")
        let response = try await runner.run("Get Blob (range)", idempotent: true) { request("GET", key: key, headers: [header]) }
        switch response.status {
        case 206, 200:
            guard let etag = response.header("etag") else { throw StorageError(.io, "Azure Get Blob of \(key) returned no ETag") }
            if response.status == 200 {
                let clamped = StorageArguments.clamp(range, size: response.body.count)
                return StoredObject(body: Array(response.body[clamped]), version: ObjectVersion(etag), size: response.body.count)
            }
            let total = response.header("content-range").flatMap { $0.split(separator: "/").last.flatMap { Int($0) } }
            return StoredObject(body: response.body, version: ObjectVersion(etag), size: total ?? range.lowerBound + response.body.count)
        case 416:
            return try await properties(key).map { StoredObject(body: [], version: $0.version, size: $0.size) }
        case 404 where RequestRunner.errorCode(in: response) != "ContainerNotFound":
            return nil
        default:
            throw unexpected("Get Blob (range)", key, response)
        }
    }

    static func stamp(_ response: ObjectResponse) -> WriterStamp {
        WriterStamp(writer: response.header(nonceHeader), chainHeader: response.header(chainHeader))
    }

    func properties(_ key: String) async throws -> (version: ObjectVersion, size: Int, stamp: WriterStamp)? {
        let response = try await runner.run("Get Blob Properties", idempotent: true) { request("HEAD", key: key) }
        switch response.status {
        case 200:
            guard let etag = response.header("etag") else { throw StorageError(.io, "Azure properties of \(key) have no ETag") }
            let stamp = Self.stamp(response)
            stamps.record(key, ObjectVersion(etag), stamp)
            return (ObjectVersion(etag), response.header("content-length").flatMap { Int($0) } ?? 0, stamp)
        case 404:
            return nil
        default:
            throw unexpected("Get Blob Properties", key, response)
        }
    }

    public func getMany(_ keys: [String]) async throws -> [StoredObject?] {
        try await concurrentMap(keys, limit: configuration.readConcurrency) { try await self.get($0) }
    }

    public func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try StorageArguments.check(limit: limit)
        var marker: String? = startAfter.flatMap { after in markers.withLock { $0[prefix + "\u{0}" + after] } }
        var objects: [ListedObject] = []
        while true {
            var query = [("restype", "container"), ("comp", "list"), ("prefix", configuration.prefix + prefix),
                         ("maxresults", String(min(max(limit, 1), 5000)))]
            if let marker { query.append(("marker", marker)) }
            let response = try await runner.run("List Blobs", idempotent: true) { request("GET", key: nil, query: query) }
            guard response.status == 200 else { throw unexpected("List Blobs", prefix, response) }
            let root: XMLElement
            do { root = try XMLElement.parse(response.body) } catch {
                throw StorageError(.corrupt, "Azure listing of \(prefix) is not valid XML: \(error)")
            }
            let next = root.value("NextMarker").flatMap { $0.isEmpty ? nil : $0 }
            for blob in root.child("Blobs")?.all("Blob") ?? [] {
                guard let name = blob.value("Name"), name.hasPrefix(configuration.prefix) else { continue }
                let key = String(name.dropFirst(configuration.prefix.count))
                if let startAfter, !startAfter.utf8.lexicographicallyPrecedes(key.utf8) { continue }
                let properties = blob.child("Properties")
                objects.append(ListedObject(key: key, size: properties?.value("Content-Length").flatMap { Int($0) } ?? 0,
                                            version: ObjectVersion(properties?.value("Etag") ?? "")))
                if objects.count == limit { break }
            }
            if objects.count == limit {
                // More may follow: in this response (we stopped early) or after `next`.
                let last = objects.last!.key
                let resume = marker
                markers.withLock { table in
                    if table.count > 1024 { table.removeAll() }
                    table[prefix + "\u{0}" + last] = resume
                }
                let exhausted = next == nil && (root.child("Blobs")?.all("Blob").last?.value("Name") == configuration.prefix + last)
                return ListPage(objects: objects, nextCursor: exhausted ? nil : last)
            }
            guard let next else { return ListPage(objects: objects, nextCursor: nil) }
            marker = next
        }
    }

    // MARK: writes

    public func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try StorageArguments.check(key: key)
        return try await stamps.put(
            key: key, condition: condition, service: "Azure", retry: configuration.retry,
            attempt: { nonce, chain in
                let version = body.count > configuration.blockThreshold
                    ? try await blockPut(key, body, condition: condition, nonce: nonce, chain: chain)
                    : try await singlePut(key, body, condition: condition, nonce: nonce, chain: chain)
                return version.map { .stored($0) } ?? .conditionFailed
            },
            readBack: { try await properties(key).map { ($0.version, $0.stamp) } },
            conditionFailed: { conditionFailed(key, condition) })
    }

    func conditionFailed(_ key: String, _ condition: PutCondition) -> StorageError {
        switch condition {
        case .ifVersion(let version): return StorageError(.conditionFailed, "\(key) is no longer at version \(version)")
        default: return StorageError(.conditionFailed, "\(key) already exists")
        }
    }

    func conditionHeaders(_ condition: PutCondition) -> [(String, String)] {
        switch condition {
        case .none: return []
        case .ifAbsent: return [("if-none-match", "*")]
        case .ifVersion(let version): return [("if-match", version.token)]
        }
    }

    /// The version written, or nil when the condition failed.
    func conditionalResult(_ response: ObjectResponse, key: String, what: String) throws -> ObjectVersion? {
        switch response.status {
        case 201, 200:
            guard let etag = response.header("etag") else { throw StorageError(.io, "Azure \(what) of \(key) returned no ETag") }
            return ObjectVersion(etag)
        case 412:
            return nil
        case 409 where RequestRunner.errorCode(in: response) == "BlobAlreadyExists":
            return nil
        case 404 where RequestRunner.errorCode(in: response) == "BlobNotFound":
            return nil  // If-Match on a missing blob
        default:
            throw unexpected(what, key, response)
        }
    }

    func metadataHeaders(nonce: String, chain: [String]) -> [(String, String)] {
        [(Self.nonceHeader, nonce)] + (chain.isEmpty ? [] : [(Self.chainHeader, chain.joined(separator: ","))])
    }

    func singlePut(_ key: String, _ body: [UInt8], condition: PutCondition, nonce: String, chain: [String]) async throws -> ObjectVersion? {
        let headers = [("x-ms-blob-type", "BlockBlob"), ("content-type", "application/octet-stream")]
            + metadataHeaders(nonce: nonce, chain: chain) + conditionHeaders(condition)
        let response = try await runner.run("Put Blob", idempotent: condition == .none) {
            request("PUT", key: key, headers: headers, body: body)
        }
        return try conditionalResult(response, key: key, what: "Put Blob")
    }

    /// Put Block for each block, then Put Block List under the condition. Uncommitted
    /// blocks of a failed upload are discarded by Azure after a week.
    func blockPut(_ key: String, _ body: [UInt8], condition: PutCondition, nonce: String, chain: [String]) async throws -> ObjectVersion? {
        var machine = MultipartUploadMachine(size: body.count, partSize: configuration.blockSize,
                                             concurrency: configuration.blockConcurrency)
        var pending = machine.start()
        var result: ObjectVersion?? = nil
        func blockID(_ part: Int) -> String {
            let digits = String(part)
            return base64(Array((nonce.prefix(16) + "-" + String(repeating: "0", count: 6 - digits.count) + digits).utf8))
        }
        try await withThrowingTaskGroup(of: MultipartUploadMachine.Event.self) { group in
            while result == nil {
                for action in pending {
                    switch action {
                    case .create:
                        group.addTask { .created(uploadID: nonce) }
                    case .upload(let part, let range):
                        let slice = Array(body[range]), id = blockID(part)
                        group.addTask {
                            do {
                                let response = try await self.runner.run("Put Block", idempotent: true) {
                                    self.request("PUT", key: key, query: [("comp", "block"), ("blockid", id)], body: slice)
                                }
                                return response.status == 201 ? .uploaded(part: part, etag: id)
                                    : .uploadFailed(part: part, reason: RequestRunner.describe(response))
                            } catch let error as StorageError {
                                return .uploadFailed(part: part, reason: error.message)
                            }
                        }
                    case .complete(_, let parts):
                        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>"
                            + parts.map { "<Latest>\($0.etag)</Latest>" }.joined() + "</BlockList>"
                        let headers = [("x-ms-blob-content-type", "application/octet-stream")]
                            + metadataHeaders(nonce: nonce, chain: chain) + conditionHeaders(condition)
                        let response = try await runner.run("Put Block List", idempotent: condition == .none) {
                            request("PUT", key: key, query: [("comp", "blocklist")], headers: headers, body: Array(xml.utf8))
                        }
                        result = .some(try conditionalResult(response, key: key, what: "Put Block List"))
                    case .abort:
                        group.addTask { .aborted }
                    case .succeed:
                        break
                    case .fail(let reason):
                        throw StorageError(.io, "Azure block upload of \(key): \(reason)")
                    }
                }
                if result != nil { break }
                guard let event = try await group.next() else { break }
                pending = machine.handle(event)
            }
        }
        guard let result else { throw StorageError(.io, "Azure block upload of \(key) ended without an outcome") }
        return result
    }

    public func delete(_ key: String) async throws {
        try StorageArguments.check(key: key)
        let response = try await runner.run("Delete Blob", idempotent: true) { request("DELETE", key: key) }
        guard [200, 202, 404].contains(response.status) else { throw unexpected("Delete Blob", key, response) }
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
