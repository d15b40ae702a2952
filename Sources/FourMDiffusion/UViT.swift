import FourMTensor

/// diffusers `ResnetBlock2D` (spec/tokenizers.md 5.6), keys `resnets.{k}.*`:
/// `h = conv1(SiLU(GN(x))) + time_emb_proj(SiLU(temb)); h = conv2(SiLU(GN(h)));
/// return shortcut(x) + h` (output scale 1).
struct ResnetBlock2D: Sendable {
    let norm1: GroupNorm
    let conv1: Conv2d
    let timeProjection: Linear
    let norm2: GroupNorm
    let conv2: Conv2d
    let shortcut: Conv2d?

    init(_ store: some TensorSource, _ prefix: String, inputs: Int, outputs: Int, embeddingDim: Int, groups: Int, eps: Float)
        throws(WeightError)
    {
        norm1 = try GroupNorm(store, "\(prefix).norm1", channels: inputs, groups: groups, eps: eps)
        conv1 = try Conv2d(store, "\(prefix).conv1", inputs: inputs, outputs: outputs, kernel: 3, padding: 1)
        timeProjection = try loadLinear(store, "\(prefix).time_emb_proj", inputs: embeddingDim, outputs: outputs)
        norm2 = try GroupNorm(store, "\(prefix).norm2", channels: outputs, groups: groups, eps: eps)
        conv2 = try Conv2d(store, "\(prefix).conv2", inputs: outputs, outputs: outputs, kernel: 3, padding: 1)
        shortcut = inputs == outputs ? nil : try Conv2d(store, "\(prefix).conv_shortcut", inputs: inputs, outputs: outputs, kernel: 1)
    }

    func callAsFunction(_ x: Tensor<Float>, activatedEmbedding: Tensor<Float>, _ scratch: ConvolutionScratch) -> Tensor<Float> {
        var h = conv1(norm1(x, silu: true), scratch)
        h = h.addingChannelBias(timeProjection(activatedEmbedding))
        h = conv2(norm2(h, silu: true), scratch)
        return (shortcut.map { $0(x, scratch) } ?? x) + h
    }
}

/// A LayerNorm with affine parameters over the last axis.
struct AffineLayerNorm: Sendable {
    let weight: Tensor<Float>
    let bias: Tensor<Float>
    let eps: Float

    init(_ store: some TensorSource, _ prefix: String, dim: Int, eps: Float) throws(WeightError) {
        weight = try store.tensor("\(prefix).weight", shape: [dim])
        bias = try store.tensor("\(prefix).bias", shape: [dim])
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}

/// Multi-head self-attention with a fused `qkv` (rows q | k | v) and an output `proj`
/// (spec/tokenizers.md 3.1 attention, scale `head_dim^-1/2`).
struct FusedSelfAttention: Sendable {
    let qkv: Linear
    let proj: Linear
    let heads: Int

    init(_ store: some TensorSource, _ prefix: String, dim: Int, heads: Int, qkvBias: Bool) throws(WeightError) {
        qkv = Linear(weight: try store.tensor("\(prefix).qkv.weight", shape: [3 * dim, dim]),
                     bias: qkvBias ? try store.tensor("\(prefix).qkv.bias", shape: [3 * dim]) : nil)
        proj = try loadLinear(store, "\(prefix).proj", inputs: dim, outputs: dim)
        self.heads = heads
    }

    /// x: `[B, N, D]` → `[B, N, D]`.
    func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        let parts = splitColumns(qkv(x), parts: 3)
        return proj(attention(q: parts[0], k: parts[1], v: parts[2], heads: heads))
    }
}

/// One transformer block of the UViT bottleneck (spec/tokenizers.md 5.6): adaLN modulation
/// (shift/scale) and adaLN-Zero gates from SiLU(temb), LayerNorm eps 1e-5, GELU MLP.
struct UViTTransformerBlock: Sendable {
    let norm1: AffineLayerNorm
    let attention: FusedSelfAttention
    let norm2: AffineLayerNorm
    let fc1: Linear
    let fc2: Linear
    let modulation: Linear
    let gate: Linear
    let dim: Int

