import Foundation
import FourMImage
import FourMModels
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// `fourm generate` writes a file for every output kind and the `--grid` composite, on the
/// fixture bundle (random weights: the contents are not meaningful, their form is).
@Suite struct GenerateOutputsCLITests {
    let cli = CLITests()

    @Test func writesStructuredOutputsAndTheGrid() throws {
        guard let bundle = try FixtureBundle.make() else { return }
        let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FourMImageTests/Resources/photo.png").path
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

        let dense = try cli.run(["generate", "--bundle", bundle.path, "--input", "rgb=\(photo)", "--target", "metadata", "--sequence-tokens", "8",
                                 "--sam-dense", "3", "--seed", "2", "--out", out])
        #expect(dense.status == 0, "\(dense.stderr)")
        let denseFiles = Set((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [])
        #expect(denseFiles.isSuperset(of: ["sam_instance_dense.png", "sam_instance_dense.json"]), "\(denseFiles)")

        let badTokens = try cli.run(["generate", "--bundle", bundle.path, "--input", "rgb=\(photo)", "--target", "metadata", "--sequence-tokens", "1", "--out", out])
        #expect(badTokens.status != 0 && badTokens.stderr.contains("--sequence-tokens"))
    }
}

/// `fourm generate --input` takes pictures for image-token modalities, label-map PNGs for
/// semseg and token-id JSON for any modality; bad files give one-line errors.
@Suite struct GenerateInputsCLITests {
    let cli = CLITests()

    @Test func acceptsPicturesLabelMapsAndTokenIds() throws {
        guard let bundle = try FixtureBundle.make() else { return }
        let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FourMImageTests/Resources/photo.png").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inputs-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("out").path
        // Sizes from the bundle: the model's semseg grid, the tokenizer's patch and class count.
        let modelFile = try SafeTensorsFile(path: try Fixtures.url("models/fm21.safetensors").path)
        let info = try #require(try FourMConfiguration(metadata: modelFile.metadata, file: "fm21").info("tok_semseg@224"))
        let semseg = try VQImageTokenizer(path: bundle.appendingPathComponent("semseg.safetensors").path, presets: try FixturePresets.vitPresets())
        let side = info.gridSize * semseg.configuration.patchSize
        let classes = semseg.configuration.labels ?? 1
        let labels = try Image(width: side, height: side, channels: 1, pixels: (0..<(side * side)).map { UInt8(($0 / 50) % classes) })
        let labelPNG = dir.appendingPathComponent("labels.png")
        try labels.writePNG(to: labelPNG)
        let ok = try cli.run(["generate", "--bundle", bundle.path, "--input", "tok_rgb@224=\(photo)", "--input", "semseg=\(labelPNG.path)",
                              "--target", "metadata", "--sequence-tokens", "6", "--seed", "1", "--out", out])
        #expect(ok.status == 0, "\(ok.stderr)")
        // Token ids as fourm writes them go back in.
        let ids = dir.appendingPathComponent("ids.json")
        try JSONSerialization.data(withJSONObject: ["tokens": [Int](repeating: 7, count: info.tokenCount)]).write(to: ids)
        let fromIds = try cli.run(["generate", "--bundle", bundle.path, "--input", "semseg=\(ids.path)", "--target", "metadata", "--sequence-tokens", "4", "--out", out])
        #expect(fromIds.status == 0, "\(fromIds.stderr)")

        let bad = try Image(width: side, height: side, channels: 1, pixels: [UInt8](repeating: UInt8(classes + 39), count: side * side))
        let badPNG = dir.appendingPathComponent("bad.png")
        try bad.writePNG(to: badPNG)
        let outOfRange = try cli.run(["generate", "--bundle", bundle.path, "--input", "semseg=\(badPNG.path)", "--target", "metadata", "--out", out])
        #expect(outOfRange.status != 0 && outOfRange.stderr.contains("label \(classes + 39)"), "\(outOfRange.stderr)")
        try JSONSerialization.data(withJSONObject: [1, 2, 3]).write(to: ids)
        let wrongCount = try cli.run(["generate", "--bundle", bundle.path, "--input", "semseg=\(ids.path)", "--target", "metadata", "--out", out])
        #expect(wrongCount.status != 0 && wrongCount.stderr.contains("3 ids"), "\(wrongCount.stderr)")
        try Data("[1, \"x\"]".utf8).write(to: ids)
        let notIds = try cli.run(["generate", "--bundle", bundle.path, "--input", "semseg=\(ids.path)", "--target", "metadata", "--out", out])
        #expect(notIds.status != 0 && notIds.stderr.contains("tokens[1]"), "\(notIds.stderr)")
        for result in [outOfRange, wrongCount, notIds] {
            #expect(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "one line: \(result.stderr)")
        }
    }
}

/// `fourm generate --super-resolution BUNDLE` runs the demo's 448 pass after the base pass.
@Suite struct GenerateSuperResolutionCLITests {
    let cli = CLITests()

