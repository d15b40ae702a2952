import FourMTensor

/// How the token grid or sequence of a modality is laid out (spec/model.md 2.1): what the
/// `@N` suffix of its name means and how many tokens it has.
public enum ModalityLayout: Sendable, Equatable {
    /// `name@N`: an N×N image cut into `patch`-pixel patches, so a grid of `N / patch` per side;
    /// `channels` is the pixel depth of a pixel modality (0 for token grids).
    case grid(patch: Int, channels: Int)
    /// No suffix: `image_size / patch` tokens per side with learned positions (the global
    /// embedding modalities, whose grid follows the config's `image_size`).
    case global(patch: Int)
    /// No suffix: a text-like sequence of `maxTokens` slots, decoder positions clipped at
    /// `maxLength`.
    case sequence(maxTokens: Int, maxLength: Int)
    /// No suffix: `tokens` precomputed vectors of `width` floats (`t5_caption`).
    case embeddings(tokens: Int, width: Int)
}

/// Which tokenizer turns a modality's values into ids and back (spec/tokenizers.md 1).
public enum ModalityTokenizerKind: String, Sendable, Equatable, CaseIterable {
    /// No tokenizer: pixels or precomputed embeddings go straight into the encoder.
    case none
    /// A ViT VQ-VAE (spec/tokenizers.md 3), decoded in one pass.
    case vq
    /// A DiVAE: a VQ encoder with a diffusion decoder (spec/tokenizers.md 5).
    case diffusion
    /// An MLP memcodes tokenizer of a global embedding (spec/tokenizers.md 4).
    case mlpGlobal = "mlp_global"
    /// The WordPiece text tokenizer (spec/tokenizers.md 7).
    case text

    /// True when the tokenizer is a checkpoint of its own next to the model
    /// (``ModalitySpec/tokenizerFolder``), false for none and for the shared text tokenizer.
    public var hasCheckpoint: Bool { self == .vq || self == .diffusion || self == .mlpGlobal }
}

/// The codec that reads a sequence modality's text (spec/tokenizers.md 8).
public enum SequenceCodecKind: String, Sendable, Equatable, CaseIterable {
    /// Free text (`CaptionCodec`).
    case caption
    /// Bounding boxes (`DetectionCodec`).
    case detection
    /// Image metadata bins (`MetadataCodec`).
    case metadata
    /// A colour palette (`ColorPaletteCodec`).
    case colorPalette = "color_palette"
    /// SMPL human poses, whose pose ids go through a pose tokenizer (`HumanPoseCodec`).
    case humanPoses = "human_poses"
    /// SAM instances, whose mask ids go through a mask tokenizer (`SAMInstanceCodec`).
    case samInstances = "sam_instance"
}

/// How a decoded modality is drawn. The drawing functions live with the images
/// (`Visualization`) and switch on this value (spec/tokenizers.md 9).
public enum ModalityRenderer: String, Sendable, Equatable, CaseIterable {
    /// Nothing to draw (pixels in, embeddings in).
    case none
    /// RGB in [-1, 1].
    case rgb
    /// A depth colormap of standardised depth.
    case depth
    /// Surface normals in [-1, 1].
    case normals
    /// An edge map.
    case edges
    /// A semantic segmentation palette of class logits.
    case semanticSegmentation = "semseg"
    /// A PCA picture of a feature map (CLIP, DINOv2, ImageBind).
    case featurePCA = "feature_pca"
    /// A global embedding vector (no picture).
    case embedding
    /// Plain text.
    case text
    /// Boxes drawn over the image.
    case boxes
    /// Metadata as key/value pairs.
    case metadata
    /// Colour swatches.
    case colorPalette = "color_palette"
    /// Human pose skeletons.
    case humanPoses = "human_poses"
    /// SAM instance masks.
    case samInstances = "sam_instance"
}

