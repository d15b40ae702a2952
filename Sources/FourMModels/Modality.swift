import FourMTensor
/// A 4M domain name, exactly as the reference spells it (`"tok_depth@224"`, `"caption"`).
///
/// Modalities are an open set: checkpoints add domains and resolutions. The raw value is the
/// key used in configs and tensor names.
public struct Modality: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The domain string.
    public let rawValue: String

    /// Wraps a domain string.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Wraps a domain string literal.
    public init(stringLiteral value: String) { rawValue = value }

    /// The domain string.
    public var description: String { rawValue }

    /// Orders by domain string.
    public static func < (lhs: Modality, rhs: Modality) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The name before `@` (`tok_depth` for `tok_depth@224`).
    public var baseName: String { String(rawValue.split(separator: "@", maxSplits: 1).first ?? "") }

    /// The resolution after `@`, if any (224 for `tok_depth@224`).
    public var resolution: Int? {
        let parts = rawValue.split(separator: "@", maxSplits: 1)
        return parts.count == 2 ? Int(parts[1]) : nil
    }

    /// The reference's modality id: `int(sha256(name), 16) mod 32768` (spec/model.md 2).
    public var id: Int32 {
        let digest = sha256(Array(rawValue.utf8))
        // 2^15 divides 2^256, so the value mod 2^15 is given by the last two bytes.
        return Int32((UInt32(digest[30]) << 8 | UInt32(digest[31])) & 0x7FFF)
    }

    /// Pixels at 224 (ImageNet-normalised RGB, encoder only).
    public static let rgb224: Modality = "rgb@224"
    /// RGB tokens at 224.
    public static let tokRGB224: Modality = "tok_rgb@224"
    /// Depth tokens at 224.
    public static let tokDepth224: Modality = "tok_depth@224"
    /// Surface-normal tokens at 224.
    public static let tokNormal224: Modality = "tok_normal@224"
    /// Semantic-segmentation tokens at 224.
    public static let tokSemseg224: Modality = "tok_semseg@224"
    /// CLIP-B/16 feature tokens at 224.
    public static let tokCLIP224: Modality = "tok_clip@224"
    /// Canny-edge tokens at 224.
    public static let tokCannyEdge224: Modality = "tok_canny_edge@224"
    /// SAM-edge tokens at 224.
    public static let tokSAMEdge224: Modality = "tok_sam_edge@224"
    /// DINOv2-B/14 feature tokens at 224.
    public static let tokDINOv2224: Modality = "tok_dinov2@224"
    /// ImageBind-H/14 feature tokens at 224.
    public static let tokImageBind224: Modality = "tok_imagebind@224"
    /// DINOv2 global embedding tokens.
    public static let tokDINOv2Global: Modality = "tok_dinov2_global"
    /// ImageBind global embedding tokens.
    public static let tokImageBindGlobal: Modality = "tok_imagebind_global"
    /// Caption text.
    public static let caption: Modality = "caption"
    /// Bounding boxes as text.
    public static let det: Modality = "det"
    /// Image metadata as text.
    public static let metadata: Modality = "metadata"
    /// Colour palette as text.
    public static let colorPalette: Modality = "color_palette"
    /// 3D human poses as tokens.
    public static let humanPoses: Modality = "human_poses"
    /// SAM instances as tokens.
    public static let samInstance: Modality = "sam_instance"
    /// T5-XXL caption embeddings (encoder only).
    public static let t5Caption: Modality = "t5_caption"
}

/// How a modality is represented (spec/model.md 2).
public enum ModalityKind: String, Sendable, Equatable {
    /// Pixels of an image, patchified into the encoder (`rgb@N`).
    case pixels
    /// A 2-D grid of discrete tokens (`tok_*`), bidirectional, decoded with mask tokens.
    case imageTokens
    /// A text-like token sequence, decoded autoregressively.
    case sequence
    /// A sequence of precomputed float vectors (`t5_caption`), encoder only.
    case sequenceEmbedding
}

/// What the model needs to know about one modality (spec/model.md 2.1).
public struct ModalityInfo: Sendable, Equatable {
    /// The domain.
    public let modality: Modality
    /// Its representation.
    public let kind: ModalityKind
    /// Vocabulary size (token modalities), 0 otherwise.
    public let vocabularySize: Int
    /// Number of tokens: grid cells for image-like, `max_tokens` for sequences.
    public let tokenCount: Int
    /// Token grid side (image-like), 0 otherwise.
    public let gridSize: Int
    /// Patch size in pixels (image-like).
    public let patchSize: Int
    /// Channels of a pixel modality (3 for RGB).
    public let channels: Int
    /// Decoder position clip (`max_length`) of a sequence modality.
    public let maxLength: Int
    /// Width of each input vector of a sequence-embedding modality (4096 for T5-XXL).
    public let embeddingWidth: Int
    /// True when the position table is learned rather than sin-cos (global tokens).
    public let learnedPositions: Bool
    /// True when the modality can be an encoder input.
    public let hasEncoder: Bool
    /// True when the modality can be a decoder output.
    public let hasDecoder: Bool
    /// The reference's modality id.
    public let id: Int32

