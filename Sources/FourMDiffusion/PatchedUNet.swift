import FourMTensor

/// Guided-diffusion `AttentionBlock` with the legacy QKV order (spec/tokenizers.md 5.5), keys
/// `…{j}.1.{norm, qkv, proj_out}`. The `qkv` rows are reordered once at load from the legacy
/// `[head][q|k|v][ch]` layout to `[q|k|v][head][ch]`, so one fused projection feeds the
/// shared multi-head attention (scale `ch^-1/2`, the reference's symmetric `ch^-1/4` split).
struct UNetAttentionBlock: Sendable {
    let norm: GroupNorm
    let qkv: Linear
    let proj: Linear
    let heads: Int

    init(_ source: some TensorSource, channels: Int, heads: Int) throws(WeightError) {
        norm = try GroupNorm(source.scoped("norm"), channels: channels)
        var weight = try source.tensor("qkv.weight", shape: [3 * channels, channels, 1]).reshaped([3 * channels, channels])
        var bias = try source.tensor("qkv.bias", shape: [3 * channels])
        if heads > 1 {
            let ch = channels / heads
            var order = [Int32](repeating: 0, count: 3 * channels)
            for part in 0..<3 {
                for head in 0..<heads {
                    for i in 0..<ch { order[part * channels + head * ch + i] = Int32(head * 3 * ch + part * ch + i) }
                }
            }
            let index = Tensor<Int32>(shape: [3 * channels], scalars: order)
            weight = weight.gatherRows(index)
            bias = bias.reshaped([3 * channels, 1]).gatherRows(index).reshaped([3 * channels])
        }
        qkv = Linear(weight: weight, bias: bias, precision: source.precision)
        proj = Linear(
            weight: try source.tensor("proj_out.weight", shape: [channels, channels, 1]).reshaped([channels, channels]),
            bias: try source.tensor("proj_out.bias", shape: [channels]), precision: source.precision)
        self.heads = heads
    }

    /// x: `[B, C, h, w]` → `x + proj(attention(qkv(GN(x))))`.
    func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        let (b, c) = (x.shape[0], x.shape[1])
        let tokens = norm(x, silu: false).reshaped([b, c, -1]).transposedLastTwo()  // [B, T, C]
        let parts = splitColumns(qkv(tokens), parts: 3)
        let mixed = attention(q: parts[0], k: parts[1], v: parts[2], heads: heads)
        return x + proj(mixed).transposedLastTwo().reshaped(x.shape)
    }
}

/// One layer of a `TimestepEmbedSequential` of the UNet.
enum UNetLayer: Sendable {
    case conv(Conv2d)
    case residual(ResNetBlock)
    case attention(UNetAttentionBlock)
    case upsample(Upsample2x)

    func callAsFunction(_ x: Tensor<Float>, activatedEmbedding: Tensor<Float>, _ scratch: ConvolutionScratch) -> Tensor<Float> {
        switch self {
        case .conv(let conv): return conv(x, scratch)
        case .residual(let block): return block(x, activatedEmbedding: activatedEmbedding, scratch)
        case .attention(let block): return block(x)
        case .upsample(let up): return up(x, scratch)
        }
    }
}

/// ml-4m `PatchedUNetCondCat` (spec/tokenizers.md 5.5), loaded from `decoder.*`.
///
/// Patchify (P×P space-to-depth) → concatenate the nearest-upsampled condition → guided-diffusion
/// UNet on the patch grid → unpatchify. The block list follows `UNetModel.__init__` for the
/// preset's `channel_mult`, `num_res_blocks` and `attention_resolutions`.
struct PatchedUNet: Sendable {
    let preset: PatchedUNetPreset
    let channels: Int
    let conditionChannels: Int
    let timeEmbed0: Linear
    let timeEmbed2: Linear
    let inputBlocks: [[UNetLayer]]
    let middleBlock: [UNetLayer]
    let outputBlocks: [[UNetLayer]]
    let outNorm: GroupNorm
    let outConv: Conv2d