/// Sampling settings of one generation target as a recipe gives them (spec/generation.md 2.1),
/// spelled with the reference's vocabulary so the table stays free of the sampler's types;
/// `FourM` turns them into `TargetSettings`.
public struct TargetDefaults: Sendable, Equatable {
    /// The decoding scheme (`autoregression_scheme`).
    public enum Scheme: String, Sendable, Equatable {
        /// MaskGIT.
        case maskGIT = "maskgit"
        /// Random-order autoregression.
        case roar
        /// Token by token.
        case autoregressive
    }

    /// The token-count schedule (`token_decoding_schedule`).
    public enum TokenSchedule: String, Sendable, Equatable {
        /// Cosine.
        case cosine
        /// Linear.
        case linear
    }

    /// The temperature schedule (`temp_schedule`).
    public enum TemperatureSchedule: Sendable, Equatable {
        /// Constant.
        case constant
        /// Linear decay.
        case linear
        /// `onex:{minimum}:{power}`.
        case onex(minimum: Double, power: Double)
    }

    /// Tokens of the target (`tokens_per_target`); nil means the modality's own token count
    /// at the recipe's resolution (image grids) or its `max_tokens` (sequences).
    public var tokens: Int?
    /// The decoding scheme.
    public var scheme: Scheme
    /// Decoding steps (nil for autoregressive targets).
    public var steps: Int?
    /// Token-count schedule (nil for autoregressive targets).
    public var tokenSchedule: TokenSchedule?
    /// Starting temperature (`temp`).
    public var temperature: Double
    /// Temperature schedule.
    public var temperatureSchedule: TemperatureSchedule
    /// Classifier-free guidance scale (`cfg_scale`).
    public var guidance: Double

    /// Creates settings.
    public init(tokens: Int? = nil, scheme: Scheme, steps: Int?, tokenSchedule: TokenSchedule?, temperature: Double,
                temperatureSchedule: TemperatureSchedule = .constant, guidance: Double) {
        self.tokens = tokens
        self.scheme = scheme
        self.steps = steps
        self.tokenSchedule = tokenSchedule
        self.temperature = temperature
        self.temperatureSchedule = temperatureSchedule
        self.guidance = guidance
    }

    /// A guided ROAR target (linear token schedule), as the demo's image entries.
    public static func roar(steps: Int, temperature: Double, schedule: TemperatureSchedule = .constant, guidance: Double) -> TargetDefaults {
        TargetDefaults(scheme: .roar, steps: steps, tokenSchedule: .linear, temperature: temperature, temperatureSchedule: schedule, guidance: guidance)
    }

    /// An autoregressive target of `tokens` slots (nil: the modality's `max_tokens`).
    public static func autoregressive(tokens: Int? = nil, temperature: Double) -> TargetDefaults {
        TargetDefaults(tokens: tokens, scheme: .autoregressive, steps: nil, tokenSchedule: nil, temperature: temperature, guidance: 1)
    }
}

/// Which default recipe a modality's generation settings belong to.
public enum GenerationRecipe: String, Sendable, Equatable, CaseIterable {
    /// The demo sampler's `DEFAULTS_RGB2X` (RGB is a condition).
    case rgbToX = "DEFAULTS_RGB2X"
    /// The demo sampler's `DEFAULTS_X2RGB` (RGB is not a condition).
    case xToRGB = "DEFAULTS_X2RGB"
    /// The demo sampler's `DEFAULTS_SR` (the 448 super-resolution pass).
    case superResolution = "DEFAULTS_SR"
    /// FourM's earlier RGB → all preset (`SchedulePreset.rgbToAllFourM`).
    case fourMRGBToAll = "fourm_rgb2all"
    /// FourM's earlier caption → images preset (`SchedulePreset.captionToImages`).
    case fourMCaptionToImages = "fourm_caption2images"
}

