import CFourMKernels
import Foundation

// MARK: - Multi-head attention with bf16 products (spec/model.md 4.2, 4.3; issue 14)

/// The most attention scores (floats) ``attentionBFloat16Kernel`` holds at once: heads are
/// taken in groups whose `[queries, keys]` score matrices fit (at least one head per group).
package let attentionBFloat16ScoreBudget = 4 << 20

/// Multi-head attention of a bf16 model: the same operation as ``attentionKernel`` (scores
/// (q·kᵀ)·hd^-0.5, −FLT_MAX for blocked pairs, an f32 softmax, zero rows for queries with no
/// key unless the layout asks for uniform attention), with both products in bf16 and f32
/// accumulation through oneDNN's batched matmul, as PyTorch's bf16 autocast runs them.
///
/// Per group of heads: q (scaled by hd^-0.5 before rounding; a power of two for the usual head
/// sizes, so exact), k and v are gathered head by head into packed bf16 matrices; one batched
/// product gives every head's scores, the rows are masked and softmaxed in f32 and rounded to
/// bf16, and a second batched product gives the heads' outputs, scattered back into `out`.
/// Returns false when oneDNN cannot run a product (no runtime, refused shape); `out` is then
/// unspecified and the caller runs ``attentionKernel``. `scoreBudget` (floats) sets the head
/// groups (tests make it small to run several groups).
package func attentionBFloat16Kernel(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>, batch: Int, queries: Int, keys: Int, heads: Int,
    headDim: Int, mask: AttentionMaskLayout?, scoreBudget: Int = attentionBFloat16ScoreBudget
) -> Bool {
    guard let runtime = OneDNNRuntime.shared else { return false }
    let dim = heads * headDim
    let tasks = batch * heads
    if tasks == 0 || queries == 0 || headDim == 0 { return true }
    if keys == 0 {
        out.initialize(repeating: 0, count: batch * queries * dim)
        return true
    }
    let scale = Float(1.0 / Double(headDim).squareRoot())
    let perTask = queries.multipliedReportingOverflow(by: keys)
    guard !perTask.overflow else { return false }
    let group = max(1, min(tasks, scoreBudget / max(perTask.partialValue, 1)))

    let qh = UnsafeMutablePointer<UInt16>.allocate(capacity: group * queries * headDim)
    let kh = UnsafeMutablePointer<UInt16>.allocate(capacity: group * keys * headDim)
    let vh = UnsafeMutablePointer<UInt16>.allocate(capacity: group * keys * headDim)
    let scores = UnsafeMutablePointer<Float>.allocate(capacity: group * queries * keys)
    let weights = UnsafeMutablePointer<UInt16>.allocate(capacity: group * queries * keys)
    let heads32 = UnsafeMutablePointer<Float>.allocate(capacity: group * queries * headDim)
    defer {
        qh.deallocate(); kh.deallocate(); vh.deallocate()
        scores.deallocate(); weights.deallocate(); heads32.deallocate()
    }
    let (qp, kp, vp, op) = (SendableConstPointer(q), SendableConstPointer(k), SendableConstPointer(v), SendablePointer(out))
    let (qhp, khp, vhp) = (SendablePointer(qh), SendablePointer(kh), SendablePointer(vh))
    let (sp, wp, hp) = (SendablePointer(scores), SendablePointer(weights), SendablePointer(heads32))
    let maskPointer = mask.map { SendableConstPointer($0.blocked) }
    let maskBatchStride = mask?.batchStride ?? 0, maskQueryStride = mask?.queryStride ?? 0
    let zeroFullyBlockedRows = !(mask?.fullyBlockedRowsAttendUniformly ?? false)

    var first = 0
    while first < tasks {
        let count = min(group, tasks - first)
        let start = first
        // Gather: row r of head task t = (b, h) is element (b, r, h·hd ..< (h+1)·hd).
        parallelChunks(count * (queries + keys), minimumPerChunk: 64) { range in
            for row in range {
                if row < count * queries {
                    let (t, r) = (row / queries, row % queries)
                    let (b, h) = ((start + t) / heads, (start + t) % heads)
                    let source = qp.base + (b * queries + r) * dim + h * headDim
                    let target = qhp.base + row * headDim
                    fourm_f32_to_bf16(source, target, headDim, scale)
                } else {
                    let keyRow = row - count * queries
                    let (t, r) = (keyRow / keys, keyRow % keys)
                    let (b, h) = ((start + t) / heads, (start + t) % heads)
                    let offset = (b * keys + r) * dim + h * headDim
                    fourm_f32_to_bf16(kp.base + offset, khp.base + keyRow * headDim, headDim, 1)
                    fourm_f32_to_bf16(vp.base + offset, vhp.base + keyRow * headDim, headDim, 1)
                }
            }
        }
        guard runtime.batchedProduct(qh, kh, batch: count, m: queries, n: keys, k: headDim, transposedB: true, out: scores)
        else { return false }
        parallelChunks(count, minimumPerChunk: 1) { range in
            for t in range {
                let rows = sp.base + t * queries * keys
                maskedSoftmaxRows(rows, queries: queries, keys: keys, batchIndex: (start + t) / heads, mask: maskPointer,
                                  maskBatchStride: maskBatchStride, maskQueryStride: maskQueryStride,
                                  zeroFullyBlockedRows: zeroFullyBlockedRows, vectorised: true)
                fourm_f32_to_bf16(rows, wp.base + t * queries * keys, queries * keys, 1)
            }
        }
        guard runtime.batchedProduct(weights, vh, batch: count, m: queries, n: headDim, k: keys, transposedB: false, out: heads32)
        else { return false }
        parallelChunks(count * queries, minimumPerChunk: 64) { range in
            for row in range {
                let (t, r) = (row / queries, row % queries)
                let (b, h) = ((start + t) / heads, (start + t) % heads)
                (op.base + (b * queries + r) * dim + h * headDim).update(from: hp.base + row * headDim, count: headDim)
            }
        }
        first += count
    }
    return true
}
