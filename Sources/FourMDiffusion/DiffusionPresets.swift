import Foundation
import FourMTensor

/// Hyper-parameters of ml-4m's `PatchedUNetCondCat` (spec/tokenizers.md 5.5).
///
/// The noisy image is patchified, the condition is nearest-upsampled to the patch grid and
/// concatenated (the reference always concatenates; the DiVAE `conditioning` key is not
/// passed to this class), and a guided-diffusion UNet runs on the patch grid.
public struct PatchedUNetPreset: Sendable, Equatable {
    /// Patch side P (the UNet runs at H/P × W/P).
    public var patchSize: Int
    /// Base channel count (`model_channels`).
    public var modelChannels: Int
    /// Residual blocks per level on the way down (`num_res_blocks`; the way up has one more).
    public var numResBlocks: Int
    /// Downsample rates (1, 2, 4, …) at which attention blocks follow the residual blocks.
    public var attentionResolutions: [Int]
    /// Channel multiplier per level (`channel_mult`).
    public var channelMult: [Int]
    /// Attention heads (legacy QKV layout), used when `numHeadChannels` is −1.
    public var numHeads: Int
    /// Channels per head, or −1 to use `numHeads`.
    public var numHeadChannels: Int

    /// Creates a preset; the defaults are the released `unet_patched`.
    public init(
        patchSize: Int = 4, modelChannels: Int = 256, numResBlocks: Int = 3, attentionResolutions: [Int] = [4, 8],
        channelMult: [Int] = [1, 2, 2, 2], numHeads: Int = 1, numHeadChannels: Int = -1
    ) {
        self.patchSize = patchSize
        self.modelChannels = modelChannels
        self.numResBlocks = numResBlocks
        self.attentionResolutions = attentionResolutions
        self.channelMult = channelMult
        self.numHeads = numHeads
        self.numHeadChannels = numHeadChannels
    }

    /// Heads of an attention block over `channels` channels.
    func heads(channels: Int) -> Int { numHeadChannels == -1 ? numHeads : channels / numHeadChannels }
}

/// Hyper-parameters of ml-4m's `UViT` with "concat" conditioning (spec/tokenizers.md 5.6).
public struct UViTPreset: Sendable, Equatable {
    /// Side of the `conv_in` patchify convolution (kernel = stride).
    public var patchSize: Int
    /// Output channels of each down block (`block_out_channels`).
    public var blockOutChannels: [Int]
    /// ResNet blocks per down block (up blocks have one more), one entry per block.
    public var layersPerBlock: [Int]
    /// A stride-2 `downsample_mid` before and a ×2 `upsample_mid` after the transformer.
    public var downsampleBeforeMid: Bool
    /// Transformer blocks in the bottleneck.
    public var midLayers: Int
    /// Attention heads of the transformer.
    public var midNumHeads: Int
    /// Transformer width D.
    public var midDim: Int
    /// MLP hidden width = `Int(midDim · midMLPRatio)`.
    public var midMLPRatio: Double
    /// Bias on the fused qkv projection.
    public var midQKVBias: Bool
    /// Side of the stored sin-cos position table (`mid_hw_posemb`), resized bicubically.
    public var midPosEmbSide: Int
    /// GroupNorm groups of the ResNet blocks and the output norm.
    public var normGroups: Int
    /// GroupNorm epsilon.
    public var normEps: Float
    /// Width of the time embedding, nil for `4 · blockOutChannels[0]`.
    public var timeEmbeddingDim: Int?
    /// Order of the sinusoidal features: true gives [cos, sin].
    public var flipSinToCos: Bool
    /// `downscale_freq_shift` of the sinusoidal features.
    public var freqShift: Double

