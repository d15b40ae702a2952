import Foundation
import FourMDiffusion
import FourMTensor
import Testing

/// One denoiser call of the released decoders' shapes with random weights, timed. Benchmarks do
/// not belong in `swift test` (they live in `fourm-bench`); this suite only runs when
/// `FOURM_DIFFUSION_BENCH` is set, for a quick release-build measurement:
/// `FOURM_DIFFUSION_BENCH=224 swift test -c release --filter DiffusionBenchmarkTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["FOURM_DIFFUSION_BENCH"] != nil), .serialized)
struct DiffusionBenchmarkTests {
    static var sizes: [Int] {
        (ProcessInfo.processInfo.environment["FOURM_DIFFUSION_BENCH"] ?? "224").split(separator: ",").compactMap { Int($0) }
    }

    init() {
        if let threads = ProcessInfo.processInfo.environment["FOURM_DIFFUSION_BENCH_THREADS"].flatMap({ Int($0) }) {
            ComputeOptions(threadCount: threads).apply()
        }
    }

    @Test func unetStep() {
        for size in Self.sizes { print("[bench] \(benchmarkUNetStep(imageSize: size, iterations: 3))") }
    }

    @Test func uvitStep() {
        for size in Self.sizes { print("[bench] \(benchmarkUViTStep(imageSize: size, iterations: 3))") }
    }
}

extension DiffusionBenchmarkTests {
    /// Raw sgemm at the two dominant UNet convolution shapes (im2col products), for comparison.
    @Test func sgemmReference() {
        for (m, k, n) in [(256, 2304, 3136), (512, 4608, 784), (512, 9216, 196)] {
            var rng = SeededGenerator(seed: 1)
            let a = Tensor<Float>.randomNormal(shape: [m, k], using: &rng)
            let b = Tensor<Float>.randomNormal(shape: [k, n], using: &rng)
            _ = matmul(a, b)
            var best = Double.infinity
            for _ in 0..<5 {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = matmul(a, b)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            print("[bench] sgemm \(m)x\(k)x\(n): \(String(format: "%.1f", 2 * Double(m * k * n) / best / 1e9)) GFLOP/s (core \(openBLASCoreName()))")
        }
    }
}

extension DiffusionBenchmarkTests {
    /// The dominant UNet convolution alone (256→256, 3×3, 56×56), wall and CPU time.
    @Test func convolutionAlone() {
        var rng = SeededGenerator(seed: 1)
        for (c, o, side) in [(256, 256, 56), (512, 256, 56), (512, 512, 28), (1024, 512, 28), (512, 512, 14)] {
            let x = Tensor<Float>.randomNormal(shape: [1, c, side, side], using: &rng)
            let w = Tensor<Float>.randomNormal(shape: [o, c, 3, 3], std: 0.02, using: &rng)
            let scratch = ConvolutionScratch()
            for algorithm in [ConvolutionAlgorithm.im2col, .winograd] {
                _ = conv2d(x, weight: w, bias: nil, padding: 1, scratch: scratch, algorithm: algorithm)
                var best = Double.infinity, bestCPU = Double.infinity
                for _ in 0..<5 {
                    let cpu0 = cpuSeconds()
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = conv2d(x, weight: w, bias: nil, padding: 1, scratch: scratch, algorithm: algorithm)
                    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                    bestCPU = min(bestCPU, cpuSeconds() - cpu0)
                }
                let flops = 2 * Double(o * c * 9 * side * side)
                print("[bench] conv \(algorithm) \(c)→\(o) @\(side): \(String(format: "%.2f ms, %.1f", best * 1000, flops / best / 1e9)) effective GFLOP/s wall, \(String(format: "%.1f", flops / bestCPU / 1e9)) per CPU-second")
            }
        }
    }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}
