/// A PyTorch `nn.Linear`: weight `[out, in]` used transposed by sgemm (no copy), optional bias.
///
/// With a bf16 copy of the weight (``ComputePrecision/bf16``), the product runs in bf16 with
/// f32 accumulation through oneDNN; the fp32 weight stays for the fp32 fallback and for code
/// that reads it.
package struct Linear: Sendable {
    package let weight: Tensor<Float>
    package let bias: Tensor<Float>?
    /// The weight rounded to bf16 once, when the layer was loaded in bf16; nil in fp32.
    package let weightBF16: BFloat16Matrix?

    package init(weight: Tensor<Float>, bias: Tensor<Float>?, precision: ComputePrecision = .fp32) {
        self.weight = weight
        self.bias = bias
        weightBF16 = precision.resolved == .bf16 ? BFloat16Matrix(weight) : nil
    }

    /// Loads `weight` `[outputs, inputs]` and, when `bias` is true, `bias` of a source scoped to
    /// the layer, in the source's `precision`.
    package init(_ source: some TensorSource, inputs: Int, outputs: Int, bias: Bool) throws(WeightError) {
        weight = try source.tensor("weight", shape: [outputs, inputs])
        self.bias = bias ? try source.tensor("bias", shape: [outputs]) : nil
        weightBF16 = source.precision.resolved == .bf16 ? try source.bfloat16Matrix("weight", fallback: weight) : nil
    }

    package var inputs: Int { weight.shape[1] }
    package var outputs: Int { weight.shape[0] }

    /// The precision the layer computes in.
    package var precision: ComputePrecision { weightBF16 == nil ? .fp32 : .bf16 }

    package func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        if let y = smallRowProduct(x) { return y }  // compact weights (autoregressive steps), see Linear+SmallRows.swift
        if let weightBF16, let y = linearBFloat16(x, weight: weightBF16, bias: bias) { return y }
        // Measurement switch (FOURM_FP32_MATMUL=onednn); a few rows stay on sgemv either way.
        if fp32LinearUsesOneDNN && x.count / max(inputs, 1) > gemvRowLimit,
            let y = linearOneDNNF32(x, weight: weight, bias: bias)
        {
            return y
        }
        return linear(x, weight: weight, bias: bias)
    }
}

/// `x · Wᵀ + b` in bf16 through oneDNN, or nil when oneDNN cannot run it (the caller falls
/// back to fp32).
package func linearBFloat16(_ x: Tensor<Float>, weight: BFloat16Matrix, bias: Tensor<Float>?) -> Tensor<Float>? {
    let k = weight.columns, n = weight.rows
    precondition(x.shape.last == k, "linear: input \(x.shape) does not end in \(k)")
    let rows = x.count / max(k, 1)
    var outShape = x.shape
    outShape[outShape.count - 1] = n
    var ok = true
    let y = Tensor<Float>(shape: outShape) { out in
        guard let dst = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            guard let src = px.baseAddress else { return }
            if let bias {
                bias.withUnsafeBufferPointer { pb in ok = bfloat16Linear(src, rows: rows, weight: weight, bias: pb.baseAddress, out: dst) }
            } else {
                ok = bfloat16Linear(src, rows: rows, weight: weight, bias: nil, out: dst)
            }
        }
    }
    return ok ? y : nil
}

/// A LayerNorm over the last axis (spec/model.md 4.1). A missing `bias` key means zeros
/// (spec/model.md 1.6); the reference stores an all-zero bias buffer for bias-free norms.
/// Affine norms whose bias the checkpoint must hold (`nn.LayerNorm`, the diffusion decoders)
/// pass `requiredBias`.
package struct LayerNorm: Sendable {
    package let weight: Tensor<Float>
    package let bias: Tensor<Float>?
    package let eps: Float

    /// Loads `weight` `[dim]` and `bias` `[dim]` (optional unless `requiredBias`).
    package init(_ source: some TensorSource, dim: Int, eps: Float = 1e-6, requiredBias: Bool = false) throws(WeightError) {
        weight = try source.tensor("weight", shape: [dim])
        bias = requiredBias ? try source.tensor("bias", shape: [dim]) : try source.optionalTensor("bias", shape: [dim])
        self.eps = eps
    }

    package func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        layerNorm(x, weight: weight, bias: bias, eps: eps)
    }
}

/// The activation of a transformer MLP (`act_layer` in the config).
public enum Activation: String, Sendable, CaseIterable {
    /// `nn.SiLU` (the released models).
    case silu = "SiLU"
    /// `nn.GELU`, exact erf form.
    case gelu = "GELU"
}
