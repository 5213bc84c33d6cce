// swift-tools-version: 6.2
import PackageDescription

/// The CPU the code is compiled for: this machine's by default (the suite
/// measures the machine it is built on), or `ATTNBENCH_TARGET_CPU`, such as
/// `haswell` for an AVX2 build on an AVX-512 machine. Without a target CPU
/// the compiler lowers SIMD arithmetic to library calls (20x slower). The
/// kernel table offers only the kernels this build and the CPU both have.
let targetCPU = Context.environment["ATTNBENCH_TARGET_CPU"] ?? "native"
let nativeCPU: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", targetCPU]),
    // Each file must import what it uses; without this, one file's `import Foundation`
    // silently serves every file of its module.
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "AttentionBench",
    // No `platforms:`: it sets minimum Apple OS versions, and the package is
    // built and tested on Linux x86_64 only (it reads /proc; see README).
    products: [
        .library(name: "Attention", targets: ["Attention"]),
        .library(name: "BenchHarness", targets: ["BenchHarness"]),
        .library(name: "NumpyFormat", targets: ["NumpyFormat"]),
        .executable(name: "attnbench", targets: ["attnbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // OpenBLAS's CBLAS, found with pkg-config (Debian: libopenblas-dev).
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // What the build was compiled for and what the CPU can do (cpuid), for the kernel table.
        .target(name: "CTargetFeatures"),
        // prctl(2) and an async-signal-safe signal handler, for the harness's child processes.
        .target(name: "CProcessControl"),
        // Register-only FMA and bf16 dot-product loops: the measured compute roof.
        .target(name: "CComputePeak"),
        // The attention problem, the strategies, their kernels and the float64 reference.
        .target(
            name: "Attention",
            dependencies: ["CBLAS", "CTargetFeatures"],
            swiftSettings: nativeCPU
        ),
        // NumPy `.npy` files: float16/float32/float64 arrays in, float32 or float16 out, bytes and files.
        .target(
            name: "NumpyFormat",
            swiftSettings: nativeCPU
        ),
        // Measuring: timing statistics, peak memory, BLAS environment, reports.
        .target(
            name: "BenchHarness",
            dependencies: ["Attention", "CBLAS", "CComputePeak", "CProcessControl", "NumpyFormat"],
            swiftSettings: nativeCPU
        ),
        .executableTarget(
            name: "attnbench",
            dependencies: [
                "Attention",
                "BenchHarness",
                "NumpyFormat",
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
            name: "NumpyFormatTests",
            dependencies: ["NumpyFormat"],
            resources: [.copy("Fixtures")],
            swiftSettings: nativeCPU
        ),
        .testTarget(
            name: "BenchHarnessTests",
            dependencies: ["BenchHarness", "AttentionTestSupport", "NumpyFormat"],
            // fake_peer.py is run in place by the peer tests, not bundled.
            exclude: ["Fixtures"],
            swiftSettings: nativeCPU
        ),
        .testTarget(
            name: "AttnbenchCLITests",
            dependencies: [
                "attnbench", "BenchHarness", "AttentionTestSupport", "NumpyFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: nativeCPU
        ),
    ]
)
