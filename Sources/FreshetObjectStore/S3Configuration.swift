import FreshetStorage

/// Everything an `S3Backend` needs. Defaults follow AWS; every S3-compatible store
/// (MinIO, SeaweedFS, Ceph, GCS's XML interop) works by setting `endpoint` and,
/// usually, path-style addressing.
public struct S3Configuration: Sendable {
    public enum Addressing: String, Sendable {
        /// `https://endpoint/bucket/key` — what most self-hosted stores expect.
        case path
        /// `https://bucket.endpoint/key` — AWS's default.
        case virtualHost
    }

    public var bucket: String
    /// Prepended to every key (empty, or ending in `/`), so many deployments share a bucket.
    public var prefix: String
    /// `scheme://host[:port]`. Default `https://s3.<region>.amazonaws.com`.
    public var endpoint: String
    public var region: String
    public var addressing: Addressing
    public var credentials: AWSCredentials
    /// Bodies above this go up in parts. Default 64 MiB: below it one PUT is faster.
    public var multipartThreshold: Int
    /// Part size of a multipart upload. Default 16 MiB (AWS's minimum is 5 MiB, and an
    /// object may have at most 10,000 parts, so 16 MiB parts reach 156 GiB).
    public var partSize: Int
    /// Parts of one upload sent at once. Default 4.
    public var partConcurrency: Int
    /// Requests of a batch write sent at once. Default 16.
    public var batchConcurrency: Int
    /// GETs of one `getMany` in flight at once. Default 128: a query's postings are
    /// fetched in one round trip (S3 serves thousands of GETs per second per prefix).
    public var readConcurrency = 128
    /// `x-amz-storage-class` per object kind; kinds not listed use the bucket default.
    public var storageClasses: [ObjectKind: String]
    /// Lifecycle rules installed on the bucket by `applyLifecycle()` (empty: left alone).
    public var lifecycle: [LifecycleRule]
    public var retry: RetryPolicy

    public init(bucket: String, prefix: String = "", endpoint: String? = nil, region: String = "us-east-1",
                addressing: Addressing? = nil, credentials: AWSCredentials,
                multipartThreshold: Int = 64 << 20, partSize: Int = 16 << 20, partConcurrency: Int = 4,
                batchConcurrency: Int = 16, storageClasses: [ObjectKind: String] = [:],
                lifecycle: [LifecycleRule] = [], retry: RetryPolicy = RetryPolicy()) throws {
        guard Self.isValidBucketName(bucket) else {
            throw StorageError(.invalidArgument, "'\(bucket)' is not a valid S3 bucket name: use 3–63 lower-case letters, digits, dots and hyphens")
        }
        guard partSize >= 5 << 20 else {
            throw StorageError(.invalidArgument, "S3 part size \(partSize) is below the 5 MiB minimum S3 accepts")
        }
        guard multipartThreshold >= partSize else {
            throw StorageError(.invalidArgument, "multipart threshold \(multipartThreshold) must be at least the part size \(partSize)")
        }
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        let defaultEndpoint = "https://s3.\(region).amazonaws.com"
        var chosen = endpoint ?? defaultEndpoint
        while chosen.hasSuffix("/") { chosen.removeLast() }
        guard chosen.hasPrefix("http://") || chosen.hasPrefix("https://") else {
            throw StorageError(.invalidArgument, "S3 endpoint \(chosen) must start with http:// or https://")
        }
        self.endpoint = chosen
        self.region = region
        // Dots in a bucket name break TLS for virtual hosts; custom endpoints rarely
        // have wildcard DNS.
        self.addressing = addressing ?? (endpoint == nil && !bucket.contains(".") ? .virtualHost : .path)
        self.credentials = credentials
        self.multipartThreshold = multipartThreshold
        self.partSize = partSize
        self.partConcurrency = max(1, partConcurrency)
        self.batchConcurrency = max(1, batchConcurrency)
        self.storageClasses = storageClasses
        self.lifecycle = lifecycle
        self.retry = retry
    }

    static func isValidBucketName(_ name: String) -> Bool {
        guard (3...63).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
        }
    }
}

/// One bucket lifecycle rule, scoped to the deployment's prefix plus an object kind's
/// key pattern where S3 can express it (prefix filters only).
public struct LifecycleRule: Sendable, Equatable {
    public var id: String
    /// Key prefix under the deployment prefix ("" for all of it).
    public var prefix: String
    /// Days after which objects move to a storage class.
    public var transitions: [(days: Int, storageClass: String)]
    /// Days after which objects are deleted (nil: never).
    public var expirationDays: Int?
    /// Days after which unfinished multipart uploads are aborted (nil: never).
    public var abortIncompleteMultipartDays: Int?

    public init(id: String, prefix: String = "", transitions: [(days: Int, storageClass: String)] = [],
                expirationDays: Int? = nil, abortIncompleteMultipartDays: Int? = nil) {
        self.id = id
        self.prefix = prefix
        self.transitions = transitions
        self.expirationDays = expirationDays
        self.abortIncompleteMultipartDays = abortIncompleteMultipartDays
    }

    public static func == (a: LifecycleRule, b: LifecycleRule) -> Bool {
        a.id == b.id && a.prefix == b.prefix && a.expirationDays == b.expirationDays
            && a.abortIncompleteMultipartDays == b.abortIncompleteMultipartDays
            && a.transitions.map(\.days) == b.transitions.map(\.days)
            && a.transitions.map(\.storageClass) == b.transitions.map(\.storageClass)
    }
}
