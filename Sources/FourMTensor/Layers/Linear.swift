/// A PyTorch `nn.Linear`: weight `[out, in]` used transposed by sgemm (no copy), optional bias.
package struct Linear: Sendable {
    package let weight: Tensor<Float>
    package let bias: Tensor<Float>?

    package init(weight: Tensor<Float>, bias: Tensor<Float>?) {
        self.weight = weight
        self.bias = bias
    }

    /// Loads `\(prefix).weight` `[outputs, inputs]` and, when `bias` is true, `\(prefix).bias`.
    package init(_ store: WeightStore, _ prefix: String, inputs: Int, outputs: Int, bias: Bool) throws(WeightError) {
        weight = try store.tensor("\(prefix).weight", shape: [outputs, inputs])
        self.bias = bias ? try store.tensor("\(prefix).bias", shape: [outputs]) : nil
    }

    package var inputs: Int { weight.shape[1] }
    package var outputs: Int { weight.shape[0] }

    package func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        linear(x, weight: weight, bias: bias)
    }
}

/// A LayerNorm over the last axis (spec/model.md 4.1). A missing `bias` key means zeros
/// (spec/model.md 1.6); the reference stores an all-zero bias buffer for bias-free norms.
package struct LayerNorm: Sendable {
    package let weight: Tensor<Float>
    package let bias: Tensor<Float>?
    package let eps: Float

    package init(_ store: WeightStore, _ prefix: String, dim: Int, eps: Float = 1e-6) throws(WeightError) {
        weight = try store.tensor("\(prefix).weight", shape: [dim])
        bias = try store.optionalTensor("\(prefix).bias", shape: [dim])
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
