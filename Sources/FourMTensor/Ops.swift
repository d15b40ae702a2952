import CFourMKernels
import Foundation

// MARK: - Whole-tensor math. Every scalar loop lives in Kernels/.

/// Which key positions each query may not attend to (`true` = blocked, spec/model.md 5.1).
public enum AttentionMask: Sendable {
    /// Every query attends to every key.
    case none
    /// `[B, Lk]`: one padding row per batch element, broadcast over queries.
    case keyPadding(Tensor<Bool>)
    /// `[B, Lq, Lk]`: a full pattern per batch element. A query whose keys are all blocked gets a
    /// zero output (FourM's choice for generation, where it makes batched passes equal unbatched
    /// ones).
    case full(Tensor<Bool>)
    /// `[B, Lq, Lk]` like ``full(_:)``, but a query whose keys are all blocked attends uniformly
    /// over them, as the reference's softmax over −FLT_MAX scores does. The training-style
    /// forward needs this: its padding rows can be fully blocked, and their outputs are part of
    /// the result (spec/model.md 5.6).
    case fullReference(Tensor<Bool>)
}

/// The matrix product `a · b` of `a: [M, K]` and `b: [K, N]`, through `cblas_sgemm`.
public func matmul(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Tensor<Float> {
    precondition(a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[0], "matmul: shapes \(a.shape) and \(b.shape) do not chain")
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    return Tensor(shape: [m, n]) { out in
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                gemm(pa.baseAddress!, pb.baseAddress!, out.baseAddress!, m: m, n: n, k: k, lda: k, ldb: n, ldc: n, transposeB: false)
            }
        }
    }
}

/// `x · weightᵀ + bias` over the last axis (a PyTorch `nn.Linear`).
/// - Parameters:
///   - x: `[..., K]`.
///   - weight: `[N, K]`.
///   - bias: `[N]` or nil.
/// - Returns: `[..., N]`.
public func linear(_ x: Tensor<Float>, weight: Tensor<Float>, bias: Tensor<Float>? = nil) -> Tensor<Float> {
    let k = weight.shape[1], n = weight.shape[0]
    precondition(x.shape.last == k, "linear: input \(x.shape) does not end in \(k)")
    let rows = x.count / max(k, 1)
    var outShape = x.shape
    outShape[outShape.count - 1] = n
    return Tensor(shape: outShape) { out in
        x.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { pw in
                gemm(px.baseAddress!, pw.baseAddress!, out.baseAddress!, m: rows, n: n, k: k, lda: k, ldb: k, ldc: n, transposeB: true)
            }
        }
        if let bias {
            bias.withUnsafeBufferPointer { pb in addBiasRows(out.baseAddress!, pb.baseAddress!, rows: rows, cols: n) }
        }
    }
}

/// Layer normalisation over the last axis (population variance), spec/model.md 4.1.
public func layerNorm(_ x: Tensor<Float>, weight: Tensor<Float>?, bias: Tensor<Float>?, eps: Float = 1e-6) -> Tensor<Float> {
    layerNorm(x, weight: weight, bias: bias, eps: eps, vectorised: false)
}

/// ``layerNorm(_:weight:bias:eps:)`` with the kernel chosen: `vectorised` takes the C kernel
/// (interleaved sums; bf16 models), else the sequential Swift kernel (the fp32 parity path).
package func layerNorm(_ x: Tensor<Float>, weight: Tensor<Float>?, bias: Tensor<Float>?, eps: Float, vectorised: Bool) -> Tensor<Float> {
    let dim = x.shape.last ?? 1
    let rows = x.count / max(dim, 1)
    return Tensor(shape: x.shape) { out in
        x.withUnsafeBufferPointer { px in
            withOptionalPointer(weight) { pw in
                withOptionalPointer(bias) { pb in
                    let (src, dst) = (SendableConstPointer(px.baseAddress!), SendablePointer(out.baseAddress!))
                    let (w, b) = (pw.map(SendableConstPointer.init), pb.map(SendableConstPointer.init))
                    parallelChunks(rows, minimumPerChunk: max(1, 16_384 / max(dim, 1))) { range in
                        if vectorised {
                            fourm_layer_norm(src.base + range.lowerBound * dim, dst.base + range.lowerBound * dim, range.count, dim,
                                             w?.base, b?.base, eps)
                        } else {
                            layerNormKernel(src.base + range.lowerBound * dim, dst.base + range.lowerBound * dim, rows: range.count, dim: dim,
                                            weight: w?.base, bias: b?.base, eps: eps)
                        }
                    }
                }
            }
        }
    }
}

