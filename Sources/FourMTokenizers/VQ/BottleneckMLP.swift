import FourMTensor

/// The MLP encoder / decoder of the global and pose tokenizers (`BottleneckMLP/B_6-Wi_1024`,
/// also the plain `MLP/…` variant), spec/tokenizers.md 3.6. Applied to every pixel of a
/// `[B, C, H, W]` map independently (the global tokenizers use `H = W = 1`).
///
/// Bottleneck: `z = linear_in(x)`, then per block `z = z + block.2(GELU(block.0(LN_1e-5(z))))`,
/// `out = linear_out(z)`. Plain MLP: `z = linear_in(x)`, then per layer `z = layers.i(LN_1e-5(z))`
/// (no activation, as in the reference), `out = linear_out(z)`.
package struct BottleneckMLP: Sendable {
    package struct Block: Sendable {
        package let norm: LayerNorm
        package let expand: Linear
        package let contract: Linear?
    }

    package let kind: MLPArchitecture.Kind
    package let inputDim: Int
    package let outputDim: Int
    package let width: Int
    package let linearIn: Linear
    package let blocks: [Block]
    package let linearOut: Linear

    /// Loads `linear_in`, the blocks and `linear_out` under `prefix`.
    /// - Parameters:
    ///   - inputDim: nil means the MLP width (`dim_in = None` in the reference).
    ///   - outputDim: nil means the MLP width.
    /// - Throws: `WeightError` for missing tensors or shapes that disagree with the arguments.
    package init(
        _ source: some TensorSource, architecture: MLPArchitecture, inputDim: Int?, outputDim: Int?
    ) throws(WeightError) {
        kind = architecture.kind
        width = architecture.width
        self.inputDim = inputDim ?? architecture.width
        self.outputDim = outputDim ?? architecture.width
        linearIn = try Linear(source.scoped("linear_in"), inputs: self.inputDim, outputs: width, bias: true)
        var blocks: [Block] = []
        switch architecture.kind {
        case .bottleneck:
            let wide = architecture.expansion * width
            for i in 0..<architecture.blocks {
                blocks.append(Block(
                    norm: try LayerNorm(source.scoped("layernorms.\(i)"), dim: width, eps: 1e-5),
                    expand: try Linear(source.scoped("blocks.\(i).block.0"), inputs: width, outputs: wide, bias: true),
                    contract: try Linear(source.scoped("blocks.\(i).block.2"), inputs: wide, outputs: width, bias: true)))
            }
        case .standard:
            for i in 0..<(architecture.blocks - 1) {
                blocks.append(Block(
                    norm: try LayerNorm(source.scoped("layernorms.\(i)"), dim: width, eps: 1e-5),
                    expand: try Linear(source.scoped("layers.\(i)"), inputs: width, outputs: width, bias: true),
                    contract: nil))
            }
        }
        self.blocks = blocks
        linearOut = try Linear(source.scoped("linear_out"), inputs: width, outputs: self.outputDim, bias: true)
    }

    /// x: `[..., inputDim]` → `[..., outputDim]`, row by row.
    package func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        var z = linearIn(x)
        for block in blocks {
            if let contract = block.contract {
                z = z + contract(gelu(block.expand(block.norm(z))))
            } else {
                z = block.expand(block.norm(z))
            }
        }
        return linearOut(z)
    }
}
