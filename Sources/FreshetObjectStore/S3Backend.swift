import Crypto
import FreshetStorage

/// A `StorageBackend` on any S3-compatible object store, speaking the REST API with
/// SigV4 signatures over an `HTTPTransport`.
///
/// - Versions are ETags. Create-only is `If-None-Match: *`, CAS is `If-Match`.
/// - Every put carries a writer nonce (`x-amz-meta-freshet-writer`); a conditional
///   put with an unknown outcome is settled by reading it back
///   (`ConditionalPutResolution`), never by a blind retry.
/// - Bodies above `multipartThreshold` go up as a multipart upload, the condition on
///   its completion.
/// - Batches are not atomic: puts run concurrently, deletes go in DeleteObjects
///   requests of up to 1,000 keys.
public final class S3Backend: StorageBackend {
    public static let kindName = BackendKind("s3")
    static let nonceHeader = "x-amz-meta-freshet-writer"
    static let chainHeader = "x-amz-meta-freshet-chain"

    public let configuration: S3Configuration
    let transport: any HTTPTransport
    let runner: RequestRunner
    let signer: SigV4Signer
    let scheme: String
    let endpointHost: String
    let stamps = WriterStamps()

    public init(configuration: S3Configuration, transport: any HTTPTransport) {
        self.configuration = configuration
        self.transport = transport
        self.runner = RequestRunner(transport: transport, policy: configuration.retry, service: "S3")
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        let parts = configuration.endpoint.split(separator: "://", maxSplits: 1).map(String.init)
        self.scheme = parts[0]
        self.endpointHost = parts.count > 1 ? parts[1].split(separator: "/").first.map(String.init) ?? "" : ""
    }

    public var kind: BackendKind { Self.kindName }
    public var capabilities: StorageCapabilities {
        StorageCapabilities(atomicBatch: false, durable: true, strongReadAfterWrite: true, maxObjectSize: 5 << 40)
    }

    // MARK: requests

    /// Builds and signs a request for `key` (nil: the bucket itself).
    func request(_ method: String, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
                 body: [UInt8] = []) -> ObjectRequest {
        let objectPath = key.map { "/" + URIEncoding.encode(configuration.prefix + $0, keepSlash: true) } ?? "/"
        let host: String
        let path: String
        switch configuration.addressing {
        case .path:
            host = endpointHost
            path = "/" + configuration.bucket + (key == nil ? "" : objectPath)
        case .virtualHost:
            host = configuration.bucket + "." + endpointHost
            path = objectPath
        }
        let payloadHash = body.isEmpty ? SigV4Signer.emptyPayloadHash : SigV4Signer.hexSHA256(body)
        let signed = signer.sign(method: method, encodedPath: path, query: query, headers: [("host", host)] + headers,
                                 payloadHash: payloadHash, time: .now())
        let url = "\(scheme)://\(host)\(path)" + (signed.query.isEmpty ? "" : "?" + signed.query)
        return ObjectRequest(method: method, url: url, headers: signed.headers, body: body)
    }

    func unexpected(_ what: String, _ key: String, _ response: ObjectResponse) -> StorageError {
        let code = RequestRunner.errorCode(in: response)
        let detail = RequestRunner.describe(response)
        switch response.status {
        case 400 where code == "InvalidArgument" || code == "KeyTooLongError" || code == "InvalidRequest":
            return StorageError(.invalidArgument, "S3 rejected \(what) of \(key): \(detail)")
        case 403:
            return StorageError(.io, "S3 denied \(what) of \(key) (check the credentials and the bucket policy): \(detail)")
        case 404 where code == "NoSuchBucket":
            return StorageError(.io, "S3 bucket \(configuration.bucket) does not exist at \(configuration.endpoint); create it first")
        default:
            return StorageError(.io, "S3 \(what) of \(key) failed: \(detail)")
        }
    }

    static func etag(_ response: ObjectResponse) -> ObjectVersion? {
        response.header("etag").map { ObjectVersion($0) }
    }

