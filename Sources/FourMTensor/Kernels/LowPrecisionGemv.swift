import CFourMKernels
import Foundation

// MARK: - compact weights for few-row products (autoregressive decoding)

/// How a compact matrix stores a weight.
///
/// - `bf16`: the weight rounded to bfloat16 (nearest even): half the bytes of fp32, 8
///   significant bits.
/// - `int8`: per-output-row symmetric int8 (`w ≈ scale[row] · q`, `scale = max|w_row| / 127`,
///   `q` rounded to nearest): a quarter of the bytes of fp32; each weight is off by at most
///   `scale / 2`.
///
/// Activations stay fp32 in both (the products accumulate in fp32), so only the weights lose
/// precision. Choose one with `FourMModel.withCompactDecoderWeights(_:)` or
/// `fourm generate --decoder-weights`; accuracy and speed are in `Documentation/Performance.md`.
public enum CompactWeightFormat: String, Sendable, CaseIterable {
    /// bfloat16 weights (2 bytes each).
    case bf16
    /// Per-output-row symmetric int8 weights with an fp32 scale per row (1 byte each).
    case int8

    /// Bytes per weight.
    package var bytesPerWeight: Int { self == .bf16 ? 2 : 1 }
}

/// A `[rows, columns]` weight (a Linear's `[outputs, inputs]`) in a ``CompactWeightFormat``,
/// immutable after creation: the copy few-row products stream instead of the fp32 weight.
package final class CompactMatrix: @unchecked Sendable {
    /// Rows (a Linear's outputs).
    package let rows: Int
    /// Columns (a Linear's inputs).
    package let columns: Int
    package let format: CompactWeightFormat
    /// `rows * columns` elements: bf16 bits (`UInt16`) or `Int8`, never written after `init`.
    package let storage: UnsafeMutableRawBufferPointer
    /// Per-row scales (`int8`), empty for `bf16`.
    package let scales: [Float]

    /// Converts a float matrix `[rows, columns]` (rows in parallel chunks).
    package init(_ weight: Tensor<Float>, format: CompactWeightFormat) {
        precondition(weight.rank == 2, "CompactMatrix: rank-2 tensor expected, got \(weight.shape)")
        let (rows, columns) = (weight.shape[0], weight.shape[1])
        self.rows = rows
        self.columns = columns
        self.format = format
        let count = rows * columns
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, count * format.bytesPerWeight), alignment: 64)
        var scales = [Float](repeating: 0, count: format == .int8 ? rows : 0)
        weight.withUnsafeBufferPointer { w in
            guard let src = w.baseAddress else { return }
            let source = SendableConstPointer(src)
            switch format {
            case .bf16:
                let dst = storage.bindMemory(to: UInt16.self)
                if let base = dst.baseAddress { convertToBFloat16(src, base, count: count) }
            case .int8:
                guard let q = storage.bindMemory(to: Int8.self).baseAddress else { return }
                let dst = SendablePointer(q)
                scales.withUnsafeMutableBufferPointer { s in
                    guard let scaleBase = s.baseAddress else { return }
                    let scalesOut = SendablePointer(scaleBase)
                    parallelChunks(rows, minimumPerChunk: max(1, 65_536 / max(columns, 1))) { range in
                        for r in range {
                            scalesOut.base[r] = quantizeRowInt8(source.base + r * columns, dst.base + r * columns, count: columns)
                        }
                    }
                }
            }
        }
        self.storage = storage
        self.scales = scales
    }

    deinit { storage.deallocate() }

    /// Bytes of the compact weight (what one product streams), scales included.
    package var byteCount: Int { rows * columns * format.bytesPerWeight + scales.count * 4 }

    /// The weight the products use, back in fp32 (`[rows, columns]`; tests and error reports).
    package func dequantized() -> Tensor<Float> {
        Tensor(shape: [rows, columns]) { out in
            for r in 0..<rows {
                for c in 0..<columns {
                    let i = r * columns + c
                    switch format {
                    case .bf16: out[i] = floatFromBFloat16Bits(storage.load(fromByteOffset: 2 * i, as: UInt16.self))
                    case .int8: out[i] = scales[r] * Float(storage.load(fromByteOffset: i, as: Int8.self))
                    }
                }
            }
        }
    }
}

