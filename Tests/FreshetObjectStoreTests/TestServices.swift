import FreshetObjectStore
import FreshetStorage
import XCTest

/// The external services `tests/services.py` starts for `make test`. A test whose
/// service is not configured skips — unless FRESHET_REQUIRE_SERVICES=1 (set by
/// `make test`), where a missing service is a failure.
enum TestServices {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func value(_ name: String) throws -> String {
        if let value = environment[name], !value.isEmpty { return value }
        if environment["FRESHET_REQUIRE_SERVICES"] == "1" {
            XCTFail("\(name) is not set although FRESHET_REQUIRE_SERVICES=1; run the suite with `make test`")
        }
        throw XCTSkip("\(name) is not set: start the test services with `python tests/services.py start` (make test does)")
    }

    /// A prefix no earlier run used, so runs against a long-lived server never collide.
    static func uniquePrefix(_ label: String) -> String {
        "tests/\(label)-\(UInt64.random(in: 0...UInt64.max))/"
    }

    static func s3Configuration(endpoint variable: String, prefix: String, multipartThreshold: Int = 64 << 20,
                                partSize: Int = 16 << 20, storageClasses: [ObjectKind: String] = [:],
                                lifecycle: [LifecycleRule] = [], retry: RetryPolicy = RetryPolicy()) throws -> S3Configuration {
        try S3Configuration(
            bucket: try value("FRESHET_TEST_S3_BUCKET"), prefix: prefix, endpoint: try value(variable),
            region: "us-east-1", addressing: .path,
            credentials: AWSCredentials(accessKeyID: try value("FRESHET_TEST_S3_ACCESS_KEY"),
                                        secretAccessKey: try value("FRESHET_TEST_S3_SECRET_KEY")),
            multipartThreshold: multipartThreshold, partSize: partSize, storageClasses: storageClasses,
            lifecycle: lifecycle, retry: retry)
    }
}