/// Softmax over the last axis.
public func softmax(_ x: Tensor<Float>) -> Tensor<Float> {
    var y = x
    let cols = x.shape.last ?? 1
    y.withUnsafeMutableBufferPointer { buffer in
        let base = SendablePointer(buffer.baseAddress!)
        parallelChunks(buffer.count / max(cols, 1), minimumPerChunk: max(1, 16_384 / max(cols, 1))) { range in
            softmaxRowsKernel(base.base + range.lowerBound * cols, rows: range.count, cols: cols)
        }
    }
    return y
}

/// Exact (erf) GELU, element-wise.
public func gelu(_ x: Tensor<Float>) -> Tensor<Float> {
    var y = x
    y.withUnsafeMutableBufferPointer { elementwise($0) { geluKernel($0, count: $1) } }
    return y
}

/// SiLU (x·sigmoid(x)), element-wise.
public func silu(_ x: Tensor<Float>) -> Tensor<Float> {
    var y = x
    y.withUnsafeMutableBufferPointer { elementwise($0) { siluKernel($0, count: $1) } }
    return y
}

/// SwiGLU: `SiLU(gate) ⊙ linear`, element-wise; shapes must match.
public func swiglu(_ gate: Tensor<Float>, _ linear: Tensor<Float>) -> Tensor<Float> {
    precondition(gate.shape == linear.shape, "swiglu: shapes \(gate.shape) and \(linear.shape) differ")
    var y = gate
    y.withUnsafeMutableBufferPointer { g in
        linear.withUnsafeBufferPointer { l in
            let other = SendableConstPointer(l.baseAddress!)
            elementwise(g) { start, count, offset in swigluKernel(start, other.base + offset, count: count) }
        }
    }
    return y
}

/// Splits an element-wise kernel over threads for large buffers.
package func elementwise(_ buffer: UnsafeMutableBufferPointer<Float>, _ kernel: @Sendable (UnsafeMutablePointer<Float>, Int) -> Void) {
    elementwise(buffer) { start, count, _ in kernel(start, count) }
}

/// Like ``elementwise(_:_:)``, also passing each chunk's offset (for a second operand).
package func elementwise(_ buffer: UnsafeMutableBufferPointer<Float>, _ kernel: @Sendable (UnsafeMutablePointer<Float>, Int, Int) -> Void) {
    guard let base = buffer.baseAddress else { return }
    let pointer = SendablePointer(base)
    parallelChunks(buffer.count, minimumPerChunk: 32_768) { range in
        kernel(pointer.base + range.lowerBound, range.count, range.lowerBound)
    }
}

/// Element-wise sum of equal shapes.
public func + (lhs: Tensor<Float>, rhs: Tensor<Float>) -> Tensor<Float> {
    precondition(lhs.shape == rhs.shape, "+: shapes \(lhs.shape) and \(rhs.shape) differ")
    var y = lhs
    y.withUnsafeMutableBufferPointer { a in
        rhs.withUnsafeBufferPointer { b in for i in 0..<a.count { a[i] += b[i] } }
    }
    return y
}

