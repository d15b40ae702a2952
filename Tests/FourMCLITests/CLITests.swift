import Foundation
import FourMTestSupport
import Testing

/// Runs the built `fourm` executable (it sits next to the test bundle) and checks output and
/// exit codes.
@Suite struct CLITests {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fourm")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["FOURM_KEEP_BLAS_CORE"] = "1"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test func binaryWasBuilt() {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "no fourm at \(Self.binary.path)")
    }

    @Test func inspectsEveryFixtureCheckpoint() throws {
        guard let directory = Fixtures.directory else { return }
        let models = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("models").path).filter { $0.hasSuffix(".safetensors") }
        #expect(!models.isEmpty)
        for name in models {
            let result = try run(["inspect", directory.appendingPathComponent("models/\(name)").path, "--tensors"])
            #expect(result.status == 0, "\(name): \(result.stderr)")
            #expect(result.stdout.contains("tensor list:"), "\(name)")
            if result.stdout.contains("kind: 4M model") {
                #expect(result.stdout.contains("modalities out") && result.stdout.contains("strict load: ok"), "\(name)")
            }
        }
    }

    @Test func badFilesFailWithOneLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID()).safetensors").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        let result = try run(["inspect", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("truncated") && result.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1, "\(result.stderr)")
        let missing = try run(["inspect", "/nonexistent/model.safetensors"])
        #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/model.safetensors"))
    }

    @Test func writesAndInspectsARandomModel() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("random-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let written = try run(["write-random-model", path, "--seed", "3"])
        #expect(written.status == 0, "\(written.stderr)")
        let inspected = try run(["inspect", path])
        #expect(inspected.status == 0 && inspected.stdout.contains("tok_dinov2_global"))
    }

    @Test func tokenizesAndDecodesText() throws {
        guard let directory = Fixtures.directory else { return }
        let vocabulary = directory.appendingPathComponent("text_tokenizer_4m_wordpiece_30k.json").path
        let encoded = try run(["tokenize", "--tokenizer", vocabulary, "a dog on a couch", "[S_1]"])
        #expect(encoded.status == 0)
        #expect(encoded.stdout == "4321 4232 4926 4321 4228\n5\n")
        let decoded = try run(["tokenize", "--tokenizer", vocabulary, "--decode", "4321 4232 4926 4321 4228"])
        #expect(decoded.stdout == "a dog on a couch\n")
        let lines = FileManager.default.temporaryDirectory.appendingPathComponent("captions-\(UUID()).txt").path
        try "a dog on a couch\nA Man\n".write(toFile: lines, atomically: true, encoding: .utf8)
        let fromFile = try run(["tokenize", "--tokenizer", vocabulary, "--file", lines])
        #expect(fromFile.stdout == "4321 4232 4926 4321 4228\n4321 5050\n")
        let bad = try run(["tokenize", "--tokenizer", vocabulary, "--decode", "12 x"])
        #expect(bad.status != 0 && bad.stderr.contains("'x' is not an integer id"))
        let noInput = try run(["tokenize", "--tokenizer", vocabulary])
        #expect(noInput.status != 0)
    }
}

@Suite struct GenerateCommandTests {
    let cli = CLITests()

    @Test func generatesFromACaptionAndWritesOutputs() throws {
        guard let bundle = try FixtureBundle.make() else { return }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID())").path
        let result = try cli.run(["generate", "--bundle", bundle.path, "--input", "caption=a dog on a couch", "--target", "semseg,det",
                                  "--steps", "2", "--seed", "3", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [])
        #expect(files.isSuperset(of: ["tok_semseg_224.png", "tok_semseg_224.tokens.json", "det.txt", "det.tokens.json"]), "\(files)")
    }

    /// README's first command: the shipped demo model, RGB to depth, normals, semantic
    /// segmentation, caption and boxes, then the caption-to-RGB variant.
    @Test func readmeCommandsRunOnTheShippedModel() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let scene = repository.appendingPathComponent("Examples/Assets/scene.png").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID())").path
        let result = try cli.run(["generate", "--input", "rgb=\(scene)", "--target", "depth,normal,semseg,caption,det", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [])
        #expect(files.isSuperset(of: ["tok_depth_64.png", "tok_normal_64.png", "tok_semseg_64.png", "caption.txt", "det.txt", "det.boxes.json", "det.png"]), "\(files)")
        let caption = (try? String(contentsOfFile: "\(out)/caption.txt", encoding: .utf8)) ?? ""
        #expect(!caption.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "empty caption")

        let toRGB = try cli.run(["generate", "--input", "caption=a large red cube left of a small blue sphere", "--target", "rgb", "--steps", "16", "--temperature", "1", "--guidance", "3", "--out", out])
        #expect(toRGB.status == 0, "\(toRGB.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(out)/tok_rgb_64.png"))
    }

    @Test func reportsBadRequestsWithOneLineAndNonZeroExit() throws {
        guard let bundle = try FixtureBundle.make() else { return }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID())").path
        let unknown = try cli.run(["generate", "--bundle", bundle.path, "--input", "caption=a cat", "--target", "smell", "--out", out])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown target modality 'smell'"), "\(unknown.stderr)")
        let missing = try cli.run(["generate", "--bundle", bundle.path, "--input", "caption=a cat", "--target", "depth", "--out", out])
        #expect(missing.status != 0 && missing.stderr.contains("no tokenizer to decode tok_depth@224"), "\(missing.stderr)")
        let badImage = try cli.run(["generate", "--bundle", bundle.path, "--input", "rgb=/nonexistent.png", "--target", "det", "--out", out])
        #expect(badImage.status != 0 && badImage.stderr.contains("/nonexistent.png"), "\(badImage.stderr)")
        let noInput = try cli.run(["generate", "--bundle", bundle.path, "--target", "det", "--out", out])
        #expect(noInput.status != 0)
        let help = try cli.run(["generate", "--help"])
        #expect(help.stdout.contains("caption2clip2rgb") && help.stdout.contains("dinov2_global"))
    }
}