/// Quantizes one row to symmetric int8: `q = round(w / scale)` in `[-127, 127]` with
/// `scale = max|w| / 127`; returns the scale (0 for an all-zero row, whose `q` are 0). A
/// non-finite weight makes the row's scale non-finite, which the products then show.
@inline(__always)
package func quantizeRowInt8(_ w: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>, count: Int) -> Float {
    var largest: Float = 0
    for c in 0..<count { largest = max(largest, abs(w[c])) }
    guard largest > 0, largest.isFinite else {
        for c in 0..<count { q[c] = 0 }
        return largest == 0 ? 0 : .nan
    }
    let scale = largest / 127
    let inverse = 127 / largest
    for c in 0..<count { q[c] = Int8(max(-127, min(127, (w[c] * inverse).rounded(.toNearestOrEven)))) }
    return scale
}

/// `out[M, N] = x[M, K] · Wᵀ + bias` over a compact weight, f32 accumulation: the weight is read
/// once per call, output columns split over ``computeThreadCount`` threads (when the matrix
/// has at least 2¹⁶ weights). Holds ``ComputePolicy``'s BLAS gate for the region (one thread
/// pool at a time). Meant for few rows (autoregressive decoding: M ≤ 4); correct for any M.
/// - x: `[M, K]`, out: `[M, N]`, bias: `[N]` or nil; `K = matrix.columns`, `N = matrix.rows`.
package func compactLinear(
    _ x: UnsafePointer<Float>, rows m: Int, matrix: CompactMatrix, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>
) {
    let (n, k) = (matrix.rows, matrix.columns)
    guard m > 0, n > 0, let base = matrix.storage.baseAddress else { return }
    let (xs, ys) = (SendableConstPointer(x), SendablePointer(out))
    let bs = bias.map { SendableConstPointer($0) }
    let weights = SendableConstPointer(UnsafePointer(base.assumingMemoryBound(to: UInt8.self)))
    let format = matrix.format
    matrix.scales.withUnsafeBufferPointer { s in
        let scales = s.baseAddress.map { SendableConstPointer($0) }
        let columns: @Sendable (Range<Int>) -> Void = { range in
            switch format {
            case .bf16:
                weights.base.withMemoryRebound(to: UInt16.self, capacity: n * k) { w in
                    fourm_gemv_bf16(xs.base, m, k, w, bs?.base, ys.base, n, range.lowerBound, range.upperBound)
                }
            case .int8:
                weights.base.withMemoryRebound(to: Int8.self, capacity: n * k) { w in
                    fourm_gemv_i8(xs.base, m, k, w, scales?.base, bs?.base, ys.base, n, range.lowerBound, range.upperBound)
                }
            }
        }
        // Below ~64K weights a second thread costs more than it saves.
        if n * k < 65_536 || computeThreadCount <= 1 {
            columns(0..<n)
        } else {
            ComputePolicy.withBLAS { parallelChunks(n, minimumPerChunk: 16, columns) }
        }
    }
}

/// Plain twin of ``compactLinear``: the same dequantized weights, products accumulated in
/// Double, then the f32 bias added.
package func compactLinearReference(
    _ x: UnsafePointer<Float>, rows m: Int, matrix: CompactMatrix, bias: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>
) {
    let (n, k) = (matrix.rows, matrix.columns)
    for i in 0..<m {
        for j in 0..<n {
            var sum: Double = 0
            for p in 0..<k {
                let index = j * k + p
                let w: Double
                switch matrix.format {
                case .bf16: w = Double(floatFromBFloat16Bits(matrix.storage.load(fromByteOffset: 2 * index, as: UInt16.self)))
                case .int8: w = Double(matrix.storage.load(fromByteOffset: index, as: Int8.self))
                }
                sum += Double(x[i * k + p]) * w
            }
            let scale = matrix.format == .int8 ? Double(matrix.scales[j]) : 1
            out[i * n + j] = Float(scale * sum) + (bias?[j] ?? 0)
        }
    }
}

/// The instruction set of the compact products: `avx2+fma`, or `plain C` (other CPUs).
package var compactKernelInstructionSet: String { fourm_kernels_isa() == 2 ? "avx2+fma" : "plain C" }

/// Sums `count` floats, reading each once (a read-bandwidth probe for the benchmark).
package func sumOnce(_ p: UnsafePointer<Float>, count: Int) -> Double { fourm_sum_f32(p, count) }
