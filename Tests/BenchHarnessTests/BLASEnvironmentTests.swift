import BenchHarness
import XCTest

final class BLASEnvironmentTests: XCTestCase {
    let avx512 = CPUFeatures(modelName: "x", avx2: true, fma: true, avx512f: true)
    let avx2 = CPUFeatures(modelName: "x", avx2: true, fma: true, avx512f: false)
    let sse = CPUFeatures(modelName: "x", avx2: false, fma: false, avx512f: false)

    func testSlowKernelsOnAModernCPUAreReplacedByReexecution() {
        XCTAssertEqual(
            KernelDecision.decide(cpu: avx512, core: "Prescott", requested: nil, alreadyReexecuted: false),
            .reexecute(coreType: "SkylakeX"))
        XCTAssertEqual(
            KernelDecision.decide(cpu: avx512, core: "Haswell", requested: nil, alreadyReexecuted: false),
            .reexecute(coreType: "SkylakeX"))
        XCTAssertEqual(
            KernelDecision.decide(cpu: avx2, core: "Nehalem", requested: nil, alreadyReexecuted: false),
            .reexecute(coreType: "Haswell"))
    }

    func testGoodKernelsAreKept() {
        for core in ["SkylakeX", "Cooperlake", "SapphireRapids"] {
            XCTAssertEqual(
                KernelDecision.decide(cpu: avx512, core: core, requested: nil, alreadyReexecuted: false), .keep)
        }
        XCTAssertEqual(KernelDecision.decide(cpu: avx2, core: "Zen", requested: nil, alreadyReexecuted: false), .keep)
        XCTAssertEqual(
            KernelDecision.decide(cpu: sse, core: "Prescott", requested: nil, alreadyReexecuted: false), .keep)
    }

    func testAUserChoiceIsObeyedWithAWarning() {
        guard
            case .warn(let message) = KernelDecision.decide(
                cpu: avx512, core: "Haswell", requested: "Haswell",
                alreadyReexecuted: false)
        else { return XCTFail() }
        XCTAssert(message.contains("OPENBLAS_CORETYPE=Haswell") && message.contains("obeyed"), message)
        XCTAssertEqual(
            KernelDecision.decide(cpu: avx512, core: "SkylakeX", requested: "SkylakeX", alreadyReexecuted: false), .keep
        )
    }

    func testNoSecondReexecution() {
        guard case .warn = KernelDecision.decide(cpu: avx512, core: "Prescott", requested: nil, alreadyReexecuted: true)
        else {
            return XCTFail("must not loop")
        }
    }

    func testThisProcessReportsItsKernels() {
        let env = BLASEnvironment.current()
        XCTAssertFalse(env.core.isEmpty)
        XCTAssert(env.config.contains("OpenBLAS"), env.config)
    }
}

final class BytesTests: XCTestCase {
    func testParseAndFormat() {
        XCTAssertEqual(Bytes.parse("512M"), 512 << 20)
        XCTAssertEqual(Bytes.parse("8G"), 8 << 30)
        XCTAssertEqual(Bytes.parse("1.5GiB"), 3 << 29)
        XCTAssertEqual(Bytes.parse("100"), 100)
        XCTAssertNil(Bytes.parse("lots"))
        XCTAssertNil(Bytes.parse("-1G"))
        XCTAssertEqual(Bytes.format(512), "512 B")
        XCTAssertEqual(Bytes.format(3 << 29), "1.5 GiB")
    }
}
