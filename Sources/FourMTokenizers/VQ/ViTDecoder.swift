import FourMTensor

/// The ViT decoder of VQ-VAE tokenizers (prefix `decoder.`), spec/tokenizers.md 3.5.
///
/// Position table (resized bicubically to the token grid) added to the `post_quant_proj`
/// output, `depth` pre-norm blocks, the optional tanh post-MLP, `out_proj` to `C·P·P` values per
/// token (or `C` when `patch_proj` is false), unpatchify, and the optional two ConvNeXt blocks.
package struct ViTDecoder: Sendable {
    package let preset: VQViTPreset
    package let outputChannels: Int
    /// The unpatchify factor: `patch_size_dec` with patch projection, else 1.
    package let outputPatch: Int
    /// `[D, G, G]`, `G = image_size_dec / patch_size_dec`.
    package let positionTable: Tensor<Float>
    package let blocks: [TransformerBlock]
    package let postMLP: ViTPostMLP?
    package let outProjection: Linear
    package let outConv: [ConvNeXtBlock]

    /// The decoder's stages for one input (the fixture's `decoder.*` taps).
    package struct Output: Sendable {
        /// After `out_proj` + unpatchify, `[B, C, H, W]` (the input of `out_conv`).
        package var beforeOutConv: Tensor<Float>
        /// The output of each ConvNeXt block, in order (empty without `out_conv`).
        package var outConvStages: [Tensor<Float>]
        /// The final output `[B, C, H, W]`.
        package var output: Tensor<Float> { outConvStages.last ?? beforeOutConv }
    }

    /// Loads the decoder under `prefix`.
    /// - Throws: `WeightError` for missing tensors or shapes that disagree with the preset or
    ///   configuration.
    package init(
        _ store: WeightStore, prefix: String, preset: VQViTPreset, outputChannels: Int, patchSize: Int,
        resolution: Int, patchProjection: Bool, postMLP: Bool, outConv: Bool
    ) throws(WeightError) {
        self.preset = preset
        self.outputChannels = outputChannels
        outputPatch = patchProjection ? patchSize : 1
        positionTable = try vqPositionTable(store, "\(prefix).pos_emb", dim: preset.dim, grid: resolution / patchSize)
        let options = BlockOptions(
            dim: preset.dim, heads: preset.heads, mlpHidden: preset.mlpHidden, gatedMLP: false, activation: .gelu,
            qkvBias: preset.qkvBias, projBias: true, mlpBias: true, qkNorm: false, normEps: preset.normEps)
        var blocks: [TransformerBlock] = []
        for i in 0..<preset.depth { blocks.append(try TransformerBlock(store, "\(prefix).blocks.\(i)", options)) }
        self.blocks = blocks
        self.postMLP = postMLP ? try ViTPostMLP(store, prefix, preset: preset) : nil
        outProjection = try Linear(
            store, "\(prefix).out_proj", inputs: preset.dim, outputs: outputChannels * outputPatch * outputPatch, bias: true)
        var convs: [ConvNeXtBlock] = []
        if outConv {
            for i in 0..<2 { convs.append(try ConvNeXtBlock(store, "\(prefix).out_conv.\(i)", channels: outputChannels)) }
        }
        self.outConv = convs
    }

    /// grid: `[B, h·w, D]` (the `post_quant_proj` output) → every decoder stage.
    package func callAsFunction(_ grid: TokenGrid) -> Output {
        precondition(grid.channels == preset.dim, "ViTDecoder: input has \(grid.channels) channels, expected \(preset.dim)")
        let (batch, gridH, gridW) = (grid.batch, grid.height, grid.width)
        var h = vqAddToEachBatch(grid.tokens, vqPositions(positionTable, height: gridH, width: gridW))
        for block in blocks { h = block(h, mask: .none) }
        if let postMLP { h = postMLP(h) }
        let perToken = outProjection(h)
        let p = outputPatch
        let image = Tensor<Float>(shape: [batch, outputChannels, gridH * p, gridW * p]) { out in
            perToken.withUnsafeBufferPointer { src in
                unpatchTokensKernel(src.baseAddress!, out.baseAddress!, batch: batch, channels: outputChannels,
                                   gridHeight: gridH, gridWidth: gridW, patch: p)
            }
        }
        var stages: [Tensor<Float>] = []
        var x = image
        for block in outConv {
            x = block(x)
            stages.append(x)
        }
        return Output(beforeOutConv: image, outConvStages: stages)
    }
}
