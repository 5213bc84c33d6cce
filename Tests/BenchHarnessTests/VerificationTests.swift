import Attention
import BenchHarness
import Foundation
import XCTest

final class VerificationTests: XCTestCase {
    /// A NaN in a row the sample does not check still fails verification.
    func testNonFiniteOutputFailsEvenOutsideTheSample() throws {
        // B·H·N·N·d = 8192² · 32 is over the full-reference budget: rows are sampled.
        let shape = try AttentionShape(heads: 1, queryLength: 8192, headDim: 32)
        let inputs = AttentionInputs.random(shape: shape, seed: 3)
        let mask = try AttentionMask(.causal, shape: shape)
        let output = inputs.makeOutput()
        try StrategyRegistry.strategy(named: "tiled").forward(inputs, mask: mask, output: output, threads: 2)
        let clean = Verification.verify(inputs, mask: mask, output: output)
        XCTAssert(clean.passes, "\(clean)")
        XCTAssertEqual(clean.nonFiniteOutputs, 0)
        XCTAssertNotEqual(clean.coverage, "all rows")

        XCTAssertFalse(Verification.sampleRows(shape.queryLength).contains(9))
        output[9 * shape.headDim + 1] = .nan
        output[4000 * shape.headDim] = -.infinity
        let dirty = Verification.verify(inputs, mask: mask, output: output)
        XCTAssertEqual(dirty.nonFiniteOutputs, 2)
        XCTAssertFalse(dirty.passes)
        // Neither error reads as a pass: both are undefined, not 0.
        XCTAssert(dirty.maxAbsoluteError.isNaN, "\(dirty)")
        XCTAssert(dirty.relativeFrobeniusError.isNaN, "\(dirty)")
    }

    /// Results with NaN and infinities encode (and decode back) instead of
    /// throwing and losing the whole report.
    func testJSONCarriesNonFiniteNumbers() throws {
        let v = VerificationResult(
            maxAbsoluteError: .nan, relativeFrobeniusError: .infinity, checkedRows: 3,
            coverage: "all rows", nonFiniteOutputs: 7)
        let data = try JSONCoding.encoder().encode(v)
        XCTAssert(String(decoding: data, as: UTF8.self).contains("\"nan\""))
        let back = try JSONCoding.decoder().decode(VerificationResult.self, from: data)
        XCTAssert(back.maxAbsoluteError.isNaN)
        XCTAssertEqual(back.relativeFrobeniusError, .infinity)
        XCTAssertEqual(back.nonFiniteOutputs, 7)
        // A result from a build that did not count non-finite outputs still reads.
        let old = #"{"checkedRows":1,"coverage":"all rows","maxAbsoluteError":0,"relativeFrobeniusError":0}"#
        XCTAssertNil(try JSONCoding.decoder().decode(VerificationResult.self, from: Data(old.utf8)).nonFiniteOutputs)
    }
}
