import Attention
import Foundation

/// The PyTorch peers: three ways PyTorch computes attention on a CPU, each
/// the choice a user would otherwise make, all run by
/// `scripts/peers/torch_peer.py` (`--backend sdpa|flex|math`).
///
/// Their memory predictions are planning estimates read off PyTorch's CPU
/// code paths (what each allocates per call), used only to skip cases over
/// `--memory-limit`; the report's memory columns are measured.
///
/// All three are asked every pass: a backward runs through autograd, and a
/// backend whose PyTorch has no CPU backward (FlexAttention in 2.13) says
/// so itself, so a later PyTorch that has one is measured without a change here.
enum TorchPeers {
    static var all: [Peer] { [sdpa, flex, math] }

    /// Resident memory of `import torch` (about 300-400 MiB on CPU builds).
    static let importBytes = 400 << 20
    /// Starting Python and importing torch: about 2 s on these machines.
    static let importSeconds = 2.5

    /// What a backward step allocates beyond the saved graph and the
    /// gradients of the run before (cleared, so their memory is reused):
    /// fresh dQ, dK and dV, and dK, dV per query head when K and V were
    /// expanded to the query heads, plus `perPair` bytes per computed
    /// (query, key) pair of one batch·head block (the math path's dP and dS).
    static func backwardBytes(_ s: AttentionShape, _ mask: AttentionMask, perPair: Int) -> Int {
        let expanded = s.kvHeads < s.heads ? 2 * s.batch * s.heads * s.keyLength * s.headDim * 4 : 0
        let pairs = s.batch * s.heads * mask.queryLength * mask.keyLength
        return AttentionGradients.bytes(s) + expanded + perPair * pairs
    }

    /// `F.scaled_dot_product_attention` on full and causal masks: PyTorch's
    /// fused CPU flash kernel, which never materializes the scores.
    static var sdpa: Peer {
        Peer(
            name: "torch-sdpa",
            summary:
                "PyTorch F.scaled_dot_product_attention (fused CPU flash kernel; is_causal, enable_gqa); a child process",
            supportedKinds: [.full, .causal], computesEveryPair: false,
            command: .python(script: "torch_peer.py", backend: "sdpa"), processOverheadBytes: importBytes,
            predictedExtraBytes: { s, _, threads, precision in
                // A fresh output (in the dtype) and its float32 log-sum-exp per
                // call, per-thread float32 score blocks (256 × 512, a few of
                // them), and expanded K and V when heads are grouped.
                let e = precision.bytes
                let output = s.queryElementCount * e + s.batch * s.heads * s.queryLength * 4
                let blocks = threads * 4 * 256 * 512 * 4
                let expanded = s.kvHeads < s.heads ? 2 * s.batch * s.heads * s.keyLength * s.headDim * e : 0
                return output + blocks + expanded
            }, passes: Set(Pass.allCases),
            predictedBackwardExtraBytes: { s, mask, threads in
                // The gradients about three times over (the kernel's in its
                // [B, N, H, d] layout, copies made contiguous for the leaves)
                // and per-thread float32 blocks of P, dP and the dQ
                // accumulator: 41.2 MiB measured at H=8, N=2048 full against 39.
                2 * AttentionGradients.bytes(s) + backwardBytes(s, mask, perPair: 0) + threads * 3 * 256 * 512 * 4
            }, predictedStartupSeconds: importSeconds)
    }

    /// FlexAttention compiled by Inductor, with a block mask built from the
    /// suite's resolved pattern, as wide as a block layout's blocks (32, 64
    /// or 128), else FlexAttention's default 128; skips blocks the mask empties.
    static var flex: Peer {
        Peer(
            name: "torch-flex",
            summary:
                "PyTorch FlexAttention compiled on CPU, block mask from the suite's exact pattern; a child process",
            supportedKinds: [.full, .causal, .window, .blocks], computesEveryPair: false,
            command: .python(script: "torch_peer.py", backend: "flex"), processOverheadBytes: importBytes + (300 << 20),
            predictedExtraBytes: { s, mask, _, precision in
                // Output and log-sum-exp per call, and the block mask (two int32
                // index tables of query blocks × key blocks of 128).
                let blocks = ((mask.queryLength + 127) / 128) * ((mask.keyLength + 127) / 128)
                return s.queryElementCount * precision.bytes + s.batch * s.heads * s.queryLength * 4 + 4 * blocks * 4
            },
            passes: Set(Pass.allCases),
            predictedBackwardExtraBytes: { s, mask, _ in backwardBytes(s, mask, perPair: 0) },
            // The first call compiles the kernel for the shape: about 10 s more.
            predictedStartupSeconds: importSeconds + 10)
    }

    /// The math path of `scaled_dot_product_attention`: scores and
    /// probabilities materialized, an explicit boolean mask for every
    /// pattern. PyTorch's own dense.
    static var math: Peer {
        Peer(
            name: "torch-math",
            summary:
                "PyTorch's math attention path (SDPBackend.MATH): materialized scores, boolean mask; a child process",
            supportedKinds: [.full, .causal, .window, .blocks], computesEveryPair: true,
            command: .python(script: "torch_peer.py", backend: "math"), processOverheadBytes: importBytes,
            predictedExtraBytes: { s, mask, _, precision in
                // Three B·H·Nq·Nk tensors in the dtype live at once (the scores, the
                // masked scores and the probabilities; 94 MiB measured at
                // H=8, N=1024 against 96 predicted), the boolean mask and its
                // float form, and a fresh output.
                let pairs = s.batch * s.heads * s.queryLength * s.keyLength
                let maskBytes = mask.pattern == .full ? 0 : 5 * s.queryLength * s.keyLength
                return 3 * pairs * precision.bytes + maskBytes + s.queryElementCount * precision.bytes
            }, passes: Set(Pass.allCases),
            predictedBackwardExtraBytes: { s, mask, _ in
                // The probabilities its forward saves for the backward, the
                // gradients of the probabilities and of the scores, and part
                // of a temporary of the softmax's backward, float32, per pair:
                // 424 MiB measured at H=8, N=2048 full against 428.
                backwardBytes(s, mask, perPair: 13)
            }, predictedStartupSeconds: importSeconds)
    }
}