    static func stamp(_ response: ObjectResponse) -> WriterStamp {
        WriterStamp(writer: response.header(nonceHeader), chainHeader: response.header(chainHeader))
    }

    // MARK: reads

    public func get(_ key: String) async throws -> StoredObject? {
        try StorageArguments.check(key: key)
        let response = try await runner.run("GET", idempotent: true) { request("GET", key: key) }
        switch response.status {
        case 200:
            guard let version = Self.etag(response) else { throw StorageError(.io, "S3 GET of \(key) returned no ETag") }
            stamps.record(key, version, Self.stamp(response))
            return StoredObject(body: response.body, version: version)
        case 404 where RequestRunner.errorCode(in: response) != "NoSuchBucket":
            return nil
        default:
            throw unexpected("GET", key, response)
        }
    }

    public func get(_ key: String, range: Range<Int>) async throws -> StoredObject? {
        try StorageArguments.check(key: key)
        try StorageArguments.check(range: range)
        if range.isEmpty {
            return try await head(key).map { StoredObject(body: [], version: $0.version, size: $0.size) }
        }
        let header = ("range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")
        let response = try await runner.run("GET", idempotent: true) { request("GET", key: key, headers: [header]) }
        switch response.status {
        case 206:
            guard let version = Self.etag(response) else { throw StorageError(.io, "S3 ranged GET of \(key) returned no ETag") }
            stamps.record(key, version, Self.stamp(response))
            let total = response.header("content-range").flatMap { $0.split(separator: "/").last.flatMap { Int($0) } }
            return StoredObject(body: response.body, version: version, size: total ?? range.lowerBound + response.body.count)
        case 200:
            // The store ignored the range (some do for small or empty objects).
            guard let version = Self.etag(response) else { throw StorageError(.io, "S3 GET of \(key) returned no ETag") }
            let clamped = StorageArguments.clamp(range, size: response.body.count)
            return StoredObject(body: Array(response.body[clamped]), version: version, size: response.body.count)
        case 416:
            return try await head(key).map { StoredObject(body: [], version: $0.version, size: $0.size) }
        case 404 where RequestRunner.errorCode(in: response) != "NoSuchBucket":
            return nil
        default:
            throw unexpected("ranged GET", key, response)
        }
    }

    /// Version, size and writer stamp of `key`, nil when absent.
    func head(_ key: String) async throws -> (version: ObjectVersion, size: Int, stamp: WriterStamp)? {
        let response = try await runner.run("HEAD", idempotent: true) { request("HEAD", key: key) }
        switch response.status {
        case 200:
            guard let version = Self.etag(response) else { throw StorageError(.io, "S3 HEAD of \(key) returned no ETag") }
            let size = response.header("content-length").flatMap { Int($0) } ?? 0
            let stamp = Self.stamp(response)
            stamps.record(key, version, stamp)
            return (version, size, stamp)
        case 404:
            return nil
        default:
            throw unexpected("HEAD", key, response)
        }
    }

    public func getMany(_ keys: [String]) async throws -> [StoredObject?] {
        try await concurrentMap(keys, limit: configuration.readConcurrency) { try await self.get($0) }
    }

    public func list(prefix: String, startAfter: String?, limit: Int) async throws -> ListPage {
        try StorageArguments.check(limit: limit)
        var query = [("list-type", "2"), ("prefix", configuration.prefix + prefix), ("max-keys", String(min(limit, 1000)))]
        if let startAfter { query.append(("start-after", configuration.prefix + startAfter)) }
        let response = try await runner.run("LIST", idempotent: true) { request("GET", key: nil, query: query) }
        guard response.status == 200 else { throw unexpected("LIST", prefix, response) }
        let root: XMLElement
        do { root = try XMLElement.parse(response.body) } catch {
            throw StorageError(.corrupt, "S3 listing of \(prefix) is not valid XML: \(error)")
        }
        var objects: [ListedObject] = []
        for entry in root.all("Contents") {
            guard let fullKey = entry.value("Key"), fullKey.hasPrefix(configuration.prefix) else { continue }
            objects.append(ListedObject(key: String(fullKey.dropFirst(configuration.prefix.count)),
                                        size: entry.value("Size").flatMap { Int($0) } ?? 0,
                                        version: ObjectVersion(entry.value("ETag") ?? "")))
        }
        let truncated = root.value("IsTruncated") == "true"
        return ListPage(objects: objects, nextCursor: truncated ? objects.last?.key : nil)
    }

