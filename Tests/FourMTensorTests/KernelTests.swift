import Foundation
@testable import FourMTensor
import FourMTestSupport
import Testing

/// Every optimized kernel against its plain reference twin on odd sizes. Tolerances: the
/// twins accumulate in Double, the kernels in Float, so differences are float32 rounding of
/// sums of at most a few hundred terms of magnitude ≤ ~10: 1e-4 absolute is ample and still
/// catches any indexing error (those produce O(1) differences).
@Suite struct KernelTests {
    static let sizes: [(Int, Int)] = [(1, 1), (3, 33), (7, 3), (33, 17), (5, 257)]

    @Test(arguments: sizes)
    func gemmMatchesReference(m: Int, k: Int) {
        var rng = SeededGenerator(seed: UInt64(m * 1000 + k))
        let n = k + 2
        let a = Tensor<Float>.randomNormal(shape: [m, k], using: &rng)
        let bT = Tensor<Float>.randomNormal(shape: [n, k], using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [k, n], using: &rng)
        for (matrix, transposed) in [(bT, true), (b, false)] {
            var fast = [Float](repeating: 0, count: m * n), slow = fast
            a.withUnsafeBufferPointer { pa in
                matrix.withUnsafeBufferPointer { pb in
                    let ldb = transposed ? k : n
                    gemm(pa.baseAddress!, pb.baseAddress!, &fast, m: m, n: n, k: k, lda: k, ldb: ldb, ldc: n, transposeB: transposed, alpha: 0.5)
                    gemmReference(pa.baseAddress!, pb.baseAddress!, &slow, m: m, n: n, k: k, lda: k, ldb: ldb, ldc: n, transposeB: transposed, alpha: 0.5)
                }
            }
            expectClose(fast, slow, atol: 1e-4, "gemm transposeB=\(transposed)")
        }
    }

    @Test(arguments: sizes)
    func layerNormMatchesReference(rows: Int, dim: Int) {
        var rng = SeededGenerator(seed: UInt64(rows * 31 + dim))
        let x = Tensor<Float>.randomNormal(shape: [rows, dim], std: 3, using: &rng)
        let w = Tensor<Float>.randomNormal(shape: [dim], using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [dim], using: &rng)
        expectClose(layerNorm(x, weight: w, bias: b, eps: 1e-6).scalars,
                    layerNormReference(x.scalars, rows: rows, dim: dim, weight: w.scalars, bias: b.scalars, eps: 1e-6), atol: 1e-4, "layerNorm")
        expectClose(layerNorm(x, weight: nil, bias: nil).scalars,
                    layerNormReference(x.scalars, rows: rows, dim: dim, weight: nil, bias: nil, eps: 1e-6), atol: 1e-4, "layerNorm without affine")
    }

    @Test(arguments: sizes)
    func softmaxMatchesReference(rows: Int, cols: Int) {
        var rng = SeededGenerator(seed: UInt64(rows * 17 + cols))
        let x = Tensor<Float>.randomNormal(shape: [rows, cols], std: 5, using: &rng)
        expectClose(softmax(x).scalars, softmaxRowsReference(x.scalars, rows: rows, cols: cols), atol: 1e-6, "softmax")
    }

    @Test(arguments: [1, 7, 33, 257])
    func activationsMatchReference(count: Int) {
        var rng = SeededGenerator(seed: UInt64(count))
        let x = Tensor<Float>.randomNormal(shape: [count], std: 4, using: &rng)
        let y = Tensor<Float>.randomNormal(shape: [count], using: &rng)
        expectClose(gelu(x).scalars, geluReference(x.scalars), atol: 1e-5, "gelu")
        expectClose(silu(x).scalars, siluReference(x.scalars), atol: 1e-5, "silu")
        expectClose(swiglu(x, y).scalars, swigluReference(x.scalars, y.scalars), atol: 1e-5, "swiglu")
    }

