import Foundation
import FourM
import FourMDiffusion
import Testing

/// Presets travel in the bundle as values: reading a `bundle.json` with `diffusion_presets`
/// changes nothing a later load sees.
@Suite struct ModelBundlePresetsTests {
    @Test func diffusionPresetsStayInTheBundle() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data().write(to: directory.appendingPathComponent("model.safetensors"))
        let name = "unet_bundle_presets_test"
        let manifest = """
            {"model": "model.safetensors",
             "diffusion_presets": {"\(name)": {"cls": "PatchedUNetCondCat", "patch_size": 2, "model_channels": 32,
               "num_res_blocks": 1, "attention_resolutions": [2], "channel_mult": [1, 2], "num_heads": 2}}}
            """
        try Data(manifest.utf8).write(to: directory.appendingPathComponent("bundle.json"))
        let bundle = try ModelBundle(directory: directory)
        #expect(bundle.diffusionPresets[name] == .patchedUNet(PatchedUNetPreset(
            patchSize: 2, modelChannels: 32, numResBlocks: 1, attentionResolutions: [2], channelMult: [1, 2], numHeads: 2)))
        #expect(DiffusionPresets.preset(named: name) == nil)
        #expect(DiffusionPresets.preset(named: name, in: bundle.diffusionPresets) == bundle.diffusionPresets[name])
    }
}