    /// Creates a preset; the defaults are the released `uvit_b_p4_f16` (edge tokenizer).
    public init(
        patchSize: Int = 4, blockOutChannels: [Int] = [128, 256], layersPerBlock: [Int] = [2, 2],
        downsampleBeforeMid: Bool = true, midLayers: Int = 12, midNumHeads: Int = 12, midDim: Int = 768,
        midMLPRatio: Double = 4, midQKVBias: Bool = true, midPosEmbSide: Int = 32, normGroups: Int = 32,
        normEps: Float = 1e-5, timeEmbeddingDim: Int? = nil, flipSinToCos: Bool = true, freqShift: Double = 0
    ) {
        self.patchSize = patchSize
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = layersPerBlock
        self.downsampleBeforeMid = downsampleBeforeMid
        self.midLayers = midLayers
        self.midNumHeads = midNumHeads
        self.midDim = midDim
        self.midMLPRatio = midMLPRatio
        self.midQKVBias = midQKVBias
        self.midPosEmbSide = midPosEmbSide
        self.normGroups = normGroups
        self.normEps = normEps
        self.timeEmbeddingDim = timeEmbeddingDim
        self.flipSinToCos = flipSinToCos
        self.freqShift = freqShift
    }

    /// The time-embedding width actually used.
    var timeEmbeddingWidth: Int { timeEmbeddingDim ?? 4 * blockOutChannels[0] }
}

/// A diffusion decoder architecture named by a checkpoint's `dec_type`.
public enum DecoderPreset: Sendable, Equatable {
    /// ml-4m `PatchedUNetCondCat` (`unet_*`).
    case patchedUNet(PatchedUNetPreset)
    /// ml-4m `UViT` (`uvit_*`).
    case uvit(UViTPreset)
}

/// The decoder architectures a checkpoint's `dec_type` can name.
///
/// The library ships the released presets as values (`unet_patched` for the rgb/depth/normal
/// tokenizers, `uvit_b_p4_f16` for the edge tokenizer, spec/tokenizers.md 5.5–5.6).
/// Checkpoints that name other presets — such as the small ones of the golden fixtures, listed
/// in their `manifest.json` under `presets`, or a bundle's `diffusion_presets` — are loaded by
/// passing those presets along; there is no process-wide registry:
///
/// ```swift
/// let presets = try DiffusionPresets.presets(descriptions: manifest["presets"])
/// let decoder = try DiVAEDecoder(path: "model.safetensors", presets: presets)
/// ```
public enum DiffusionPresets {
    /// The presets the library ships: `unet_patched` and `uvit_b_p4_f16`.
    public static let released: [String: DecoderPreset] = [
        "unet_patched": .patchedUNet(PatchedUNetPreset()),
        "uvit_b_p4_f16": .uvit(UViTPreset()),
    ]

    /// The preset `name` selects: one of `presets` first, then a released one.
    public static func preset(named name: String, in presets: [String: DecoderPreset] = [:]) -> DecoderPreset? {
        presets[name] ?? released[name]
    }

    /// Every name ``preset(named:in:)`` resolves, sorted.
    public static func names(with presets: [String: DecoderPreset] = [:]) -> [String] {
        Set(released.keys).union(presets.keys).sorted()
    }

    /// Parses reference-style descriptions by name (a bundle's `diffusion_presets`), each as
    /// ``decoderPreset(name:description:)`` does.
    /// - Throws: `.invalidPreset` naming the preset and key.
    public static func presets(descriptions: [String: [String: Any]]) throws(DiffusionError) -> [String: DecoderPreset] {
        var out: [String: DecoderPreset] = [:]
        for (name, description) in descriptions { out[name] = try decoderPreset(name: name, description: description) }
        return out
    }

