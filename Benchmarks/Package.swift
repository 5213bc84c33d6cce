// swift-tools-version: 6.1
import PackageDescription

// package-benchmark suites for the Attention library, kept in their own package
// so the root package does not depend on the benchmark package. Run them from
// this directory: `swift package benchmark` (see README.md).
let package = Package(
    name: "AttentionBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        // The root package. `name:` fixes the identity the target below refers
        // to; without it the identity is the checkout's directory name, so
        // `package: "main"` would work only in a clone named `main`.
        .package(name: "AttentionBench", path: ".."),
        // Only the MallocInterposer trait: the default traits also pull
        // swift-runtime-interposer, which is not available offline here.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The plugin finds benchmark executables whose sources sit in a
        // directory directly under a folder named `Benchmarks` (this one).
        .executableTarget(
            name: "AttentionBenchmarks",
            dependencies: [
                .product(name: "Attention", package: "AttentionBench"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "AttentionBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        )
    ]
)
