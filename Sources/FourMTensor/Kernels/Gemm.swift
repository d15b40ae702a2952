import CBLAS

// MARK: - GEMM (spec/model.md section 4: every nn.Linear is y = x · Wᵀ + b)

/// C[M, N] = alpha · A[M, K] · op(B) + beta · C, row-major, through OpenBLAS.
/// `transposeB` true means B is stored [N, K] (a PyTorch Linear weight).
/// Holds the process-wide BLAS gate for the call (see ``ComputePolicy``).
package func gemm(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int,
    transposeB: Bool, alpha: Float = 1, beta: Float = 0
) {
    if m == 0 || n == 0 { return }
    ComputePolicy.withBLAS {
        gemmInsideRegion(a, b, c, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, transposeB: transposeB, alpha: alpha, beta: beta)
    }
}

/// ``gemm`` without taking the BLAS gate: only for code that already holds it, i.e. the
/// workers of a ``withSingleThreadedBLAS(_:)`` region.
package func gemmInsideRegion(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int,
    transposeB: Bool, alpha: Float = 1, beta: Float = 0
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    if m <= gemvRowLimit {
        // A few rows (autoregressive decoding): sgemm would pack the whole weight matrix on
        // every call; matrix-vector products read it once.
        for i in 0..<m {
            if transposeB {
                // c[i, :] = alpha · B[n, k] · a[i, :]
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a + i * lda, 1, beta, c + i * ldc, 1)
            } else {
                // c[i, :] = alpha · B[k, n]ᵀ · a[i, :]
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb), a + i * lda, 1, beta, c + i * ldc, 1)
            }
        }
        return
    }
    cblas_sgemm(
        CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Up to this many rows, ``gemm`` uses one sgemv per row.
package let gemvRowLimit = 4

/// Plain triple loop twin of ``gemm`` (Double accumulation), used by tests.
package func gemmReference(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
    m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int,
    transposeB: Bool, alpha: Float = 1, beta: Float = 0
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
                let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                sum += Double(a[i * lda + p]) * Double(bv)
            }
            let prior = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            c[i * ldc + j] = Float(Double(alpha) * sum + prior)
        }
    }
}

/// Adds `bias[N]` to every row of `x[M, N]`.
package func addBiasRows(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, cols: Int) {
    for i in 0..<rows {
        let row = x + i * cols
        for j in 0..<cols { row[j] += bias[j] }
    }
}

/// Sets the number of threads OpenBLAS and FourM's loops use (process-wide, through
/// ``ComputePolicy``).
package func setBLASThreadCount(_ count: Int) {
    ComputePolicy.setThreadCount(count)
}

/// The number of threads OpenBLAS currently uses.
package func blasThreadCount() -> Int { Int(openblas_get_num_threads()) }
