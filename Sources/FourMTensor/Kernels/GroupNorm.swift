import Foundation

// MARK: - GroupNorm (spec/tokenizers.md 5.5–5.6: "GN(32, eps 1e-5)", computed in float32)

/// Group normalisation of x: `[B, C, S]` with `groups` groups of `C/groups` channels, then an
/// optional per-channel affine and an optional SiLU, into out: `[B, C, S]`.
///
/// Mean and (biased) variance of each group are taken in two passes with Double accumulation
/// (a group of a 56×56 map holds ~50 000 values); the output is formed like PyTorch's CPU
/// kernel: `y = x·a + b` with `a = rstd·γ[c]`, `b = β[c] − a·mean`. Groups run in parallel.
package func groupNormKernel(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, batch: Int, channels: Int, spatial: Int,
    groups: Int, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float, silu: Bool
) {
    precondition(groups >= 1 && channels % groups == 0, "groupNorm: \(channels) channels not divisible by \(groups) groups")
    let total = batch * groups
    let n = channels / groups * spatial
    let (src, dst) = (SendableConstPointer(x), SendablePointer(out))
    let (gamma, beta) = (weight.map(SendableConstPointer.init), bias.map(SendableConstPointer.init))
    // Parallel over groups once a region holds enough values to pay for the dispatch.
    parallelChunks(total, minimumPerChunk: max(1, (1 << 15) / max(n, 1))) { range in
        for index in range {
            groupNormOneGroup(src.base, dst.base, index: index, channels: channels, spatial: spatial, groups: groups,
                              weight: gamma?.base, bias: beta?.base, eps: eps, silu: silu)
        }
    }
}

/// Group `index` (= b·groups + g) of ``groupNormKernel``.
private func groupNormOneGroup(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, index: Int, channels: Int, spatial: Int, groups: Int,
    weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float, silu: Bool
) {
    let perGroup = channels / groups
    let n = perGroup * spatial
    let b = index / groups, g = index % groups
    let offset = (b * channels + g * perGroup) * spatial
    let src = x + offset
    let dst = out + offset
    var sum = 0.0
    for i in 0..<n { sum += Double(src[i]) }
    let meanD = sum / Double(max(n, 1))
    var squares = 0.0
    for i in 0..<n {
        let d = Double(src[i]) - meanD
        squares += d * d
    }
    let mean = Float(meanD)
    let rstd = 1 / (Float(squares / Double(max(n, 1))) + eps).squareRoot()
    for c in 0..<perGroup {
        let channel = g * perGroup + c
        let a = rstd * (weight?[channel] ?? 1)
        let shift = (bias?[channel] ?? 0) - a * mean
        let s = src + c * spatial, d = dst + c * spatial
        if silu {
            for i in 0..<spatial {
                let v = s[i] * a + shift
                d[i] = v / (1 + expf(-v))
            }
        } else {
            for i in 0..<spatial { d[i] = s[i] * a + shift }
        }
    }
}

/// Double-precision twin of ``groupNormKernel``.
package func groupNormReference(
    _ x: [Float], batch: Int, channels: Int, spatial: Int, groups: Int, weight: [Float]?, bias: [Float]?, eps: Float,
    silu: Bool
) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    let perGroup = channels / groups
    for b in 0..<batch {
        for g in 0..<groups {
            let start = (b * channels + g * perGroup) * spatial
            let values = (start..<(start + perGroup * spatial)).map { Double(x[$0]) }
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
            for i in 0..<values.count {
                let channel = g * perGroup + i / spatial
                var v = (values[i] - mean) / (variance + Double(eps)).squareRoot()
                v = v * Double(weight?[channel] ?? 1) + Double(bias?[channel] ?? 0)
                if silu { v = v / (1 + Foundation.exp(-v)) }
                out[start + i] = Float(v)
            }
        }
    }
    return out
}

/// Group normalisation over axis 1 of `[B, C, ...]` (PyTorch `nn.GroupNorm`), optionally
/// followed by SiLU.
/// - Parameters:
///   - x: `[B, C, ...]`.
///   - groups: number of groups (divides C).
///   - weight, bias: `[C]` affine parameters or nil.
///   - eps: added to the variance.
///   - silu: apply SiLU to the result (fused).
/// - Returns: the shape of `x`.
package func groupNorm(
    _ x: Tensor<Float>, groups: Int, weight: Tensor<Float>?, bias: Tensor<Float>?, eps: Float, silu: Bool = false
) -> Tensor<Float> {
    precondition(x.rank >= 2, "groupNorm needs [B, C, ...], got \(x.shape)")
    let (b, c) = (x.shape[0], x.shape[1])
    let spatial = x.count / max(b * c, 1)
    return Tensor(shape: x.shape) { out in
        x.withUnsafeBufferPointer { px in
            withOptionalPointer(weight) { pw in
                withOptionalPointer(bias) { pb in
                    groupNormKernel(px.baseAddress!, out.baseAddress!, batch: b, channels: c, spatial: spatial,
                                    groups: groups, weight: pw, bias: pb, eps: eps, silu: silu)
                }
            }
        }
    }
}
