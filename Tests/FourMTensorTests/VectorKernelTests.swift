import CFourMKernels
import Foundation
@testable import FourMTensor
import FourMTestSupport
import Testing

/// The C element-wise kernels (`CFourMKernels`: bf16 rounding, SwiGLU, softmax, LayerNorm) and
/// the oneDNN attention kernel (bf16 and f32) against their plain twins.
///
/// - bf16 rounding and SwiGLU are exact twins of the Swift code (same operations, same order,
///   no fused multiply-adds): compared bit for bit, NaN, infinities, subnormals and rounding
///   ties included.
/// - Softmax and LayerNorm sum in interleaved partial sums (the bf16 path's kernels): compared
///   with the Double twins. Bound: softmax 1e-6 absolute per probability (the polynomial e^x is
///   within ~1e-7 relative, an f32 sum of ≤ 1000 terms within 1000 · 2⁻²⁴ ≈ 6e-5 relative in the
///   worst case but ~1e-6 in practice for positive terms of similar size; a wrong index or a
///   missed max moves a probability by O(1/cols)); LayerNorm 2e-5 × (|x − mean|/σ + 1) per
///   output (f32 mean and variance over ≤ 1000 terms, then one multiply and add).
@Suite struct VectorKernelTests {
    /// Lengths that exercise the 8- and 16-wide bodies and every tail length.
    static let counts = [0, 1, 7, 8, 9, 15, 16, 17, 31, 196, 768, 1001]