    /// Parses a reference-style description (the objects of the fixtures' `manifest.json` →
    /// `presets`): `cls` is `PatchedUNetCondCat` or `UViT`, the other keys are the Python
    /// constructor arguments (`model_channels`, `block_out_channels`, …). Keys this port does
    /// not use (`module`, `dropout`, `equivalent_release_preset`, …) are ignored; options it
    /// does not implement are rejected.
    /// - Throws: `.invalidPreset` naming the key.
    public static func decoderPreset(name: String, description: [String: Any]) throws(DiffusionError) -> DecoderPreset {
        let reader = PresetReader(name: name, values: description)
        switch try reader.string("cls", default: nil) {
        case "PatchedUNetCondCat":
            try reader.require(false, "use_scale_shift_norm")
            try reader.require(false, "resblock_updown")
            try reader.require(false, "use_new_attention_order")
            try reader.require(true, "conv_resample")
            let preset = PatchedUNetPreset(
                patchSize: try reader.int("patch_size", default: nil),
                modelChannels: try reader.int("model_channels", default: nil),
                numResBlocks: try reader.int("num_res_blocks", default: nil),
                attentionResolutions: try reader.ints("attention_resolutions", default: nil),
                channelMult: try reader.ints("channel_mult", default: nil),
                numHeads: try reader.int("num_heads", default: 1),
                numHeadChannels: try reader.int("num_head_channels", default: -1))
            try validate(preset, name: name)
            return .patchedUNet(preset)
        case "UViT":
            try reader.require(false, "mid_use_long_skip")
            try reader.require(false, "res_embedding")
            try reader.requireString("silu", "act_fn")
            try reader.requireString("positional", "time_embedding_type")
            try reader.requireString("default", "resnet_time_scale_shift")
            try reader.requireNull("time_embedding_act_fn")
            try reader.requireNull("timestep_post_act")
            try reader.requireNull("time_cond_proj_dim")
            if let factor = try reader.double("resnet_out_scale_factor", default: 1), factor != 1 {
                throw .invalidPreset(name: name, key: "resnet_out_scale_factor", reason: "= \(factor) is not supported (only 1)")
            }
            if try reader.int("downsample_padding", default: 1) != 1 {
                throw .invalidPreset(name: name, key: "downsample_padding", reason: "is \(reader.values["downsample_padding"].map { "\($0)" } ?? "missing"), expected 1 (the only padding supported)")
            }
            let channels = try reader.ints("block_out_channels", default: [128, 256, 512])
            let layers: [Int]
            if let single = reader.values["layers_per_block"] as? Int {
                layers = Array(repeating: single, count: channels.count)
            } else {
                layers = try reader.ints("layers_per_block", default: Array(repeating: 2, count: channels.count))
            }
            guard let groups = try reader.optionalInt("norm_num_groups", default: 32) else {
                throw .invalidPreset(name: name, key: "norm_num_groups", reason: "= None is not supported")
            }
            let preset = UViTPreset(
                patchSize: try reader.int("patch_size", default: 4), blockOutChannels: channels, layersPerBlock: layers,
                downsampleBeforeMid: try reader.bool("downsample_before_mid", default: false),
                midLayers: try reader.int("mid_layers", default: 12), midNumHeads: try reader.int("mid_num_heads", default: 12),
                midDim: try reader.int("mid_dim", default: 768), midMLPRatio: try reader.double("mid_mlp_ratio", default: 4) ?? 4,
                midQKVBias: try reader.bool("mid_qkv_bias", default: true), midPosEmbSide: try reader.int("mid_hw_posemb", default: 32),
                normGroups: groups, normEps: Float(try reader.double("norm_eps", default: 1e-5) ?? 1e-5),
                timeEmbeddingDim: try reader.optionalInt("time_embedding_dim", default: nil),
                flipSinToCos: try reader.bool("flip_sin_to_cos", default: true),
                freqShift: try reader.double("freq_shift", default: 0) ?? 0)
            try validate(preset, name: name)
            return .uvit(preset)
        case let other:
            throw .invalidPreset(name: name, key: "cls", reason: "= '\(other)' is not PatchedUNetCondCat or UViT")
        }
    }

