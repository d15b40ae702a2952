import CFourMKernels
import Foundation

// MARK: - Multi-head attention on oneDNN's batched matmul (spec/model.md 4.2, 4.3; issue 14)

/// The most attention scores (floats) ``attentionOneDNNKernel`` holds at once: heads are taken
/// in groups whose `[queries, keys]` score matrices fit (at least one head per group).
package let attentionOneDNNScoreBudget = 4 << 20

/// Multi-head attention with both products on oneDNN's batched matmul: the same operation as
/// ``attentionKernel`` (scores (q·kᵀ)·hd^-0.5, −FLT_MAX for blocked pairs, a softmax, zero rows
/// for queries with no key unless the layout asks for uniform attention).
///
/// - `bf16` true (a bf16 model): the products take bf16 operands with f32 accumulation, as
///   PyTorch's bf16 autocast runs them; q (scaled by hd^-0.5 first), k, v and the attention
///   weights are rounded to bf16.
/// - `bf16` false (fp32 where linear layers run on oneDNN, ``fp32LinearUsesOneDNN``): f32
///   products; q is scaled before its product (exact for power-of-two scales such as 64-wide
///   heads' 1/8, within one rounding otherwise).
///
/// The softmax is f32 in both, through the vectorised C kernel (interleaved sums). Per group of
/// heads: q, k and v are gathered head by head into packed matrices, one batched product gives
/// every head's scores, the rows are masked and softmaxed, and a second batched product gives
/// the heads' outputs, scattered back into `out`. Returns false when oneDNN cannot run a
/// product (no runtime, refused shape); `out` is then unspecified and the caller runs
/// ``attentionKernel``. `scoreBudget` (floats) sets the head groups (tests make it small).
///
/// Rows of q are `qRowStride` floats apart and rows of k and v `kvRowStride` (default: packed,
/// `heads · headDim`), so a fused `[…, 3·D]` qkv projection is read in place, without first
/// splitting it into three tensors. `out` is always packed.
package func attentionOneDNNKernel(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>, batch: Int, queries: Int, keys: Int, heads: Int,
    headDim: Int, mask: AttentionMaskLayout?, bf16: Bool, scoreBudget: Int = attentionOneDNNScoreBudget,
    qRowStride: Int? = nil, kvRowStride: Int? = nil
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

    // Packed operands (bf16 bits or floats), scores and head outputs: one scratch loan carved
    // into 64-byte-aligned parts, reused across calls (no allocation per layer and step).
    let width = bf16 ? 2 : 4
    let parts = [
        group * queries * headDim * width, group * keys * headDim * width, group * keys * headDim * width,
        bf16 ? group * queries * keys * width : 0, group * queries * keys * 4, group * queries * headDim * 4,
    ].map { ($0 + 63) & ~63 }
    return ScratchPool.shared.withBuffer(byteCount: parts.reduce(0, +)) { base in
        var offsets: [Int] = [0]
        for size in parts.dropLast() { offsets.append(offsets[offsets.count - 1] + size) }
        return attentionOneDNNGroups(
            runtime: runtime, q: q, k: k, v: v, out: out, batch: batch, queries: queries, keys: keys, heads: heads,
            headDim: headDim, mask: mask, bf16: bf16, group: group, scale: scale,
            qRowStride: qRowStride ?? dim, kvRowStride: kvRowStride ?? dim,
            qh: base + offsets[0], kh: base + offsets[1], vh: base + offsets[2], weights: bf16 ? base + offsets[3] : nil,
            scores: (base + offsets[4]).bindMemory(to: Float.self, capacity: group * queries * keys),
            heads32: (base + offsets[5]).bindMemory(to: Float.self, capacity: group * queries * headDim))
    }
}

/// The head-group loop of ``attentionOneDNNKernel`` on its scratch parts.
private func attentionOneDNNGroups(
    runtime: OneDNNRuntime, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    out: UnsafeMutablePointer<Float>, batch: Int, queries: Int, keys: Int, heads: Int, headDim: Int,
    mask: AttentionMaskLayout?, bf16: Bool, group: Int, scale: Float, qRowStride: Int, kvRowStride: Int,
    qh: UnsafeMutableRawPointer, kh: UnsafeMutableRawPointer, vh: UnsafeMutableRawPointer, weights: UnsafeMutableRawPointer?,
    scores: UnsafeMutablePointer<Float>, heads32: UnsafeMutablePointer<Float>
) -> Bool {
    let dim = heads * headDim
    let tasks = batch * heads
    /// Writes `count` floats of `source` times `factor` into packed row `row` of `target`.
    let pack = { @Sendable (source: UnsafePointer<Float>, target: SendableRawPointer, row: Int, count: Int, factor: Float) in
        if bf16 {
            fourm_f32_to_bf16(source, target.base.assumingMemoryBound(to: UInt16.self) + row * count, count, factor)
        } else {
            let floats = target.base.assumingMemoryBound(to: Float.self) + row * count
            for d in 0..<count { floats[d] = source[d] * factor }
        }
    }
    let (qp, kp, vp, op) = (SendableConstPointer(q), SendableConstPointer(k), SendableConstPointer(v), SendablePointer(out))
    let (qhp, khp, vhp) = (SendableRawPointer(qh), SendableRawPointer(kh), SendableRawPointer(vh))
    let (sp, hp) = (SendablePointer(scores), SendablePointer(heads32))
    let wp = weights.map(SendableRawPointer.init)
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
                    pack(qp.base + (b * queries + r) * qRowStride + h * headDim, qhp, row, headDim, scale)
                } else {
                    let keyRow = row - count * queries
                    let (t, r) = (keyRow / keys, keyRow % keys)
                    let (b, h) = ((start + t) / heads, (start + t) % heads)
                    let offset = (b * keys + r) * kvRowStride + h * headDim
                    pack(kp.base + offset, khp, keyRow, headDim, 1)
                    pack(vp.base + offset, vhp, keyRow, headDim, 1)
                }
            }
        }
        guard runtime.batchedProduct(qh, kh, bf16: bf16, batch: count, m: queries, n: keys, k: headDim, transposedB: true, out: scores)
        else { return false }
        parallelChunks(count, minimumPerChunk: 1) { range in
            for t in range {
                let rows = sp.base + t * queries * keys
                maskedSoftmaxRows(rows, queries: queries, keys: keys, batchIndex: (start + t) / heads, mask: maskPointer,
                                  maskBatchStride: maskBatchStride, maskQueryStride: maskQueryStride,
                                  zeroFullyBlockedRows: zeroFullyBlockedRows, vectorised: true)
                if let wp { pack(rows, wp, t, queries * keys, 1) }
            }
        }
        guard runtime.batchedProduct(weights ?? UnsafeMutableRawPointer(scores), vh, bf16: bf16, batch: count, m: queries, n: headDim,
                                     k: keys, transposedB: false, out: heads32)
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

/// A raw pointer handed to parallel chunks that write disjoint ranges of it.
package struct SendableRawPointer: @unchecked Sendable {
    package let base: UnsafeMutableRawPointer
    package init(_ base: UnsafeMutableRawPointer) { self.base = base }
}
