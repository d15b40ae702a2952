/// The transformer feed-forward (spec/model.md 4.4): `fc2(act(fc1(x)))`, or gated
/// `fc2(act(fc1(x)) ⊙ fc3(x))` when `gated` (SwiGLU with SiLU).
package struct MLP: Sendable {
    package let fc1: Linear
    package let fc2: Linear
    package let fc3: Linear?
    package let activation: Activation

    /// Hidden width: `floor(dim·ratio)`, or `floor(2·floor(dim·ratio)/3)` when gated (spec 1.4).
    package static func hiddenWidth(dim: Int, ratio: Double, gated: Bool) -> Int {
        let plain = Int((Double(dim) * ratio).rounded(.down))
        return gated ? (2 * plain) / 3 : plain
    }

    /// Loads `fc1`, `fc2` and, when `gated`, `fc3`.
    package init(_ source: some TensorSource, dim: Int, hidden: Int, gated: Bool, bias: Bool, activation: Activation) throws(WeightError) {
        fc1 = try Linear(source.scoped("fc1"), inputs: dim, outputs: hidden, bias: bias)
        fc2 = try Linear(source.scoped("fc2"), inputs: hidden, outputs: dim, bias: bias)
        fc3 = gated ? try Linear(source.scoped("fc3"), inputs: dim, outputs: hidden, bias: bias) : nil
        self.activation = activation
    }

    package func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        fc2(hiddenLayer(x))
    }

    /// `act(fc1(x))`, or `act(fc1(x)) ⊙ fc3(x)` when gated: the input of `fc2`.
    package func hiddenLayer(_ x: Tensor<Float>) -> Tensor<Float> {
        var hidden = fc1(x)
        if let fc3 {
            let linearBranch = fc3(x)
            let activation = activation
            hidden.withUnsafeMutableBufferPointer { g in
                linearBranch.withUnsafeBufferPointer { l in
                    let other = SendableConstPointer(l.baseAddress!)
                    elementwise(g) { start, count, offset in
                        switch activation {
                        case .silu: swigluKernel(start, other.base + offset, count: count)
                        case .gelu: gegluKernel(start, other.base + offset, count: count)
                        }
                    }
                }
            }
        } else {
            hidden = activation == .silu ? silu(hidden) : gelu(hidden)
        }
        return hidden
    }
}
