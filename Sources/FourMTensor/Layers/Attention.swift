/// Splits a fused `[rows, parts·dim]` tensor into `parts` contiguous `[rows, dim]` tensors.
package func splitColumns(_ x: Tensor<Float>, parts: Int) -> [Tensor<Float>] {
    let width = x.shape.last ?? 0
    let dim = width / parts
    let rows = x.count / max(width, 1)
    var leading = x.shape
    leading[leading.count - 1] = dim
    return (0..<parts).map { part in
        Tensor(shape: leading) { out in
            x.withUnsafeBufferPointer { src in
                for r in 0..<rows {
                    (out.baseAddress! + r * dim).initialize(from: src.baseAddress! + r * width + part * dim, count: dim)
                }
            }
        }
    }
}

/// Per-head LayerNorms on q and k (spec/model.md 4.2, `qk_norm`): weights `(hd,)` shared by heads.
package struct QKNorm: Sendable {
    package let q: LayerNorm
    package let k: LayerNorm

    /// Loads `q_norm` and `k_norm` of an attention layer's source.
    package init(_ source: some TensorSource, headDim: Int) throws(WeightError) {
        q = try LayerNorm(source.scoped("q_norm"), dim: headDim)
        k = try LayerNorm(source.scoped("k_norm"), dim: headDim)
    }

    package func normalize(_ x: Tensor<Float>, with norm: LayerNorm) -> Tensor<Float> {
        let headDim = norm.weight.shape[0]
        return norm(x.reshaped([-1, headDim])).reshaped(x.shape)
    }
}

/// Self-attention with a fused `qkv` projection (spec/model.md 4.2).
package struct SelfAttention: Sendable {
    package let qkv: Linear
    package let proj: Linear
    package let qkNorm: QKNorm?
    package let heads: Int

    /// Loads `qkv`, `proj` and, when `qkNorm`, `q_norm`/`k_norm`.
    package init(_ source: some TensorSource, dim: Int, heads: Int, qkvBias: Bool, projBias: Bool, qkNorm: Bool) throws(WeightError) {
        qkv = try Linear(source.scoped("qkv"), inputs: dim, outputs: 3 * dim, bias: qkvBias)
        proj = try Linear(source.scoped("proj"), inputs: dim, outputs: dim, bias: projBias)
        self.qkNorm = qkNorm ? try QKNorm(source, headDim: dim / heads) : nil
        self.heads = heads
    }

    /// Projects `x` `[B, L, D]` to per-position q, k, v (after QK-norm), each `[B, L, D]`.
    package func project(_ x: Tensor<Float>) -> (q: Tensor<Float>, k: Tensor<Float>, v: Tensor<Float>) {
        let parts = splitColumns(qkv(x), parts: 3)
        var q = parts[0], k = parts[1]
        if let qkNorm {
            q = qkNorm.normalize(q, with: qkNorm.q)
            k = qkNorm.normalize(k, with: qkNorm.k)
        }
        return (q, k, parts[2])
    }

    /// x: `[B, L, D]` → `[B, L, D]` (every position attends to every other by default).
    package func callAsFunction(_ x: Tensor<Float>, mask: AttentionMask = .none) -> Tensor<Float> {
        proj(attend(x, mask: mask))
    }

    /// `stream + self(x)`: the attention branch of a block with its residual connection, the
    /// addition fused into `proj` where it runs on oneDNN (``Linear/callAsFunction(_:addingTo:)``).
    package func callAsFunction(_ x: Tensor<Float>, mask: AttentionMask = .none, addingTo stream: consuming Tensor<Float>) -> Tensor<Float> {
        proj(attend(x, mask: mask), addingTo: stream)
    }

    /// The heads' outputs `[B, L, D]` before `proj`. Without QK-norm, where attention runs on
    /// oneDNN, the heads read q, k and v straight from the fused `qkv` output (no split copies).
    private func attend(_ x: Tensor<Float>, mask: AttentionMask) -> Tensor<Float> {
        let precision = qkv.precision
        if qkNorm == nil, precision.runsOnOneDNN, x.rank == 3, x.shape[1] > gemvRowLimit,
            let output = attentionOverFusedQKV(qkv(x), heads: heads, mask: mask, bf16: precision.resolved == .bf16)
        {
            return output
        }
        let (q, k, v) = project(x)
        return attention(q: q, k: k, v: v, heads: heads, mask: mask, precision: precision)
    }
}

