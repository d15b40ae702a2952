import Foundation
@testable import FourMTensor
import FourMTestSupport
import Testing

/// The compact (bf16 / int8 weight) few-row products against their plain twin, the int8
/// quantizer, and `Linear`'s small-row branch.
///
/// Tolerance of kernel vs twin: both use the same weights (the same bf16 bits, or the same
/// int8 values and f32 scales) and the same f32 inputs; they differ only in accumulation (f32
/// in the kernel, in a different order, vs Double in the twin) plus one f32 rounding of the
/// scale product and of the bias add. The standard bound for a k-term f32 sum is
/// `k · 2⁻²⁴ · Σ|terms|`; we check `(k + 2) · 2⁻²⁴ · Σ|scale · x · w| + 2⁻²⁴ · |bias| + 1e-7`
/// per output, which any indexing or layout error (O(|terms|) differences) exceeds.
@Suite struct LowPrecisionGemvTests {
    static let sizes: [(rows: Int, inputs: Int, outputs: Int)] = [
        (1, 1, 1), (1, 7, 33), (2, 33, 7), (3, 257, 33), (4, 64, 17), (5, 33, 9), (1, 768, 300), (4, 257, 300),
    ]

    func check(_ format: CompactWeightFormat, rows m: Int, inputs k: Int, outputs n: Int, bias useBias: Bool) {
        var rng = SeededGenerator(seed: UInt64(97 * m + 13 * k + n))
        let x = Tensor<Float>.randomNormal(shape: [m, k], using: &rng)
        let w = Tensor<Float>.randomNormal(shape: [n, k], using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [n], using: &rng)
        let matrix = CompactMatrix(w, format: format)
        var fast = [Float](repeating: .nan, count: m * n), slow = fast
        x.withUnsafeBufferPointer { px in
            b.withUnsafeBufferPointer { pb in
                let bias = useBias ? pb.baseAddress : nil
                fast.withUnsafeMutableBufferPointer { compactLinear(px.baseAddress!, rows: m, matrix: matrix, bias: bias, out: $0.baseAddress!) }
                slow.withUnsafeMutableBufferPointer { compactLinearReference(px.baseAddress!, rows: m, matrix: matrix, bias: bias, out: $0.baseAddress!) }
            }
        }
        let wq = matrix.dequantized().scalars, xs = x.scalars, bs = b.scalars
        var worst: Float = 0
        for i in 0..<m {
            for j in 0..<n {
                var magnitude: Float = 0
                for p in 0..<k { magnitude += abs(xs[i * k + p] * wq[j * k + p]) }
                let bound = Float(k + 2) * 0x1p-24 * magnitude + (useBias ? 0x1p-24 * abs(bs[j]) : 0) + 1e-7
                let diff = abs(fast[i * n + j] - slow[i * n + j])
                worst = max(worst, diff / bound)
                #expect(diff <= bound, "\(format) m \(m) k \(k) n \(n) [\(i), \(j)]: \(fast[i * n + j]) vs \(slow[i * n + j])")
            }
        }
        #expect(worst.isFinite)
    }

    @Test(arguments: CompactWeightFormat.allCases)
    func matchesReference(_ format: CompactWeightFormat) {
        for size in Self.sizes {
            for bias in [false, true] { check(format, rows: size.rows, inputs: size.inputs, outputs: size.outputs, bias: bias) }
        }
    }

    /// Per-row symmetric int8: every weight within half a step (`scale / 2`) of the original,
    /// the row's largest |w| exactly ±127 steps, an all-zero row a zero scale.
    @Test func int8QuantizesEachRowSymmetrically() {
        var rng = SeededGenerator(seed: 5)
        var values = Tensor<Float>.randomNormal(shape: [6, 41], using: &rng).scalars
        for c in 0..<41 { values[2 * 41 + c] = 0 }  // row 2: zeros
        let w = Tensor(shape: [6, 41], scalars: values)
        let matrix = CompactMatrix(w, format: .int8)
        let back = matrix.dequantized().scalars
        #expect(matrix.scales[2] == 0)
        for r in 0..<6 {
            let row = values[(r * 41)..<((r + 1) * 41)]
            let largest = row.map(abs).max() ?? 0
            #expect(abs(matrix.scales[r] - largest / 127) <= largest * 1e-6)
            for c in 0..<41 {
                #expect(abs(back[r * 41 + c] - values[r * 41 + c]) <= matrix.scales[r] / 2 * (1 + 1e-5) + 1e-7, "[\(r), \(c)]")
            }
        }
        // bf16: the nearest-even rounding of BFloat16Matrix.
        let bf16 = CompactMatrix(w, format: .bf16).dequantized().scalars
        for i in values.indices { #expect(bf16[i] == floatFromBFloat16Bits(bfloat16Bits(of: values[i]))) }
    }

    /// `Linear` uses the table only while it is active, only for layers it holds and only up
    /// to its row limit; everything else computes as before (bit for bit).
    @Test func linearUsesTheTableOnlyInsideItsScope() {
        var rng = SeededGenerator(seed: 9)
        let layer = Linear(weight: .randomNormal(shape: [40, 33], using: &rng), bias: .randomNormal(shape: [40], using: &rng))
        let other = Linear(weight: .randomNormal(shape: [40, 33], using: &rng), bias: nil)
        let table = CompactWeightTable([layer], format: .int8)
        #expect(table.count == 1)
        let few = Tensor<Float>.randomNormal(shape: [1, 3, 33], using: &rng)
        let many = Tensor<Float>.randomNormal(shape: [5, 33], using: &rng)
        let plainFew = layer(few), plainMany = layer(many), otherFew = other(few)
        let (compactFew, compactMany, otherInside) = CompactWeights.withTable(table) { (layer(few), layer(many), other(few)) }
        #expect(compactFew.shape == [1, 3, 40])
        var expected = [Float](repeating: 0, count: 3 * 40)
        few.withUnsafeBufferPointer { px in
            layer.bias!.withUnsafeBufferPointer { pb in
                expected.withUnsafeMutableBufferPointer {
                    compactLinearReference(px.baseAddress!, rows: 3, matrix: table.matrix(for: layer)!, bias: pb.baseAddress, out: $0.baseAddress!)
                }
            }
        }
        expectClose(compactFew.scalars, expected, atol: 1e-4, "compact rows")  // |terms| ≲ 10, k = 33: bound above ≈ 2e-5
        #expect(compactFew.scalars != plainFew.scalars)  // int8 weights really were used
        #expect(compactMany.scalars == plainMany.scalars)  // 5 rows > the limit of 4
        #expect(otherInside.scalars == otherFew.scalars)  // not in the table
        #expect(layer(few).scalars == plainFew.scalars)  // scope ended
    }
}
