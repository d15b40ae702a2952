import Foundation
import FourMTensor
import FourMTestSupport
import Testing

/// `fourm tokenize` with the DiVAE fixtures: ``ImageTokenizerFactory`` picks the diffusion
/// implementation (UNet and UViT), one-channel tokenizers get one gray plane, and the
/// reconstruction is written. Grid sizes come from each checkpoint's header.
@Suite struct TokenizeDiffusionCLITests {
    let cli = CLITests()

    @Test(arguments: ["tok_divae", "tok_divae_uvit"])
    func tokenizesAndReconstructsThroughADiVAE(_ model: String) throws {
        guard let fixtures = Fixtures.directory, let manifest = Fixtures.manifest else { return }
        let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FourMImageTests/Resources/photo.png").path
        let checkpoint = fixtures.appendingPathComponent("models/\(model).safetensors").path
        let presets = (manifest["presets"] as? [String: Any] ?? [:]).filter {
            ["PatchedUNetCondCat", "UViT"].contains(($0.value as? [String: Any])?["cls"] as? String ?? "")
        }
        let presetFile = FileManager.default.temporaryDirectory.appendingPathComponent("diffusion-presets-\(UUID()).json")
        try JSONSerialization.data(withJSONObject: presets).write(to: presetFile)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("recon-\(UUID()).png").path
        let metadata = try SafeTensorsFile(path: checkpoint).metadata
        let size = try #require(Int(metadata["image_size_enc"] ?? "") ?? Int(metadata["image_size"] ?? ""), "\(model): image_size")
        let patch = try #require(Int(metadata["patch_size"] ?? ""), "\(model): patch_size")
        let result = try cli.run(["tokenize", "--image-tokenizer", checkpoint, "--image", photo, "--reconstruct", out,
                                  "--diffusion-presets", presetFile.path, "--diffusion-steps", "2"]
                                 + (try FixturePresets.cliViTPresetArguments(forModel: model)))
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n")
        #expect(rows.count == size / patch && rows.allSatisfy { $0.split(separator: " ").count == size / patch }, "\(model): \(result.stdout)")
        #expect(FileManager.default.fileExists(atPath: out))
    }
}
