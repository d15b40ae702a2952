import Foundation
import FourMTensor
import FourMTestSupport
import Testing

/// The convolution, GroupNorm and layout kernels the diffusion decoders use, each against its
/// plain reference twin on odd sizes (1, 7, 33). Tolerances: the twins accumulate in Double,
/// the kernels in Float (sgemm) over at most a few thousand products of O(1) values, so 1e-4
/// absolute bounds rounding and still catches indexing errors (which give O(1) differences);
/// pure data movement must be exact.
@Suite struct DiffusionKernelTests {
    struct ConvCase: Sendable, CustomStringConvertible {
        var batch, inChannels, height, width, outChannels, kernel, stride, padding, groups: Int
        var description: String {
            "B\(batch) C\(inChannels) \(height)x\(width) → O\(outChannels) k\(kernel) s\(stride) p\(padding) g\(groups)"
        }
    }

    static let convCases: [ConvCase] = [
        ConvCase(batch: 1, inChannels: 1, height: 1, width: 1, outChannels: 1, kernel: 1, stride: 1, padding: 0, groups: 1),
        ConvCase(batch: 2, inChannels: 7, height: 7, width: 7, outChannels: 5, kernel: 3, stride: 1, padding: 1, groups: 1),
        ConvCase(batch: 1, inChannels: 6, height: 33, width: 7, outChannels: 9, kernel: 3, stride: 2, padding: 1, groups: 3),
        ConvCase(batch: 1, inChannels: 3, height: 33, width: 33, outChannels: 7, kernel: 1, stride: 1, padding: 0, groups: 1),
        ConvCase(batch: 2, inChannels: 5, height: 7, width: 33, outChannels: 4, kernel: 4, stride: 4, padding: 0, groups: 1),
        ConvCase(batch: 1, inChannels: 4, height: 7, width: 7, outChannels: 4, kernel: 7, stride: 1, padding: 3, groups: 4),
        ConvCase(batch: 1, inChannels: 2, height: 1, width: 7, outChannels: 3, kernel: 3, stride: 1, padding: 1, groups: 1),
        ConvCase(batch: 1, inChannels: 3, height: 5, width: 5, outChannels: 2, kernel: 3, stride: 3, padding: 2, groups: 1),
    ]