    init(_ store: some TensorSource, _ prefix: String, preset p: UViTPreset) throws(WeightError) {
        let d = p.midDim
        let e = p.timeEmbeddingWidth
        let hidden = Int(Double(d) * p.midMLPRatio)
        norm1 = try AffineLayerNorm(store, "\(prefix).norm1", dim: d, eps: 1e-5)
        attention = try FusedSelfAttention(store, "\(prefix).attn", dim: d, heads: p.midNumHeads, qkvBias: p.midQKVBias)
        norm2 = try AffineLayerNorm(store, "\(prefix).norm2", dim: d, eps: 1e-5)
        fc1 = try loadLinear(store, "\(prefix).mlp.fc1", inputs: d, outputs: hidden)
        fc2 = try loadLinear(store, "\(prefix).mlp.fc2", inputs: hidden, outputs: d)
        modulation = try loadLinear(store, "\(prefix).adaLN_modulation", inputs: e, outputs: 4 * d)
        gate = try loadLinear(store, "\(prefix).adaLN_gate", inputs: e, outputs: 2 * d)
        dim = d
    }

    /// x: `[B, N, D]`, activatedEmbedding: SiLU(temb) `[1, E]`.
    func callAsFunction(_ x: Tensor<Float>, activatedEmbedding: Tensor<Float>) -> Tensor<Float> {
        let gates = gate(activatedEmbedding).scalars          // [g_msa | g_mlp]
        let mods = modulation(activatedEmbedding).scalars     // [sh_msa | sc_msa | sh_mlp | sc_mlp]
        let d = dim
        func part(_ values: [Float], _ index: Int) -> ArraySlice<Float> { values[(index * d)..<((index + 1) * d)] }
        var h = x
        var normed = norm1(h)
        modulate(&normed, shift: part(mods, 0), scale: part(mods, 1))
        gatedAdd(&h, gate: part(gates, 0), attention(normed))
        normed = norm2(h)
        modulate(&normed, shift: part(mods, 2), scale: part(mods, 3))
        gatedAdd(&h, gate: part(gates, 1), fc2(gelu(fc1(normed))))
        return h
    }

    private func modulate(_ x: inout Tensor<Float>, shift: ArraySlice<Float>, scale: ArraySlice<Float>) {
        let d = dim
        x.withUnsafeMutableBufferPointer { px in
            shift.withUnsafeBufferPointer { ps in
                scale.withUnsafeBufferPointer { pc in
                    modulateKernel(px.baseAddress!, shift: ps.baseAddress!, scale: pc.baseAddress!, rows: px.count / d, dim: d)
                }
            }
        }
    }

    private func gatedAdd(_ x: inout Tensor<Float>, gate: ArraySlice<Float>, _ y: Tensor<Float>) {
        let d = dim
        x.withUnsafeMutableBufferPointer { px in
            gate.withUnsafeBufferPointer { pg in
                y.withUnsafeBufferPointer { py in
                    gatedResidualKernel(px.baseAddress!, gate: pg.baseAddress!, py.baseAddress!, rows: px.count / d, dim: d)
                }
            }
        }
    }
}

/// The "concat" transformer bottleneck (`TransformerConcatCond`, spec/tokenizers.md 5.6).
struct UViTMidBlock: Sendable {
    let projIn: Linear
    let conditionProjection: Linear
    let projOut: Linear
    let positionTable: Tensor<Float>   // [1, D, side, side]
    let blocks: [UViTTransformerBlock]

    init(_ store: some TensorSource, _ prefix: String, preset p: UViTPreset, unetChannels: Int, conditionChannels: Int) throws(WeightError) {
        let d = p.midDim
        projIn = try loadLinear(store, "\(prefix).mid_proj_in", inputs: unetChannels, outputs: d)
        conditionProjection = try loadLinear(store, "\(prefix).mid_cond_proj", inputs: conditionChannels, outputs: d)
        projOut = try loadLinear(store, "\(prefix).mid_proj_out", inputs: d, outputs: unetChannels)
        let side = p.midPosEmbSide
        if let stored = try store.optionalTensor("\(prefix).mid_pos_emb", shape: [1, d, side, side]) {
            positionTable = stored
        } else {
            // Fixed table (spec 1.4): recompute with the MoCo-v3 layout, rows (h) first.
            positionTable = sinCosTable2D(gridHeight: side, gridWidth: side, dim: d).reshaped([1, side * side, d])
                .transposedLastTwo().reshaped([1, d, side, side])
        }
        // `mask_token` replaces masked condition tokens during training only (cond_mask is None
        // at inference); it is a parameter of the module, so it is taken and not used.
        _ = try store.tensor("\(prefix).mask_token", shape: [d])
        var list: [UViTTransformerBlock] = []
        for i in 0..<p.midLayers { list.append(try UViTTransformerBlock(store, "\(prefix).mid_block.\(i)", preset: p)) }
        blocks = list
    }

