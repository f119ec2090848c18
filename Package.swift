// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "free-agent-controller",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "free-agent-controller", targets: ["FreeAgentController"]),
        // The benchmarks' load generator (benchmarks/run.sh).
        .executable(name: "fac-loadgen", targets: ["LoadGenerator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // NIOSSL / NIOTLS: the TLS server's handshake deadline (HummingbirdTLS uses swift-nio-ssl already).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The load generator (fac-loadgen), and the TLS test's HTTPS client that trusts only its own certificate.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // The load generator's latency percentiles.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // System libraries, linked through pkg-config / the Debian -dev packages.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        // The old controller's database, read by `import-legacy` (libsqlite3-dev; no pkg-config file needed).
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // glibc calls that Swift's Glibc module hides behind _GNU_SOURCE (memmem, sync_file_range).
        .target(name: "CSystemExtras"),

        // Build and worker identifiers and secret tokens: the one thing every module shares.
        .target(
            name: "Identifiers",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ArtifactStore",
            dependencies: [
                "Identifiers",
                "CLibArchive",
                "CSystemExtras",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // AWS Signature Version 4 (headers and presigned URLs), on swift-crypto: the S3 driver's signer.
        .target(
            name: "AWSSigV4",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The S3-compatible object-store driver behind ArtifactStore's BlobBackend (STORAGE_BACKEND=s3).
        .target(
            name: "S3Storage",
            dependencies: [
                "ArtifactStore",
                "AWSSigV4",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CertVault",
            dependencies: [
                "Identifiers",
                "ArtifactStore",
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Orchestrator",
            dependencies: [
                "Identifiers",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "Identifiers",
                "ArtifactStore",
                "CertVault",
                "Orchestrator",
                "CSystemExtras",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                // HTTPParserError: a broken or cut-off request is the client's fault (400), not ours.
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // `import-legacy`: the old controller's SQLite database and storage folder, moved into this one.
        .target(
            name: "LegacyImport",
            dependencies: [
                "Identifiers",
                "ArtifactStore",
                "CertVault",
                "Orchestrator",
                "CSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FreeAgentController",
            dependencies: [
                "Gateway",
                "LegacyImport",
                "Orchestrator",
                "ArtifactStore",
                "S3Storage",
                "CertVault",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // `fac-loadgen`: simulated CLIs and workers against controllers on 127.0.0.1 (benchmarks/run.sh).
        .executableTarget(
            name: "LoadGenerator",
            dependencies: [
                "Identifiers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Fixtures and a throwaway-schema database helper shared by the test targets.
        .target(
            name: "TestSupport",
            dependencies: [
                "Identifiers",
                "Orchestrator",
                // The S3 tests' moto settings and bucket inventory (both backends run the store's tests).
                "ArtifactStore",
                "S3Storage",
                "AWSSigV4",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AWSSigV4Tests",
            dependencies: ["AWSSigV4", .product(name: "Crypto", package: "swift-crypto")],
            // The published SigV4 test-suite vectors, read by the tests; botocore is run by them through python3.
            exclude: ["Vectors"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "IdentifiersTests", dependencies: ["Identifiers"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LoadGeneratorTests",
            dependencies: [
                "LoadGenerator",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LegacyImportTests",
            dependencies: [
                "LegacyImport", "Gateway", "TestSupport", "ArtifactStore", "CertVault", "Orchestrator", "Identifiers",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            // The fixture generator (python3), run by the tests.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ArtifactStoreTests",
            // CLibArchive: the tests deflate their hostile ZIPs with libarchive's writer.
            // S3Storage: the same store tests run against the S3 driver (moto, started by scripts/test.sh).
            dependencies: [
                "ArtifactStore", "S3Storage", "AWSSigV4", "TestSupport", "CLibArchive",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CertVaultTests",
            dependencies: ["CertVault", "ArtifactStore", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OrchestratorTests",
            dependencies: ["Orchestrator", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "TestSupport", "ArtifactStore", "S3Storage", "CertVault", "Orchestrator",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                // Raw sockets for the slowloris and upload-cap tests; an HTTPS client for TLSTests.
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