/// Cross-attention: queries from the decoder stream, keys/values from the context
/// (spec/model.md 4.3; `kv` rows [0, D) are K, [D, 2D) are V).
package struct CrossAttention: Sendable {
    package let q: Linear
    package let kv: Linear
    package let proj: Linear
    package let qkNorm: QKNorm?
    package let heads: Int

    /// Loads `q`, `kv`, `proj` and, when `qkNorm`, `q_norm`/`k_norm`.
    package init(_ source: some TensorSource, dim: Int, heads: Int, qkvBias: Bool, projBias: Bool, qkNorm: Bool) throws(WeightError) {
        q = try Linear(source.scoped("q"), inputs: dim, outputs: dim, bias: qkvBias)
        kv = try Linear(source.scoped("kv"), inputs: dim, outputs: 2 * dim, bias: qkvBias)
        proj = try Linear(source.scoped("proj"), inputs: dim, outputs: dim, bias: projBias)
        self.qkNorm = qkNorm ? try QKNorm(source, headDim: dim / heads) : nil
        self.heads = heads
    }

    /// Keys and values of an (already context-normed) context `[B, N, D]`; constant across
    /// autoregressive steps, so callers may cache them.
    package func keysValues(_ context: Tensor<Float>) -> (k: Tensor<Float>, v: Tensor<Float>) {
        let parts = splitColumns(kv(context), parts: 2)
        var k = parts[0]
        if let qkNorm { k = qkNorm.normalize(k, with: qkNorm.k) }
        return (k, parts[1])
    }

    /// x: `[B, Lq, D]` queries against cached keys/values `[B, N, D]`.
    package func attend(_ x: Tensor<Float>, k: Tensor<Float>, v: Tensor<Float>, mask: AttentionMask) -> Tensor<Float> {
        attend(x, k: k, v: v, mask: mask, addingTo: nil)
    }

    /// `stream + attend(x, …)`, the addition fused into `proj` where it runs on oneDNN
    /// (``Linear/callAsFunction(_:addingTo:)``); nil `stream`: the branch alone.
    package func attend(
        _ x: Tensor<Float>, k: Tensor<Float>, v: Tensor<Float>, mask: AttentionMask, addingTo stream: consuming Tensor<Float>?
    ) -> Tensor<Float> {
        var query = q(x)
        if let qkNorm { query = qkNorm.normalize(query, with: qkNorm.q) }
        let heads = attention(q: query, k: k, v: v, heads: self.heads, mask: mask, precision: q.precision)
        guard let stream else { return proj(heads) }
        return proj(heads, addingTo: stream)
    }
}

/// Self-attention of a fused projection `qkv` `[B, L, 3·D]` (q, k, v side by side in each row,
/// spec/model.md 4.2) on oneDNN, reading the three in place: `[B, L, D]`, or nil when oneDNN
/// cannot run it (the caller splits and runs ``attention(q:k:v:heads:mask:precision:)``).
package func attentionOverFusedQKV(_ qkv: Tensor<Float>, heads: Int, mask: AttentionMask, bf16: Bool) -> Tensor<Float>? {
    guard qkv.rank == 3, let width = qkv.shape.last, width % 3 == 0, heads > 0, (width / 3) % heads == 0 else { return nil }
    let (batch, length, dim) = (qkv.shape[0], qkv.shape[1], width / 3)
    var ok = false
    let out = Tensor<Float>(shape: [batch, length, dim]) { out in
        guard let dst = out.baseAddress else { ok = true; return }
        qkv.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { ok = true; return }
            ok = withMaskLayout(mask, batch: batch, queries: length, keys: length) { layout in
                attentionOneDNNKernel(q: base, k: base + dim, v: base + 2 * dim, out: dst, batch: batch, queries: length, keys: length,
                                      heads: heads, headDim: dim / heads, mask: layout, bf16: bf16, qRowStride: width, kvRowStride: width)
            }
        }
    }
    return ok ? out : nil
}