    /// x: `[B, C, h, w]` UNet features, condition `[B, latent, hc, wc]` → `[B, C, h, w]`.
    func callAsFunction(
        _ x: Tensor<Float>, activatedEmbedding: Tensor<Float>, condition: Tensor<Float>,
        stages: ((String, Tensor<Float>) -> Void)?
    ) -> Tensor<Float> {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var tokens = projIn(x.reshaped([b, c, h * w]).transposedLastTwo())
        let cond = condition.resizedNearest(height: h, width: w)
        tokens = tokens + conditionProjection(cond.reshaped([b, cond.shape[1], h * w]).transposedLastTwo())
        let d = positionTable.shape[1]
        let positions = positionTable.resizedBicubic(height: h, width: w).reshaped([1, d, h * w]).transposedLastTwo()
        tokens = tokens + repeatedBatch(positions, b)
        stages?("mid_block.tokens_in", tokens)
        for block in blocks { tokens = block(tokens, activatedEmbedding: activatedEmbedding) }
        return projOut(tokens).transposedLastTwo().reshaped([b, c, h, w])
    }
}

/// ml-4m `UViT` with "concat" conditioning (spec/tokenizers.md 5.6), loaded from `decoder.*`.
struct UViT: Sendable {
    struct DownBlock: Sendable {
        let resnets: [ResnetBlock2D]
        let downsampler: Conv2d?
    }

    struct UpBlock: Sendable {
        let resnets: [ResnetBlock2D]
        let upsampler: Upsample2x?
    }

    let preset: UViTPreset
    let channels: Int
    let convIn: Conv2d            // kernel = stride = P, applied as patchify + 1×1 product
    let timeLinear1: Linear
    let timeLinear2: Linear
    let downBlocks: [DownBlock]
    let downsampleMid: Conv2d?
    let midBlock: UViTMidBlock
    let upsampleMid: Upsample2x?
    let upBlocks: [UpBlock]
    let normOut: GroupNorm
    let convOutWeight: Tensor<Float>   // [C0, C, P, P]
    let convOutBias: Tensor<Float>

    init(_ store: some TensorSource, prefix: String, preset p: UViTPreset, channels: Int, conditionChannels: Int) throws(WeightError) {
        preset = p
        self.channels = channels
        let c0 = p.blockOutChannels[0], e = p.timeEmbeddingWidth, patch = p.patchSize
        let groups = p.normGroups, eps = p.normEps
        let inWeight = try store.tensor("\(prefix).conv_in.weight", shape: [c0, channels, patch, patch])
        convIn = Conv2d(weight: inWeight.reshaped([c0, channels * patch * patch, 1, 1]),
                        bias: try store.tensor("\(prefix).conv_in.bias", shape: [c0]), stride: 1, padding: 0)
        timeLinear1 = try loadLinear(store, "\(prefix).time_embedding.linear_1", inputs: c0, outputs: e)
        timeLinear2 = try loadLinear(store, "\(prefix).time_embedding.linear_2", inputs: e, outputs: e)

        let n = p.blockOutChannels.count
        var downs: [DownBlock] = []
        var output = c0
        for i in 0..<n {
            let input = output
            output = p.blockOutChannels[i]
            var resnets: [ResnetBlock2D] = []
            for j in 0..<p.layersPerBlock[i] {
                resnets.append(try ResnetBlock2D(store, "\(prefix).down_blocks.\(i).resnets.\(j)", inputs: j == 0 ? input : output,
                                                 outputs: output, embeddingDim: e, groups: groups, eps: eps))
            }
            let down = i == n - 1 ? nil
                : try Conv2d(store, "\(prefix).down_blocks.\(i).downsamplers.0.conv", inputs: output, outputs: output, kernel: 3,
                             stride: 2, padding: 1)
            downs.append(DownBlock(resnets: resnets, downsampler: down))
        }
        downBlocks = downs
        let midChannels = p.blockOutChannels[n - 1]
        if p.downsampleBeforeMid {
            // diffusers' Downsample2D registers one conv under two names (spec 1.4): the state
            // dict holds `conv` and `Conv2d_0` with equal values. Accept either; require equality.
            let names = ["\(prefix).downsample_mid.conv", "\(prefix).downsample_mid.Conv2d_0"]
            let present = names.filter { store.contains("\($0).weight") }
            let primary = present.first ?? names[0]
            let conv = try Conv2d(store, primary, inputs: midChannels, outputs: midChannels, kernel: 3, stride: 2, padding: 1)
            for alias in present.dropFirst() {
                let other = try Conv2d(store, alias, inputs: midChannels, outputs: midChannels, kernel: 3, stride: 2, padding: 1)
                if conv.weight != other.weight {
                    throw WeightError.tiedTensorsDiffer(file: store.sourceName, first: "\(primary).weight", second: "\(alias).weight")
                }
                if conv.bias != other.bias {
                    throw WeightError.tiedTensorsDiffer(file: store.sourceName, first: "\(primary).bias", second: "\(alias).bias")
                }
            }
            downsampleMid = conv
            upsampleMid = Upsample2x(conv: try Conv2d(store, "\(prefix).upsample_mid.conv", inputs: midChannels, outputs: midChannels,
                                                      kernel: 3, padding: 1))
        } else {
            downsampleMid = nil
            upsampleMid = nil
        }
        midBlock = try UViTMidBlock(store, "\(prefix).mid_block", preset: p, unetChannels: midChannels, conditionChannels: conditionChannels)

        let reversedChannels = Array(p.blockOutChannels.reversed())
        let reversedLayers = Array(p.layersPerBlock.reversed())
        var ups: [UpBlock] = []
        output = reversedChannels[0]
        for i in 0..<n {
            let previous = output
            output = reversedChannels[i]
            let input = reversedChannels[min(i + 1, n - 1)]
            let count = reversedLayers[i] + 1
            var resnets: [ResnetBlock2D] = []
            for j in 0..<count {
                let skip = j == count - 1 ? input : output
                let resIn = j == 0 ? previous : output
                resnets.append(try ResnetBlock2D(store, "\(prefix).up_blocks.\(i).resnets.\(j)", inputs: resIn + skip, outputs: output,
                                                 embeddingDim: e, groups: groups, eps: eps))
            }
            let up = i == n - 1 ? nil
                : Upsample2x(conv: try Conv2d(store, "\(prefix).up_blocks.\(i).upsamplers.0.conv", inputs: output, outputs: output,
                                              kernel: 3, padding: 1))
            ups.append(UpBlock(resnets: resnets, upsampler: up))
        }
        upBlocks = ups
        normOut = try GroupNorm(store, "\(prefix).conv_norm_out", channels: c0, groups: groups, eps: eps)
        convOutWeight = try store.tensor("\(prefix).conv_out.weight", shape: [c0, channels, patch, patch])
        convOutBias = try store.tensor("\(prefix).conv_out.bias", shape: [channels])
    }

