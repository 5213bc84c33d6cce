import Attention
import Foundation

/// The ggml peer, run by `scripts/peers/ggml_peer.py` (`--backend flash`):
/// `ggml_flash_attn_ext`, the attention llama.cpp runs on a CPU.
///
/// The memory prediction is a planning estimate of what the op holds beyond
/// its inputs and output, used only to skip cases over `--memory-limit`; the
/// report's memory columns are measured.
enum GgmlPeers {
    static var all: [Peer] { [flash] }

    /// Resident memory of numpy and the ggml library once loaded, with a
    /// thread pool made and a one-token graph computed.
    static let importBytes = 64 << 20
    /// Starting Python, loading ggml and planning the graph.
    static let importSeconds = 0.5
    /// ggml pads the mask's rows to a multiple of this (`GGML_KQ_MASK_PAD`).
    static let maskRowPad = 32

    /// One `ggml_flash_attn_ext` node planned once, with a persistent thread
    /// pool and its own work buffer: grouped heads natively, K and V in the
    /// case's dtype, every pattern but `full` as a dense additive F16 mask.
    static var flash: Peer {
        Peer(
            name: "ggml-flash",
            summary:
                "ggml's flash_attn_ext on its CPU backend (llama.cpp's attention: K/V in the dtype, additive F16 mask); a child process",
            supportedKinds: [.full, .causal, .window, .blocks], computesEveryPair: true,
            command: .python(script: "ggml_peer.py", backend: "flash"), processOverheadBytes: importBytes,
            predictedExtraBytes: { s, mask, threads, _ in
                // The F16 mask of every pattern but full (rows padded), and
                // the plan's work buffer: about 1 KiB per key and thread
                // (measured: 32 MiB at Nk = 16384 with 2 threads).
                let rows = (s.queryLength + Self.maskRowPad - 1) / Self.maskRowPad * Self.maskRowPad
                let maskBytes = mask.pattern == .full ? 0 : 2 * rows * s.keyLength
                return maskBytes + 1024 * s.keyLength * max(threads, 1) + (1 << 20)
            }, predictedStartupSeconds: importSeconds)
    }
}
