import Foundation
@testable import FourMDiffusion
import FourMTensor
import FourMTestSupport
import Testing

/// The UNet attention block's multi-head "legacy" QKV layout ([head][q|k|v][ch], spec 5.5),
/// which the released models (one head) and the fixtures do not exercise: against a direct
/// Double implementation of guided-diffusion's `QKVAttentionLegacy`. 1e-4 absolute: float32
/// GroupNorm and sgemm over 64 channels versus Double.
@Suite struct UNetAttentionTests {
    @Test(arguments: [1, 2, 4])
    func legacyHeadsMatchTheReference(heads: Int) throws {
        let (batch, channels, h, w) = (2, 64, 3, 5)
        let source = RandomTensorSource(seed: UInt64(heads), std: 0.2)
        let block = try UNetAttentionBlock(source.scoped("attn"), channels: channels, heads: heads)
        let weights = Dictionary(uniqueKeysWithValues: source.recorded.map { ($0.key, $0.tensor.scalars) })
        var rng = SeededGenerator(seed: 9)
        let x = Tensor<Float>.randomNormal(shape: [batch, channels, h, w], using: &rng)
        let got = block(x)

        let t = h * w, ch = channels / heads
        let normed = groupNormReference(x.scalars, batch: batch, channels: channels, spatial: t, groups: 32,
                                        weight: weights["attn.norm.weight"], bias: weights["attn.norm.bias"], eps: 1e-5, silu: false)
        let (qw, qb) = (weights["attn.qkv.weight"]!, weights["attn.qkv.bias"]!)
        let (pw, pb) = (weights["attn.proj_out.weight"]!, weights["attn.proj_out.bias"]!)
        var expected = x.scalars
        for b in 0..<batch {
            func y(_ c: Int, _ i: Int) -> Double { Double(normed[(b * channels + c) * t + i]) }
            var qkv = [[Double]](repeating: [Double](repeating: 0, count: t), count: 3 * channels)
            for o in 0..<(3 * channels) {
                for i in 0..<t {
                    var acc = Double(qb[o])
                    for c in 0..<channels { acc += Double(qw[o * channels + c]) * y(c, i) }
                    qkv[o][i] = acc
                }
            }
            var mixed = [[Double]](repeating: [Double](repeating: 0, count: t), count: channels)
            for head in 0..<heads {
                let base = head * 3 * ch
                for i in 0..<t {
                    var scores = (0..<t).map { s in (0..<ch).reduce(0.0) { $0 + qkv[base + $1][i] * qkv[base + ch + $1][s] } / Double(ch).squareRoot() }
                    let m = scores.max() ?? 0
                    scores = scores.map { Foundation.exp($0 - m) }
                    let total = scores.reduce(0, +)
                    for c in 0..<ch {
                        mixed[head * ch + c][i] = (0..<t).reduce(0.0) { $0 + scores[$1] / total * qkv[base + 2 * ch + c][$1] }
                    }
                }
            }
            for o in 0..<channels {
                for i in 0..<t {
                    var acc = Double(pb[o])
                    for c in 0..<channels { acc += Double(pw[o * channels + c]) * mixed[c][i] }
                    expected[(b * channels + o) * t + i] += Float(acc)
                }
            }
        }
        expectClose(got.scalars, expected, atol: 1e-4, "legacy attention with \(heads) head(s)")
    }
}
