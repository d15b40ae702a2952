import FourMTensor

/// A VQ-VAE image tokenizer of 4M (`VQVAE` in the reference): images, label maps, feature maps or
/// global feature vectors to discrete token ids and back (spec/tokenizers.md 2–4, 6).
///
/// Covers the ViT tokenizers (semantic segmentation, CLIP / DINOv2 / ImageBind feature maps,
/// SAM instances with the ConvNeXt head) and the MLP + Memcodes tokenizers (DINOv2 / ImageBind
/// global, human poses). DiVAE checkpoints (diffusion decoders) are rejected at load.
///
/// ```swift
/// let tokenizer = try VQImageTokenizer(path: "4M_tokenizers_CLIP-B16_8k_224-448.safetensors")
/// let ids = try tokenizer.encode(features)        // [B, 14, 14] for a [B, 512, 14, 14] input
/// let reconstruction = try tokenizer.decode(ids: ids)
/// ```
///
/// Preset names: checkpoints store `enc_type` / `dec_type` names, not head counts. The release
/// presets (`vit_b_enc`, …) are built in; register others with ``VQPresets/register(_:as:)`` or
/// pass them to ``init(path:presets:)``.
public struct VQImageTokenizer: Sendable {
    enum Decoder: Sendable {
        case vit(ViTDecoder)
        case mlp(BottleneckMLP)
    }

    /// The checkpoint configuration.
    public let configuration: VQConfiguration
    package let stack: VQEncoderStack
    /// `post_quant_proj` (1×1 conv) as a Linear `[decoder width, latent]`.
    package let postQuantProjection: Linear
    let decoder: Decoder

