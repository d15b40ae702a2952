import Foundation
import FourMDiffusion
import FourMTensor
import Testing

/// The bad-input catalogue for diffusion presets (issue 15): values that divided by zero or
/// overflowed in `PatchedUNet.init` / `UViT` are `DiffusionError.invalidPreset` naming the key.
@Suite struct DiffusionBadInputCatalogueTests {
    static var unet: [String: Any] { [
        "cls": "PatchedUNetCondCat", "patch_size": 4, "model_channels": 32, "num_res_blocks": 1,
        "attention_resolutions": [2], "channel_mult": [1, 1], "num_heads": 1, "num_head_channels": -1,
        "use_scale_shift_norm": false, "resblock_updown": false, "use_new_attention_order": false,
    ] }
    static var uvit: [String: Any] { [
        "cls": "UViT", "patch_size": 4, "block_out_channels": [32, 64], "layers_per_block": 2, "downsample_before_mid": true,
        "mid_layers": 2, "mid_num_heads": 4, "mid_dim": 64, "mid_mlp_ratio": 4, "mid_qkv_bias": true, "mid_hw_posemb": 32,
        "mid_use_long_skip": false, "norm_num_groups": 32, "norm_eps": 1e-05, "time_embedding_dim": 128,
    ] }

    func preset(_ base: [String: Any], _ key: String, _ value: Any) throws -> DecoderPreset {
        var description = base
        description[key] = value
        return try DiffusionPresets.decoderPreset(name: "p", description: description)
    }

    @Test func zeroHeadChannelsIsAnError() {
        #expect(
            throws: DiffusionError.invalidPreset(
                name: "p", key: "num_head_channels", reason: "is 0, expected -1 (use num_heads) or a positive channel count")
        ) { try preset(Self.unet, "num_head_channels", 0) }
    }

    @Test func hugeModelChannelsIsAnError() {
        #expect(
            throws: DiffusionError.invalidPreset(
                name: "p", key: "model_channels", reason: "is 4611686018427387904, expected 1...1048576 (InputLimits.maximumLayerWidth)")
        ) { try preset(Self.unet, "model_channels", 1 << 62) }
        #expect(
            throws: DiffusionError.invalidPreset(
                name: "p", key: "channel_mult",
                reason: "entry 4611686018427387904 × model_channels 32 is above 1048576 channels (InputLimits.maximumLayerWidth)")
        ) { try preset(Self.unet, "channel_mult", [1, 1 << 62]) }
        #expect(
            throws: DiffusionError.invalidPreset(name: "p", key: "patch_size", reason: "is 1099511627776, expected 1...16384")
        ) { try preset(Self.unet, "patch_size", 1 << 40) }
    }

    @Test func uvitZeroGroupsAndHugeRatiosAreErrors() {
        #expect(
            throws: DiffusionError.invalidPreset(name: "p", key: "norm_num_groups", reason: "is 0, expected a positive count")
        ) { try preset(Self.uvit, "norm_num_groups", 0) }
        #expect(
            throws: DiffusionError.invalidPreset(
                name: "p", key: "mid_mlp_ratio",
                reason: "is 1e+300: mid_dim × ratio must be finite and at most 1048576 (InputLimits.maximumLayerWidth)")
        ) { try preset(Self.uvit, "mid_mlp_ratio", 1e300) }
        #expect(
            throws: DiffusionError.invalidPreset(name: "p", key: "mid_hw_posemb", reason: "is 4611686018427387904, expected 1...16384")
        ) { try preset(Self.uvit, "mid_hw_posemb", 1 << 62) }
    }

    /// A preset built in memory (no description parser) is validated when a checkpoint uses
    /// it, instead of trapping in `PatchedUNet.init`.
    @Test func presetsBuiltInMemoryAreValidatedAtLoad() throws {
        let presets: [String: DecoderPreset] = ["unet_catalogue_zero_heads": .patchedUNet(PatchedUNetPreset(
            patchSize: 4, modelChannels: 32, numResBlocks: 1, attentionResolutions: [2], channelMult: [1, 1], numHeadChannels: 0))]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("divae-\(UUID().uuidString).safetensors").path
        try SafeTensorsWriter(metadata: RandomDiVAE.metadata(presetName: "unet_catalogue_zero_heads", channels: 3, latentDim: 8, patchSize: 8, extra: [:]))
            .write(to: path)
        #expect(
            throws: DiffusionError.invalidPreset(
                name: "unet_catalogue_zero_heads", key: "num_head_channels",
                reason: "is 0, expected -1 (use num_heads) or a positive channel count")
        ) { try DiVAEDecoder(path: path, presets: presets) }
    }
}
