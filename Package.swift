// swift-tools-version:6.1
import PackageDescription

// Language mode 5 with complete concurrency checking reported as warnings: the
// concurrency model is checked, but a new Sendable diagnostic in a dependency
// upgrade never breaks the build.
let settings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .unsafeFlags(["-Xfrontend", "-strict-concurrency=complete"]),
]

let package = Package(
    name: "Freshet",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "freshet", targets: ["freshet"]),
        .library(name: "FreshetStorage", targets: ["FreshetStorage"]),
        .library(name: "FreshetEngine", targets: ["FreshetEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // storage layer
        .systemLibrary(
            name: "CRocksDB",
            path: "Sources/CRocksDB",
            providers: [.apt(["librocksdb-dev"])]
        ),
        .target(name: "CFreshetChecksum", path: "Sources/CFreshetChecksum"),
        .target(name: "FreshetStorage", dependencies: ["CFreshetChecksum"], swiftSettings: settings),
        .target(name: "FreshetStorageConformance", dependencies: ["FreshetStorage"], swiftSettings: settings),
        .target(name: "FreshetRocksDB", dependencies: ["CRocksDB", "FreshetStorage"], swiftSettings: settings),
        // the shared L3 cache: a RESP client over SwiftNIO
        .target(
            name: "FreshetRedis",
            dependencies: [
                "FreshetStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: settings
        ),
        // object stores: S3 (SigV4), GCS (JSON API), Azure Blob (Shared Key) over HTTP
        .target(
            name: "FreshetObjectStore",
            dependencies: [
                "FreshetStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: settings
        ),
        // cpp-interface (C kernels) and their Swift wrappers
        .target(name: "CFreshetKernels", path: "Sources/CFreshetKernels"),
        // positioned reads that can refuse to wait for the device (preadv2 RWF_NOWAIT)
        .target(name: "CFreshetIO", path: "Sources/CFreshetIO"),
        // Optimised even in debug builds: clustering and scans are hot loops, and the
        // index tests and debug servers would otherwise spend minutes in them.
        .target(
            name: "FreshetIndex", dependencies: ["CFreshetKernels", "CFreshetIO", "FreshetStorage"],
            swiftSettings: settings + [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // full text: analyzers, inverted index, BM25
        .target(
            name: "FreshetText", dependencies: ["FreshetStorage"],
            swiftSettings: settings + [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // core
        .target(
            name: "FreshetEngine",
            dependencies: ["FreshetStorage", "FreshetIndex", "FreshetText", .product(name: "Logging", package: "swift-log")],
            swiftSettings: settings
        ),
        // api
        .target(
            name: "FreshetServer",
            dependencies: [
                "FreshetEngine", "FreshetIndex", "FreshetStorage", "FreshetRocksDB", "FreshetObjectStore", "FreshetRedis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: settings
        ),
        // client
        .target(name: "FreshetClient", dependencies: ["FreshetEngine"], swiftSettings: settings),
        .executableTarget(
            name: "freshet",
            dependencies: [
                "FreshetServer", "FreshetClient", "FreshetEngine", "FreshetIndex", "FreshetStorage", "FreshetRocksDB",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: settings
        ),
        .target(name: "FreshetBenchSupport", path: "Benchmarks/Support", swiftSettings: settings),
        .executableTarget(
            name: "freshet-bench-write",
            dependencies: ["FreshetBenchSupport", "FreshetEngine", "FreshetIndex", "FreshetStorage", "FreshetRocksDB"],
            path: "Benchmarks/WriteBench",
            swiftSettings: settings
        ),
        .executableTarget(
            name: "freshet-bench-ann",
            dependencies: ["FreshetBenchSupport", "FreshetIndex", "FreshetStorage", "FreshetRocksDB"],
            path: "Benchmarks/AnnBench",
            swiftSettings: settings
        ),
        .executableTarget(
            name: "freshet-bench-filter",
            dependencies: ["FreshetBenchSupport", "FreshetEngine", "FreshetIndex", "FreshetStorage"],
            path: "Benchmarks/FilterBench",
            swiftSettings: settings
        ),
        .executableTarget(
            name: "freshet-bench-objectstore",
            dependencies: ["FreshetBenchSupport", "FreshetEngine", "FreshetIndex", "FreshetStorage", "FreshetObjectStore",
                           "FreshetRedis", "FreshetRocksDB"],
            path: "Benchmarks/ObjectStoreBench",
            swiftSettings: settings
        ),
        .executableTarget(
            name: "freshet-bench-text",
            dependencies: ["FreshetBenchSupport", "FreshetText", "FreshetEngine"],
            path: "Benchmarks/TextBench",
            swiftSettings: settings
        ),
        .testTarget(name: "FreshetStorageTests", dependencies: ["FreshetStorage", "FreshetStorageConformance"], swiftSettings: settings),
        .testTarget(name: "FreshetRocksDBTests", dependencies: ["FreshetRocksDB", "FreshetStorageConformance"], swiftSettings: settings),
        .testTarget(name: "FreshetObjectStoreTests", dependencies: ["FreshetObjectStore", "FreshetStorage", "FreshetStorageConformance", "FreshetEngine"], swiftSettings: settings),
        .testTarget(name: "FreshetCacheTests", dependencies: ["FreshetRedis", "FreshetRocksDB", "FreshetObjectStore", "FreshetStorage", "FreshetStorageConformance"], swiftSettings: settings),
        .testTarget(name: "FreshetIndexTests", dependencies: ["FreshetIndex", "FreshetStorage"], swiftSettings: settings),
        // Fixtures are read by path (#filePath), not bundled.
        .testTarget(name: "FreshetTextTests", dependencies: ["FreshetText", "FreshetStorage"], exclude: ["Fixtures"], swiftSettings: settings),
        .testTarget(name: "FreshetEngineTests", dependencies: ["FreshetEngine", "FreshetStorage"], swiftSettings: settings),
        .testTarget(
            name: "FreshetClientTests",
            dependencies: [
                "FreshetClient", "FreshetServer", "FreshetEngine", "FreshetStorage",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: settings
        ),
        .testTarget(
            name: "FreshetServerTests",
            dependencies: [
                "FreshetServer", "FreshetEngine", "FreshetStorage",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: settings
        ),
    ]
)
