import FourMTensor

/// The configuration of a VQ tokenizer checkpoint, read from its safetensors `__metadata__`
/// (spec/tokenizers.md 1.1–1.3).
///
/// Missing keys take the reference constructor defaults of spec 1.3; keys this port does not
/// need (training settings such as `ema_decay`, `ignore_keys`) are tolerated and ignored.
/// Values are checked when read: a wrong type or an unknown `quant_type` throws naming the key.
public struct VQConfiguration: Sendable, Equatable {
    /// The quantizer family (`quant_type`).
    public enum QuantizerType: String, Sendable, Equatable, CaseIterable {
        /// lucidrains `VectorQuantize`: cosine (`norm_codes`) or Euclidean lookup, spec 4.2.
        case lucid
        /// Memcodes: per-head attention-style lookup, spec 4.3.
        case memcodes
    }

    /// `image_size`: the training resolution.
    public var imageSize: Int
    /// `image_size_enc` (defaults to `image_size`): sets the encoder's stored position grid.
    public var imageSizeEncoder: Int
    /// `image_size_dec` (defaults to `image_size`): sets the decoder's stored position grid.
    public var imageSizeDecoder: Int
    /// `n_channels`: input channels (feature width for feature-map tokenizers).
    public var channels: Int
    /// `n_labels`: number of classes of a semantic-segmentation tokenizer, else nil.
    public var labels: Int?
    /// `enc_type`, e.g. `vit_b_enc` or `BottleneckMLP/B_6-Wi_1024`.
    public var encoderType: String
    /// `dec_type`, e.g. `vit_b_dec`, `BottleneckMLP/B_6-Wi_1024`, `unet_patched`.
    public var decoderType: String
    /// `patch_proj`: patch convolution (true) or 1×1 convolution on a feature map (false).
    public var patchProjection: Bool
    /// `post_mlp`: the tanh MLP after the ViT blocks.
    public var postMLP: Bool
    /// `patch_size`.
    public var patchSize: Int
    /// `patch_size_dec` (defaults to `patch_size`).
    public var patchSizeDecoder: Int
    /// `quant_type`.
    public var quantizerType: QuantizerType
    /// `codebook_size`: codes per codebook.
    public var codebookSize: Int
    /// `num_codebooks`: quantizer heads.
    public var codebookCount: Int
    /// `latent_dim`: width of the quantizer input.
    public var latentDim: Int
    /// `norm_codes`: cosine-similarity lookup (lucid).
    public var normalizeCodes: Bool
    /// `norm_latents`: l2-normalise latents before the lookup (lucid).
    public var normalizeLatents: Bool
    /// `undo_std`: map ImageNet-standardised input back to [-1, 1] first.
    public var undoStandardization: Bool
    /// `out_conv`: two ConvNeXt blocks after the ViT decoder.
    public var outConv: Bool
    /// True for diffusion decoders (`dec_type` naming a UNet or UViT, or a `beta_schedule`
    /// key): the checkpoint is a DiVAE, whose decoder this type does not run.
    public var isDiffusion: Bool

    /// Output channels of the decoder: `n_labels` when set, else `n_channels`.
    public var outputChannels: Int { labels ?? channels }

    /// Reads a configuration from checkpoint metadata.
    /// - Parameters:
    ///   - metadata: the `__metadata__` strings.
    ///   - file: the file name used in error messages.
    /// - Throws: `.invalidConfiguration` for a value of the wrong type or an impossible value,
    ///   `.unsupported` for an unknown `quant_type` or a `codebook_size` given as a string.
    public init(metadata: [String: String], file: String) throws(VQTokenizerError) {
        var m = CheckpointMetadata(metadata, file: file)
        do throws(MetadataError) {
            imageSize = try m.positiveInt("image_size", default: 224)
            imageSizeEncoder = try m.optionalPositiveInt("image_size_enc") ?? imageSize
            imageSizeDecoder = try m.optionalPositiveInt("image_size_dec") ?? imageSize
            channels = try m.positiveInt("n_channels", default: 3)
            labels = try m.optionalPositiveInt("n_labels")
            encoderType = try m.string("enc_type", default: "vit_b_enc")
            isDiffusion = m.contains("beta_schedule")
            let decoderDefault = isDiffusion ? "unet_patched" : "vit_b_dec"
            decoderType = try m.string("dec_type", default: decoderDefault)
            if decoderType.contains("unet_") || decoderType.contains("uvit_") { isDiffusion = true }
            patchProjection = try m.bool("patch_proj", default: true)
            postMLP = try m.bool("post_mlp", default: false)
            patchSize = try m.positiveInt("patch_size", default: 16)
            patchSizeDecoder = try m.optionalPositiveInt("patch_size_dec") ?? patchSize
        } catch {
            throw VQTokenizerError(error)
        }
        let quant: String
        do { quant = try m.string("quant_type", default: "lucid") } catch { throw VQTokenizerError(error) }
        guard let quantizerType = QuantizerType(rawValue: quant) else {
            throw .unsupported(file: file, key: "quant_type", value: quant, hint: "supported: lucid, memcodes")
        }
        self.quantizerType = quantizerType
        switch m["codebook_size"] {
        case .string(let text)?:
            throw .unsupported(file: file, key: "codebook_size", value: text, hint: "only an integer codebook size is supported")
        case .list(let levels)?:
            throw .unsupported(file: file, key: "codebook_size", value: ConfigValue.list(levels).description,
                               hint: "only an integer codebook size is supported")
        default: break
        }
        do throws(MetadataError) {
            codebookSize = try m.positiveInt("codebook_size", default: 16384)
            codebookCount = try m.positiveInt("num_codebooks", default: 1)
            latentDim = try m.positiveInt("latent_dim", default: 32)
            normalizeCodes = try m.bool("norm_codes", default: true)
            normalizeLatents = try m.bool("norm_latents", default: false)
            undoStandardization = try m.bool("undo_std", default: false)
            outConv = try m.bool("out_conv", default: false)
        } catch {
            throw VQTokenizerError(error)
        }
        if quantizerType == .memcodes, latentDim % codebookCount != 0 {
            throw .invalidConfiguration(
                file: file, key: "num_codebooks", expected: "a divisor of latent_dim \(latentDim) (Memcodes heads)",
                actual: String(codebookCount))
        }
    }
}

extension VQTokenizerError {
    /// A metadata value of the wrong type, as a configuration error.
    init(_ error: MetadataError) {
        self = .invalidConfiguration(file: error.file, key: error.key, expected: error.expected, actual: error.actual)
    }
}