    // MARK: writes

    public func put(_ key: String, _ body: [UInt8], condition: PutCondition) async throws -> ObjectVersion {
        try StorageArguments.check(key: key)
        return try await stamps.put(
            key: key, condition: condition, service: "S3", retry: configuration.retry,
            attempt: { nonce, chain in
                body.count > configuration.multipartThreshold
                    ? try await multipartPut(key, body, condition: condition, nonce: nonce, chain: chain)
                    : try await singlePut(key, body, condition: condition, nonce: nonce, chain: chain)
            },
            readBack: { try await head(key).map { ($0.version, $0.stamp) } },
            conditionFailed: { conditionFailed(key, condition) })
    }

    func conditionFailed(_ key: String, _ condition: PutCondition) -> StorageError {
        switch condition {
        case .ifAbsent: return StorageError(.conditionFailed, "\(key) already exists")
        case .ifVersion(let version): return StorageError(.conditionFailed, "\(key) is no longer at version \(version)")
        case .none: return StorageError(.conditionFailed, "\(key): unconditional put reported a failed condition")
        }
    }

    func conditionHeaders(_ condition: PutCondition) -> [(String, String)] {
        switch condition {
        case .none: return []
        case .ifAbsent: return [("if-none-match", "*")]
        case .ifVersion(let version): return [("if-match", version.token)]
        }
    }

    func objectHeaders(_ key: String, nonce: String, chain: [String]) -> [(String, String)] {
        var headers = [("content-type", "application/octet-stream"), (Self.nonceHeader, nonce)]
        if !chain.isEmpty { headers.append((Self.chainHeader, chain.joined(separator: ","))) }
        if let storageClass = configuration.storageClasses[ObjectKind.of(key)] {
            headers.append(("x-amz-storage-class", storageClass))
        }
        return headers
    }

    /// Interprets the answer to a conditional request.
    func putOutcome(_ response: ObjectResponse, key: String, what: String, etag: () -> ObjectVersion?) throws -> PutOutcome {
        switch response.status {
        case 200:
            guard let version = etag() else { throw StorageError(.io, "S3 \(what) of \(key) returned no ETag") }
            return .stored(version)
        case 412:
            return .conditionFailed
        case 404 where RequestRunner.errorCode(in: response) == "NoSuchKey":
            // If-Match against a missing object.
            return .conditionFailed
        case 409:
            // ConditionalRequestConflict: a concurrent conditional write; AWS asks to retry.
            return .retry(RequestRunner.describe(response))
        default:
            throw unexpected(what, key, response)
        }
    }

    func singlePut(_ key: String, _ body: [UInt8], condition: PutCondition, nonce: String, chain: [String]) async throws -> PutOutcome {
        let headers = objectHeaders(key, nonce: nonce, chain: chain) + conditionHeaders(condition)
        let response = try await runner.run("PUT", idempotent: condition == .none) {
            request("PUT", key: key, headers: headers, body: body)
        }
        return try putOutcome(response, key: key, what: "PUT") { Self.etag(response) }
    }