    @Test(arguments: convCases)
    func conv2dMatchesReference(_ c: ConvCase) {
        var rng = SeededGenerator(seed: UInt64(c.inChannels * 1000 + c.height * 10 + c.kernel))
        let x = Tensor<Float>.randomNormal(shape: [c.batch, c.inChannels, c.height, c.width], using: &rng)
        let w = Tensor<Float>.randomNormal(shape: [c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel], using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [c.outChannels], using: &rng)
        let g = ConvolutionGeometry(batch: c.batch, inChannels: c.inChannels, height: c.height, width: c.width,
                                    outChannels: c.outChannels, kernelHeight: c.kernel, kernelWidth: c.kernel,
                                    stride: c.stride, padding: c.padding, groups: c.groups)
        let fast = conv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding, groups: c.groups)
        #expect(fast.shape == [c.batch, c.outChannels, g.outHeight, g.outWidth])
        expectClose(fast.scalars, conv2dReference(x.scalars, w.scalars, b.scalars, geometry: g), atol: 1e-4, "conv2d \(c)")
        let noBias = conv2d(x, weight: w, bias: nil, stride: c.stride, padding: c.padding, groups: c.groups, algorithm: .im2col)
        expectClose(noBias.scalars, conv2dReference(x.scalars, w.scalars, nil, geometry: g), atol: 1e-4, "conv2d without bias \(c)")
    }

    static let winogradCases: [(batch: Int, channels: Int, height: Int, width: Int, outChannels: Int)] = [
        (1, 1, 1, 1, 1), (2, 7, 7, 7, 5), (1, 33, 7, 33, 9), (1, 3, 33, 33, 7), (2, 16, 8, 8, 32), (1, 5, 1, 7, 3), (1, 4, 2, 33, 1),
    ]

    @Test(arguments: winogradCases)
    func winogradMatchesReference(batch: Int, channels: Int, height: Int, width: Int, outChannels: Int) {
        var rng = SeededGenerator(seed: UInt64(channels * 100 + height * 10 + width))
        let x = Tensor<Float>.randomNormal(shape: [batch, channels, height, width], using: &rng)
        let w = Tensor<Float>.randomNormal(shape: [outChannels, channels, 3, 3], using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [outChannels], using: &rng)
        let g = ConvolutionGeometry(batch: batch, inChannels: channels, height: height, width: width, outChannels: outChannels,
                                    kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1)
        let expected = conv2dReference(x.scalars, w.scalars, b.scalars, geometry: g)
        // The Winograd transforms add a few float32 roundings to sums of up to 9·33 terms.
        expectClose(conv2d(x, weight: w, bias: b, padding: 1, algorithm: .winograd).scalars, expected, atol: 2e-4, "winograd")
        expectClose(conv2d(x, weight: w, bias: nil, padding: 1, algorithm: .winograd).scalars,
                    conv2dReference(x.scalars, w.scalars, nil, geometry: g), atol: 2e-4, "winograd without bias")
        // In chunks of one and two tile rows.
        for tileRows in [1, 2] {
            var small = g
            small.chunkFloats = 16 * (channels + outChannels) * ((width + 1) / 2) * tileRows
            var out = [Float](repeating: .nan, count: expected.count)
            var scratch = [Float](repeating: .nan, count: winogradScratchCount(small))
            x.withUnsafeBufferPointer { px in
                w.withUnsafeBufferPointer { pw in
                    b.withUnsafeBufferPointer { pb in
                        winogradConv3x3Kernel(px.baseAddress!, pw.baseAddress!, pb.baseAddress!, &out, geometry: small, scratch: &scratch)
                    }
                }
            }
            expectClose(out, expected, atol: 2e-4, "winograd in chunks of \(tileRows) tile rows")
        }
    }

    @Test func winogradAppliesOnlyToPaddedUnitStride3x3() {
        func geometry(kernel: Int = 3, stride: Int = 1, padding: Int = 1, groups: Int = 1) -> ConvolutionGeometry {
            ConvolutionGeometry(batch: 1, inChannels: 4, height: 9, width: 9, outChannels: 4, kernelHeight: kernel,
                                kernelWidth: kernel, stride: stride, padding: padding, groups: groups)
        }
        #expect(winogradApplies(geometry()))
        #expect(!winogradApplies(geometry(stride: 2)) && !winogradApplies(geometry(padding: 0)))
        #expect(!winogradApplies(geometry(kernel: 1, padding: 0)) && !winogradApplies(geometry(groups: 2)))
    }

    @Test(arguments: [(1, 1, 1, 1, 1, 1), (2, 7, 3, 5, 4, 4), (1, 33, 7, 1, 3, 2), (1, 3, 1, 7, 7, 1)])
    func convTransposePatchMatchesReference(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int, stride: Int) {
        var rng = SeededGenerator(seed: UInt64(inChannels * 100 + height * 10 + stride))
        let x = Tensor<Float>.randomNormal(shape: [batch, inChannels, height, width], using: &rng)
        let w = Tensor<Float>.randomNormal(shape: [inChannels, outChannels, stride, stride], using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [outChannels], using: &rng)
        let fast = convTranspose2dPatch(x, weight: w, bias: b)
        #expect(fast.shape == [batch, outChannels, height * stride, width * stride])
        expectClose(fast.scalars, convTranspose2dPatchReference(x.scalars, w.scalars, b.scalars, batch: batch, inChannels: inChannels,
                                                                height: height, width: width, outChannels: outChannels, stride: stride),
                    atol: 1e-4, "convTranspose2dPatch")
    }

    @Test(arguments: [(1, 1, 1, 1), (2, 7, 33, 7), (1, 64, 7, 32), (3, 33, 1, 3), (1, 32, 257, 32)])
    func groupNormMatchesReference(batch: Int, channels: Int, spatial: Int, groups: Int) {
        var rng = SeededGenerator(seed: UInt64(channels * 31 + spatial))
        let x = Tensor<Float>.randomNormal(shape: [batch, channels, spatial], std: 3, using: &rng) + Tensor(repeating: 2, shape: [batch, channels, spatial])
        let w = Tensor<Float>.randomNormal(shape: [channels], using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [channels], using: &rng)
        for silu in [false, true] {
            expectClose(groupNorm(x, groups: groups, weight: w, bias: b, eps: 1e-5, silu: silu).scalars,
                        groupNormReference(x.scalars, batch: batch, channels: channels, spatial: spatial, groups: groups,
                                           weight: w.scalars, bias: b.scalars, eps: 1e-5, silu: silu),
                        atol: 1e-4, "groupNorm silu=\(silu)")
        }
        expectClose(groupNorm(x, groups: groups, weight: nil, bias: nil, eps: 1e-5).scalars,
                    groupNormReference(x.scalars, batch: batch, channels: channels, spatial: spatial, groups: groups,
                                       weight: nil, bias: nil, eps: 1e-5, silu: false),
                    atol: 1e-4, "groupNorm without affine")
    }

    @Test(arguments: [(1, 1, 1, 1), (2, 3, 7, 1), (1, 2, 33, 3), (1, 1, 4, 4)])
    func patchifyRoundTrips(batch: Int, channels: Int, side: Int, patch: Int) {
        var rng = SeededGenerator(seed: UInt64(side * 7 + patch))
        let (h, w) = (side * patch, (side + 2) * patch)
        let x = Tensor<Float>.randomNormal(shape: [batch, channels, h, w], using: &rng)
        let patched = x.patchified(patch)
        #expect(patched.shape == [batch, channels * patch * patch, side, side + 2])
        #expect(patched.scalars == patchifyReference(x.scalars, batch: batch, channels: channels, height: h, width: w, patch: patch))
        #expect(patched.unpatchified(patch) == x)
        #expect(patched.unpatchified(patch).scalars
            == patchifyReference(patched.scalars, batch: batch, channels: channels, height: h, width: w, patch: patch, inverse: true))
    }

    @Test(arguments: [(1, 1, 1), (2, 7, 33), (1, 33, 7), (1, 65, 70)])
    func transposeMatchesReference(batch: Int, rows: Int, cols: Int) {
        var rng = SeededGenerator(seed: UInt64(rows * 100 + cols))
        let x = Tensor<Float>.randomNormal(shape: [batch, rows, cols], using: &rng)
        #expect(x.transposedLastTwo().scalars == transposeLastTwoReference(x.scalars, batch: batch, rows: rows, cols: cols))
        #expect(x.transposedLastTwo().transposedLastTwo() == x)
    }

    @Test(arguments: [1, 7, 33])
    func elementwiseKernelsMatchReferences(count: Int) {
        var rng = SeededGenerator(seed: UInt64(count))
        let (rows, dim) = (count, count + 2)
        let x = Tensor<Float>.randomNormal(shape: [rows, dim], std: 2, using: &rng)
        let y = Tensor<Float>.randomNormal(shape: [rows, dim], using: &rng)
        let shift = Tensor<Float>.randomNormal(shape: [dim], using: &rng)
        let scale = Tensor<Float>.randomNormal(shape: [dim], using: &rng)

        let channelBias = Tensor<Float>.randomNormal(shape: [rows], using: &rng)
        let biased = x.reshaped([1, rows, dim]).addingChannelBias(channelBias)
        #expect(biased.shape == [1, rows, dim])
        expectClose(biased.scalars, addChannelBiasReference(x.scalars, channelBias.scalars, batch: 1, channels: rows, spatial: dim),
                    atol: 1e-6, "channel bias")

        var modulated = x
        modulated.withUnsafeMutableBufferPointer { p in
            shift.withUnsafeBufferPointer { s in
                scale.withUnsafeBufferPointer { c in modulateKernel(p.baseAddress!, shift: s.baseAddress!, scale: c.baseAddress!, rows: rows, dim: dim) }
            }
        }
        expectClose(modulated.scalars, modulateReference(x.scalars, shift: shift.scalars, scale: scale.scalars, rows: rows, dim: dim), atol: 1e-5, "modulate")

        var gated = x
        gated.withUnsafeMutableBufferPointer { p in
            scale.withUnsafeBufferPointer { g in y.withUnsafeBufferPointer { gatedResidualKernel(p.baseAddress!, gate: g.baseAddress!, $0.baseAddress!, rows: rows, dim: dim) } }
        }
        expectClose(gated.scalars, gatedResidualReference(x.scalars, gate: scale.scalars, y.scalars, rows: rows, dim: dim), atol: 1e-5, "gated residual")

        expectClose(scaledSum(x, 0.7, y, -1.3).scalars, scaledSumReference(x.scalars, 0.7, y.scalars, -1.3), atol: 1e-5, "scaledSum")
        expectClose(scaledDifferenceQuotient(x, 0.7, y, 0.3).scalars, scaledDifferenceQuotientReference(x.scalars, 0.7, y.scalars, 0.3),
                    atol: 1e-4, "scaledDifferenceQuotient")
        #expect(x.clamped(low: -1, high: 1).scalars == clampReference(x.scalars, low: -1, high: 1))
    }

    @Test(arguments: [(0, 1), (999, 32), (250, 7), (999, 256), (17, 128)])
    func timestepFeaturesMatchReference(timestep: Int, dim: Int) {
        for cosineFirst in [true, false] {
            let fast = timestepFeatures(timestep: Float(timestep), dim: dim, cosineFirst: cosineFirst)
            let slow = timestepFeaturesReference(timestep: Double(timestep), dim: dim, cosineFirst: cosineFirst)
            // float32 frequencies carry ~1 ulp, times t ≤ 999 in the argument: ≤ 1e-4.
            expectClose(fast, slow, atol: 2e-4, "timestep features t=\(timestep) dim=\(dim)")
        }
        if dim % 2 == 1 { #expect(timestepFeatures(timestep: Float(timestep), dim: dim, cosineFirst: true).last == 0) }
    }
}