/// Everything FourM knows about one domain, by base name (`tok_depth` for `tok_depth@224`):
/// the model-side facts of spec/model.md 2.1, the released tokenizer and how it decodes, how
/// the result is drawn, its default generation settings and its command-line names.
///
/// One value per domain in a ``ModalityTable``; adding an image modality with a VQ tokenizer
/// is one `ModalitySpec` plus its tokenizer checkpoint:
/// ```swift
/// let toy = ModalitySpec(imageTokens: "tok_toy", vocabulary: 4096, patch: 16, tokenizer: .vq, renderer: .rgb)
/// let table = ModalityTable.reference.adding(toy)
/// ```
public struct ModalitySpec: Sendable, Equatable {
    /// The base name (`tok_depth`).
    public var name: String
    /// The representation.
    public var kind: ModalityKind
    /// Vocabulary size of a token modality, 0 otherwise.
    public var vocabularySize: Int
    /// Token layout and what the `@N` suffix means.
    public var layout: ModalityLayout
    /// Whether the modality can be an encoder input.
    public var hasEncoder: Bool
    /// Whether the modality can be a decoder output.
    public var hasDecoder: Bool
    /// The folder of the released tokenizer (an `EPFL-VILAB/4M_tokenizers_*` repository), if any.
    public var tokenizerFolder: String?
    /// The tokenizer of the modality's ids.
    public var tokenizer: ModalityTokenizerKind
    /// The codec that reads a sequence modality's text, if any.
    public var codec: SequenceCodecKind?
    /// The image tokenizer that a sequence codec's ids go through (`sam_instance`: VQ masks;
    /// `human_poses`: MLP pose codes), whose checkpoint lives in ``tokenizerFolder``.
    public var codecTokenizer: ModalityTokenizerKind?
    /// How the decoded values are drawn.
    public var renderer: ModalityRenderer
    /// Default generation settings by recipe; a recipe without an entry does not generate the
    /// modality. The order of specs in the table is the recipes' chained order (`DEFAULT_ORDER`).
    public var defaults: [GenerationRecipe: TargetDefaults]
    /// Short names the command line accepts (`depth` for `tok_depth`), besides the base name.
    public var aliases: [String]
    /// Special tokens of the text vocabulary the codec needs (`[EOS]`, `[PAD]`, ...), looked up
    /// in the loaded text tokenizer.
    public var specialTokens: [String]
    /// Whether a text condition is built as the demo's `custom_text` (caption, det;
    /// spec/generation.md 1.2) rather than a full input ending in `[EOS]`.
    public var customTextCondition: Bool

    /// Creates a spec from every field.
    public init(name: String, kind: ModalityKind, vocabularySize: Int, layout: ModalityLayout, hasEncoder: Bool = true, hasDecoder: Bool = true,
                tokenizerFolder: String? = nil, tokenizer: ModalityTokenizerKind, codec: SequenceCodecKind? = nil,
                codecTokenizer: ModalityTokenizerKind? = nil, renderer: ModalityRenderer, defaults: [GenerationRecipe: TargetDefaults] = [:],
                aliases: [String] = [], specialTokens: [String] = [], customTextCondition: Bool = false) {
        self.name = name
        self.kind = kind
        self.vocabularySize = vocabularySize
        self.layout = layout
        self.hasEncoder = hasEncoder
        self.hasDecoder = hasDecoder
        self.tokenizerFolder = tokenizerFolder
        self.tokenizer = tokenizer
        self.codec = codec
        self.codecTokenizer = codecTokenizer
        self.renderer = renderer
        self.defaults = defaults
        self.aliases = aliases
        self.specialTokens = specialTokens
        self.customTextCondition = customTextCondition
    }

    /// An image-token modality `name@N` (a grid of `N / patch` tokens per side), encoder and
    /// decoder, decoded by `tokenizer` (a checkpoint in `tokenizerFolder`).
    public init(imageTokens name: String, vocabulary: Int, patch: Int, tokenizer: ModalityTokenizerKind = .vq, tokenizerFolder: String? = nil,
                renderer: ModalityRenderer, defaults: [GenerationRecipe: TargetDefaults] = [:], aliases: [String] = []) {
        self.init(name: name, kind: .imageTokens, vocabularySize: vocabulary, layout: .grid(patch: patch, channels: 0), tokenizerFolder: tokenizerFolder,
                  tokenizer: tokenizer, renderer: renderer, defaults: defaults, aliases: aliases)
    }

