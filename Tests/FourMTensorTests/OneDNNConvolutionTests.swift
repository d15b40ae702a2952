import Foundation
@testable import FourMTensor
import FourMTestSupport
import Testing

/// oneDNN convolutions (bf16 and f32) against their plain twins (``conv2dReference`` and
/// ``bfloat16Conv2dReference``, direct loops with Double accumulation), and `Conv2d` in bf16.
///
/// Tolerances:
/// - bf16 kernel vs its twin: both multiply the *same* bf16 values (the twin rounds input and
///   weight with the same round-to-nearest-even rule), and a product of two bf16 numbers is
///   exact in f32; they differ only in accumulation order and width (f32 in oneDNN, Double in
///   the twin): ≤ K·max|term|·2⁻²⁴ with K = C·kh·kw ≤ 288 and |terms| ≲ 10, about 2e-4, so
///   `1e-3 + 1e-5·|ref|` is ample while an indexing or layout error (O(1)) still fails.
/// - bf16 kernel vs the fp32 twin (unrounded inputs): each factor is rounded by at most 2⁻⁹
///   relative, a product by at most ~2⁻⁸, so per output |error| ≤ 2⁻⁸·Σ|x·w| (+ the f32
///   accumulation term above); asserted per element against that sum.
/// - f32 kernel vs the fp32 twin: only accumulation differs: 1e-4 absolute (K ≤ 288, values
///   O(1): ≤ 288·10·2⁻²⁴ ≈ 2e-4 worst case, typically far less) plus 1e-5 relative.
@Suite struct OneDNNConvolutionTests {
    /// (batch, C, H, W, O, k, stride, padding): the UNet's 3×3 pad-1, the stride-2 downsample,
    /// 1×1 shortcuts, an input channel count (3) that is not a multiple of oneDNN's block,
    /// a batch of 2, and a non-square image.
    static let geometries: [[Int]] = [
        [1, 16, 8, 8, 16, 3, 1, 1], [1, 3, 9, 7, 5, 3, 1, 1], [2, 32, 6, 6, 24, 3, 1, 1], [1, 32, 8, 8, 32, 3, 2, 1],
        [1, 48, 5, 5, 16, 1, 1, 0], [1, 20, 7, 10, 36, 3, 1, 1], [1, 8, 4, 4, 8, 4, 4, 0],
    ]

    struct Case {
        let g: ConvolutionGeometry
        let x: [Float], w: [Float], b: [Float]
        init(_ p: [Int]) {
            g = ConvolutionGeometry(batch: p[0], inChannels: p[1], height: p[2], width: p[3], outChannels: p[4], kernelHeight: p[5],
                                    kernelWidth: p[5], stride: p[6], padding: p[7])
            var rng = SeededGenerator(seed: UInt64(p.reduce(17) { $0 &* 31 &+ $1 }))
            x = Tensor<Float>.randomNormal(shape: [g.batch * g.inChannels * g.height * g.width], using: &rng).scalars
            w = Tensor<Float>.randomNormal(shape: [g.outChannels * g.inChannels * g.kernelHeight * g.kernelWidth], std: 0.3, using: &rng).scalars
            b = Tensor<Float>.randomNormal(shape: [g.outChannels], using: &rng).scalars
        }
        var input: Tensor<Float> { Tensor(shape: [g.batch, g.inChannels, g.height, g.width], scalars: x) }
        var weight: Tensor<Float> { Tensor(shape: [g.outChannels, g.inChannels, g.kernelHeight, g.kernelWidth], scalars: w) }
        var bias: Tensor<Float> { Tensor(shape: [g.outChannels], scalars: b) }
    }