    func multipartPut(_ key: String, _ body: [UInt8], condition: PutCondition, nonce: String, chain: [String]) async throws -> PutOutcome {
        // Check the condition first, so a doomed upload sends no parts. The condition
        // is sent again with the completion, where S3 enforces it atomically (some
        // emulators, moto among them, enforce only If-None-Match there).
        if condition != .none {
            let current = try await head(key)
            switch condition {
            case .ifAbsent where current != nil: return .conditionFailed
            case .ifVersion(let expected) where current?.version != expected: return .conditionFailed
            default: break
            }
        }
        var machine = MultipartUploadMachine(size: body.count, partSize: configuration.partSize,
                                             concurrency: configuration.partConcurrency)
        var pending = machine.start()
        var outcome: PutOutcome? = nil
        var ambiguous: StorageError? = nil
        try await withThrowingTaskGroup(of: MultipartUploadMachine.Event.self) { group in
            while outcome == nil && ambiguous == nil {
                for action in pending {
                    switch action {
                    case .create:
                        group.addTask { try await self.createUpload(key, nonce: nonce, chain: chain) }
                    case .upload(let part, let range):
                        let slice = Array(body[range]), uploadID = machine.uploadID
                        group.addTask { try await self.uploadPart(key, part: part, body: slice, uploadID: uploadID) }
                    case .complete(let uploadID, let parts):
                        group.addTask { try await self.completeUpload(key, uploadID: uploadID, parts: parts, condition: condition) }
                    case .abort(let uploadID):
                        group.addTask { await self.abortUpload(key, uploadID: uploadID); return .aborted }
                    case .succeed(let etag):
                        outcome = .stored(ObjectVersion(etag))
                    case .fail(let reason):
                        if reason.contains("PreconditionFailed") || reason.contains("HTTP 412") {
                            outcome = .conditionFailed
                        } else if reason.contains("ConditionalRequestConflict") || reason.contains("HTTP 409") {
                            outcome = .retry(reason)
                        } else if reason.contains("outcome is unknown") {
                            ambiguous = StorageError(.ambiguousOutcome, "S3 multipart upload of \(key): \(reason)")
                        } else {
                            throw StorageError(.io, "S3 multipart upload of \(key): \(reason)")
                        }
                    }
                }
                pending = []
                if outcome != nil || ambiguous != nil { break }
                guard let event = try await group.next() else { break }
                pending = machine.handle(event)
            }
        }
        if let ambiguous { throw ambiguous }
        guard let outcome else { throw StorageError(.io, "S3 multipart upload of \(key) ended without an outcome") }
        return outcome
    }

    func createUpload(_ key: String, nonce: String, chain: [String]) async throws -> MultipartUploadMachine.Event {
        let headers = objectHeaders(key, nonce: nonce, chain: chain)
        do {
            let response = try await runner.run("CreateMultipartUpload", idempotent: true) {
                request("POST", key: key, query: [("uploads", "")], headers: headers)
            }
            guard response.status == 200, let id = (try? XMLElement.parse(response.body))?.value("UploadId") else {
                return .createFailed(reason: RequestRunner.describe(response))
            }
            return .created(uploadID: id)
        } catch let error as StorageError {
            return .createFailed(reason: error.message)
        }
    }

    func uploadPart(_ key: String, part: Int, body: [UInt8], uploadID: String) async throws -> MultipartUploadMachine.Event {
        do {
            let response = try await runner.run("UploadPart", idempotent: true) {
                request("PUT", key: key, query: [("partNumber", String(part)), ("uploadId", uploadID)], body: body)
            }
            guard response.status == 200, let etag = response.header("etag") else {
                return .uploadFailed(part: part, reason: RequestRunner.describe(response))
            }
            return .uploaded(part: part, etag: etag)
        } catch let error as StorageError {
            return .uploadFailed(part: part, reason: error.message)
        }
    }