    /// True when decoding an output of this modality needs a tokenizer checkpoint of its own
    /// (image tokens, and sequences whose codec ids go through an image tokenizer).
    public var needsTokenizerCheckpoint: Bool { tokenizer.hasCheckpoint || (codecTokenizer?.hasCheckpoint ?? false) }

    /// True when decoding an output of this modality needs the WordPiece text tokenizer.
    public var needsTextTokenizer: Bool { tokenizer == .text }

    /// The domain name at `resolution`: `name@N` for grid layouts, the bare name otherwise.
    public func modality(resolution: Int) -> Modality {
        if case .grid = layout { return Modality(rawValue: "\(name)@\(resolution)") }
        return Modality(rawValue: name)
    }

    /// What the model needs to know about `modality` (whose base name is ``name``), or nil when
    /// its suffix does not fit the layout (spec/model.md 2.1).
    /// - Parameters:
    ///   - modality: the domain.
    ///   - imageSize: the config's `image_size` (global layouts).
    public func info(for modality: Modality, imageSize: Int) -> ModalityInfo? {
        let hasSuffix = modality.rawValue.contains("@")
        // Sizes beyond InputLimits.maximumImageSide describe no 4M domain (and their token
        // grids would overflow); the config reader names the limit in its error.
        if let size = modality.resolution, size > InputLimits.maximumImageSide { return nil }
        guard modality.baseName == name, imageSize > 0, imageSize <= InputLimits.maximumImageSide else { return nil }
        switch layout {
        case .grid(let patch, let channels):
            guard patch > 0, let size = modality.resolution, size > 0, size % patch == 0 else { return nil }
            let grid = size / patch
            return ModalityInfo(
                modality: modality, kind: kind, vocabularySize: vocabularySize, tokenCount: grid * grid, gridSize: grid, patchSize: patch,
                channels: channels, maxLength: 0, embeddingWidth: 0, learnedPositions: false, hasEncoder: hasEncoder, hasDecoder: hasDecoder, id: modality.id)
        case .global(let patch):
            guard !hasSuffix, patch > 0 else { return nil }
            let grid = max(imageSize / patch, 1)
            return ModalityInfo(
                modality: modality, kind: kind, vocabularySize: vocabularySize, tokenCount: grid * grid, gridSize: grid, patchSize: patch,
                channels: 0, maxLength: 0, embeddingWidth: 0, learnedPositions: true, hasEncoder: hasEncoder, hasDecoder: hasDecoder, id: modality.id)
        case .sequence(let maxTokens, let maxLength):
            guard !hasSuffix else { return nil }
            return ModalityInfo(
                modality: modality, kind: kind, vocabularySize: vocabularySize, tokenCount: maxTokens, gridSize: 0, patchSize: 0, channels: 0,
                maxLength: maxLength, embeddingWidth: 0, learnedPositions: false, hasEncoder: hasEncoder, hasDecoder: hasDecoder, id: modality.id)
        case .embeddings(let tokens, let width):
            guard !hasSuffix else { return nil }
            return ModalityInfo(
                modality: modality, kind: kind, vocabularySize: vocabularySize, tokenCount: tokens, gridSize: 0, patchSize: 0, channels: 0,
                maxLength: tokens, embeddingWidth: width, learnedPositions: false, hasEncoder: hasEncoder, hasDecoder: hasDecoder, id: modality.id)
        }
    }

    /// The number of tokens of a target at `resolution` for `recipe`: the recipe's own count,
    /// else the grid at `resolution` or the sequence's `max_tokens`. Nil when the modality has
    /// no settings for `recipe` or no size at `resolution`.
    public func targetTokens(_ recipe: GenerationRecipe, resolution: Int, imageSize: Int = 224) -> Int? {
        guard let d = defaults[recipe] else { return nil }
        if let tokens = d.tokens { return tokens }
        return info(for: modality(resolution: resolution), imageSize: imageSize)?.tokenCount
    }
}