    @Test func writesThe448TwinsAndRejectsAMismatchedBundle() throws {
        guard let bundle = try FixtureBundle.make(), let sr = try FixtureBundle.makeSuperResolution(from: bundle) else { return }
        let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FourMImageTests/Resources/photo.png").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("sr-\(UUID())").path
        let ok = try cli.run(["generate", "--bundle", bundle.path, "--input", "rgb=\(photo)", "--target", "semseg", "--seed", "4",
                              "--super-resolution", sr.path, "--out", out])
        #expect(ok.status == 0, "\(ok.stderr)")
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [])
        #expect(files.isSuperset(of: ["tok_semseg_224.png", "tok_semseg_448.png", "tok_semseg_448.tokens.json"]), "\(files)")
        let mismatch = try cli.run(["generate", "--bundle", bundle.path, "--input", "rgb=\(photo)", "--target", "semseg", "--super-resolution", bundle.path, "--out", out])
        #expect(mismatch.status != 0 && mismatch.stderr.contains("super-resolution"), "\(mismatch.stderr)")
        // The base pass's progress lines come first; the error is one line.
        #expect(mismatch.stderr.split(separator: "\n").filter { $0.contains("super-resolution") }.count == 1, "\(mismatch.stderr)")
    }
}

/// The feature-probe example explains its arguments (it needs a `fourm synth` folder to run).
@Suite struct FeatureProbeExampleTests {
    @Test func explainsMissingArguments() throws {
        let process = Process()
        process.executableURL = CLITests.binary.deletingLastPathComponent().appendingPathComponent("FeatureProbe")
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: readToEnd(out.fileHandleForReading), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2 && text.contains("usage:"))
    }
}

/// `fourm generate --schedule FILE` takes per-target settings from JSON or YAML; bad entries are named.
@Suite struct GenerateScheduleFileCLITests {
    let cli = CLITests()

    @Test func readsPerTargetSettingsAndNamesBadKeys() throws {
        guard let bundle = try FixtureBundle.make() else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("schedule.json")
        let schedule: [String: Any] = ["targets": [["modality": "semseg", "scheme": "maskgit", "steps": 2, "token_schedule": "cosine", "temperature": 1, "guidance": 1.5],
                                                   ["modality": "caption", "tokens": 6, "temperature": 0.5]], "top_p": 0.9, "grow_conditioning": false]
        try JSONSerialization.data(withJSONObject: schedule).write(to: file)
        let out = dir.appendingPathComponent("out").path
        let ok = try cli.run(["generate", "--bundle", bundle.path, "--input", "caption=a red bus", "--input", "det=v0=1 v1=2 v2=30 v3=40 bus",
                              "--schedule", file.path, "--seed", "9", "--out", out])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(out)/tok_semseg_224.png"))
        try JSONSerialization.data(withJSONObject: ["targets": [["modality": "semseg", "scheme": "diffusion"]]]).write(to: file)
        let bad = try cli.run(["generate", "--bundle", bundle.path, "--input", "caption=a red bus", "--schedule", file.path, "--out", out])
        #expect(bad.status != 0 && bad.stderr.contains("targets[0].scheme"), "\(bad.stderr)")
    }

