import Foundation

/// The hyper-parameters of a ViT encoder or decoder preset (`enc_type` / `dec_type` such as
/// `vit_b_enc`), spec/tokenizers.md 3.1, 3.4 and 3.5.
///
/// A checkpoint names its preset but does not store the head count, so loading a ViT
/// tokenizer needs this table. Width and depth are also checked against the tensors: a preset
/// that disagrees with the file fails at load with a shape or unused-tensor error.
public struct VQViTPreset: Sendable, Equatable {
    /// Token width `D` (`dim_tokens`).
    public var dim: Int
    /// Number of transformer blocks.
    public var depth: Int
    /// Attention heads (`D` must be divisible by it).
    public var heads: Int
    /// MLP hidden width is `Int(D · mlpRatio)`.
    public var mlpRatio: Double
    /// Whether `attn.qkv` has a bias.
    public var qkvBias: Bool
    /// LayerNorm epsilon of the blocks and the post-MLP norm.
    public var normEps: Float

    /// Creates a preset.
    /// - Parameters:
    ///   - dim: token width.
    ///   - depth: number of blocks.
    ///   - heads: attention heads.
    ///   - mlpRatio: MLP expansion (default 4).
    ///   - qkvBias: qkv bias (default true).
    ///   - normEps: LayerNorm epsilon (default 1e-6).
    public init(dim: Int, depth: Int, heads: Int, mlpRatio: Double = 4, qkvBias: Bool = true, normEps: Float = 1e-6) {
        self.dim = dim
        self.depth = depth
        self.heads = heads
        self.mlpRatio = mlpRatio
        self.qkvBias = qkvBias
        self.normEps = normEps
    }

    /// MLP hidden width, `Int(dim · mlpRatio)` like the reference's `int(dim * mlp_ratio)`.
    public var mlpHidden: Int { Int(Double(dim) * mlpRatio) }
}

/// The ViT presets of the reference (`vit_s_enc`, `vit_b_enc`, `vit_l_enc` and their `_dec`
/// twins, spec/tokenizers.md 3.4–3.5), as values.
///
/// Checkpoints trained with other presets (for example the small `vit_fixture_*` presets of
/// the golden fixtures, or a bundle's `tokenizer_presets`) load with those presets passed
/// along; there is no process-wide registry:
///
/// ```swift
/// let presets = ["vit_fixture_enc_d64_l2_h2": VQViTPreset(dim: 64, depth: 2, heads: 2)]
/// let tokenizer = try VQImageTokenizer(path: "tok.safetensors", presets: presets)
/// ```
public enum VQPresets {
    /// The ViT presets of the reference implementation.
    public static let release: [String: VQViTPreset] = [
        "vit_s_enc": VQViTPreset(dim: 512, depth: 8, heads: 8),
        "vit_b_enc": VQViTPreset(dim: 768, depth: 12, heads: 12),
        "vit_l_enc": VQViTPreset(dim: 1024, depth: 24, heads: 16),
        "vit_s_dec": VQViTPreset(dim: 512, depth: 8, heads: 8),
        "vit_b_dec": VQViTPreset(dim: 768, depth: 12, heads: 12),
        "vit_l_dec": VQViTPreset(dim: 1024, depth: 24, heads: 16),
    ]

    /// The preset for `name`: one of `presets` first, then the release table.
    /// - Parameters:
    ///   - name: an `enc_type` / `dec_type` string.
    ///   - presets: presets beyond the released ones.
    /// - Returns: the preset, or nil when the name is unknown.
    public static func vit(named name: String, in presets: [String: VQViTPreset] = [:]) -> VQViTPreset? {
        presets[name] ?? release[name]
    }
}

/// A parsed `BottleneckMLP/B_6-Wi_1024` or `MLP/B_4-Wi_512` identifier (spec/tokenizers.md 3.6).
package struct MLPArchitecture: Equatable, Sendable {
    package enum Kind: Equatable, Sendable {
        /// Residual bottleneck blocks `x + Linear(GELU(Linear(LN(x))))`.
        case bottleneck
        /// Plain `LN → Linear` layers (`StandardMLP` of the reference).
        case standard
    }

    package var kind: Kind
    package var blocks: Int
    package var width: Int
    package var expansion: Int

    /// Parses `Model/B_<blocks>-Wi_<width>[-<x>_<expansion>]`; nil when the id is malformed.
    package init?(_ id: String) {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        switch parts[0] {
        case "BottleneckMLP": kind = .bottleneck
        case "MLP": kind = .standard
        default: return nil
        }
        let fields = parts[1].split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3 else { return nil }
        func number(_ field: Substring) -> Int? {
            let pieces = field.split(separator: "_", omittingEmptySubsequences: false)
            guard pieces.count == 2, let value = Int(pieces[1]), value > 0 else { return nil }
            return value
        }
        guard let blocks = number(fields[0]), let width = number(fields[1]) else { return nil }
        self.blocks = blocks
        self.width = width
        if fields.count == 3 {
            guard let expansion = number(fields[2]) else { return nil }
            self.expansion = expansion
        } else {
            expansion = 4
        }
    }
}