    /// Rows of every stored 1-D sin-cos table (spec/model.md 3.2.3).
    public static let sequencePositionRows = 512
}

/// The modality table of 4M-7, 4M-21 and the super-resolution model, with any `@N` resolution.
public enum ModalityRegistry {
    private struct Base {
        let kind: ModalityKind
        let vocab: Int
        let patch: Int
        let maxTokens: Int
        let maxLength: Int
    }

    private static let imageTokenBases: [String: (vocab: Int, patch: Int)] = [
        "tok_rgb": (16384, 16), "tok_depth": (8192, 16), "tok_normal": (8192, 16),
        "tok_semseg": (4096, 16), "tok_clip": (8192, 16), "tok_canny_edge": (8192, 16),
        "tok_sam_edge": (8192, 16), "tok_dinov2": (8192, 14), "tok_imagebind": (8192, 14),
    ]
    private static let globalBases: Set<String> = ["tok_dinov2_global", "tok_imagebind_global"]
    private static let sequenceBases: [String: (maxTokens: Int, maxLength: Int)] = [
        "caption": (256, 256), "det": (256, 256), "metadata": (40, 40), "color_palette": (23, 23),
        "human_poses": (275, 263), "sam_instance": (290, 290),
    ]

    /// Names this registry knows, as examples for error messages and `--help`.
    public static let knownNames: [String] = [
        "rgb@224", "tok_rgb@224", "tok_depth@224", "tok_normal@224", "tok_semseg@224", "tok_clip@224",
        "tok_canny_edge@224", "tok_sam_edge@224", "tok_dinov2@224", "tok_imagebind@224",
        "tok_dinov2_global", "tok_imagebind_global", "caption", "det", "metadata", "color_palette",
        "human_poses", "sam_instance", "t5_caption",
    ]

    /// The description of `modality`, or nil when it is not a 4M domain.
    /// - Parameters:
    ///   - modality: the modality to describe.
    ///   - imageSize: the config's `image_size`, used by the global token modalities.
    /// - Returns: the modality's description, or nil when it is not a 4M domain.
    public static func info(for modality: Modality, imageSize: Int = 224) -> ModalityInfo? {
        let base = modality.baseName
        let resolution = modality.resolution
        let hasSuffix = modality.rawValue.contains("@")
        // Sizes beyond InputLimits.maximumImageSide describe no 4M domain (and their token
        // grids would overflow); the config reader names the limit in its error.
        if let size = resolution, size > InputLimits.maximumImageSide { return nil }
        guard imageSize > 0, imageSize <= InputLimits.maximumImageSide else { return nil }
        if base == "rgb", let size = resolution, size > 0, size % 16 == 0 {
            let grid = size / 16
            return ModalityInfo(
                modality: modality, kind: .pixels, vocabularySize: 0, tokenCount: grid * grid, gridSize: grid,
                patchSize: 16, channels: 3, maxLength: 0, embeddingWidth: 0, learnedPositions: false,
                hasEncoder: true, hasDecoder: false, id: modality.id)
        }
        if let token = imageTokenBases[base], let size = resolution, size > 0, size % token.patch == 0 {
            let grid = size / token.patch
            return ModalityInfo(
                modality: modality, kind: .imageTokens, vocabularySize: token.vocab, tokenCount: grid * grid,
                gridSize: grid, patchSize: token.patch, channels: 0, maxLength: 0, embeddingWidth: 0,
                learnedPositions: false, hasEncoder: true, hasDecoder: true, id: modality.id)
        }
        if globalBases.contains(base), !hasSuffix {
            let grid = max(imageSize / 56, 1)
            return ModalityInfo(
                modality: modality, kind: .imageTokens, vocabularySize: 8192, tokenCount: grid * grid,
                gridSize: grid, patchSize: 56, channels: 0, maxLength: 0, embeddingWidth: 0,
                learnedPositions: true, hasEncoder: true, hasDecoder: true, id: modality.id)
        }
        if let seq = sequenceBases[base], !hasSuffix {
            return ModalityInfo(
                modality: modality, kind: .sequence, vocabularySize: 30000, tokenCount: seq.maxTokens,
                gridSize: 0, patchSize: 0, channels: 0, maxLength: seq.maxLength, embeddingWidth: 0,
                learnedPositions: false, hasEncoder: true, hasDecoder: true, id: modality.id)
        }
        if base == "t5_caption", !hasSuffix {
            return ModalityInfo(
                modality: modality, kind: .sequenceEmbedding, vocabularySize: 0, tokenCount: 77, gridSize: 0,
                patchSize: 0, channels: 0, maxLength: 77, embeddingWidth: 4096, learnedPositions: false,
                hasEncoder: true, hasDecoder: false, id: modality.id)
        }
        return nil
    }
}
