import CFourMKernels
import Foundation

// MARK: - Multi-head attention (spec/model.md sections 4.2, 4.3, 5.8 and 6.3)

/// The finite fill value the reference writes into blocked scores (−FLT_MAX, not −∞).
package let attentionFillValue: Float = -Float.greatestFiniteMagnitude

/// Where a boolean "blocked" mask lives and how it broadcasts.
/// Element (b, i, j) is at `blocked[b * batchStride + i * queryStride + j]`; `queryStride` 0
/// broadcasts one key-padding row over all queries.
/// `fullyBlockedRowsAttendUniformly` chooses what a query with every key blocked gets: zero
/// (false) or, as the reference's softmax over equal −FLT_MAX scores gives, the mean of the
/// values (true).
package struct AttentionMaskLayout {
    package var blocked: UnsafePointer<Bool>
    package var batchStride: Int
    package var queryStride: Int
    package var fullyBlockedRowsAttendUniformly = false

    package init(blocked: UnsafePointer<Bool>, batchStride: Int, queryStride: Int, fullyBlockedRowsAttendUniformly: Bool = false) {
        self.blocked = blocked
        self.batchStride = batchStride
        self.queryStride = queryStride
        self.fullyBlockedRowsAttendUniformly = fullyBlockedRowsAttendUniformly
    }
}

/// Scaled dot-product attention over heads.
///
/// q: [B, Lq, H·hd], k and v: [B, Lk, H·hd], out: [B, Lq, H·hd], rows of stride H·hd; k and v
/// may sit in larger per-batch buffers (`keyBatchStride` elements apart, e.g. a KV cache). Scores are (q·kᵀ)·hd^-0.5; blocked pairs are replaced by −FLT_MAX; a query
/// with no key (Lk = 0) gets a zero output, as the reference gives for an empty context
/// (spec/model.md 5.8); so does a query whose keys are all blocked, unless the layout asks for
/// the reference's uniform attention over them. The zero output makes a batch of states with
/// different valid counts exactly equal to running them one by one. Parallel over (batch, head)
/// with single-threaded BLAS inside.
package func attentionKernel(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>, batch: Int, queries: Int, keys: Int, heads: Int,
    headDim: Int, mask: AttentionMaskLayout?, keyBatchStride: Int? = nil
) {
    let dim = heads * headDim
    let kvStride = keyBatchStride ?? keys * dim
    if keys == 0 {
        out.initialize(repeating: 0, count: batch * queries * dim)
        return
    }
    let scale = Float(1.0 / Double(headDim).squareRoot())
    let (qp, kp, vp, op) = (SendableConstPointer(q), SendableConstPointer(k), SendableConstPointer(v), SendablePointer(out))
    let maskPointer = mask.map { SendableConstPointer($0.blocked) }
    let maskBatchStride = mask?.batchStride ?? 0, maskQueryStride = mask?.queryStride ?? 0
    let zeroFullyBlockedRows = !(mask?.fullyBlockedRowsAttendUniformly ?? false)
    // One task per (batch, head); each chunk owns a scores buffer and single-threaded BLAS.
    let work = { @Sendable (range: Range<Int>) in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: queries * keys)
        defer { scores.deallocate() }
        for task in range {
            let b = task / heads, h = task % heads
            let qb = qp.base + b * queries * dim + h * headDim
            let kb = kp.base + b * kvStride + h * headDim
            let vb = vp.base + b * kvStride + h * headDim
            let ob = op.base + b * queries * dim + h * headDim
            gemmInsideRegion(qb, kb, scores, m: queries, n: keys, k: headDim, lda: dim, ldb: dim, ldc: keys, transposeB: true, alpha: scale)
            maskedSoftmaxRows(scores, queries: queries, keys: keys, batchIndex: b, mask: maskPointer,
                              maskBatchStride: maskBatchStride, maskQueryStride: maskQueryStride, zeroFullyBlockedRows: zeroFullyBlockedRows)
            gemmInsideRegion(scores, vb, ob, m: queries, n: headDim, k: keys, lda: keys, ldb: dim, ldc: dim, transposeB: false)
        }
    }
    let tasks = batch * heads
    if tasks >= 2 && computeThreadCount > 1 {
        withSingleThreadedBLAS { parallelChunks(tasks, work) }
    } else {
        ComputePolicy.withBLAS { work(0..<tasks) }
    }
}

