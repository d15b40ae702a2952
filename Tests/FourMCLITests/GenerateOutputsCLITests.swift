import Foundation
import FourMTestSupport
import Testing

/// `fourm generate` writes a file for every output kind and the `--grid` composite, on the
/// fixture bundle (random weights: the contents are not meaningful, their form is).
@Suite struct GenerateOutputsCLITests {
    let cli = CLITests()

    @Test func writesStructuredOutputsAndTheGrid() throws {
        guard let bundle = try FixtureBundle.make() else { return }
        let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FourMTokenizersTests/Image/Resources/photo.png").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("outputs-\(UUID())").path
        let grid = "\(out)/grid.png"
        let result = try cli.run(["generate", "--bundle", bundle.path, "--input", "rgb=\(photo)", "--target", "clip,sam,poses,palette,metadata",
                                  "--sequence-tokens", "12", "--seed", "3", "--grid", grid, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [])
        let wanted: Set<String> = ["tok_clip_224.features.json", "tok_clip_224_pca.png", "sam_instance.png", "sam_instance.json", "human_poses.json",
                                   "human_poses.png", "color_palette.json", "metadata.json", "grid.png"]
        #expect(files.isSuperset(of: wanted), "missing \(wanted.subtracting(files))")
        let features = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: "\(out)/tok_clip_224.features.json"))) as? [String: Any]
        let shape = (features?["shape"] as? [Int]) ?? []
        #expect(shape.count == 4 && (features?["values"] as? [Any])?.count == shape.reduce(1, *))
        let sam = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: "\(out)/sam_instance.json"))) as? [String: Any]
        #expect(sam?["instances"] is [Any] && sam?["size"] as? [Int] == [224, 224])

        let badTokens = try cli.run(["generate", "--bundle", bundle.path, "--input", "rgb=\(photo)", "--target", "metadata", "--sequence-tokens", "1", "--out", out])
        #expect(badTokens.status != 0 && badTokens.stderr.contains("--sequence-tokens"))
    }
}
