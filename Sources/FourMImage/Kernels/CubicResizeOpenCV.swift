import Foundation

/// The bicubic weights OpenCV's `INTER_CUBIC` uses (Keys kernel, A = -0.75) for the fraction
/// `t` in [0, 1): the weights of source pixels `floor - 1 … floor + 2`.
@inline(__always)
func openCVCubicWeights(_ t: Float) -> (Float, Float, Float, Float) {
    let a: Float = -0.75
    let w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
    let w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    let w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1
    return (w0, w1, w2, 1 - w0 - w1 - w2)
}

/// `cv2.resize(src, (outWidth, outHeight), interpolation=cv2.INTER_CUBIC)` for one float
/// channel: half-pixel centres (`(d + 0.5)·scale − 0.5`), replicated border, no antialiasing
/// when shrinking; separable, horizontal pass first, accumulated in Float as OpenCV does for
/// float images.
// src: [inHeight, inWidth], out: [outHeight, outWidth]
package func resizeCubicOpenCV(_ src: UnsafeBufferPointer<Float>, inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int) -> [Float] {
    guard inHeight > 0, inWidth > 0, outHeight > 0, outWidth > 0 else { return [] }
    func taps(_ outSize: Int, _ inSize: Int) -> [(index: [Int], weight: (Float, Float, Float, Float))] {
        let scale = Double(inSize) / Double(outSize)
        return (0..<outSize).map { d in
            let f = (Double(d) + 0.5) * scale - 0.5
            let s = Int(floor(f))
            let t = Float(f - Double(s))
            let idx = (-1...2).map { min(max(s + $0, 0), inSize - 1) }
            return (idx, openCVCubicWeights(t))
        }
    }
    let xs = taps(outWidth, inWidth), ys = taps(outHeight, inHeight)
    // Horizontal pass: [inHeight, outWidth].
    var rows = [Float](repeating: 0, count: inHeight * outWidth)
    for y in 0..<inHeight {
        let base = y * inWidth
        for (x, tap) in xs.enumerated() {
            let w = tap.weight
            rows[y * outWidth + x] = src[base + tap.index[0]] * w.0 + src[base + tap.index[1]] * w.1 + src[base + tap.index[2]] * w.2 + src[base + tap.index[3]] * w.3
        }
    }
    var out = [Float](repeating: 0, count: outHeight * outWidth)
    for (y, tap) in ys.enumerated() {
        let w = tap.weight
        let r0 = tap.index[0] * outWidth, r1 = tap.index[1] * outWidth, r2 = tap.index[2] * outWidth, r3 = tap.index[3] * outWidth
        for x in 0..<outWidth {
            out[y * outWidth + x] = rows[r0 + x] * w.0 + rows[r1 + x] * w.1 + rows[r2 + x] * w.2 + rows[r3 + x] * w.3
        }
    }
    return out
}