    /// Loads a tokenizer checkpoint (safetensors with the constructor config in its metadata).
    /// - Parameters:
    ///   - path: the `.safetensors` file.
    ///   - presets: ViT presets by `enc_type` / `dec_type` name, consulted before ``VQPresets``.
    /// - Throws: `VQTokenizerError`: `.weights` (unreadable file, missing tensor, a tensor whose
    ///   shape disagrees with the configuration, unused tensors), `.invalidConfiguration`,
    ///   `.unsupported` (unknown `quant_type`, `enc_type` or `dec_type`; a DiVAE checkpoint).
    public init(path: String, presets: [String: VQViTPreset] = [:]) throws(VQTokenizerError) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .weights(error) }
        try self.init(file: file, presets: presets)
    }

    /// Loads a tokenizer from an already opened checkpoint (the header is not read again).
    /// - Parameters:
    ///   - file: the opened `.safetensors` file.
    ///   - presets: ViT presets by `enc_type` / `dec_type` name, consulted before ``VQPresets``.
    /// - Throws: as ``init(path:presets:)``.
    public init(file: SafeTensorsFile, presets: [String: VQViTPreset] = [:]) throws(VQTokenizerError) {
        let path = file.path
        let c = try VQConfiguration(metadata: file.metadata, file: path)
        if c.isDiffusion {
            throw .unsupported(
                file: path, key: "dec_type", value: c.decoderType,
                hint: "this is a DiVAE (diffusion decoder) checkpoint; VQImageTokenizer runs ViT and MLP decoders")
        }
        let decoderArchitecture = try VQEncoderStack.architecture(c.decoderType, key: "dec_type", file: path, presets: presets)
        if case .vit = decoderArchitecture {
            try VQEncoderStack.checkGrid(c.imageSizeDecoder, patch: c.patchSizeDecoder, key: "image_size_dec", file: path)
        }
        let store = WeightStore(file)
        let stack = try VQEncoderStack(store, configuration: c, presets: presets)
        do throws(WeightError) {
            let decoderWidth: Int
            switch decoderArchitecture {
            case .vit(let preset):
                decoder = .vit(try ViTDecoder(
                    store, prefix: "decoder", preset: preset, outputChannels: c.outputChannels, patchSize: c.patchSizeDecoder,
                    resolution: c.imageSizeDecoder, patchProjection: c.patchProjection, postMLP: c.postMLP, outConv: c.outConv))
                decoderWidth = preset.dim
            case .mlp(let architecture):
                let mlp = try BottleneckMLP(store, prefix: "decoder", architecture: architecture, inputDim: nil, outputDim: c.outputChannels)
                decoder = .mlp(mlp)
                decoderWidth = mlp.inputDim
            }
            postQuantProjection = try vqPointwiseConv(store, "post_quant_proj", inputs: c.latentDim, outputs: decoderWidth)
            try store.finish()
        } catch {
            throw .weights(error)
        }
        configuration = c
        self.stack = stack
    }

    /// Codes per codebook: ids lie in `0..<codebookSize`.
    public var codebookSize: Int { configuration.codebookSize }

    /// Ids per grid position: `num_codebooks` (Memcodes heads; 1 for the ViT tokenizers).
    public var codebookCount: Int { stack.heads }

    // MARK: - Encoding

    /// Tokenizes an image, feature map or global feature vector (`tokenize` in the reference).
    /// - Parameter image: `[B, n_channels, H, W]` (`H`, `W` multiples of `patch_size` for patch
    ///   tokenizers; a feature grid otherwise); `[B, n_channels]` is accepted for MLP tokenizers.
    /// - Returns: ids `[B, h, w]` (one codebook) or `[B, heads, h, w]` (Memcodes: `[B, heads, 1, 1]`).
    /// - Throws: `.invalidInput` for a shape the encoder cannot take or a label tokenizer.
    public func encode(_ image: Tensor<Float>) throws(VQTokenizerError) -> Tensor<Int32> {
        try encodeTrace(image).quantization.ids
    }

    /// Tokenizes a semantic-segmentation label map.
    /// - Parameter labels: `[B, H, W]` class indices in `0..<n_labels`.
    /// - Returns: ids `[B, h, w]`.
    /// - Throws: `.invalidInput` (no `n_labels`, bad shape), `.labelOutOfRange`.
    public func encode(labels: Tensor<Int32>) throws(VQTokenizerError) -> Tensor<Int32> {
        try encodeTrace(labels: labels).quantization.ids
    }

    /// The latents fed to the quantizer (`quant_proj` output).
    /// - Parameter image: as for ``encode(_:)``.
    /// - Returns: `[B, latent_dim, h, w]`.
    /// - Throws: as ``encode(_:)``.
    public func latents(_ image: Tensor<Float>) throws(VQTokenizerError) -> Tensor<Float> {
        stack.latents(stack.encoderFeatures(prepared: try stack.prepare(image: image))).nchw
    }

    /// The latents of a label map.
    /// - Parameter labels: `[B, H, W]`.
    /// - Returns: `[B, latent_dim, h, w]`.
    /// - Throws: as ``encode(labels:)``.
    public func latents(labels: Tensor<Int32>) throws(VQTokenizerError) -> Tensor<Float> {
        stack.latents(stack.encoderFeatures(prepared: try stack.prepare(labels: labels))).nchw
    }

    /// Every encoding stage of an image (encoder output, latents, quantization).
    /// - Parameter image: as for ``encode(_:)``.
    /// - Returns: the stages, NCHW.
    /// - Throws: as ``encode(_:)``.
    @_spi(Parity) public func encodeTrace(_ image: Tensor<Float>) throws(VQTokenizerError) -> VQEncodeTrace {
        trace(prepared: try stack.prepare(image: image))
    }

    /// Every encoding stage of a label map.
    /// - Parameter labels: `[B, H, W]`.
    /// - Returns: the stages, NCHW.
    /// - Throws: as ``encode(labels:)``.
    @_spi(Parity) public func encodeTrace(labels: Tensor<Int32>) throws(VQTokenizerError) -> VQEncodeTrace {
        trace(prepared: try stack.prepare(labels: labels))
    }

    private func trace(prepared: Tensor<Float>) -> VQEncodeTrace {
        let features = stack.encoderFeatures(prepared: prepared)
        let latents = stack.latents(features)
        let (quantized, ids, scores) = stack.quantize(latents)
        return VQEncodeTrace(
            encoderFeatures: features.nchw, latents: latents.nchw,
            quantization: VQQuantization(quantized: quantized.nchw, ids: ids), memcodesScores: scores)
    }

    /// Quantizes latents (the quantizer alone).
    /// - Parameter latents: `[B, latent_dim, h, w]`.
    /// - Returns: code vectors `[B, latent_dim, h, w]` and ids.
    /// - Throws: `.invalidInput` when the channel count is not `latent_dim`.
    public func quantize(_ latents: Tensor<Float>) throws(VQTokenizerError) -> VQQuantization {
        try vqValidateLatentMap(latents, channels: configuration.latentDim, argument: "latents")
        let (quantized, ids, _) = stack.quantize(TokenGrid(nchw: latents))
        return VQQuantization(quantized: quantized.nchw, ids: ids)
    }

    // MARK: - Decoding

    /// The code vectors of token ids (`tokens_to_embedding`): raw codebook rows for the lucid
    /// quantizer (without its `project_out`), per-head values for Memcodes.
    /// - Parameter ids: `[B, h, w]`; for Memcodes `[B, heads, h, w]` or the flattened `[B, heads]`.
    /// - Returns: `[B, latent_dim, h, w]`.
    /// - Throws: `.invalidInput` for another layout, `.idOutOfRange` for an id outside the codebook.
    public func codebookVectors(ids: Tensor<Int32>) throws(VQTokenizerError) -> Tensor<Float> {
        try stack.codebookVectors(ids: ids).nchw
    }

    /// Decodes token ids (`decode_tokens`): codebook lookup, `post_quant_proj`, decoder.
    /// - Parameter ids: as for ``codebookVectors(ids:)``.
    /// - Returns: `[B, C_out, H, W]` (`C_out` = `n_labels` logits for segmentation); for MLP
    ///   tokenizers `[B, n_channels, 1, 1]`.
    /// - Throws: `.invalidInput`, `.idOutOfRange`.
    public func decode(ids: Tensor<Int32>) throws(VQTokenizerError) -> Tensor<Float> {
        decodeStages(try stack.codebookVectors(ids: ids)).output
    }

    /// Decodes quantized latents (`decode_quant`).
    /// - Parameter quantized: `[B, latent_dim, h, w]`.
    /// - Returns: as ``decode(ids:)``.
    /// - Throws: `.invalidInput` when the channel count is not `latent_dim`.
    public func decode(quantized: Tensor<Float>) throws(VQTokenizerError) -> Tensor<Float> {
        try decodeTrace(quantized: quantized).output
    }

    /// Every decoding stage of quantized latents.
    /// - Parameter quantized: `[B, latent_dim, h, w]`.
    /// - Returns: the decoder output and, for ViT decoders, the map before the ConvNeXt head and
    ///   after each ConvNeXt block.
    /// - Throws: `.invalidInput` when the channel count is not `latent_dim`.
    @_spi(Parity) public func decodeTrace(quantized: Tensor<Float>) throws(VQTokenizerError) -> VQDecodeTrace {
        try vqValidateLatentMap(quantized, channels: configuration.latentDim, argument: "quantized")
        return decodeStages(TokenGrid(nchw: quantized))
    }

    private func decodeStages(_ quantized: TokenGrid) -> VQDecodeTrace {
        let hidden = quantized.with(tokens: postQuantProjection(quantized.tokens))
        switch decoder {
        case .vit(let vit):
            let out = vit(hidden)
            return VQDecodeTrace(output: out.output, beforeOutConv: out.beforeOutConv, outConvStages: out.outConvStages)
        case .mlp(let mlp):
            let output = hidden.with(tokens: mlp(hidden.tokens)).nchw
            return VQDecodeTrace(output: output, beforeOutConv: output, outConvStages: [])
        }
    }
}

/// The encoding stages of one ``VQImageTokenizer`` call, NCHW (the reference's tensors).
@_spi(Parity) public struct VQEncodeTrace: Sendable {
    /// Encoder output before `quant_proj`, `[B, encoder width, h, w]`.
    public var encoderFeatures: Tensor<Float>
    /// `quant_proj` output, `[B, latent_dim, h, w]`.
    public var latents: Tensor<Float>
    /// Quantized latents and ids.
    public var quantization: VQQuantization
    /// Memcodes scores `(q·d^-0.5)·key` per head and code, `[B, heads, h·w, codebookSize]`;
    /// nil for the lucid quantizer.
    public var memcodesScores: Tensor<Float>?
}

/// The decoding stages of one ``VQImageTokenizer`` call.
@_spi(Parity) public struct VQDecodeTrace: Sendable {
    /// The decoder output `[B, C_out, H, W]`.
    public var output: Tensor<Float>
    /// The decoder output before the ConvNeXt head (`out_conv`); equals `output` without one.
    public var beforeOutConv: Tensor<Float>
    /// The output of each ConvNeXt block, in order (empty without `out_conv`).
    public var outConvStages: [Tensor<Float>]
}