    static func randomValues(_ count: Int, seed: UInt64, spread: Float = 4) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in rng.nextNormal() * spread }
    }

    /// Values that stress rounding: specials, subnormals, ties at the bf16 cut, the largest
    /// floats (which round to infinity), exponent edges.
    static let specialValues: [Float] = [
        0, -0, 1, -1, .nan, -.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, Float(bitPattern: 0x0000_8000),
        Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x3F80_7FFF),
        Float(bitPattern: 0x3F80_8001), Float(bitPattern: 0x7F7F_8000), Float(bitPattern: 0x7FC0_0001),
        Float(bitPattern: 0xFF81_2345), Float(bitPattern: 0x0001_16C2), 3.0e38, -87.5, 88.5, 100, -100,
    ]

    @Test func bfloat16RoundingIsBitIdenticalToSwift() {
        for count in Self.counts {
            let values = Self.randomValues(count, seed: UInt64(count) + 1) + Self.specialValues
            for scale: Float in [1, 0.125, 3.7] {
                var fast = [UInt16](repeating: 0xDEAD, count: values.count)
                values.withUnsafeBufferPointer { src in
                    fast.withUnsafeMutableBufferPointer { fourm_f32_to_bf16(src.baseAddress!, $0.baseAddress!, values.count, scale) }
                }
                for (i, value) in values.enumerated() {
                    let expected = bfloat16Bits(of: value * scale)
                    #expect(fast[i] == expected, "count \(count) scale \(scale) [\(i)] \(value): \(fast[i]) vs \(expected)")
                }
            }
        }
        // The parallel wrapper too.
        let big = Self.randomValues(200_003, seed: 9)
        var out = [UInt16](repeating: 0, count: big.count)
        big.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { convertToBFloat16(src.baseAddress!, $0.baseAddress!, count: big.count) } }
        #expect(out == big.map { bfloat16Bits(of: $0) })
    }

    @Test func swigluIsBitIdenticalToSwift() {
        for count in Self.counts {
            let gate = Self.randomValues(count, seed: UInt64(count) + 7, spread: 30) + Self.specialValues
            let linear = Self.randomValues(gate.count, seed: UInt64(count) + 8)
            var fast = gate, slow = gate
            linear.withUnsafeBufferPointer { l in
                fast.withUnsafeMutableBufferPointer { swigluKernel($0.baseAddress!, l.baseAddress!, count: gate.count) }
                slow.withUnsafeMutableBufferPointer { swigluKernelSwift($0.baseAddress!, l.baseAddress!, count: gate.count) }
            }
            for i in gate.indices {
                let same = fast[i].bitPattern == slow[i].bitPattern || (fast[i].isNaN && slow[i].isNaN)
                #expect(same, "count \(count) [\(i)] gate \(gate[i]): \(fast[i]) vs \(slow[i])")
            }
        }
    }

    @Test func softmaxMatchesReference() {
        for cols in Self.counts where cols > 0 {
            let rows = 3
            var x = Self.randomValues(rows * cols, seed: UInt64(cols) + 3, spread: 6)
            if cols > 2 { x[1] = -1e30; x[cols + 1] = 50 }  // a vanishing term and a dominant one
            let reference = softmaxRowsReference(x, rows: rows, cols: cols)
            x.withUnsafeMutableBufferPointer { fourm_softmax_rows($0.baseAddress!, rows, cols) }
            for i in x.indices { #expect(abs(x[i] - reference[i]) <= 1e-6, "cols \(cols) [\(i)]: \(x[i]) vs \(reference[i])") }
        }
        var withNaN: [Float] = [1, .nan, 2, 3, 4, 5, 6, 7, 8]
        withNaN.withUnsafeMutableBufferPointer { fourm_softmax_rows($0.baseAddress!, 1, 9) }
        #expect(withNaN.contains { $0.isNaN }, "a NaN score must not vanish from its row")
    }

    @Test func layerNormMatchesReference() {
        for dim in Self.counts where dim > 0 {
            let rows = 4
            var rng = SeededGenerator(seed: UInt64(dim))
            let x = (0..<(rows * dim)).map { _ in rng.nextNormal() * 3 + 5 }
            let weight = (0..<dim).map { _ in 1 + rng.nextNormal() * 0.1 }
            let bias = (0..<dim).map { _ in rng.nextNormal() * 0.1 }
            for (w, b) in [(weight, bias), (nil, nil)] as [([Float]?, [Float]?)] {
                let reference = layerNormReference(x, rows: rows, dim: dim, weight: w, bias: b, eps: 1e-6)
                var out = [Float](repeating: .nan, count: x.count)
                x.withUnsafeBufferPointer { px in
                    out.withUnsafeMutableBufferPointer { po in
                        func run(_ pw: UnsafePointer<Float>?, _ pb: UnsafePointer<Float>?) {
                            fourm_layer_norm(px.baseAddress!, po.baseAddress!, rows, dim, pw, pb, 1e-6)
                        }
                        if let w, let b {
                            w.withUnsafeBufferPointer { pw in b.withUnsafeBufferPointer { pb in run(pw.baseAddress, pb.baseAddress) } }
                        } else {
                            run(nil, nil)
                        }
                    }
                }
                for i in out.indices {
                    let bound = 2e-5 * (abs(reference[i]) + 1)
                    #expect(abs(out[i] - reference[i]) <= bound, "dim \(dim) [\(i)]: \(out[i]) vs \(reference[i])")
                }
            }
        }
    }

    // MARK: - bf16 attention

    /// The oneDNN attention's twin in Double: q·hd^-0.5 (in f32, as the kernel scales it), and in
    /// bf16 q, k, v and the attention weights rounded to bf16 as the kernel does; exact products,
    /// softmax, weighted sum.
    static func attentionTwin(
        q: [Float], k: [Float], v: [Float], batch: Int, queries: Int, keys: Int, heads: Int, headDim: Int,
        blocked: [Bool]?, maskBatchStride: Int, maskQueryStride: Int, uniform: Bool, bf16: Bool
    ) -> [Float] {
        let dim = heads * headDim
        let scale = Float(1.0 / Double(headDim).squareRoot())
        func round(_ x: Float) -> Double { bf16 ? Double(floatFromBFloat16Bits(bfloat16Bits(of: x))) : Double(x) }
        var out = [Float](repeating: 0, count: batch * queries * dim)
        guard keys > 0 else { return out }
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<queries {
                    var scores = [Double](repeating: 0, count: keys)
                    var open = 0
                    for j in 0..<keys {
                        var dot = 0.0
                        for d in 0..<headDim {
                            dot += round(q[(b * queries + i) * dim + h * headDim + d] * scale) * round(k[(b * keys + j) * dim + h * headDim + d])
                        }
                        scores[j] = dot
                        if let blocked, blocked[b * maskBatchStride + i * maskQueryStride + j] {
                            scores[j] = Double(attentionFillValue)
                        } else {
                            open += 1
                        }
                    }
                    let m = scores.max() ?? 0
                    var e = scores.map { Foundation.exp($0 - m) }
                    if blocked != nil && open == 0 && !uniform { e = [Double](repeating: 0, count: keys) }
                    let s = max(e.reduce(0, +), .leastNormalMagnitude)
                    for d in 0..<headDim {
                        var acc = 0.0
                        for j in 0..<keys { acc += round(Float(e[j] / s)) * round(v[(b * keys + j) * dim + h * headDim + d]) }
                        out[(b * queries + i) * dim + h * headDim + d] = Float(acc)
                    }
                }
            }
        }
        return out
    }

    enum MaskKind: CaseIterable { case none, keyPadding, full, fullReference }

    /// bf16 kernel vs twin within 2e-3 × max|v| per output: the twin rounds what the kernel
    /// rounds, so they differ by f32 accumulation (~1e-6 relative) and by an attention weight that
    /// lands on the other side of a bf16 rounding cut (at most 2⁻⁸ of that weight, times |v|); a
    /// wrong head, key or mask moves outputs by O(max|v|).
    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"), arguments: MaskKind.allCases)
    func bf16AttentionMatchesTwin(_ kind: MaskKind) {
        checkOneDNNAttention(kind, bf16: true, tolerance: 2e-3)
    }

    /// f32 kernel vs twin within 1e-5 × max|v|: only f32 accumulation (≤ a few hundred terms of
    /// the sizes below, ~1e-6 relative) and the polynomial e^x (~1e-7) separate them.
    @Test(.enabled(if: OneDNNRuntime.shared != nil, "no oneDNN engine"), arguments: MaskKind.allCases)
    func f32AttentionMatchesTwin(_ kind: MaskKind) {
        checkOneDNNAttention(kind, bf16: false, tolerance: 1e-5)
    }

    func checkOneDNNAttention(_ kind: MaskKind, bf16: Bool, tolerance: Float) {
        let shapes: [(batch: Int, queries: Int, keys: Int, heads: Int, headDim: Int, budget: Int)] = [
            (1, 9, 9, 2, 8, attentionOneDNNScoreBudget), (2, 17, 5, 3, 16, attentionOneDNNScoreBudget),
            (2, 6, 33, 4, 8, 6 * 33 * 3),  // three heads per group: groups of 3, 3, 2
            (1, 5, 1, 1, 4, 1),  // one head per group, one key
            (2, 7, 0, 2, 8, attentionOneDNNScoreBudget),  // no keys: zeros
        ]
        for s in shapes {
            let dim = s.heads * s.headDim
            var rng = SeededGenerator(seed: UInt64(s.queries * 131 + s.keys))
            let q = (0..<(s.batch * s.queries * dim)).map { _ in rng.nextNormal() }
            let k = (0..<(s.batch * s.keys * dim)).map { _ in rng.nextNormal() }
            let v = (0..<(s.batch * s.keys * dim)).map { _ in rng.nextNormal() }
            var blocked: [Bool]? = nil
            var batchStride = 0, queryStride = 0
            switch kind {
            case .none: break
            case .keyPadding:
                blocked = (0..<(s.batch * s.keys)).map { $0 % 3 == 1 }
                batchStride = s.keys
            case .full, .fullReference:
                // Row 0 of every batch element has every key blocked.
                blocked = (0..<(s.batch * s.queries * s.keys)).map { i in (i / s.keys) % s.queries == 0 || i % 4 == 2 }
                (batchStride, queryStride) = (s.queries * s.keys, s.keys)
            }
            let uniform = kind == .fullReference
            var out = [Float](repeating: .nan, count: q.count)
            var ran = false
            q.withUnsafeBufferPointer { pq in
                k.withUnsafeBufferPointer { pk in
                    v.withUnsafeBufferPointer { pv in
                        out.withUnsafeMutableBufferPointer { po in
                            func run(_ layout: AttentionMaskLayout?) {
                                ran = attentionOneDNNKernel(
                                    q: pq.baseAddress!, k: pk.baseAddress ?? pq.baseAddress!, v: pv.baseAddress ?? pq.baseAddress!,
                                    out: po.baseAddress!, batch: s.batch, queries: s.queries, keys: s.keys, heads: s.heads,
                                    headDim: s.headDim, mask: layout, bf16: bf16, scoreBudget: s.budget)
                            }
                            if let blocked {
                                blocked.withUnsafeBufferPointer { pm in
                                    run(AttentionMaskLayout(blocked: pm.baseAddress!, batchStride: batchStride, queryStride: queryStride,
                                                            fullyBlockedRowsAttendUniformly: uniform))
                                }
                            } else {
                                run(nil)
                            }
                        }
                    }
                }
            }
            #expect(ran, "oneDNN refused \(s)")
            let twin = Self.attentionTwin(q: q, k: k, v: v, batch: s.batch, queries: s.queries, keys: s.keys, heads: s.heads,
                                          headDim: s.headDim, blocked: blocked, maskBatchStride: batchStride,
                                          maskQueryStride: queryStride, uniform: uniform, bf16: bf16)
            let scale = max(v.map(abs).max() ?? 0, 1)
            for i in out.indices {
                #expect(abs(out[i] - twin[i]) <= tolerance * scale, "\(kind) bf16 \(bf16) \(s) [\(i)]: \(out[i]) vs \(twin[i])")
            }
        }
    }

    /// `attention(…, precision: .bf16)` takes the bf16 kernel for more than a few queries and
    /// stays within bf16 rounding of the fp32 result (2% of max|v|: inputs and weights rounded
    /// to 8 significant bits); a few queries (autoregressive steps) stay fp32, bit for bit.
    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"))
    func attentionPrecisionChoosesThePath() {
        var rng = SeededGenerator(seed: 21)
        for queries in [gemvRowLimit, gemvRowLimit + 1, 40] {
            let q = Tensor<Float>.randomNormal(shape: [2, queries, 64], using: &rng)
            let k = Tensor<Float>.randomNormal(shape: [2, 30, 64], using: &rng)
            let v = Tensor<Float>.randomNormal(shape: [2, 30, 64], using: &rng)
            let fp32 = attention(q: q, k: k, v: v, heads: 4)
            let bf16 = attention(q: q, k: k, v: v, heads: 4, precision: .bf16)
            let worst = zip(fp32.scalars, bf16.scalars).map { abs($0 - $1) }.max() ?? 0
            let scale = v.scalars.map(abs).max() ?? 1
            if queries <= gemvRowLimit {
                #expect(worst == 0, "\(queries) queries: the fp32 kernel should run")
            } else {
                #expect(worst > 0, "\(queries) queries: the bf16 kernel did not run")
                #expect(worst <= 0.02 * scale, "\(queries) queries: bf16 differs from fp32 by \(worst)")
            }
        }
    }
}