/// The examples are built with the package; CI runs those that work on fixture checkpoints.
@Suite struct ExampleTests {
    func run(_ name: String, _ arguments: [String]) throws -> CLITests.Result {
        let process = Process()
        process.executableURL = CLITests.binary.deletingLastPathComponent().appendingPathComponent(name)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["FOURM_KEEP_BLAS_CORE"] = "1"
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLITests.Result(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: "")
    }

    @Test func customConditioningRunsOnTheFixtureModel() throws {
        guard let fixtures = Fixtures.directory else { return }
        let result = try run("CustomConditioning", [fixtures.appendingPathComponent("models/fm21.safetensors").path,
                                                    fixtures.appendingPathComponent("text_tokenizer_4m_wordpiece_30k.json").path])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("step 4: committed") && result.stdout.contains("first depth tokens"))
    }

    @Test func rgbToAllRunsOnTheFixtureBundle() throws {
        guard let bundle = try FixtureBundle.make() else { return }
        let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FourMTokenizersTests/Image/Resources/photo.png")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rgb2all-\(UUID())").path
        let result = try run("RGBToAll", [bundle.path, photo.path, out])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("skipping (no tokenizer in the bundle)") && result.stdout.contains("tok_semseg@224: \(out)/tok_semseg_224.png"))
    }

    @Test func examplesExplainMissingArguments() throws {
        for name in ["RGBToAll", "CaptionToImage", "CustomConditioning", "Retrieval"] {
            let result = try run(name, [])
            #expect(result.status == 2 && result.stdout.contains("usage:"), "\(name): \(result.stdout)")
        }
    }
}

@Suite struct ImageTokenizeCommandTests {
    let cli = CLITests()

    @Test func tokenizesAndReconstructsAnImage() throws {
        guard let fixtures = Fixtures.directory else { return }
        let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FourMTokenizersTests/Image/Resources/photo.png").path
        let checkpoint = fixtures.appendingPathComponent("models/tok_vqvae_vit_rgb.safetensors").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("recon-\(UUID()).png").path
        let presets = ["--vit-preset", "vit_fixture_enc_d64_l2_h2:64:2:2", "--vit-preset", "vit_fixture_dec_d64_l2_h2:64:2:2"]
        let result = try cli.run(["tokenize", "--image-tokenizer", checkpoint, "--image", photo, "--reconstruct", out] + presets)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n")
        #expect(rows.count == 8 && rows.allSatisfy { $0.split(separator: " ").count == 8 }, "expected an 8×8 grid (128 px / 16)")
        #expect(FileManager.default.fileExists(atPath: out))
        let unknownPreset = try cli.run(["tokenize", "--image-tokenizer", checkpoint, "--image", photo])
        #expect(unknownPreset.status != 0 && unknownPreset.stderr.contains("vit_fixture"))
        let corrupt = FileManager.default.temporaryDirectory.appendingPathComponent("corrupt-\(UUID()).png").path
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]).write(to: URL(fileURLWithPath: corrupt))
        let bad = try cli.run(["tokenize", "--image-tokenizer", checkpoint, "--image", corrupt] + presets)
        #expect(bad.status != 0 && bad.stderr.contains(corrupt))
    }
}

@Suite struct RetrieveCommandTests {
    let cli = CLITests()

    @Test func indexesImagesAndAnswersQueries() throws {
        guard let bundle = try FixtureBundle.make() else { return }
        let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FourMTokenizersTests/Image/Resources")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gallery-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["photo.png", "rgb8.png", "gray8.png"] {
            try FileManager.default.copyItem(at: resources.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let index = FileManager.default.temporaryDirectory.appendingPathComponent("index-\(UUID()).safetensors").path
        let built = try cli.run(["retrieve", "--bundle", bundle.path, "--images", folder.path, "--save-index", index, "--query-caption", "a photo", "--k", "2"])
        #expect(built.status == 0, "\(built.stderr)")
        #expect(built.stdout.split(separator: "\n").count == 2)
        let reused = try cli.run(["retrieve", "--bundle", bundle.path, "--load-index", index, "--query-image", resources.appendingPathComponent("photo.png").path, "--k", "1"])
        #expect(reused.status == 0 && reused.stdout.contains("photo.png"), "\(reused.stdout) \(reused.stderr)")
        let bad = try cli.run(["retrieve", "--bundle", bundle.path, "--images", "/nonexistent-folder"])
        #expect(bad.status != 0 && bad.stderr.contains("/nonexistent-folder"))
    }
}