    /// The factor image sides must be multiples of: `P · 2^(blocks − 1) · (2 if downsample_mid)`.
    var sideMultiple: Int {
        preset.patchSize << (preset.blockOutChannels.count - 1 + (preset.downsampleBeforeMid ? 1 : 0))
    }

    /// One denoiser call: sample `[B, C, H, W]`, condition `[B, latent, h, w]` → `[B, C, H, W]`.
    /// `stages` receives the named intermediate tensors of the fixtures' `t0.uvit.*` keys.
    func callAsFunction(
        _ sample: Tensor<Float>, timestep: Int, condition: Tensor<Float>, stages: ((String, Tensor<Float>) -> Void)? = nil
    ) -> Tensor<Float> {
        let scratch = ConvolutionScratch()
        let batch = sample.shape[0]
        let features = timestepEmbedding(timestep, dim: preset.blockOutChannels[0], cosineFirst: preset.flipSinToCos,
                                         frequencyShift: Float(preset.freqShift))
        let temb = timeLinear2(silu(timeLinear1(features)))
        if let stages {
            stages("time_proj", repeatedBatch(features, batch))
            stages("temb", repeatedBatch(temb, batch))
        }
        let activated = silu(temb)
        var h = convIn(sample.patchified(preset.patchSize), scratch)
        stages?("conv_in", h)
        var skips = [h]
        for (i, block) in downBlocks.enumerated() {
            for resnet in block.resnets {
                h = resnet(h, activatedEmbedding: activated, scratch)
                skips.append(h)
            }
            if let down = block.downsampler {
                h = down(h, scratch)
                skips.append(h)
            }
            stages?("down_blocks.\(i)", h)
        }
        if let downsampleMid {
            h = downsampleMid(h, scratch)
            stages?("downsample_mid", h)
        }
        h = midBlock(h, activatedEmbedding: activated, condition: condition, stages: stages)
        stages?("mid_block.out", h)
        if let upsampleMid {
            h = upsampleMid(h, scratch)
            stages?("upsample_mid", h)
        }
        for (i, block) in upBlocks.enumerated() {
            for resnet in block.resnets {
                h = resnet(Tensor.concatenatedChannels([h, skips.removeLast()]), activatedEmbedding: activated, scratch)
            }
            if let up = block.upsampler { h = up(h, scratch) }
            stages?("up_blocks.\(i)", h)
        }
        h = normOut(h, silu: false)
        stages?("conv_norm_out", h)
        return convTranspose2dPatch(silu(h), weight: convOutWeight, bias: convOutBias, scratch: scratch)
    }
}