    static func validate(_ p: PatchedUNetPreset, name: String) throws(DiffusionError) {
        func fail(_ key: String, _ reason: String) -> DiffusionError { .invalidPreset(name: name, key: key, reason: reason) }
        let width = InputLimits.maximumLayerWidth, side = InputLimits.maximumImageSide
        guard p.patchSize >= 1 && p.patchSize <= side else { throw fail("patch_size", "is \(p.patchSize), expected 1...\(side)") }
        guard p.modelChannels >= 1 && p.modelChannels <= width else {
            throw fail("model_channels", "is \(p.modelChannels), expected 1...\(width) (InputLimits.maximumLayerWidth)")
        }
        guard p.numResBlocks >= 1 else { throw fail("num_res_blocks", "is \(p.numResBlocks), expected a positive count") }
        guard !p.channelMult.isEmpty && p.channelMult.allSatisfy({ $0 >= 1 }) else { throw fail("channel_mult", "is \(p.channelMult), expected a non-empty list of positive integers") }
        // Every product below is bounded first, so none can overflow.
        for mult in p.channelMult where mult > width / p.modelChannels {
            throw fail("channel_mult", "entry \(mult) × model_channels \(p.modelChannels) is above \(width) channels (InputLimits.maximumLayerWidth)")
        }
        for mult in p.channelMult where (mult * p.modelChannels) % 32 != 0 {
            throw fail("channel_mult", "gives \(mult * p.modelChannels) channels, not divisible by the 32 GroupNorm groups")
        }
        guard p.numHeadChannels == -1 || p.numHeadChannels >= 1 else {
            throw fail("num_head_channels", "is \(p.numHeadChannels), expected -1 (use num_heads) or a positive channel count")
        }
        guard p.numHeadChannels != -1 || p.numHeads >= 1 else { throw fail("num_heads", "is \(p.numHeads), expected a positive count") }
        for mult in p.channelMult {
            let heads = p.heads(channels: mult * p.modelChannels)
            guard heads >= 1 && (mult * p.modelChannels) % heads == 0 else { throw fail(p.numHeadChannels == -1 ? "num_heads" : "num_head_channels", "gives \(heads) heads, expected a positive divisor of the \(mult * p.modelChannels) channels of channel_mult entry \(mult)") }
        }
    }

    static func validate(_ p: UViTPreset, name: String) throws(DiffusionError) {
        func fail(_ key: String, _ reason: String) -> DiffusionError { .invalidPreset(name: name, key: key, reason: reason) }
        let width = InputLimits.maximumLayerWidth, side = InputLimits.maximumImageSide
        guard p.patchSize >= 1 && p.patchSize <= side else { throw fail("patch_size", "is \(p.patchSize), expected 1...\(side)") }
        guard p.normGroups >= 1 else { throw fail("norm_num_groups", "is \(p.normGroups), expected a positive count") }
        guard !p.blockOutChannels.isEmpty && p.blockOutChannels.allSatisfy({ $0 >= 1 && $0 <= width && $0 % p.normGroups == 0 }) else {
            throw fail("block_out_channels", "is \(p.blockOutChannels), expected positive multiples of norm_num_groups \(p.normGroups), at most \(width) (InputLimits.maximumLayerWidth)")
        }
        guard p.layersPerBlock.count == p.blockOutChannels.count && p.layersPerBlock.allSatisfy({ $0 >= 1 }) else {
            throw fail("layers_per_block", "is \(p.layersPerBlock), expected \(p.blockOutChannels.count) positive entries (one per block_out_channels entry)")
        }
        guard p.midDim >= 1 && p.midDim <= width else { throw fail("mid_dim", "is \(p.midDim), expected 1...\(width) (InputLimits.maximumLayerWidth)") }
        guard p.midNumHeads >= 1 && p.midDim % p.midNumHeads == 0 else { throw fail("mid_num_heads", "is \(p.midNumHeads), expected a positive divisor of mid_dim \(p.midDim)") }
        guard p.midLayers >= 0 else { throw fail("mid_layers", "is \(p.midLayers), expected 0 or more") }
        // Checked in Double before the Int conversion of the MLP width.
        let hidden = Double(p.midDim) * p.midMLPRatio
        guard hidden.isFinite && hidden <= Double(width) else {
            throw fail("mid_mlp_ratio", "is \(p.midMLPRatio): mid_dim × ratio must be finite and at most \(width) (InputLimits.maximumLayerWidth)")
        }
        guard Int(hidden) >= 1 else { throw fail("mid_mlp_ratio", "is \(p.midMLPRatio) (mid_dim × ratio = \(hidden)), expected at least 1 hidden unit") }
        guard p.midPosEmbSide >= 1 && p.midPosEmbSide <= side else { throw fail("mid_hw_posemb", "is \(p.midPosEmbSide), expected 1...\(side)") }
        guard p.blockOutChannels[0] >= 2 && p.blockOutChannels[0] <= width / 4 else {
            throw fail("block_out_channels", "first entry \(p.blockOutChannels[0]) gives no usable time embedding")
        }
        guard p.timeEmbeddingWidth >= 1 && p.timeEmbeddingWidth <= width else {
            throw fail("time_embedding_dim", "gives \(p.timeEmbeddingWidth) channels, expected 1...\(width) (InputLimits.maximumLayerWidth)")
        }
        guard p.normEps.isFinite else { throw fail("norm_eps", "is \(p.normEps), expected a finite number") }
        guard p.freqShift.isFinite else { throw fail("freq_shift", "is \(p.freqShift), expected a finite number") }
    }
}

