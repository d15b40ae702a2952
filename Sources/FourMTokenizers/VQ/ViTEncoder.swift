import FourMTensor

/// The ViT post-MLP residual `x + fc2(tanh(fc1(LN(x))))` (`norm_mlp.*`, `post_mlp.fc{1,2}.*`),
/// spec/tokenizers.md 3.4 / 3.5. Note tanh, not GELU.
package struct ViTPostMLP: Sendable {
    package let norm: LayerNorm
    package let fc1: Linear
    package let fc2: Linear

    package init(_ store: WeightStore, _ prefix: String, preset: VQViTPreset) throws(WeightError) {
        norm = try LayerNorm(store, "\(prefix).norm_mlp", dim: preset.dim, eps: preset.normEps)
        fc1 = try Linear(store, "\(prefix).post_mlp.fc1", inputs: preset.dim, outputs: preset.mlpHidden, bias: true)
        fc2 = try Linear(store, "\(prefix).post_mlp.fc2", inputs: preset.mlpHidden, outputs: preset.dim, bias: true)
    }

    /// x: `[B, N, D]` → `[B, N, D]`.
    package func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        let hidden = vqMap(fc1(norm(x))) { tanhKernel($0, count: $1) }
        return x + fc2(hidden)
    }
}

/// Loads a stored sin-cos position table `[1, D, G, G]` as `[D, G, G]`, or computes it when
/// absent (spec/tokenizers.md 1.4, 3.2).
func vqPositionTable(_ store: WeightStore, _ key: String, dim: Int, grid: Int) throws(WeightError) -> Tensor<Float> {
    if let stored = try store.optionalTensor(key, shape: [1, dim, grid, grid]) {
        return stored.reshaped([dim, grid, grid])
    }
    // sinCosTable2D is [G·G, D]; the stored layout is channels-first.
    return vqSwapLastTwo(sinCosTable2D(gridHeight: grid, gridWidth: grid, dim: dim).reshaped([1, grid * grid, dim]))
        .reshaped([dim, grid, grid])
}

/// The position table resized bicubically to the token grid (spec 3.3) as `[h·w, D]`.
func vqPositions(_ table: Tensor<Float>, height: Int, width: Int) -> Tensor<Float> {
    let dim = table.shape[0]
    let resized = table.resizedBicubic(height: height, width: width)
    return vqSwapLastTwo(resized.reshaped([1, dim, height * width])).reshaped([height * width, dim])
}

/// The ViT encoder of the VQ tokenizers (prefix `encoder.`), spec/tokenizers.md 3.4.
///
/// Patch embedding (a `P×P` stride-`P` convolution computed as a matrix product over patches,
/// or a 1×1 convolution on a feature map when `patchProjection` is false), plus the sin-cos
/// position table resized bicubically to the token grid, then `depth` pre-norm blocks and the
/// optional tanh post-MLP. No final LayerNorm.
package struct ViTEncoder: Sendable {
    package let preset: VQViTPreset
    package let inputChannels: Int
    package let patchSize: Int
    package let patchProjection: Bool
    /// `proj` as a Linear: weight `[D, C·P·P]` (patch order c, py, px) or `[D, C]`.
    package let projection: Linear
    /// `[D, G, G]` with `G = resolution / patchSize`.
    package let positionTable: Tensor<Float>
    package let blocks: [TransformerBlock]
    package let postMLP: ViTPostMLP?

    /// Loads the encoder under `prefix`.
    /// - Parameters:
    ///   - resolution: `image_size_enc`, whose `/ patchSize` grid is the stored position table's.
    /// - Throws: `WeightError` for missing tensors, shapes that disagree with the preset or
    ///   configuration.
    package init(
        _ store: WeightStore, prefix: String, preset: VQViTPreset, inputChannels: Int, patchSize: Int,
        resolution: Int, patchProjection: Bool, postMLP: Bool
    ) throws(WeightError) {
        self.preset = preset
        self.inputChannels = inputChannels
        self.patchSize = patchSize
        self.patchProjection = patchProjection
        let kernel = patchProjection ? patchSize : 1
        let weight = try store.tensor("\(prefix).proj.weight", shape: [preset.dim, inputChannels, kernel, kernel])
        let bias = try store.tensor("\(prefix).proj.bias", shape: [preset.dim])
        projection = Linear(weight: weight.reshaped([preset.dim, inputChannels * kernel * kernel]), bias: bias)
        positionTable = try vqPositionTable(store, "\(prefix).pos_emb", dim: preset.dim, grid: resolution / patchSize)
        let options = BlockOptions(
            dim: preset.dim, heads: preset.heads, mlpHidden: preset.mlpHidden, gatedMLP: false, activation: .gelu,
            qkvBias: preset.qkvBias, projBias: true, mlpBias: true, qkNorm: false, normEps: preset.normEps)
        var blocks: [TransformerBlock] = []
        for i in 0..<preset.depth { blocks.append(try TransformerBlock(store, "\(prefix).blocks.\(i)", options)) }
        self.blocks = blocks
        self.postMLP = postMLP ? try ViTPostMLP(store, prefix, preset: preset) : nil
    }

    /// Checks an input map: `[B, C, H, W]` with `H`, `W` multiples of `P` (patch embedding) or
    /// a feature map `[B, C, h, w]`.
    /// - Throws: `.invalidInput`.
    package func validate(_ x: Tensor<Float>, argument: String = "input") throws(VQTokenizerError) {
        let ok = x.rank == 4 && x.shape[0] > 0 && x.shape[1] == inputChannels && x.shape[2] > 0 && x.shape[3] > 0
            && (!patchProjection || (x.shape[2] % patchSize == 0 && x.shape[3] % patchSize == 0))
        guard ok else {
            let expected = patchProjection
                ? "[B, \(inputChannels), H, W] with B ≥ 1 and H, W positive multiples of \(patchSize)"
                : "a feature map [B, \(inputChannels), h, w] with B, h, w ≥ 1"
            throw .invalidInput(argument: argument, expected: expected, actual: "shape \(x.shape)")
        }
    }

    /// x: a validated NCHW input → features `[B, h·w, D]` on the token grid.
    package func callAsFunction(_ x: Tensor<Float>) -> TokenGrid {
        let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var grid: TokenGrid
        if patchProjection {
            let (gridH, gridW) = (height / patchSize, width / patchSize)
            let patches = Tensor<Float>(shape: [batch, gridH * gridW, channels * patchSize * patchSize]) { out in
                x.withUnsafeBufferPointer { src in
                    patchTokensKernel(src.baseAddress!, out.baseAddress!, batch: batch, channels: channels,
                                     height: height, width: width, patch: patchSize)
                }
            }
            grid = TokenGrid(tokens: projection(patches), height: gridH, width: gridW)
        } else {
            let pixels = TokenGrid(nchw: x)
            grid = pixels.with(tokens: projection(pixels.tokens))
        }
        var h = vqAddToEachBatch(grid.tokens, vqPositions(positionTable, height: grid.height, width: grid.width))
        for block in blocks { h = block(h, mask: .none) }
        if let postMLP { h = postMLP(h) }
        grid.tokens = h
        return grid
    }
}