    @Test(.enabled(if: OneDNNConvolution.isAvailable(.bf16), "oneDNN makes no bf16 convolution on this CPU"), arguments: geometries)
    func bf16MatchesTwin(_ p: [Int]) throws {
        let c = Case(p)
        for withBias in [true, false] {
            let conv = OneDNNConvolution(weight: c.weight, bias: withBias ? c.bias : nil, stride: c.g.stride, padding: c.g.padding, type: .bf16)
            let fast = try #require(conv(c.input), "oneDNN refused \(p)")
            #expect(fast.shape == [c.g.batch, c.g.outChannels, c.g.outHeight, c.g.outWidth])
            let twin = bfloat16Conv2dReference(c.x, c.w, withBias ? c.b : nil, geometry: c.g)
            expectClose(fast.scalars, twin, atol: 1e-3, rtol: 1e-5, "bf16 conv \(p) bias=\(withBias)")

            // Against the unrounded fp32 convolution: within 2⁻⁸·Σ|x·w| per output (+ 1e-3).
            let exact = conv2dReference(c.x, c.w, withBias ? c.b : nil, geometry: c.g)
            let magnitude = conv2dReference(c.x.map(abs), c.w.map(abs), nil, geometry: c.g)
            var worst: Float = 0
            for i in exact.indices {
                let excess = abs(fast.scalars[i] - exact[i]) - (magnitude[i] * 0x1p-8 + 1e-3)
                worst = max(worst, excess)
            }
            #expect(worst <= 0, "bf16 conv \(p): error exceeds 2⁻⁸·Σ|x·w| by \(worst)")
        }
    }

    @Test(.enabled(if: OneDNNConvolution.isAvailable(.f32), "oneDNN makes no f32 convolution here"), arguments: geometries)
    func f32MatchesTwin(_ p: [Int]) throws {
        let c = Case(p)
        let conv = OneDNNConvolution(weight: c.weight, bias: c.bias, stride: c.g.stride, padding: c.g.padding, type: .f32)
        let fast = try #require(conv(c.input), "oneDNN refused \(p)")
        expectClose(fast.scalars, conv2dReference(c.x, c.w, c.b, geometry: c.g), atol: 1e-4, rtol: 1e-5, "f32 conv \(p)")
    }

    /// The weight is reordered once per layout, not per call, and a geometry's primitive once.
    @Test(.enabled(if: OneDNNConvolution.isAvailable(.f32), "oneDNN makes no f32 convolution here"),
          arguments: [OneDNNConvolutionType.f32, .bf16])
    func weightsAndPrimitivesArePreparedOnce(_ type: OneDNNConvolutionType) throws {
        guard OneDNNConvolution.isAvailable(type) else { return }
        let runtime = try #require(OneDNNConvolutionRuntime.shared)
        let c = Case([1, 32, 12, 12, 32, 3, 1, 1])
        let conv = OneDNNConvolution(weight: c.weight, bias: c.bias, stride: 1, padding: 1, type: type)
        #expect(conv.preparedLayoutCount == 0)
        let first = try #require(conv(c.input))
        #expect(conv.preparedLayoutCount == 1)
        let primitives = runtime.cachedPrimitiveCount
        let second = try #require(conv(c.input))
        #expect(conv.preparedLayoutCount == 1)
        #expect(runtime.cachedPrimitiveCount == primitives)
        #expect(first.scalars == second.scalars)
        var rng = SeededGenerator(seed: 99)
        // Another image size: a new primitive, the same blocked weight layout on AVX-512.
        _ = try #require(conv(Tensor<Float>.randomNormal(shape: [1, 32, 10, 14], using: &rng)))
        #expect(conv.preparedLayoutCount <= 2)
        #expect(runtime.cachedPrimitiveCount >= primitives + 1)
    }

    /// `Conv2d` loaded in bf16 runs through oneDNN; in fp32 it stays on im2col + sgemm.
    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"))
    func conv2dLayerPicksItsPath() throws {
        let c = Case([1, 16, 8, 8, 16, 3, 1, 1])
        let source = DictionaryTensorSource(["weight": c.weight, "bias": c.bias])
        source.precision = .bf16
        let bf16 = try Conv2d(source, inputs: 16, outputs: 16, kernel: 3, padding: 1)
        #expect(bf16.precision == .bf16 && bf16.oneDNN != nil)
        let fp32 = Conv2d(weight: c.weight, bias: c.bias, stride: 1, padding: 1)
        #expect(fp32.precision == .fp32 && fp32.oneDNN == nil)
        let scratch = ConvolutionScratch()
        expectClose(bf16(c.input, scratch).scalars, bfloat16Conv2dReference(c.x, c.w, c.b, geometry: c.g), atol: 1e-3, rtol: 1e-5, "Conv2d bf16")
        expectClose(fp32(c.input, scratch).scalars, conv2dReference(c.x, c.w, c.b, geometry: c.g), atol: 1e-4, rtol: 1e-5, "Conv2d fp32")
    }
}
