// swift-tools-version: 6.1
import PackageDescription

/// Hot loops are written with `SIMD16<Float>`; without a target CPU the
/// compiler lowers that to library calls (20x slower, see ENVIRONMENT.md).
/// The suite measures the machine it is built on, so it targets that CPU.
let nativeCPU: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "native"])]

let package = Package(
    name: "AttentionBench",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Attention", targets: ["Attention"]),
        .library(name: "BenchHarness", targets: ["BenchHarness"]),
        .executable(name: "attnbench", targets: ["attnbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS's CBLAS, found with pkg-config (Debian: libopenblas-dev).
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // The attention problem, the strategies, their kernels and the float64 reference.
        .target(
            name: "Attention",
            dependencies: ["CBLAS"],
            swiftSettings: nativeCPU
        ),
        // Measuring: timing statistics, peak memory, BLAS environment, reports.
        .target(
            name: "BenchHarness",
            dependencies: ["Attention", "CBLAS"],
            swiftSettings: nativeCPU
        ),
        .executableTarget(
            name: "attnbench",
            dependencies: [
                "Attention",
                "BenchHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: nativeCPU
        ),
        // Shared test helpers: random shapes, error measures.
        .target(
            name: "AttentionTestSupport",
            dependencies: ["Attention"],
            path: "Tests/AttentionTestSupport",
            swiftSettings: nativeCPU
        ),
        .testTarget(
            name: "AttentionTests",
            dependencies: ["Attention", "AttentionTestSupport"],
            swiftSettings: nativeCPU
        ),
        .testTarget(
            name: "BenchHarnessTests",
            dependencies: ["BenchHarness", "AttentionTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: nativeCPU
        ),
        .testTarget(
            name: "AttnbenchCLITests",
            dependencies: ["attnbench", "BenchHarness", "AttentionTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: nativeCPU
        ),
    ]
)
