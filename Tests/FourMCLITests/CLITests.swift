import Foundation
import FourMTensor
import FourMTestSupport
import Testing

/// Runs the built `fourm` executable (it sits next to the test bundle) and checks output and
/// exit codes.
@Suite struct CLITests {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fourm")
    }

    /// Runs another executable of the package built beside `fourm` (an example, `fourm-bench`)
    /// with `arguments`; stdout and stderr together in `stdout`.
    static func runSibling(_ name: String, _ arguments: [String]) throws -> Result {
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
        let data = readToEnd(out.fileHandleForReading)
        process.waitUntilExit()
        return CLITests.Result(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: "")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["FOURM_KEEP_BLAS_CORE"] = "1"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = readToEnd(out.fileHandleForReading)
        let stderr = readToEnd(err.fileHandleForReading)
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

    /// `fourm convert --precision bf16`: same names and metadata, every float tensor BF16,
    /// integers untouched, and the result loads (in bf16, its linear weights as stored).
    @Test func convertsToBF16() throws {
        let directory = FileManager.default.temporaryDirectory
        let path = directory.appendingPathComponent("random-\(UUID()).safetensors").path
        let converted = directory.appendingPathComponent("random-bf16-\(UUID()).safetensors").path
        defer { for p in [path, converted] { try? FileManager.default.removeItem(atPath: p) } }
        #expect(try run(["write-random-model", path, "--seed", "4"]).status == 0)
        let result = try run(["convert", "--precision", "bf16", path, converted])
        #expect(result.status == 0, "\(result.stderr)")
        let before = try SafeTensorsFile(path: path), after = try SafeTensorsFile(path: converted)
        #expect(after.names == before.names)
        #expect(after.metadata == before.metadata)
        for name in before.names {
            let (old, new) = (before.entries[name]!, after.entries[name]!)
            #expect(new.shape == old.shape, "\(name)")
            #expect(new.dtype == (old.dtype.isFloatingPoint ? .bf16 : old.dtype), "\(name)")
        }
        #expect(after.fileSize < before.fileSize * 6 / 10)
        let inspected = try run(["inspect", converted])
        #expect(inspected.status == 0 && inspected.stdout.contains("strict load: ok"), "\(inspected.stdout) \(inspected.stderr)")
        let same = try run(["convert", "--precision", "bf16", path, path])
        #expect(same.status != 0)
    }

    /// `fourm generate --precision bf16` runs the demo model through the bf16 path.
    @Test func generatesInBF16() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bf16-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try run(["generate", "--precision", "bf16", "--input", "caption=a large red cube", "--target", "semseg,det", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(out)/tok_semseg_64.png"))
        // A CPU without AVX-512 (oneDNN capped at AVX2): bf16 falls back to fp32 and still runs.
        let capped = try run(["generate", "--precision", "bf16", "--input", "caption=a large red cube", "--target", "semseg", "--out", out + "-avx2"],
                             environment: ["ONEDNN_MAX_CPU_ISA": "AVX2"])
        defer { try? FileManager.default.removeItem(atPath: out + "-avx2") }
        #expect(capped.status == 0, "\(capped.stderr)")
        let bad = try run(["generate", "--precision", "fp16", "--input", "caption=x", "--out", out])
        #expect(bad.status != 0 && bad.stderr.contains("precision"), "\(bad.stderr)")
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

    /// A 16-bit depth PNG conditions the demo model through its depth tokenizer.
    @Test func depthPNGConditionsTheDemoModel() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("depth-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // A ground plane receding to the horizon at row 28, sky above: 64×64, larger = farther.
        var samples: [UInt8] = []
        for row in 0..<64 {
            let value: Int = row < 28 ? 65535 : 65535 * 3 / max(row - 24, 1) / 4
            for _ in 0..<64 { samples += [UInt8(value >> 8), UInt8(value & 255)] }
        }
        let png = directory.appendingPathComponent("depth.png")
        try pngGray16(width: 64, height: 64, bigEndianSamples: samples).write(to: png)
        let out = directory.appendingPathComponent("out").path
        let result = try cli.run(["generate", "--input", "depth=\(png.path)", "--target", "semseg,caption", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(out)/tok_semseg_64.png"))
        let wrongSize = try cli.run(["generate", "--input", "depth=\(Self.tinyPNG.path)", "--target", "caption", "--out", out])
        #expect(wrongSize.status != 0 && wrongSize.stderr.split(separator: "\n").count == 1, "\(wrongSize.stderr)")
    }

    static var tinyPNG: URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-depth-\(UUID()).png")
        try? pngGray16(width: 2, height: 2, bigEndianSamples: [0, 0, 1, 0, 2, 0, 3, 0]).write(to: url)
        return url
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
        try CLITests.runSibling(name, arguments)
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
            .appendingPathComponent("FourMImageTests/Resources/photo.png")
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
            .appendingPathComponent("FourMImageTests/Resources/photo.png").path
        let model = "tok_vqvae_vit_rgb"
        let checkpoint = fixtures.appendingPathComponent("models/\(model).safetensors").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("recon-\(UUID()).png").path
        let presets = try FixturePresets.cliViTPresetArguments(forModel: model)
        // The grid the checkpoint's header gives: encoder image size over patch size.
        let metadata = try SafeTensorsFile(path: checkpoint).metadata
        let size = try #require(Int(metadata["image_size_enc"] ?? "") ?? Int(metadata["image_size"] ?? ""), "\(model): image_size")
        let patch = try #require(Int(metadata["patch_size"] ?? ""), "\(model): patch_size")
        let side = size / patch
        let result = try cli.run(["tokenize", "--image-tokenizer", checkpoint, "--image", photo, "--reconstruct", out] + presets)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n")
        #expect(rows.count == side && rows.allSatisfy { $0.split(separator: " ").count == side }, "expected a \(side)×\(side) grid (\(size) px / \(patch))")
        #expect(FileManager.default.fileExists(atPath: out))
        let unknownPreset = try cli.run(["tokenize", "--image-tokenizer", checkpoint, "--image", photo])
        // The message names a preset the header asks for (the encoder's or the decoder's).
        let named = [metadata["enc_type"], metadata["dec_type"]].compactMap { $0 }
        #expect(unknownPreset.status != 0 && named.contains { unknownPreset.stderr.contains($0) }, "\(unknownPreset.stderr)")
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
            .appendingPathComponent("FourMImageTests/Resources")
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

/// A minimal 16-bit grayscale PNG (stored, uncompressed deflate blocks) written without any
/// image library, so the CLI test depends only on the file format.
func pngGray16(width: Int, height: Int, bigEndianSamples: [UInt8]) -> Data {
    func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)] }
    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }
    func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        return be32(UInt32(body.count)) + typed + be32(crc32(typed))
    }
    var raw: [UInt8] = []
    for row in 0..<height {
        raw.append(0)
        raw += bigEndianSamples[(row * width * 2)..<((row + 1) * width * 2)]
    }
    var zlib: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
        let n = min(65535, raw.count - offset)
        let last: UInt8 = offset + n == raw.count ? 1 : 0
        zlib += [last, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8((~n >> 8) & 255)] + raw[offset..<(offset + n)]
        offset += n
    } while offset < raw.count
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in raw {
        a = (a + UInt32(byte)) % 65521
        b = (b + a) % 65521
    }
    zlib += be32(b << 16 | a)
    let header = be32(UInt32(width)) + be32(UInt32(height)) + [16, 0, 0, 0, 0]
    let bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", [])
    return Data(bytes)
}