/// Typed reads from a JSON preset description, failing with the key named.
private struct PresetReader {
    let name: String
    let values: [String: Any]

    func fail(_ key: String, _ expected: String) -> DiffusionError {
        .invalidPreset(name: name, key: key, reason: "is \(values[key].map { "\($0)" } ?? "missing"), expected \(expected)")
    }

    func isNull(_ key: String) -> Bool { values[key] == nil || values[key] is NSNull }

    func int(_ key: String, default fallback: Int?) throws(DiffusionError) -> Int {
        guard let value = try optionalInt(key, default: fallback) else { throw fail(key, "an integer") }
        return value
    }

    func optionalInt(_ key: String, default fallback: Int?) throws(DiffusionError) -> Int? {
        if values[key] == nil { return fallback }
        if values[key] is NSNull { return nil }
        guard let value = values[key], let i = integer(value) else { throw fail(key, "an integer") }
        return i
    }

    func double(_ key: String, default fallback: Double?) throws(DiffusionError) -> Double? {
        if values[key] == nil { return fallback }
        guard let value = values[key], !(isBoolean(value)), let n = value as? NSNumber else { throw fail(key, "a number") }
        return n.doubleValue
    }

    func bool(_ key: String, default fallback: Bool) throws(DiffusionError) -> Bool {
        guard let value = values[key] else { return fallback }
        guard isBoolean(value), let b = value as? Bool else { throw fail(key, "true or false") }
        return b
    }

    func string(_ key: String, default fallback: String?) throws(DiffusionError) -> String {
        guard let value = values[key] else {
            if let fallback { return fallback }
            throw fail(key, "a string")
        }
        guard let s = value as? String else { throw fail(key, "a string") }
        return s
    }

    func ints(_ key: String, default fallback: [Int]?) throws(DiffusionError) -> [Int] {
        guard let value = values[key] else {
            if let fallback { return fallback }
            throw fail(key, "a list of integers")
        }
        guard let list = value as? [Any] else { throw fail(key, "a list of integers") }
        var out: [Int] = []
        for item in list {
            guard let i = integer(item) else { throw fail(key, "a list of integers") }
            out.append(i)
        }
        return out
    }

    func require(_ expected: Bool, _ key: String) throws(DiffusionError) {
        guard values[key] != nil else { return }
        if try bool(key, default: expected) != expected {
            throw .invalidPreset(name: name, key: key, reason: "= \(!expected) is not supported")
        }
    }

    func requireString(_ expected: String, _ key: String) throws(DiffusionError) {
        guard values[key] != nil else { return }
        let value = try string(key, default: expected)
        if value != expected { throw .invalidPreset(name: name, key: key, reason: "= '\(value)' is not supported (only '\(expected)')") }
    }

    func requireNull(_ key: String) throws(DiffusionError) {
        if !isNull(key) { throw .invalidPreset(name: name, key: key, reason: "= \(values[key] ?? "") is not supported (only None)") }
    }

    private func isBoolean(_ value: Any) -> Bool {
        if type(of: value) == Bool.self { return true }
        if let n = value as? NSNumber { return String(cString: n.objCType) == "c" }
        return false
    }

    private func integer(_ value: Any) -> Int? {
        if isBoolean(value) { return nil }
        if let i = value as? Int { return i }
        if let n = value as? NSNumber, let i = Int(exactly: n.doubleValue) { return i }
        return nil
    }
}
