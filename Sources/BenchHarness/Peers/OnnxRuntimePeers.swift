import Attention
import Foundation

/// The ONNX Runtime peers, run by `scripts/peers/ort_peer.py`
/// (`--backend attention`, `mha`, `gqa`): the attention an ONNX model
/// exported for CPU inference runs, and the one ONNX Runtime's LLM exports
/// run with their KV cache.
///
/// The memory prediction is a planning estimate read off what the CPU
/// kernel keeps per call, used only to skip cases over `--memory-limit`;
/// the report's memory columns are measured.
enum OnnxRuntimePeers {
    static var all: [Peer] { [attention, multiHead, groupQuery] }

    /// Resident memory of numpy, onnx and onnxruntime once imported, with a
    /// session (about 65 MiB measured with onnxruntime 1.32).
    static let importBytes = 96 << 20
    /// Starting Python, importing them and making the session: under a second.
    static let importSeconds = 1.0

    /// The standard ONNX `Attention` op (opset 23) on ONNX Runtime's CPU
    /// provider: grouped heads natively, `is_causal` for square causal
    /// cases, a dense boolean mask for every other pattern; half-precision
    /// storage cast to f32 in the graph (the op's own f16 path keeps its
    /// scores in f16, past the f16 tolerance).
    static var attention: Peer {
        Peer(
            name: "ort-attention",
            summary:
                "ONNX Runtime's CPU kernel of the ONNX Attention op (opset 23: grouped heads, is_causal, boolean mask; f32 arithmetic); a child process",
            supportedKinds: [.full, .causal, .window, .blocks], computesEveryPair: true,
            command: .python(script: "ort_peer.py", backend: "attention"), processOverheadBytes: importBytes,
            predictedExtraBytes: { s, mask, _, precision in
                // The float32 scores of every head at once; the boolean mask
                // when the pattern needs one (all but full and square causal);
                // for half precision, the f32 casts of Q, K, V and O.
                let f32 = MemoryLayout<Float>.size
                let pairs = s.batch * s.heads * s.queryLength * s.keyLength
                let square = mask.pattern == .causal && s.queryLength == s.keyLength
                let maskBytes = mask.pattern == .full || square ? 0 : s.queryLength * s.keyLength
                let casts = precision == .f32 ? 0 : f32 * (2 * s.queryElementCount + 2 * s.keyElementCount)
                return f32 * pairs + maskBytes + casts
            }, predictedStartupSeconds: importSeconds)
    }

    /// `com.microsoft` `MultiHeadAttention` (the op of ONNX Runtime's
    /// transformer optimizer; its CPU flash kernel did not run at N ≥ 1024):
    /// `unidirectional` for square causal cases, an additive float bias for
    /// every other mask; as many K/V heads as query heads only (the script
    /// answers `unsupported` for grouped heads).
    static var multiHead: Peer {
        Peer(
            name: "ort-mha",
            summary:
                "ONNX Runtime's MultiHeadAttention (com.microsoft; unidirectional or an additive bias; no grouped heads; f32 arithmetic); a child process",
            supportedKinds: [.full, .causal, .window, .blocks], computesEveryPair: true,
            command: .python(script: "ort_peer.py", backend: "mha"), processOverheadBytes: importBytes,
            predictedExtraBytes: { s, mask, _, precision in
                // Measured (docs/DECISIONS.md, 2026-12-04): the float32 scores of
                // every head (8.1 GiB at N = 16384, H = 8: no flash path at these
                // sizes); an f32 Nq×Nk mask for every pattern but full (the bias,
                // or the one `unidirectional` builds: 9.1 GiB); for halves, the
                // f32 casts of the operands.
                let f32 = MemoryLayout<Float>.size
                let pairs = s.batch * s.heads * s.queryLength * s.keyLength
                let biasBytes = mask.pattern == .full ? 0 : f32 * s.queryLength * s.keyLength
                let casts = precision == .f32 ? 0 : f32 * (2 * s.queryElementCount + 2 * s.keyElementCount)
                return f32 * pairs + biasBytes + casts
            }, predictedStartupSeconds: importSeconds)
    }

    /// `com.microsoft` `GroupQueryAttention`, always causal at the bottom
    /// right, on the cache as its past and present: `causal`, `full` with one
    /// query row, a left-only window natively, any causal subset through an
    /// additive bias; the script answers `unsupported` for the rest.
    static var groupQuery: Peer {
        Peer(
            name: "ort-gqa",
            summary:
                "ONNX Runtime's GroupQueryAttention (com.microsoft; KV cache in place, always causal, local_window_size; f16 native, bf16 cast); a child process",
            supportedKinds: [.full, .causal, .window, .blocks], computesEveryPair: true,
            command: .python(script: "ort_peer.py", backend: "gqa"), processOverheadBytes: importBytes,
            predictedExtraBytes: { s, mask, _, precision in
                // Fitted to measured peaks (docs/DECISIONS.md, 2026-12-04,
                // onnxruntime 1.32): about 4.5 KiB per query row and head in
                // causal prefill (37 MiB at N = 1024, 209 MiB at 8192, H = 8;
                // not the full score matrix), capped by that matrix; the float
                // bias of a masked pattern; for bf16, the f32 casts.
                let f32 = MemoryLayout<Float>.size
                let scores = min(
                    4608 * s.batch * s.heads * s.queryLength, f32 * s.batch * s.heads * s.queryLength * s.keyLength)
                let biasBytes = mask.pattern.kind == .blocks ? f32 * s.queryLength * s.keyLength : 0
                let casts = precision == .bf16 ? f32 * (3 * s.queryElementCount + 4 * s.keyElementCount) : 0
                return scores + biasBytes + casts + (4 << 20)
            }, predictedStartupSeconds: importSeconds)
    }
}