    /// The same schedule written as YAML gives byte-identical outputs; YAML-specific mistakes
    /// (a misspelt key, a fractional or huge count, a repeated key) are named.
    @Test func readsYAMLLikeJSON() throws {
        guard let bundle = try FixtureBundle.make() else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("schedule-yaml-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let json = dir.appendingPathComponent("schedule.json"), yaml = dir.appendingPathComponent("schedule.yaml")
        let schedule: [String: Any] = ["targets": [["modality": "semseg", "scheme": "maskgit", "steps": 2, "temperature": 1, "guidance": 1.5],
                                                   ["modality": "caption", "tokens": 6, "temperature": 0.5]], "top_p": 0.9]
        try JSONSerialization.data(withJSONObject: schedule).write(to: json)
        try """
            # the same schedule as schedule.json
            targets:
              - modality: semseg
                scheme: maskgit
                steps: 2
                temperature: 1
                guidance: 1.5
              - {modality: caption, tokens: 6, temperature: 0.5}
            top_p: 0.9
            """.write(to: yaml, atomically: true, encoding: .utf8)
        var outputs: [[String: Data]] = []
        for file in [json, yaml] {
            let out = dir.appendingPathComponent("out-\(file.pathExtension)").path
            let run = try cli.run(["generate", "--bundle", bundle.path, "--input", "caption=a red bus", "--input", "det=v0=1 v1=2 v2=30 v3=40 bus",
                                   "--schedule", file.path, "--seed", "9", "--out", out])
            #expect(run.status == 0, "\(run.stderr)")
            var files: [String: Data] = [:]
            for name in (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [] {
                files[name] = FileManager.default.contents(atPath: "\(out)/\(name)")
            }
            outputs.append(files)
        }
        #expect(!outputs[0].isEmpty && outputs[0] == outputs[1], "\(outputs.map { $0.keys.sorted() })")
        let cases: [(String, String)] = [
            ("targets:\n  - {modality: semseg, stpes: 2}\n", "targets[0].stpes is not a schedule key"),
            ("targets:\n  - {modality: semseg, steps: 2.5}\n", "targets[0].steps is 2.5, expected a whole number"),
            ("targets:\n  - {modality: semseg, tokens: 1e300}\n", "targets[0].tokens is 1e+300, expected a whole number"),
            ("targets:\n  - {modality: semseg, temperature: .inf}\n", "targets[0].temperature is"),
            ("targets:\n  - {modality: semseg}\ntargets: []\n", "schedule.targets appears more than once"),
            ("targets: [\n", "invalid YAML"),
            // Nested aliases: 10^6 nodes once expanded, from a few hundred bytes.
            ("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                + "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\ntargets: [*e]\n", "more than 100000 YAML nodes"),
        ]
        for (text, message) in cases {
            try text.write(to: yaml, atomically: true, encoding: .utf8)
            let bad = try cli.run(["generate", "--bundle", bundle.path, "--input", "caption=a red bus", "--schedule", yaml.path, "--out", dir.appendingPathComponent("bad").path])
            #expect(bad.status != 0 && bad.stderr.contains(message) && bad.stderr.contains(yaml.path), "\(text): \(bad.stderr)")
        }
    }
}

/// `--input rgb=FOLDER` runs once per image (demo model), with a summary line.
@Suite struct GenerateFolderCLITests {
    let cli = CLITests()

    @Test func runsEveryImageOfAFolder() throws {
        let scene = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/Assets/scene.png")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("folder-\(UUID())")
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        for name in ["a.png", "b.png"] { try FileManager.default.copyItem(at: scene, to: images.appendingPathComponent(name)) }
        let out = dir.appendingPathComponent("out").path
        let result = try cli.run(["generate", "--input", "rgb=\(images.path)", "--target", "depth,caption", "--grid", "grid.png", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("generated 2 of 2 inputs"))
        for name in ["a", "b"] {
            let files = Set((try? FileManager.default.contentsOfDirectory(atPath: "\(out)/\(name)")) ?? [])
            #expect(files.contains("caption.txt") && files.contains("grid.png"), "\(name): \(files)")
        }
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let none = try cli.run(["generate", "--input", "rgb=\(empty.path)", "--target", "caption", "--out", out])
        #expect(none.status != 0 && none.stderr.contains("no PNG or JPEG images"), "\(none.stderr)")
    }
}

/// `fourm generate --decoder-weights bf16|int8` decodes sequences over compact decoder weights
/// (the model's `withCompactDecoderWeights`), on the shipped demo model; a bad value is refused
/// before anything runs.
@Suite struct DecoderWeightsCLITests {
    let cli = CLITests()

    @Test(arguments: ["bf16", "int8"])
    func captionsWithCompactDecoderWeights(_ format: String) throws {
        let scene = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/Assets/scene.png").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("decoder-weights-\(format)-\(UUID())").path
        let result = try cli.run(["generate", "--input", "rgb=\(scene)", "--target", "caption", "--decoder-weights", format, "--seed", "1", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        let caption = try String(contentsOfFile: "\(out)/caption.txt", encoding: .utf8)
        #expect(!caption.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    @Test func refusesAnUnknownFormat() throws {
        let result = try cli.run(["generate", "--input", "caption=a red cube", "--decoder-weights", "int4", "--out", FileManager.default.temporaryDirectory.path])
        #expect(result.status == 64 && result.stderr.contains("--decoder-weights") && result.stderr.contains("int4"), "\(result.status) \(result.stderr)")
    }
}