    func completeUpload(_ key: String, uploadID: String, parts: [MultipartUploadMachine.CompletedPart],
                        condition: PutCondition) async throws -> MultipartUploadMachine.Event {
        let xml = "<CompleteMultipartUpload>" + parts.map {
            "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(xmlEscape($0.etag))</ETag></Part>"
        }.joined() + "</CompleteMultipartUpload>"
        do {
            let response = try await runner.run("CompleteMultipartUpload", idempotent: condition == .none) {
                request("POST", key: key, query: [("uploadId", uploadID)], headers: conditionHeaders(condition), body: Array(xml.utf8))
            }
            // S3 may answer 200 with an error document when completion fails late.
            let root = try? XMLElement.parse(response.body)
            if response.status == 200, root?.name == "CompleteMultipartUploadResult" {
                let etag = root?.value("ETag") ?? response.header("etag") ?? ""
                return .completed(etag: etag)
            }
            let code = RequestRunner.errorCode(in: response) ?? ""
            if response.status == 200 && ["InternalError", "SlowDown"].contains(code) {
                return .completeFailed(reason: "outcome is unknown: \(RequestRunner.describe(response))")
            }
            return .completeFailed(reason: "\(code) \(RequestRunner.describe(response))")
        } catch let error as StorageError where error.code == .ambiguousOutcome {
            return .completeFailed(reason: "outcome is unknown: \(error.message)")
        } catch let error as StorageError {
            return .completeFailed(reason: error.message)
        }
    }

    /// Best effort: a failed abort leaves parts that the lifecycle rule for
    /// incomplete uploads removes.
    func abortUpload(_ key: String, uploadID: String) async {
        _ = try? await runner.run("AbortMultipartUpload", idempotent: true) {
            request("DELETE", key: key, query: [("uploadId", uploadID)])
        }
    }

    public func delete(_ key: String) async throws {
        try StorageArguments.check(key: key)
        let response = try await runner.run("DELETE", idempotent: true) { request("DELETE", key: key) }
        guard [200, 204, 404].contains(response.status) else { throw unexpected("DELETE", key, response) }
    }

    public func write(batch: [BatchOperation]) async throws {
        // The last operation on a key wins, as in an atomic batch.
        let effective = try effectiveOperations(batch)
        let puts = effective.compactMap { operation -> (String, [UInt8])? in
            if case .put(let key, let body) = operation { return (key, body) } else { return nil }
        }
        let deletes = effective.compactMap { operation -> String? in
            if case .delete(let key) = operation { return key } else { return nil }
        }
        _ = try await concurrentMap(puts, limit: configuration.batchConcurrency) { try await self.put($0.0, $0.1) }
        var start = 0
        while start < deletes.count {
            try await deleteObjects(Array(deletes[start..<min(deletes.count, start + 1000)]))
            start += 1000
        }
    }

    /// One DeleteObjects request (quiet mode: only failures are listed).
    func deleteObjects(_ keys: [String]) async throws {
        let xml = "<Delete><Quiet>true</Quiet>" + keys.map {
            "<Object><Key>\(xmlEscape(configuration.prefix + $0))</Key></Object>"
        }.joined() + "</Delete>"
        let body = Array(xml.utf8)
        let md5 = base64(Array(Insecure.MD5.hash(data: body)))
        let response = try await runner.run("DeleteObjects", idempotent: true) {
            request("POST", key: nil, query: [("delete", "")], headers: [("content-md5", md5), ("content-type", "application/xml")], body: body)
        }
        guard response.status == 200 else { throw unexpected("DeleteObjects", keys.first ?? "", response) }
        if let root = try? XMLElement.parse(response.body), let failed = root.all("Error").first {
            throw StorageError(.io, "S3 DeleteObjects could not delete \(failed.value("Key") ?? "?"): \(failed.value("Code") ?? "") \(failed.value("Message") ?? "")")
        }
    }

    // MARK: bucket administration

