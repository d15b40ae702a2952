/// The hyper-parameters shared by every block of one transformer.
package struct BlockOptions: Sendable {
    package var dim: Int
    package var heads: Int
    package var mlpHidden: Int
    package var gatedMLP: Bool
    package var activation: Activation
    package var qkvBias: Bool
    package var projBias: Bool
    package var mlpBias: Bool
    package var qkNorm: Bool
    package var normEps: Float

    package init(dim: Int, heads: Int, mlpHidden: Int, gatedMLP: Bool, activation: Activation, qkvBias: Bool, projBias: Bool, mlpBias: Bool, qkNorm: Bool, normEps: Float = 1e-6) {
        self.dim = dim
        self.heads = heads
        self.mlpHidden = mlpHidden
        self.gatedMLP = gatedMLP
        self.activation = activation
        self.qkvBias = qkvBias
        self.projBias = projBias
        self.mlpBias = mlpBias
        self.qkNorm = qkNorm
        self.normEps = normEps
    }
}

/// Pre-norm encoder block (spec/model.md 4.5): `x += attn(norm1(x)); x += mlp(norm2(x))`, each
/// addition fused into the branch's last product where it runs on oneDNN.
package struct TransformerBlock: Sendable {
    package let norm1: LayerNorm
    package let attn: SelfAttention
    package let norm2: LayerNorm
    package let mlp: MLP

    /// Loads `norm1`, `attn`, `norm2`, `mlp`.
    package init(_ source: some TensorSource, _ o: BlockOptions) throws(WeightError) {
        norm1 = try LayerNorm(source.scoped("norm1"), dim: o.dim, eps: o.normEps)
        attn = try SelfAttention(source.scoped("attn"), dim: o.dim, heads: o.heads, qkvBias: o.qkvBias, projBias: o.projBias, qkNorm: o.qkNorm)
        norm2 = try LayerNorm(source.scoped("norm2"), dim: o.dim, eps: o.normEps)
        mlp = try MLP(source.scoped("mlp"), dim: o.dim, hidden: o.mlpHidden, gated: o.gatedMLP, bias: o.mlpBias, activation: o.activation)
    }

    package func callAsFunction(_ x: Tensor<Float>, mask: AttentionMask) -> Tensor<Float> {
        let h = attn(norm1(x), mask: mask, addingTo: x)
        return mlp(norm2(h), addingTo: h)
    }
}

/// Pre-norm decoder block (spec/model.md 4.5): self-attention, cross-attention over the
/// context (normed by this block's `context_norm`), MLP.
package struct DecoderBlock: Sendable {
    package let norm1: LayerNorm
    package let selfAttn: SelfAttention
    package let queryNorm: LayerNorm
    package let contextNorm: LayerNorm
    package let crossAttn: CrossAttention
    package let norm2: LayerNorm
    package let mlp: MLP

    /// Loads `norm1`, `self_attn`, `query_norm`, `context_norm`, `cross_attn`, `norm2`, `mlp`.
    package init(_ source: some TensorSource, _ o: BlockOptions) throws(WeightError) {
        norm1 = try LayerNorm(source.scoped("norm1"), dim: o.dim, eps: o.normEps)
        selfAttn = try SelfAttention(source.scoped("self_attn"), dim: o.dim, heads: o.heads, qkvBias: o.qkvBias, projBias: o.projBias, qkNorm: o.qkNorm)
        queryNorm = try LayerNorm(source.scoped("query_norm"), dim: o.dim, eps: o.normEps)
        contextNorm = try LayerNorm(source.scoped("context_norm"), dim: o.dim, eps: o.normEps)
        crossAttn = try CrossAttention(source.scoped("cross_attn"), dim: o.dim, heads: o.heads, qkvBias: o.qkvBias, projBias: o.projBias, qkNorm: o.qkNorm)
        norm2 = try LayerNorm(source.scoped("norm2"), dim: o.dim, eps: o.normEps)
        mlp = try MLP(source.scoped("mlp"), dim: o.dim, hidden: o.mlpHidden, gated: o.gatedMLP, bias: o.mlpBias, activation: o.activation)
    }

    /// Cross-attention keys/values of this block for a raw context `[B, N, D]`.
    package func contextKeysValues(_ context: Tensor<Float>) -> (k: Tensor<Float>, v: Tensor<Float>) {
        crossAttn.keysValues(contextNorm(context))
    }

    package func callAsFunction(
        _ x: Tensor<Float>, contextKV: (k: Tensor<Float>, v: Tensor<Float>), selfMask: AttentionMask, crossMask: AttentionMask
    ) -> Tensor<Float> {
        var h = selfAttn(norm1(x), mask: selfMask, addingTo: x)
        h = crossAttn.attend(queryNorm(h), k: contextKV.k, v: contextKV.v, mask: crossMask, addingTo: h)
        return mlp(norm2(h), addingTo: h)
    }
}

/// `branch + x` for a block's residual connection, written into `branch` (a fresh result of
/// the block's sub-layer, so no copy) and split over threads: the same values as `x + branch`
/// (float addition is commutative), without the copy and the serial loop of `+`.
package func residual(_ branch: consuming Tensor<Float>, plus x: Tensor<Float>) -> Tensor<Float> {
    precondition(branch.shape == x.shape, "residual: shapes \(branch.shape) and \(x.shape) differ")
    var y = branch
    y.withUnsafeMutableBufferPointer { out in
        x.withUnsafeBufferPointer { px in
            guard let base = px.baseAddress else { return }
            let other = SendableConstPointer(base)
            elementwise(out) { start, count, offset in addKernel(start, other.base + offset, count: count) }
        }
    }
    return y
}