/// Attention weights from the scaled scores `[queries, keys]` of batch element `batchIndex`, in
/// place: blocked pairs get −FLT_MAX, each row is softmaxed, and a row whose keys are all
/// blocked becomes zero when `zeroFullyBlockedRows` (spec/model.md 5.8). Shared by the fp32 and
/// bf16 attention kernels; `vectorised` takes the C softmax (interleaved sums, for the bf16 path)
/// instead of ``softmaxRowsKernel`` (sequential sums, the fp32 parity path).
func maskedSoftmaxRows(
    _ scores: UnsafeMutablePointer<Float>, queries: Int, keys: Int, batchIndex b: Int, mask: SendableConstPointer<Bool>?,
    maskBatchStride: Int, maskQueryStride: Int, zeroFullyBlockedRows: Bool, vectorised: Bool = false
) {
    var emptyRows: [Int] = []
    if let mask {
        for i in 0..<queries {
            let row = scores + i * keys
            let blockedRow = mask.base + b * maskBatchStride + i * maskQueryStride
            var open = 0
            for j in 0..<keys {
                if blockedRow[j] { row[j] = attentionFillValue } else { open += 1 }
            }
            if open == 0 && zeroFullyBlockedRows { emptyRows.append(i) }
        }
    }
    if vectorised {
        fourm_softmax_rows(scores, queries, keys)
    } else {
        softmaxRowsKernel(scores, rows: queries, cols: keys)
    }
    // A query with no valid key attends to nothing: zero output (spec/model.md 5.8).
    for i in emptyRows { (scores + i * keys).initialize(repeating: 0, count: keys) }
}

/// Plain-loop twin of ``attentionKernel`` (Double accumulation).
package func attentionReference(
    q: [Float], k: [Float], v: [Float], batch: Int, queries: Int, keys: Int, heads: Int,
    headDim: Int, blocked: [Bool]?, maskBatchStride: Int, maskQueryStride: Int, fullyBlockedRowsAttendUniformly: Bool = false
) -> [Float] {
    let dim = heads * headDim
    var out = [Float](repeating: 0, count: batch * queries * dim)
    if keys == 0 { return out }
    let scale = 1.0 / Double(headDim).squareRoot()
    for b in 0..<batch {
        for h in 0..<heads {
            for i in 0..<queries {
                var scores = [Double](repeating: 0, count: keys)
                for j in 0..<keys {
                    var dot = 0.0
                    for d in 0..<headDim {
                        dot += Double(q[(b * queries + i) * dim + h * headDim + d])
                            * Double(k[(b * keys + j) * dim + h * headDim + d])
                    }
                    scores[j] = dot * scale
                    if let blocked, blocked[b * maskBatchStride + i * maskQueryStride + j] {
                        scores[j] = Double(attentionFillValue)
                    }
                }
                let m = scores.max() ?? 0
                var e = scores.map { Foundation.exp($0 - m) }
                if let blocked, !fullyBlockedRowsAttendUniformly, (0..<keys).allSatisfy({ blocked[b * maskBatchStride + i * maskQueryStride + $0] }) {
                    e = [Double](repeating: 0, count: keys)
                }
                let s = max(e.reduce(0, +), .leastNormalMagnitude)
                for d in 0..<headDim {
                    var acc = 0.0
                    for j in 0..<keys { acc += e[j] / s * Double(v[(b * keys + j) * dim + h * headDim + d]) }
                    out[(b * queries + i) * dim + h * headDim + d] = Float(acc)
                }
            }
        }
    }
    return out
}
