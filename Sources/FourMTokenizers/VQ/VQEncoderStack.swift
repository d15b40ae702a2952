import FourMTensor

/// The encoding half shared by every VQ tokenizer (`VQ` in the reference): input preparation,
/// encoder, `quant_proj` and quantizer, spec/tokenizers.md 2 (`VQ encode`).
///
/// ``VQImageTokenizer`` adds `post_quant_proj` and a ViT/MLP decoder; a DiVAE wrapper reuses
/// this type unchanged and adds its diffusion decoder (DiVAE has no `post_quant_proj`). The
/// initializer takes only the keys of this half from the store; the caller finishes the store.
package struct VQEncoderStack: Sendable {
    package enum Encoder: Sendable {
        case vit(ViTEncoder)
        case mlp(BottleneckMLP)
    }

    package enum Quantizer: Sendable {
        case lucid(LucidQuantizer)
        case memcodes(MemcodesQuantizer)
    }

    package let configuration: VQConfiguration
    package let file: String
    /// `cls_emb.weight` `[n_labels, n_channels]` of a semantic-segmentation tokenizer.
    package let classEmbedding: Tensor<Float>?
    package let encoder: Encoder
    /// `quant_proj` (1×1 conv) as a Linear `[latent, encoder width]`.
    package let quantProjection: Linear
    package let quantizer: Quantizer

    /// Builds the encoding half from `store`.
    /// - Parameters:
    ///   - presets: ViT presets that take precedence over ``VQPresets``.
    /// - Throws: `.unsupported` for an unknown `enc_type`, `.invalidConfiguration` for
    ///   inconsistent sizes, `.weights` for missing tensors or shapes that disagree with the
    ///   configuration.
    package init(_ store: WeightStore, configuration c: VQConfiguration, presets: [String: VQViTPreset] = [:]) throws(VQTokenizerError) {
        let file = store.file.path
        configuration = c
        self.file = file
        if c.undoStandardization && c.channels != 3 {
            throw .invalidConfiguration(file: file, key: "undo_std", expected: "False unless n_channels is 3 (ImageNet mean/std have 3 channels)", actual: "True with n_channels \(c.channels)")
        }
        let architecture = try VQEncoderStack.architecture(c.encoderType, key: "enc_type", file: file, presets: presets)
        if case .vit = architecture {
            try VQEncoderStack.checkGrid(c.imageSizeEncoder, patch: c.patchSize, key: "image_size_enc", file: file)
        }
        do throws(WeightError) {
            if let labels = c.labels {
                classEmbedding = try store.tensor("cls_emb.weight", shape: [labels, c.channels])
            } else {
                classEmbedding = nil
            }
            let encoderWidth: Int
            switch architecture {
            case .vit(let preset):
                encoder = .vit(try ViTEncoder(
                    store, prefix: "encoder", preset: preset, inputChannels: c.channels, patchSize: c.patchSize,
                    resolution: c.imageSizeEncoder, patchProjection: c.patchProjection, postMLP: c.postMLP))
                encoderWidth = preset.dim
            case .mlp(let mlpArchitecture):
                let mlp = try BottleneckMLP(store, prefix: "encoder", architecture: mlpArchitecture, inputDim: c.channels, outputDim: nil)
                encoder = .mlp(mlp)
                encoderWidth = mlp.outputDim
            }
            quantProjection = try vqPointwiseConv(store, "quant_proj", inputs: encoderWidth, outputs: c.latentDim)
            switch c.quantizerType {
            case .lucid:
                quantizer = .lucid(try LucidQuantizer(
                    store, prefix: "quantize", dim: c.latentDim, codebookSize: c.codebookSize, codebookDim: c.latentDim,
                    heads: c.codebookCount, cosine: c.normalizeCodes, normalizeLatents: c.normalizeLatents))
            case .memcodes:
                quantizer = .memcodes(try MemcodesQuantizer(
                    store, prefix: "quantize", dim: c.latentDim, codebookSize: c.codebookSize, heads: c.codebookCount))
            }
        } catch {
            throw .weights(error)
        }
    }

    /// A resolved `enc_type` / `dec_type`.
    package enum Architecture: Sendable, Equatable {
        case vit(VQViTPreset)
        case mlp(MLPArchitecture)
    }

    /// Resolves an `enc_type` / `dec_type` the way the reference does (`'vit' in name` → a ViT
    /// preset, `'MLP' in name` → an MLP id).
    /// - Throws: `.unsupported` for an unknown name, `.invalidConfiguration` for a preset whose
    ///   width does not fit its heads or the sin-cos table.
    package static func architecture(
        _ name: String, key: String, file: String, presets: [String: VQViTPreset]
    ) throws(VQTokenizerError) -> Architecture {
        if name.contains("vit") {
            guard let preset = presets[name] ?? VQPresets.vit(named: name) else {
                throw .unsupported(
                    file: file, key: key, value: name,
                    hint: "unknown ViT preset; known: \(VQPresets.release.keys.sorted().joined(separator: ", ")); register others with VQPresets.register(_:as:)")
            }
            guard preset.dim > 0, preset.heads > 0, preset.dim % preset.heads == 0, preset.dim % 4 == 0,
                preset.depth >= 0, preset.mlpHidden > 0
            else {
                throw .invalidConfiguration(
                    file: file, key: key, expected: "a preset with dim divisible by its heads and by 4",
                    actual: "dim \(preset.dim), heads \(preset.heads), depth \(preset.depth)")
            }
            return .vit(preset)
        }
        if name.contains("MLP") {
            guard let architecture = MLPArchitecture(name) else {
                throw .unsupported(file: file, key: key, value: name, hint: "expected BottleneckMLP/B_<blocks>-Wi_<width>[-X_<expansion>] or MLP/…")
            }
            return .mlp(architecture)
        }
        throw .unsupported(file: file, key: key, value: name, hint: "supported: ViT presets (vit_b_enc, …) and BottleneckMLP/…")
    }

    /// The reference asserts that the stored position grid is whole.
    static func checkGrid(_ size: Int, patch: Int, key: String, file: String) throws(VQTokenizerError) {
        guard size % patch == 0 else {
            throw .invalidConfiguration(file: file, key: key, expected: "a multiple of the patch size \(patch)", actual: String(size))
        }
    }

    /// The number of ids per position: `num_codebooks`.
    package var heads: Int {
        switch quantizer {
        case .lucid(let q): return q.heads
        case .memcodes(let q): return q.heads
        }
    }

    package var codebookSize: Int { configuration.codebookSize }

    // MARK: - Stages

    /// `prepare_input` for an image or feature map: shape checks, then `undo_std` if configured.
    /// - Throws: `.invalidInput` for a label tokenizer or a shape the encoder cannot take.
    package func prepare(image: Tensor<Float>) throws(VQTokenizerError) -> Tensor<Float> {
        if let labels = configuration.labels {
            throw .invalidInput(argument: "image", expected: "a label map through encode(labels:) (this tokenizer has n_labels \(labels))", actual: "a float tensor \(image.shape)")
        }
        var x = image
        switch encoder {
        case .vit(let vit):
            try vit.validate(x)
        case .mlp:
            if x.rank == 2 { x = x.reshaped([x.shape[0], x.shape[1], 1, 1]) }
            guard x.rank == 4, x.shape[0] > 0, x.shape[1] == configuration.channels, x.shape[2] > 0, x.shape[3] > 0 else {
                throw .invalidInput(
                    argument: "image", expected: "[B, \(configuration.channels), H, W] or [B, \(configuration.channels)] with B ≥ 1",
                    actual: "shape \(image.shape)")
            }
        }
        if configuration.undoStandardization {
            // 2·(x·std + mean) − 1 with the ImageNet constants, in the reference's order.
            let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
            let (batch, plane) = (x.shape[0], x.shape[2] * x.shape[3])
            x.withUnsafeMutableBufferPointer { p in
                channelAffineKernel(p.baseAddress!, scale: std, shift: mean, batch: batch, channels: 3, plane: plane)
                channelAffineKernel(p.baseAddress!, scale: [2, 2, 2], shift: [-1, -1, -1], batch: batch, channels: 3, plane: plane)
            }
        }
        return x
    }

    /// `prepare_input` for a semantic-segmentation label map `[B, H, W]`: `cls_emb[x]` as
    /// `[B, n_channels, H, W]`.
    /// - Throws: `.invalidInput` when the tokenizer has no `cls_emb` or the shape does not fit,
    ///   `.labelOutOfRange` for a label outside `0..<n_labels`.
    package func prepare(labels: Tensor<Int32>) throws(VQTokenizerError) -> Tensor<Float> {
        guard let classEmbedding, let labelCount = configuration.labels else {
            throw .invalidInput(argument: "labels", expected: "an image through encode(_:) (this tokenizer has no n_labels)", actual: "a label map \(labels.shape)")
        }
        let patch = configuration.patchProjection ? configuration.patchSize : 1
        guard labels.rank == 3, labels.shape.allSatisfy({ $0 > 0 }), labels.shape[1] % patch == 0, labels.shape[2] % patch == 0 else {
            throw .invalidInput(
                argument: "labels", expected: "a label map [B, H, W] with B ≥ 1 and H, W positive multiples of \(patch)",
                actual: "shape \(labels.shape)")
        }
        let bad: Int32? = labels.withUnsafeBufferPointer { buffer in
            vqFirstOutOfRange(buffer.baseAddress!, count: buffer.count, upperBound: labelCount).map { buffer[$0] }
        }
        if let bad { throw .labelOutOfRange(label: bad, labelCount: labelCount) }
        let (batch, height, width) = (labels.shape[0], labels.shape[1], labels.shape[2])
        let embedded = classEmbedding.gatherRows(labels.reshaped([batch, height * width]))
        let x = TokenGrid(tokens: embedded, height: height, width: width).nchw
        if case .vit(let vit) = encoder { try vit.validate(x, argument: "labels") }
        return x
    }

    /// Encoder output on a prepared input → `[B, h·w, width]`.
    package func encoderFeatures(prepared x: Tensor<Float>) -> TokenGrid {
        switch encoder {
        case .vit(let vit):
            return vit(x)
        case .mlp(let mlp):
            let pixels = TokenGrid(nchw: x)
            return pixels.with(tokens: mlp(pixels.tokens))
        }
    }

    /// `quant_proj` → `[B, h·w, latent]`.
    package func latents(_ features: TokenGrid) -> TokenGrid {
        features.with(tokens: quantProjection(features.tokens))
    }

    /// The quantizer on a latent grid: quantized grid, ids in the reference layout, and the
    /// Memcodes scores `[B, heads, h·w, K]` (nil for lucid).
    package func quantize(_ latents: TokenGrid) -> (quantized: TokenGrid, ids: Tensor<Int32>, scores: Tensor<Float>?) {
        switch quantizer {
        case .lucid(let q):
            let (quantized, ids) = q.quantize(latents)
            return (quantized, ids, nil)
        case .memcodes(let q):
            let (quantized, ids, scores) = q.quantize(latents)
            return (quantized, ids, scores)
        }
    }

    /// `tokens_to_embedding`: the code vectors of ids, WITHOUT the lucid `project_out`
    /// (spec 4.2; fixture README "Reference behaviours").
    /// - Parameter ids: `[B, h, w]` for a one-head lucid quantizer; `[B, heads, h, w]` or
    ///   `[B, heads]` for Memcodes (`[B, h, w]` with one head).
    /// - Returns: `[B, h·w, latent]`.
    /// - Throws: `.invalidInput` for another layout, `.idOutOfRange` for a bad id.
    package func codebookVectors(ids: Tensor<Int32>) throws(VQTokenizerError) -> TokenGrid {
        switch quantizer {
        case .lucid(let q):
            guard q.heads == 1 else {
                throw .invalidInput(
                    argument: "ids", expected: "ids of a one-codebook lucid tokenizer (decode_tokens of the reference does not support num_codebooks \(q.heads))",
                    actual: "shape \(ids.shape)")
            }
            guard ids.rank == 3, ids.shape.allSatisfy({ $0 > 0 }) else {
                throw .invalidInput(argument: "ids", expected: "[B, h, w] with B, h, w ≥ 1", actual: "shape \(ids.shape)")
            }
            let (batch, height, width) = (ids.shape[0], ids.shape[1], ids.shape[2])
            let vectors = try q.codebookVectors(ids: ids).reshaped([batch, height * width, q.codebookDim])
            return TokenGrid(tokens: vectors, height: height, width: width)
        case .memcodes(let q):
            return try q.codebookVectors(ids: ids)
        }
    }
}