    /// Installs `configuration.lifecycle` as the bucket's lifecycle configuration,
    /// each rule scoped under the deployment prefix. Does nothing when no rules are set.
    public func applyLifecycle() async throws {
        guard !configuration.lifecycle.isEmpty else { return }
        var xml = "<LifecycleConfiguration>"
        for rule in configuration.lifecycle {
            xml += "<Rule><ID>\(xmlEscape(rule.id))</ID><Filter><Prefix>\(xmlEscape(configuration.prefix + rule.prefix))</Prefix></Filter><Status>Enabled</Status>"
            for transition in rule.transitions {
                xml += "<Transition><Days>\(transition.days)</Days><StorageClass>\(xmlEscape(transition.storageClass))</StorageClass></Transition>"
            }
            if let days = rule.expirationDays { xml += "<Expiration><Days>\(days)</Days></Expiration>" }
            if let days = rule.abortIncompleteMultipartDays {
                xml += "<AbortIncompleteMultipartUpload><DaysAfterInitiation>\(days)</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
            }
            xml += "</Rule>"
        }
        xml += "</LifecycleConfiguration>"
        let body = Array(xml.utf8)
        let md5 = base64(Array(Insecure.MD5.hash(data: body)))
        let response = try await runner.run("PutBucketLifecycleConfiguration", idempotent: true) {
            request("PUT", key: nil, query: [("lifecycle", "")], headers: [("content-md5", md5), ("content-type", "application/xml")], body: body)
        }
        guard response.status == 200 else { throw unexpected("PutBucketLifecycleConfiguration", configuration.bucket, response) }
    }

    /// The bucket's lifecycle rule ids (empty when none is set).
    public func lifecycleRuleIDs() async throws -> [String] {
        let response = try await runner.run("GetBucketLifecycleConfiguration", idempotent: true) {
            request("GET", key: nil, query: [("lifecycle", "")])
        }
        if response.status == 404 { return [] }
        guard response.status == 200 else { throw unexpected("GetBucketLifecycleConfiguration", configuration.bucket, response) }
        return (try XMLElement.parse(response.body)).all("Rule").compactMap { $0.value("ID") }
    }

    /// Creates the bucket if it does not exist (for tests and first-run setups).
    public func createBucketIfMissing() async throws {
        var body: [UInt8] = []
        if configuration.region != "us-east-1" {
            body = Array("<CreateBucketConfiguration><LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>".utf8)
        }
        let response = try await runner.run("CreateBucket", idempotent: true) { request("PUT", key: nil, body: body) }
        let code = RequestRunner.errorCode(in: response)
        guard response.status == 200 || code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" else {
            throw unexpected("CreateBucket", configuration.bucket, response)
        }
    }

    /// The storage class S3 reports for `key` (nil: STANDARD or not reported).
    public func storageClass(of key: String) async throws -> String? {
        let response = try await runner.run("HEAD", idempotent: true) { request("HEAD", key: key) }
        guard response.status == 200 else { throw unexpected("HEAD", key, response) }
        return response.header("x-amz-storage-class")
    }
}

/// Runs `body` over `items` with at most `limit` in flight, results in input order.
func concurrentMap<Item: Sendable, Result: Sendable>(
    _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> Result
) async throws -> [Result] {
    if items.isEmpty { return [] }
    if items.count == 1 { return [try await body(items[0])] }
    return try await withThrowingTaskGroup(of: (Int, Result).self) { group in
        var results = [Result?](repeating: nil, count: items.count)
        var next = 0
        while next < min(limit, items.count) {
            let index = next, item = items[index]
            group.addTask { (index, try await body(item)) }
            next += 1
        }
        while let (index, result) = try await group.next() {
            results[index] = result
            if next < items.count {
                let index = next, item = items[index]
                group.addTask { (index, try await body(item)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}

/// Standard base64 with padding.
func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index + 2 < bytes.count {
        let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
        out += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], alphabet[Int(value & 63)]]
        index += 3
    }
    let rest = bytes.count - index
    if rest == 1 {
        let value = UInt32(bytes[index]) << 16
        out += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
    } else if rest == 2 {
        let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
        out += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], UInt8(ascii: "=")]
    }
    return String(decoding: out, as: UTF8.self)
}
