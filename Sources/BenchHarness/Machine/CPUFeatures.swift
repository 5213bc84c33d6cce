import Foundation

/// The vector extensions of this CPU, from `/proc/cpuinfo`.
public struct CPUFeatures: Equatable, Sendable, Codable {
    public var modelName: String
    public var avx2: Bool
    public var fma: Bool
    public var avx512f: Bool
    /// Every vector extension the CPU reports (`sse4_2`, `avx`, `avx2`,
    /// `fma`, `f16c`, `avx512*`, `amx*`), for the reports.
    public var vectorFlags: [String] = []

    public init(modelName: String, avx2: Bool, fma: Bool, avx512f: Bool, vectorFlags: [String] = []) {
        self.modelName = modelName
        self.avx2 = avx2
        self.fma = fma
        self.avx512f = avx512f
        self.vectorFlags = vectorFlags
    }

    public static func current() -> CPUFeatures {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var model = "unknown", flags: Set<Substring> = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            if key == "model name", model == "unknown" { model = parts[1].trimmingCharacters(in: .whitespaces) }
            if key == "flags", flags.isEmpty { flags = Set(parts[1].split(separator: " ")) }
        }
        let vector = flags.filter {
            $0.hasPrefix("avx") || $0.hasPrefix("amx") || ["sse4_2", "fma", "f16c"].contains($0)
        }
        return CPUFeatures(
            modelName: model, avx2: flags.contains("avx2"), fma: flags.contains("fma"),
            avx512f: flags.contains("avx512f"), vectorFlags: vector.map(String.init).sorted())
    }
}
