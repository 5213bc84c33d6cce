import Attention
import Benchmark

let benchmarks: @Sendable () -> Void = {
    Benchmark("smoke") { _ in }
}