/// Multi-head scaled dot-product attention (spec/model.md 4.2–4.3).
/// - Parameters:
///   - q: queries `[B, Lq, H·hd]`.
///   - k: keys `[B, Lk, H·hd]`.
///   - v: values `[B, Lk, H·hd]`.
///   - heads: `H`.
///   - mask: blocked pairs; blocked scores become −FLT_MAX. With `Lk = 0` the output is zero;
///     a query with every key blocked gets zero, or with ``AttentionMask/fullReference(_:)`` the
///     mean of the values.
///   - precision: ``ComputePrecision/bf16`` runs the two products (q·kᵀ and weights·v) in bf16
///     with f32 accumulation through oneDNN, as a bf16 model's layers do (the softmax stays
///     f32), when more than a few queries attend and the CPU supports it; otherwise, and by
///     default, fp32 (on oneDNN's f32 matmul where FourM's linear layers use it, see
///     `Documentation/Performance.md`, else OpenBLAS).
/// - Returns: `[B, Lq, H·hd]`, heads concatenated.
public func attention(
    q: Tensor<Float>, k: Tensor<Float>, v: Tensor<Float>, heads: Int, mask: AttentionMask = .none, precision: ComputePrecision = .fp32
) -> Tensor<Float> {
    precondition(q.rank == 3 && k.rank == 3 && v.rank == 3 && k.shape == v.shape, "attention: bad shapes \(q.shape) \(k.shape) \(v.shape)")
    let (batch, queries, dim) = (q.shape[0], q.shape[1], q.shape[2])
    let keys = k.shape[1]
    precondition(k.shape[0] == batch && k.shape[2] == dim && dim % heads == 0, "attention: bad shapes \(q.shape) \(k.shape)")
    return Tensor(shape: q.shape) { out in
        q.withUnsafeBufferPointer { pq in
            k.withUnsafeBufferPointer { pk in
                v.withUnsafeBufferPointer { pv in
                    do {
                        func run(_ layout: AttentionMaskLayout?) {
                            // oneDNN for bf16, and for fp32 where linear layers run on it; a few queries
                            // (autoregressive steps) stay on the OpenBLAS kernel: too small to gain.
                            let bf16 = precision.resolved == .bf16
                            if precision.runsOnOneDNN && queries > gemvRowLimit,
                                attentionOneDNNKernel(q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, out: out.baseAddress!,
                                                      batch: batch, queries: queries, keys: keys, heads: heads, headDim: dim / heads,
                                                      mask: layout, bf16: bf16)
                            {
                                return
                            }
                            attentionKernel(q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, out: out.baseAddress!,
                                            batch: batch, queries: queries, keys: keys, heads: heads, headDim: dim / heads,
                                            mask: layout)
                        }
                        withMaskLayout(mask, batch: batch, queries: queries, keys: keys, run)
                    }
                }
            }
        }
    }
}

/// Runs `body` with the kernel layout of `mask` for `batch × queries × keys` scores (nil for
/// ``AttentionMask/none``). Traps when the mask's shape does not match (API misuse).
package func withMaskLayout<R>(
    _ mask: AttentionMask, batch: Int, queries: Int, keys: Int, _ body: (AttentionMaskLayout?) -> R
) -> R {
    switch mask {
    case .none:
        return body(nil)
    case .keyPadding(let blocked):
        precondition(blocked.shape == [batch, keys], "attention: key mask \(blocked.shape) is not [\(batch), \(keys)]")
        return blocked.withUnsafeBufferPointer { pm in
            body(AttentionMaskLayout(blocked: pm.baseAddress!, batchStride: keys, queryStride: 0))
        }
    case .full(let blocked), .fullReference(let blocked):
        precondition(blocked.shape == [batch, queries, keys], "attention: mask \(blocked.shape) is not [\(batch), \(queries), \(keys)]")
        var uniform = false
        if case .fullReference = mask { uniform = true }
        return blocked.withUnsafeBufferPointer { pm in
            body(AttentionMaskLayout(blocked: pm.baseAddress!, batchStride: queries * keys, queryStride: keys,
                                     fullyBlockedRowsAttendUniformly: uniform))
        }
    }
}

/// Calls `body` with the tensor's base address, or nil.
package func withOptionalPointer<R>(_ tensor: Tensor<Float>?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Options for how FourM uses the machine.
public struct ComputeOptions: Sendable, Equatable {
    /// Threads for matrix products (OpenBLAS). Default: the active processor count.
    public var threadCount: Int

    /// Creates options; `threadCount` defaults to the active processor count.
    public init(threadCount: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.threadCount = threadCount
    }

    /// Applies the options process-wide (OpenBLAS thread count and FourM's own loops).
    ///
    /// Safe to call from any thread at any time: the new count is applied under FourM's
    /// BLAS gate, after the BLAS call in progress (see `Documentation/Reliability.md`).
    public func apply() {
        setBLASThreadCount(threadCount)
    }
}
