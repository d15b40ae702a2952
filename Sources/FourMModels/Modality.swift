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

/// The modality table of 4M-7, 4M-21 and the super-resolution model, with any `@N` resolution:
/// a thin forward to ``ModalityTable/reference`` kept for existing callers. Code that may meet
/// domains beyond the released ones reads a ``ModalityTable`` instead (a configuration's
/// ``FourMConfiguration/modalities``, a bundle's table).
public enum ModalityRegistry {
    /// Names this registry knows, as examples for error messages and `--help`.
    public static var knownNames: [String] { ModalityTable.reference.knownNames }

    /// The description of `modality`, or nil when it is not a 4M domain.
    /// - Parameters:
    ///   - modality: the modality to describe.
    ///   - imageSize: the config's `image_size`, used by the global token modalities.
    /// - Returns: the modality's description, or nil when it is not a 4M domain.
    public static func info(for modality: Modality, imageSize: Int = 224) -> ModalityInfo? {
        ModalityTable.reference.info(for: modality, imageSize: imageSize)
    }
}