    /// Loads the network from a source scoped to the checkpoint's `decoder`.
    init(_ source: some TensorSource, preset p: PatchedUNetPreset, channels: Int, conditionChannels: Int) throws(WeightError) {
        preset = p
        self.channels = channels
        self.conditionChannels = conditionChannels
        let mc = p.modelChannels
        let embeddingDim = 4 * mc
        let patchArea = p.patchSize * p.patchSize
        timeEmbed0 = try Linear(source.scoped("time_embed.0"), inputs: mc, outputs: embeddingDim, bias: true)
        timeEmbed2 = try Linear(source.scoped("time_embed.2"), inputs: embeddingDim, outputs: embeddingDim, bias: true)
        func residual(_ at: String, inputs: Int, outputs: Int) throws(WeightError) -> UNetLayer {
            .residual(try ResNetBlock(source.scoped(at), keys: .guidedDiffusion, inputs: inputs, outputs: outputs, embeddingDim: embeddingDim))
        }
        func attention(_ at: String, channels: Int) throws(WeightError) -> UNetLayer {
            .attention(try UNetAttentionBlock(source.scoped(at), channels: channels, heads: p.heads(channels: channels)))
        }

        var ch = p.channelMult[0] * mc
        let inputChannels = ch
        var input: [[UNetLayer]] = [[.conv(try Conv2d(source.scoped("input_blocks.0.0"), inputs: channels * patchArea + conditionChannels,
                                                        outputs: ch, kernel: 3, padding: 1))]]
        var stackChannels = [ch]
        var ds = 1
        for (level, mult) in p.channelMult.enumerated() {
            for _ in 0..<p.numResBlocks {
                let at = "input_blocks.\(input.count)"
                var layers: [UNetLayer] = [try residual("\(at).0", inputs: ch, outputs: mult * mc)]
                ch = mult * mc
                if p.attentionResolutions.contains(ds) { layers.append(try attention("\(at).1", channels: ch)) }
                input.append(layers)
                stackChannels.append(ch)
            }
            if level != p.channelMult.count - 1 {
                input.append([.conv(try Conv2d(source.scoped("input_blocks.\(input.count).0.op"), inputs: ch, outputs: ch, kernel: 3, stride: 2,
                                               padding: 1))])
                stackChannels.append(ch)
                ds *= 2
            }
        }
        inputBlocks = input
        middleBlock = [
            try residual("middle_block.0", inputs: ch, outputs: ch),
            try attention("middle_block.1", channels: ch),
            try residual("middle_block.2", inputs: ch, outputs: ch),
        ]
        var output: [[UNetLayer]] = []
        for (level, mult) in p.channelMult.enumerated().reversed() {
            for i in 0...p.numResBlocks {
                let at = "output_blocks.\(output.count)"
                let skipChannels = stackChannels.removeLast()
                var layers: [UNetLayer] = [try residual("\(at).0", inputs: ch + skipChannels, outputs: mc * mult)]
                ch = mc * mult
                if p.attentionResolutions.contains(ds) { layers.append(try attention("\(at).1", channels: ch)) }
                if level > 0 && i == p.numResBlocks {
                    let conv = try Conv2d(source.scoped("\(at).\(layers.count).conv"), inputs: ch, outputs: ch, kernel: 3, padding: 1)
                    layers.append(.upsample(Upsample2x(conv: conv)))
                    ds /= 2
                }
                output.append(layers)
            }
        }
        outputBlocks = output
        outNorm = try GroupNorm(source.scoped("out.0"), channels: ch)
        outConv = try Conv2d(source.scoped("out.2"), inputs: inputChannels, outputs: channels * patchArea, kernel: 3, padding: 1)
    }

    /// The factor image sides must be multiples of: `P · 2^(levels − 1)`.
    var sideMultiple: Int { preset.patchSize << (preset.channelMult.count - 1) }

    /// The condition's resolution the network works at, for an image of `height × width`.
    func conditionGrid(height: Int, width: Int) -> (Int, Int) { (height / preset.patchSize, width / preset.patchSize) }

    /// One denoiser call (spec/tokenizers.md 5.5): sample `[B, C, H, W]`, condition
    /// `[B, latent, h, w]` → `[B, C, H, W]`.
    func callAsFunction(_ sample: Tensor<Float>, timestep: Int, condition: Tensor<Float>) -> Tensor<Float> {
        let scratch = ConvolutionScratch()
        let (gridH, gridW) = conditionGrid(height: sample.shape[2], width: sample.shape[3])
        var h = Tensor.concatenatedChannels([
            sample.patchified(preset.patchSize), condition.resizedNearest(height: gridH, width: gridW),
        ])
        let temb = timeEmbed2(silu(timeEmbed0(timestepEmbedding(timestep, dim: preset.modelChannels))))
        let activated = silu(temb)
        var stack: [Tensor<Float>] = []
        stack.reserveCapacity(inputBlocks.count)
        for block in inputBlocks {
            for layer in block { h = layer(h, activatedEmbedding: activated, scratch) }
            stack.append(h)
        }
        for layer in middleBlock { h = layer(h, activatedEmbedding: activated, scratch) }
        for block in outputBlocks {
            h = Tensor.concatenatedChannels([h, stack.removeLast()])
            for layer in block { h = layer(h, activatedEmbedding: activated, scratch) }
        }
        return outConv(outNorm(h, silu: true), scratch).unpatchified(preset.patchSize)
    }
}