    /// ``polynomialExp`` (behind softmax, SiLU and SwiGLU) against `Foundation.exp` in Double
    /// on a dense sweep of its whole working range. Bound: 2·10⁻⁷ relative, i.e. within about
    /// two float ulps (2⁻²³ ≈ 1.2·10⁻⁷), which is what `expf` itself promises; measured 8·10⁻⁸.
    /// Then its edges: under −87.3 → 0, NaN → NaN, large x capped at e^88.
    @Test func polynomialExpMatchesExp() {
        var xs: [Float] = []
        var v: Float = -87.3
        while v <= 88 {
            xs.append(v)
            v += 0.00173
        }
        var fast = xs
        fast.withUnsafeMutableBufferPointer { expKernel($0.baseAddress!, count: $0.count) }
        var worst = 0.0
        for (x, y) in zip(xs, fast) {
            let reference = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(y) - reference) / reference)
        }
        #expect(worst <= 2e-7, "max relative error \(worst)")
        var edges: [Float] = [-Float.greatestFiniteMagnitude, -.infinity, -88, .nan, 0, 100]
        edges.withUnsafeMutableBufferPointer { expKernel($0.baseAddress!, count: $0.count) }
        #expect(edges[0] == 0 && edges[1] == 0 && edges[2] == 0)
        #expect(edges[3].isNaN)
        #expect(edges[4] == 1)
        #expect(edges[5].isFinite && edges[5] > 1e38)
    }

    /// The residual add writes `branch + x` into the branch: bit-identical to `x + branch`.
    @Test(arguments: [1, 7, 70_001])
    func residualAddEqualsPlus(count: Int) {
        var rng = SeededGenerator(seed: UInt64(count) + 3)
        let x = Tensor<Float>.randomNormal(shape: [count], using: &rng)
        let branch = Tensor<Float>.randomNormal(shape: [count], using: &rng)
        let expected = x + branch
        #expect(residual(branch, plus: x).scalars == expected.scalars)
    }

    /// oneDNN's f32 matmul (measured against sgemm by `fourm-bench --only sgemm`) against the
    /// plain twin, with the tolerance of ``gemmMatchesReference`` (f32 vs Double accumulation).
    @Test(arguments: sizes)
    func oneDNNF32MatchesReference(m: Int, k: Int) throws {
        let runtime = try #require(OneDNNRuntime.shared)
        var rng = SeededGenerator(seed: UInt64(m * 977 + k))
        let n = k + 3
        let a = Tensor<Float>.randomNormal(shape: [m, k], using: &rng)
        let w = Tensor<Float>.randomNormal(shape: [n, k], using: &rng)
        let bias = Tensor<Float>.randomNormal(shape: [n], using: &rng)
        var fast = [Float](repeating: .nan, count: m * n), slow = fast
        let ok = a.withUnsafeBufferPointer { pa in
            w.withUnsafeBufferPointer { pw in
                bias.withUnsafeBufferPointer { pb in
                    gemmReference(pa.baseAddress!, pw.baseAddress!, &slow, m: m, n: n, k: k, lda: k, ldb: k, ldc: n, transposeB: true)
                    addBiasRows(&slow, pb.baseAddress!, rows: m, cols: n)
                    return runtime.linearF32(pa.baseAddress!, rows: m, weight: pw.baseAddress!, outputs: n, inputs: k, bias: pb.baseAddress, out: &fast)
                }
            }
        }
        #expect(ok)
        expectClose(fast, slow, atol: 1e-4, "oneDNN f32 linear")
    }

    @Test(arguments: [(1, 1, 1, 1), (2, 7, 5, 3), (3, 33, 17, 2), (1, 4, 0, 2)])
    func attentionMatchesReference(batch: Int, queries: Int, keys: Int, heads: Int) {
        let headDim = 5
        let dim = heads * headDim
        var rng = SeededGenerator(seed: UInt64(batch * 100 + queries * 10 + keys))
        let q = Tensor<Float>.randomNormal(shape: [batch, queries, dim], using: &rng)
        let k = Tensor<Float>.randomNormal(shape: [batch, keys, dim], using: &rng)
        let v = Tensor<Float>.randomNormal(shape: [batch, keys, dim], using: &rng)
        // Unmasked.
        expectClose(attention(q: q, k: k, v: v, heads: heads).scalars,
                    attentionReference(q: q.scalars, k: k.scalars, v: v.scalars, batch: batch, queries: queries, keys: keys, heads: heads,
                                       headDim: headDim, blocked: nil, maskBatchStride: 0, maskQueryStride: 0), atol: 1e-5, "attention")
        // Full mask with some fully blocked rows (zero output).
        let pattern = (0..<(batch * queries * keys)).map { i in (i % 3 == 0) || (i / max(keys, 1)) % 4 == 1 }
        let full = Tensor<Bool>(shape: [batch, queries, keys], scalars: pattern)
        expectClose(attention(q: q, k: k, v: v, heads: heads, mask: .full(full)).scalars,
                    attentionReference(q: q.scalars, k: k.scalars, v: v.scalars, batch: batch, queries: queries, keys: keys, heads: heads,
                                       headDim: headDim, blocked: pattern, maskBatchStride: queries * keys, maskQueryStride: keys), atol: 1e-5, "masked attention")
        // The same pattern with the reference's uniform attention over fully blocked rows.
        expectClose(attention(q: q, k: k, v: v, heads: heads, mask: .fullReference(full)).scalars,
                    attentionReference(q: q.scalars, k: k.scalars, v: v.scalars, batch: batch, queries: queries, keys: keys, heads: heads,
                                       headDim: headDim, blocked: pattern, maskBatchStride: queries * keys, maskQueryStride: keys,
                                       fullyBlockedRowsAttendUniformly: true), atol: 1e-5, "masked attention, uniform blocked rows")
        // Key padding.
        let padding = (0..<(batch * keys)).map { $0 % 2 == 1 }
        expectClose(attention(q: q, k: k, v: v, heads: heads, mask: .keyPadding(Tensor(shape: [batch, keys], scalars: padding))).scalars,
                    attentionReference(q: q.scalars, k: k.scalars, v: v.scalars, batch: batch, queries: queries, keys: keys, heads: heads,
                                       headDim: headDim, blocked: padding, maskBatchStride: keys, maskQueryStride: 0), atol: 1e-5, "key-padding attention")
    }

    /// A fully blocked row: zero with `.full`, the mean of the values with `.fullReference`
    /// (softmax over equal −FLT_MAX scores, spec/model.md 5.6).
    @Test func fullyBlockedRowAveragesValuesOnlyInReferenceMode() {
        var rng = SeededGenerator(seed: 7)
        let (keys, dim) = (5, 4)
        let q = Tensor<Float>.randomNormal(shape: [1, 2, dim], using: &rng)
        let k = Tensor<Float>.randomNormal(shape: [1, keys, dim], using: &rng)
        let v = Tensor<Float>.randomNormal(shape: [1, keys, dim], using: &rng)
        let blocked = Tensor<Bool>(shape: [1, 2, keys], scalars: (0..<(2 * keys)).map { $0 < keys })  // row 0 fully blocked
        let zero = attention(q: q, k: k, v: v, heads: 1, mask: .full(blocked)).scalars
        let uniform = attention(q: q, k: k, v: v, heads: 1, mask: .fullReference(blocked)).scalars
        #expect(zero.prefix(dim).allSatisfy { $0 == 0 })
        let mean = (0..<dim).map { d in (0..<keys).reduce(Float(0)) { $0 + v[0, $1, d] } / Float(keys) }
        expectClose(Array(uniform.prefix(dim)), mean, atol: 1e-6, "uniform row")
        expectClose(Array(uniform.suffix(dim)), Array(zero.suffix(dim)), atol: 0, "open row unchanged")
    }

    @Test func attentionOverNoKeysIsZero() {
        let q = Tensor<Float>(repeating: 1, shape: [2, 3, 4])
        let empty = Tensor<Float>(zeros: [2, 0, 4])
        let out = attention(q: q, k: empty, v: empty, heads: 2, mask: .keyPadding(Tensor(zeros: [2, 0])))
        #expect(out.shape == [2, 3, 4])
        #expect(out.scalars.allSatisfy { $0 == 0 })
    }

    @Test(arguments: [(1, 1, 3, 3), (2, 5, 7, 3), (1, 8, 4, 16), (3, 6, 6, 6)])
    func bicubicMatchesReference(planes: Int, inSize: Int, outHeight: Int, outWidth: Int) {
        var rng = SeededGenerator(seed: UInt64(inSize * 7 + outHeight))
        let x = Tensor<Float>.randomNormal(shape: [planes, inSize, inSize], using: &rng)
        let fast = x.resizedBicubic(height: outHeight, width: outWidth)
        let slow = bicubicResizeReference(x.scalars, planes: planes, inHeight: inSize, inWidth: inSize, outHeight: outHeight, outWidth: outWidth)
        expectClose(fast.scalars, slow, atol: 1e-5, "bicubic")
    }

    @Test func bicubicKeepsSizeAsIdentity() {
        var rng = SeededGenerator(seed: 3)
        let x = Tensor<Float>.randomNormal(shape: [2, 5, 5], using: &rng)
        #expect(x.resizedBicubic(height: 5, width: 5) == x)
    }

    @Test func halfPrecisionRoundTrips() {
        for value: Float in [0, -0, 1, -2.5, 65504, 6.1e-5, 5.96e-8, 1e-3, .infinity, -.infinity] {
            #expect(floatFromHalfBits(halfBitsFromFloat(value)) == value || abs(floatFromHalfBits(halfBitsFromFloat(value)) - value) <= abs(value) * 1e-3)
        }
        #expect(floatFromHalfBits(halfBitsFromFloat(.nan)).isNaN)
        #expect(floatFromHalfBits(0x3C00) == 1)
        #expect(floatFromHalfBits(0xC000) == -2)
        #expect(floatFromHalfBits(0x0001) == Float(sign: .plus, exponent: -24, significand: 1))
    }

    @Test func sinCosTablesMatchTheirFormula() {
        let table = sinCosTable2D(gridHeight: 3, gridWidth: 3, dim: 8)
        // token (row 1, col 2): ω = [1, 1e-2]; blocks sin(row ω), cos(row ω), sin(col ω), cos(col ω)
        let row = (0..<8).map { table[5, $0] }
        expectClose(row, [sinf(1), sinf(0.01), cosf(1), cosf(0.01), sinf(2), sinf(0.02), cosf(2), cosf(0.02)], atol: 1e-6, "2-D sin-cos")
    }
}
