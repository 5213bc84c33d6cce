import Attention
import Foundation

/// The OpenVINO peers, run by `scripts/peers/openvino_peer.py`
/// (`--backend sdpa`): the attention a model converted to OpenVINO IR runs
/// on the CPU plugin.
///
/// The memory prediction is a planning estimate fitted to what the plugin
/// held per call (docs/DECISIONS.md), used only to skip cases over
/// `--memory-limit`; the report's memory columns are measured.
enum OpenVinoPeers {
    static var all: [Peer] { [sdpa] }

    /// Resident memory of numpy and openvino once imported, with the CPU
    /// plugin loaded and a one-token model compiled and run.
    static let importBytes = 160 << 20
    /// Starting Python, importing OpenVINO and compiling the case's model.
    static let importSeconds = 1.5

    /// One opset-13 `ScaledDotProductAttention` node with the case's static
    /// shapes, compiled by the CPU plugin (its Snippets compiler fuses it
    /// into one blocked `Subgraph`): `causal` for square causal cases, a
    /// dense boolean mask for every other pattern, K and V broadcast in the
    /// graph when 1 < Hkv < H, half-precision storage widened to f32 in the
    /// graph.
    static var sdpa: Peer {
        Peer(
            name: "openvino-sdpa",
            summary:
                "OpenVINO's CPU plugin running ScaledDotProductAttention (opset 13, fused by Snippets; f32 arithmetic); a child process",
            supportedKinds: [.full, .causal, .window, .blocks], computesEveryPair: true,
            command: .python(script: "openvino_peer.py", backend: "sdpa"), processOverheadBytes: importBytes,
            predictedExtraBytes: { s, mask, _, precision in
                // Fitted to the plugin's measured peaks (docs/DECISIONS.md,
                // 2026-12-04, OpenVINO 2026.4.1): its blocked buffers, about
                // twelve f32 copies of a [B, H, N, d] tensor; the f32 Nq×Nk
                // mask it builds from the `causal` attribute; the boolean mask
                // input and its u8 copy; for halves, the widened Q, K, V and
                // the f32 output. (The K and V broadcast of grouped heads adds
                // nothing measurable: Hkv = 2 peaks are below Hkv = 8 ones.)
                let f32 = MemoryLayout<Float>.size
                let pairs = s.queryLength * s.keyLength
                let blocks = 12 * f32 * s.batch * s.heads * max(s.queryLength, s.keyLength) * s.headDim
                let square = mask.pattern == .causal && s.queryLength == s.keyLength
                let maskBytes = mask.pattern == .full ? 0 : square ? f32 * pairs : 2 * pairs
                let widened = precision == .f32 ? 0 : f32 * (2 * s.queryElementCount + 2 * s.keyElementCount)
                return blocks + maskBytes + widened + Self.fixedBytes
            }, predictedStartupSeconds: importSeconds)
    }

    /// The plugin's buffers that do not grow with the case (measured: about
    /// 25 MiB at N = 1024).
    static let fixedBytes = 8 << 20
}