/// A three-or-fewer-component PCA as scikit-learn's exact (`full`) solver computes it: the
/// mean of the rows, the top right singular vectors of the centred data with
/// `svd_flip(u_based_decision=False)` signs (each component's largest-|·| entry positive),
/// the explained variances `s² / (n − 1)` and the projection `(x − mean)·componentsᵀ`.
/// Eigen-decomposes the smaller Gram matrix in Double with cyclic Jacobi rotations.
// rows: [n, c]; returns mean [c], components [k, c], variances [k], projection [n, k]
package func principalComponents(_ rows: UnsafeBufferPointer<Float>, count n: Int, width c: Int, components k: Int)
    -> (mean: [Float], components: [Float], variances: [Float], projection: [Float])
{
    var mean = [Double](repeating: 0, count: c)
    for i in 0..<n { for j in 0..<c { mean[j] += Double(rows[i * c + j]) } }
    for j in 0..<c { mean[j] /= Double(max(n, 1)) }
    var x = [Double](repeating: 0, count: n * c)
    for i in 0..<n { for j in 0..<c { x[i * c + j] = Double(rows[i * c + j]) - mean[j] } }
    // Gram over the smaller side: columns (c×c covariance) or rows (n×n).
    let useColumns = c <= n
    let m = useColumns ? c : n
    var g = [Double](repeating: 0, count: m * m)
    if useColumns {
        for a in 0..<c { for b in a..<c {
            var s = 0.0
            for i in 0..<n { s += x[i * c + a] * x[i * c + b] }
            g[a * m + b] = s; g[b * m + a] = s
        } }
    } else {
        for a in 0..<n { for b in a..<n {
            var s = 0.0
            for j in 0..<c { s += x[a * c + j] * x[b * c + j] }
            g[a * m + b] = s; g[b * m + a] = s
        } }
    }
    let (values, vectors) = symmetricEigen(g, size: m)  // vectors: column e of [m, m]
    let order = (0..<m).sorted { values[$0] > values[$1] }
    let kept = min(k, m)
    var components = [Float](repeating: 0, count: k * c)
    var variances = [Float](repeating: 0, count: k)
    for r in 0..<kept {
        let e = order[r]
        let lambda = max(values[e], 0)
        var v = [Double](repeating: 0, count: c)
        if useColumns {
            for j in 0..<c { v[j] = vectors[j * m + e] }
        } else {
            // v = xᵀ u / s
            let s = sqrt(lambda)
            if s > 0 { for j in 0..<c { var t = 0.0; for i in 0..<n { t += x[i * c + j] * vectors[i * m + e] }; v[j] = t / s } }
        }
        var best = 0
        for j in 0..<c where abs(v[j]) > abs(v[best]) { best = j }
        let sign: Double = v[best] < 0 ? -1 : 1
        for j in 0..<c { components[r * c + j] = Float(sign * v[j]) }
        variances[r] = Float(lambda / Double(max(n - 1, 1)))
    }
    var projection = [Float](repeating: 0, count: n * k)
    for i in 0..<n { for r in 0..<kept {
        var s = 0.0
        for j in 0..<c { s += x[i * c + j] * Double(components[r * c + j]) }
        projection[i * k + r] = Float(s)
    } }
    return (mean.map(Float.init), components, variances, projection)
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.
// a: [m, m] symmetric; returns values [m], vectors [m, m] (column e = eigenvector e)
func symmetricEigen(_ matrix: [Double], size m: Int) -> (values: [Double], vectors: [Double]) {
    var a = matrix
    var v = [Double](repeating: 0, count: m * m)
    for i in 0..<m { v[i * m + i] = 1 }
    for _ in 0..<100 {
        var off = 0.0, diag = 0.0
        for p in 0..<m { diag += a[p * m + p] * a[p * m + p]; for q in (p + 1)..<max(m, p + 1) { off += a[p * m + q] * a[p * m + q] } }
        if off <= 1e-30 * max(diag, 1e-300) { break }
        for p in 0..<m {
            for q in (p + 1)..<max(m, p + 1) {
                let apq = a[p * m + q]
                if abs(apq) < 1e-300 { continue }
                let theta = (a[q * m + q] - a[p * m + p]) / (2 * apq)
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + sqrt(theta * theta + 1))
                let cs = 1 / sqrt(t * t + 1), sn = t * cs
                for r in 0..<m {
                    let arp = a[r * m + p], arq = a[r * m + q]
                    a[r * m + p] = cs * arp - sn * arq
                    a[r * m + q] = sn * arp + cs * arq
                }
                for r in 0..<m {
                    let apr = a[p * m + r], aqr = a[q * m + r]
                    a[p * m + r] = cs * apr - sn * aqr
                    a[q * m + r] = sn * apr + cs * aqr
                }
                for r in 0..<m {
                    let vrp = v[r * m + p], vrq = v[r * m + q]
                    v[r * m + p] = cs * vrp - sn * vrq
                    v[r * m + q] = sn * vrp + cs * vrq
                }
            }
        }
    }
    return ((0..<m).map { a[$0 * m + $0] }, v)
}
