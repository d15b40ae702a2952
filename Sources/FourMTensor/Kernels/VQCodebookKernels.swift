import Foundation

// MARK: - Codebook search of the VQ quantizers (spec/tokenizers.md 4.2, 4.3)
//
// The score matrices themselves come from `gemm`; these kernels normalise rows, reduce scores
// to ids and gather code rows.

/// out[r] = x[r] / max(‖x[r]‖₂, eps) for x: [rows, dim] (PyTorch `F.normalize(p=2, dim=-1)`).
package func vqL2NormalizeRowsKernel(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, dim: Int, eps: Float = 1e-12
) {
    for r in 0..<rows {
        let src = x + r * dim, dst = out + r * dim
        var squares: Float = 0
        for j in 0..<dim { squares += src[j] * src[j] }
        let denominator = max(squares.squareRoot(), eps)
        for j in 0..<dim { dst[j] = src[j] / denominator }
    }
}

/// out[r] = Σⱼ x[r, j]² for x: [rows, dim].
package func vqRowSquaredNormsKernel(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
    for r in 0..<rows {
        let src = x + r * dim
        var squares: Float = 0
        for j in 0..<dim { squares += src[j] * src[j] }
        out[r] = squares
    }
}

/// out[r] = the first index of the largest value of scores[r] (scores: [rows, cols], PyTorch
/// `argmax` tie rule: lowest index). A row of NaNs yields 0.
package func vqArgmaxRowsKernel(_ scores: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Int32>, rows: Int, cols: Int) {
    for r in 0..<rows {
        let row = scores + r * cols
        var best = 0
        var bestValue = -Float.infinity
        for c in 0..<cols where row[c] > bestValue {
            bestValue = row[c]
            best = c
        }
        out[r] = Int32(best)
    }
}

/// Nearest code by squared Euclidean distance, evaluated as the reference does:
/// `argmax −((‖x‖² − 2·x·e) + ‖e‖²)` (ties → lowest index).
///
/// dots: [rows, codes] = x·Eᵀ, rowNorms: [rows] = ‖x‖², codeNorms: [codes] = ‖e‖², out: [rows].
package func vqEuclideanArgminKernel(
    dots: UnsafePointer<Float>, rowNorms: UnsafePointer<Float>, codeNorms: UnsafePointer<Float>,
    _ out: UnsafeMutablePointer<Int32>, rows: Int, codes: Int
) {
    for r in 0..<rows {
        let row = dots + r * codes
        let x2 = rowNorms[r]
        var best = 0
        var bestValue = Float.infinity
        for c in 0..<codes {
            let distance = (x2 - 2 * row[c]) + codeNorms[c]
            if distance < bestValue {
                bestValue = distance
                best = c
            }
        }
        out[r] = Int32(best)
    }
}

/// Brute-force (Double) twin of the cosine and Euclidean code searches.
/// x: [rows, dim], codebook: [codes, dim] → ids [rows].
package func vqNearestCodeReference(_ x: [Float], codebook: [Float], rows: Int, dim: Int, codes: Int, cosine: Bool) -> [Int32] {
    (0..<rows).map { r in
        var best = 0
        var bestScore = -Double.infinity
        let xs = (0..<dim).map { Double(x[r * dim + $0]) }
        let xNorm = max(xs.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
        for c in 0..<codes {
            let es = (0..<dim).map { Double(codebook[c * dim + $0]) }
            let score: Double
            if cosine {
                let eNorm = max(es.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
                score = zip(xs, es).map { $0 * $1 }.reduce(0, +) / (xNorm * eNorm)
            } else {
                score = -zip(xs, es).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            }
            if score > bestScore {
                bestScore = score
                best = c
            }
        }
        return Int32(best)
    }
}

/// Multi-head row gather (Memcodes values, spec/tokenizers.md 4.3):
/// out[r, g·dim ..< (g+1)·dim] = table[g, ids[r, g], :].
///
/// table: [heads, codes, dim], ids: [rows, heads] (each in 0..<codes; callers validate),
/// out: [rows, heads·dim].
package func vqGatherHeadRowsKernel(
    _ table: UnsafePointer<Float>, _ ids: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<Float>,
    rows: Int, heads: Int, codes: Int, dim: Int
) {
    for r in 0..<rows {
        for g in 0..<heads {
            let code = Int(ids[r * heads + g])
            (out + (r * heads + g) * dim).initialize(from: table + (g * codes + code) * dim, count: dim)
        }
    }
}

/// The first position of `ids` (count values) outside `0..<upperBound`, or nil (validation of
/// user token ids and label maps before any gather).
package func vqFirstOutOfRange(_ ids: UnsafePointer<Int32>, count: Int, upperBound: Int) -> Int? {
    for i in 0..<count where ids[i] < 0 || Int(ids[i]) >= upperBound { return i }
    return nil
}
