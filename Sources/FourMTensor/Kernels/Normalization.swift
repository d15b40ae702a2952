import Foundation

// MARK: - LayerNorm (spec/model.md section 4.1)

/// x: [rows, dim] → out: [rows, dim]; population variance, two passes, Float accumulation.
/// `weight`/`bias` may be nil (identity scale / zero shift).
package func layerNormKernel(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, dim: Int,
    weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float
) {
    let n = Float(dim)
    for r in 0..<rows {
        let src = x + r * dim
        let dst = out + r * dim
        var sum: Float = 0
        for j in 0..<dim { sum += src[j] }
        let mean = sum / n
        var squares: Float = 0
        for j in 0..<dim {
            let d = src[j] - mean
            squares += d * d
        }
        let inv = 1 / (squares / n + eps).squareRoot()
        for j in 0..<dim {
            var v = (src[j] - mean) * inv
            if let weight { v *= weight[j] }
            if let bias { v += bias[j] }
            dst[j] = v
        }
    }
}

/// Double-precision twin of ``layerNormKernel``.
package func layerNormReference(
    _ x: [Float], rows: Int, dim: Int, weight: [Float]?, bias: [Float]?, eps: Float
) -> [Float] {
    var out = [Float](repeating: 0, count: rows * dim)
    for r in 0..<rows {
        let row = (0..<dim).map { Double(x[r * dim + $0]) }
        let mean = row.reduce(0, +) / Double(dim)
        let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(dim)
        for j in 0..<dim {
            var v = (row[j] - mean) / (variance + Double(eps)).squareRoot()
            if let weight { v *= Double(weight[j]) }
            if let bias { v += Double(bias[j]) }
            out[r * dim + j] = Float(v)
        }
    }
    return out
}

// MARK: - Softmax

/// In-place softmax over each row of x: [rows, cols] (max subtracted first; e^x by
/// ``polynomialExp``).
package func softmaxRowsKernel(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
    guard cols > 0 else { return }
    for r in 0..<rows {
        let row = x + r * cols
        var maxValue = row[0]
        for j in 1..<cols where row[j] > maxValue { maxValue = row[j] }
        // Exponentials in their own loop (``polynomialExp`` vectorises), then the sum in the
        // same sequential order as before.
        for j in 0..<cols { row[j] = polynomialExp(row[j] - maxValue) }
        var sum: Float = 0
        for j in 0..<cols { sum += row[j] }
        let inv = 1 / sum
        for j in 0..<cols { row[j] *= inv }
    }
}

/// Double-precision twin of ``softmaxRowsKernel``.
package func softmaxRowsReference(_ x: [Float], rows: Int, cols: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for r in 0..<rows {
        let row = (0..<cols).map { Double(x[r * cols + $0]) }
        let m = row.max() ?? 0
        let e = row.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        for j in 0..<cols { out[r * cols + j] = Float(e[j] / s) }
    }
    return out
}
