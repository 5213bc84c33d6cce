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
                let f32 = MemoryLayout<Float>.size
                let queryElements = s.queryElementCount
                let keyElements = s.keyElementCount
                // The output, in f32 and (for halves) in the dtype; the widened
                // Q, K and V of a half-precision case; K and V copied to every
                // query head when grouped; the boolean mask when there is one.
                let widened = precision == .f32 ? 0 : f32 * (queryElements + 2 * keyElements)
                let output = (f32 + (precision == .f32 ? 0 : precision.bytes)) * queryElements
                let grouped = s.kvHeads > 1 && s.kvHeads < s.heads
                let broadcast = grouped ? 2 * f32 * s.batch * s.heads * s.keyLength * s.headDim : 0
                let square = mask.pattern == .causal && s.queryLength == s.keyLength
                let maskBytes = mask.pattern == .full || square ? 0 : s.queryLength * s.keyLength
                return output + widened + broadcast + maskBytes + Self.blockBytes
            }, predictedStartupSeconds: importSeconds)
    }

    /// The plugin's own buffers for a compiled model beyond its tensors.
    static let blockBytes = 64 << 20
}
