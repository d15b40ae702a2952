import FourMTensor

/// One transformer block of the UViT bottleneck (spec/tokenizers.md 5.6): adaLN modulation
/// (shift/scale) and adaLN-Zero gates from SiLU(temb), LayerNorm eps 1e-5, GELU MLP.
struct UViTTransformerBlock: Sendable {
    let norm1: LayerNorm
    let attention: SelfAttention
    let norm2: LayerNorm
    let fc1: Linear
    let fc2: Linear
    let modulation: Linear
    let gate: Linear
    let dim: Int

    init(_ source: some TensorSource, preset p: UViTPreset) throws(WeightError) {
        let d = p.midDim
        let e = p.timeEmbeddingWidth
        let hidden = Int(Double(d) * p.midMLPRatio)
        norm1 = try LayerNorm(source.scoped("norm1"), dim: d, eps: 1e-5, requiredBias: true)
        attention = try SelfAttention(source.scoped("attn"), dim: d, heads: p.midNumHeads, qkvBias: p.midQKVBias, projBias: true, qkNorm: false)
        norm2 = try LayerNorm(source.scoped("norm2"), dim: d, eps: 1e-5, requiredBias: true)
        fc1 = try Linear(source.scoped("mlp.fc1"), inputs: d, outputs: hidden, bias: true)
        fc2 = try Linear(source.scoped("mlp.fc2"), inputs: hidden, outputs: d, bias: true)
        modulation = try Linear(source.scoped("adaLN_modulation"), inputs: e, outputs: 4 * d, bias: true)
        gate = try Linear(source.scoped("adaLN_gate"), inputs: e, outputs: 2 * d, bias: true)
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

    init(_ source: some TensorSource, preset p: UViTPreset, unetChannels: Int, conditionChannels: Int) throws(WeightError) {
        let d = p.midDim
        projIn = try Linear(source.scoped("mid_proj_in"), inputs: unetChannels, outputs: d, bias: true)
        conditionProjection = try Linear(source.scoped("mid_cond_proj"), inputs: conditionChannels, outputs: d, bias: true)
        projOut = try Linear(source.scoped("mid_proj_out"), inputs: d, outputs: unetChannels, bias: true)
        let side = p.midPosEmbSide
        if let stored = try source.optionalTensor("mid_pos_emb", shape: [1, d, side, side]) {
            positionTable = stored
        } else {
            // Fixed table (spec 1.4): recompute with the MoCo-v3 layout, rows (h) first.
            positionTable = sinCosTable2D(gridHeight: side, gridWidth: side, dim: d).reshaped([1, side * side, d])
                .transposedLastTwo().reshaped([1, d, side, side])
        }
        // `mask_token` replaces masked condition tokens during training only (cond_mask is None
        // at inference); it is a parameter of the module, so it is taken and not used.
        _ = try source.tensor("mask_token", shape: [d])
        var list: [UViTTransformerBlock] = []
        for i in 0..<p.midLayers { list.append(try UViTTransformerBlock(source.scoped("mid_block.\(i)"), preset: p)) }
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
        let resnets: [ResNetBlock]
        let downsampler: Conv2d?
    }

    struct UpBlock: Sendable {
        let resnets: [ResNetBlock]
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

    /// Loads the network from a source scoped to the checkpoint's `decoder`.
    init(_ source: some TensorSource, preset p: UViTPreset, channels: Int, conditionChannels: Int) throws(WeightError) {
        preset = p
        self.channels = channels
        let c0 = p.blockOutChannels[0], e = p.timeEmbeddingWidth, patch = p.patchSize
        let groups = p.normGroups, eps = p.normEps
        let inWeight = try source.tensor("conv_in.weight", shape: [c0, channels, patch, patch])
        convIn = Conv2d(weight: inWeight.reshaped([c0, channels * patch * patch, 1, 1]),
                        bias: try source.tensor("conv_in.bias", shape: [c0]), stride: 1, padding: 0, precision: source.precision)
        timeLinear1 = try Linear(source.scoped("time_embedding.linear_1"), inputs: c0, outputs: e, bias: true)
        timeLinear2 = try Linear(source.scoped("time_embedding.linear_2"), inputs: e, outputs: e, bias: true)

        let n = p.blockOutChannels.count
        var downs: [DownBlock] = []
        var output = c0
        for i in 0..<n {
            let input = output
            output = p.blockOutChannels[i]
            var resnets: [ResNetBlock] = []
            for j in 0..<p.layersPerBlock[i] {
                resnets.append(try ResNetBlock(source.scoped("down_blocks.\(i).resnets.\(j)"), keys: .diffusers, inputs: j == 0 ? input : output,
                                               outputs: output, embeddingDim: e, groups: groups, eps: eps))
            }
            let down = i == n - 1 ? nil
                : try Conv2d(source.scoped("down_blocks.\(i).downsamplers.0.conv"), inputs: output, outputs: output, kernel: 3,
                             stride: 2, padding: 1)
            downs.append(DownBlock(resnets: resnets, downsampler: down))
        }
        downBlocks = downs
        let midChannels = p.blockOutChannels[n - 1]
        if p.downsampleBeforeMid {
            // diffusers' Downsample2D registers one conv under two names (spec 1.4): the state
            // dict holds `conv` and `Conv2d_0` with equal values. Accept either; require equality.
            let names = ["downsample_mid.conv", "downsample_mid.Conv2d_0"].map { source.scoped($0) }
            let present = names.filter { $0.contains("weight") }
            let primary = present.first ?? names[0]
            let conv = try Conv2d(primary, inputs: midChannels, outputs: midChannels, kernel: 3, stride: 2, padding: 1)
            for alias in present.dropFirst() {
                let other = try Conv2d(alias, inputs: midChannels, outputs: midChannels, kernel: 3, stride: 2, padding: 1)
                if conv.weight != other.weight {
                    throw WeightError.tiedTensorsDiffer(file: source.name, first: primary.key("weight"), second: alias.key("weight"))
                }
                if conv.bias != other.bias {
                    throw WeightError.tiedTensorsDiffer(file: source.name, first: primary.key("bias"), second: alias.key("bias"))
                }
            }
            downsampleMid = conv
            upsampleMid = Upsample2x(conv: try Conv2d(source.scoped("upsample_mid.conv"), inputs: midChannels, outputs: midChannels,
                                                      kernel: 3, padding: 1))
        } else {
            downsampleMid = nil
            upsampleMid = nil
        }
        midBlock = try UViTMidBlock(source.scoped("mid_block"), preset: p, unetChannels: midChannels, conditionChannels: conditionChannels)

        let reversedChannels = Array(p.blockOutChannels.reversed())
        let reversedLayers = Array(p.layersPerBlock.reversed())
        var ups: [UpBlock] = []
        output = reversedChannels[0]
        for i in 0..<n {
            let previous = output
            output = reversedChannels[i]
            let input = reversedChannels[min(i + 1, n - 1)]
            let count = reversedLayers[i] + 1
            var resnets: [ResNetBlock] = []
            for j in 0..<count {
                let skip = j == count - 1 ? input : output
                let resIn = j == 0 ? previous : output
                resnets.append(try ResNetBlock(source.scoped("up_blocks.\(i).resnets.\(j)"), keys: .diffusers, inputs: resIn + skip,
                                               outputs: output, embeddingDim: e, groups: groups, eps: eps))
            }
            let up = i == n - 1 ? nil
                : Upsample2x(conv: try Conv2d(source.scoped("up_blocks.\(i).upsamplers.0.conv"), inputs: output, outputs: output,
                                              kernel: 3, padding: 1))
            ups.append(UpBlock(resnets: resnets, upsampler: up))
        }
        upBlocks = ups
        normOut = try GroupNorm(source.scoped("conv_norm_out"), channels: c0, groups: groups, eps: eps)
        convOutWeight = try source.tensor("conv_out.weight", shape: [c0, channels, patch, patch])
        convOutBias = try source.tensor("conv_out.bias", shape: [channels])
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
