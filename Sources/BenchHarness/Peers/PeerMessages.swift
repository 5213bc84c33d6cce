import Attention
import Foundation

/// The JSON messages of the peer protocol (docs/PEERS.md), version 1.
enum PeerMessages {
    static let protocolVersion = 1

    /// What `probe` prints.
    struct Probe: Decodable {
        var protocolVersion: Int
        var available: Bool
        var library: String?
        var reason: String?

        enum CodingKeys: String, CodingKey {
            case protocolVersion = "protocol"
            case available, library, reason
        }
    }

    /// The case a `run` is asked to measure.
    struct Request: Encodable {
        struct Shape: Encodable {
            var batch, heads, kvHeads, queryLength, keyLength, headDim: Int
            var scale: Float
            enum CodingKeys: String, CodingKey {
                case batch, heads
                case kvHeads = "kv_heads"
                case queryLength = "query_length"
                case keyLength = "key_length"
                case headDim = "head_dim"
                case scale
            }
        }

        /// The pattern resolved against the shape: one of the table's kinds.
        struct Mask: Encodable {
            var kind: String
            var offset: Int
            var left: Int?
            var right: Int?
            var globalTokens: Int?
            var blockSize: Int?
            var layout: String?
            var causal: Bool?
            enum CodingKeys: String, CodingKey {
                case kind, offset, left, right
                case globalTokens = "global_tokens"
                case blockSize = "block_size"
                case layout, causal
            }
        }

        struct Repetitions: Encodable {
            var warmup, minReps, maxReps: Int
            var minTime: Double
            enum CodingKeys: String, CodingKey {
                case warmup
                case minReps = "min_reps"
                case maxReps = "max_reps"
                case minTime = "min_time"
            }
        }

        /// Where a backward request's peer writes dQ, dK and dV (float32 `.npy`).
        struct Gradients: Encodable {
            var query, key, value: String
        }

        var protocolVersion = PeerMessages.protocolVersion
        var shape: Shape
        var pattern: String
        /// The case's precision, `f32`, `f16` or `bf16`: the float32 input
        /// files hold values already rounded to it, which the peer casts to
        /// it (exactly) and computes in; its output file is float32.
        var dtype: String
        var mask: Mask
        var query, key, value, output: String
        var threads: Int
        var verify: Bool
        var repetitions: Repetitions
        /// The pass to time (``Pass``); a peer that does not time it answers
        /// `unsupported`. Older peers ignore the field, so the reply must
        /// name the pass it timed.
        var pass: String
        /// With a backward pass: dO (float32 `[B, H, Nq, d]`) and where the
        /// gradients go; absent for the forward.
        var outputGradient: String?
        var gradients: Gradients?

        enum CodingKeys: String, CodingKey {
            case protocolVersion = "protocol"
            case shape, pattern, dtype, mask, query, key, value, output, threads, verify, repetitions, pass
            case outputGradient = "output_gradient"
            case gradients
        }
    }

    /// What `run` prints.
    struct Reply: Decodable {
        var protocolVersion: Int
        var status: String
        var reason: String?
        /// The pass the peer timed; absent from a peer that knows only the forward.
        var pass: String?
        var timesMs: [Double]?
        var rssBeforeInputsBytes: Int?
        var rssWithInputsBytes: Int?
        var peakRssBytes: Int?
        var peakWasReset: Bool?
        var processPeakRssBytes: Int?
        var library: String?
        var kernel: String?
        /// The library's matrix kernels, e.g. `mkl, AVX512`.
        var blas: String?

        enum CodingKeys: String, CodingKey {
            case protocolVersion = "protocol"
            case status, reason, pass
            case timesMs = "times_ms"
            case rssBeforeInputsBytes = "rss_before_inputs_bytes"
            case rssWithInputsBytes = "rss_with_inputs_bytes"
            case peakRssBytes = "peak_rss_bytes"
            case peakWasReset = "peak_was_reset"
            case processPeakRssBytes = "process_peak_rss_bytes"
            case library, kernel, blas
        }
    }

    /// The request's mask for `mask`; `layoutPath` is where a block layout
    /// is written (``layoutArray(_:)``).
    static func mask(_ mask: AttentionMask, layoutPath: String) -> Request.Mask {
        var m = Request.Mask(kind: mask.pattern.kind.rawValue, offset: mask.offset)
        if let w = mask.window {
            (m.left, m.right, m.globalTokens) = (w.left, w.right, w.globalTokens)
        }
        if let l = mask.blockLayout {
            (m.blockSize, m.layout, m.causal) = (l.blockSize, layoutPath, l.causal)
        }
        return m
    }

    /// A block layout as a `[query blocks, key blocks]` array of 1 (kept) and 0.
    static func layoutArray(_ l: BlockLayout) -> [Float] {
        var cells = [Float](repeating: 0, count: l.queryBlocks * l.keyBlocks)
        for row in 0 ..< l.queryBlocks {
            for column in l.keptBlocks(ofRow: row) { cells[row * l.keyBlocks + column] = 1 }
        }
        return cells
    }

    /// The last non-empty line of a child's standard error, for a reason.
    static func lastLine(_ text: String) -> String {
        text.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }).map(String.init)
            ?? ""
    }
}
