import Foundation
import FourMTensor
import FourMTestSupport
import Testing

/// The CLI's side of the bad-input catalogue (issue 15): each bad request exits non-zero with
/// its message on the first line of standard error, and nothing is computed first.
@Suite struct BadInputCatalogueCLITests {
    let cli = CLITests()

    func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID())").path
    }

    /// The first line of standard error (ArgumentParser adds a usage hint after validation
    /// errors; runtime errors are exactly one line).
    func firstLine(_ result: CLITests.Result) -> String {
        String(result.stderr.split(separator: "\n").first ?? "")
    }

    @Test func emptyTargetIsAnError() throws {
        let result = try cli.run(["generate", "--input", "caption=a cube", "--target", "", "--out", temporary("t")])
        #expect(result.status != 0)
        #expect(firstLine(result).contains("--target '' has an empty modality name"), "\(result.stderr)")
        let trailing = try cli.run(["generate", "--input", "caption=a cube", "--target", "depth,", "--out", temporary("t")])
        #expect(trailing.status != 0 && firstLine(trailing).contains("empty modality name"), "\(trailing.stderr)")
    }

    @Test func negativeNumbersAreParsedAndExplained() throws {
        let steps = try cli.run(["generate", "--input", "caption=a cube", "--steps", "-5", "--out", temporary("s")])
        #expect(steps.status != 0)
        #expect(firstLine(steps).contains("--steps must be at least 1, got -5"), "\(steps.stderr)")
        let temperature = try cli.run(["generate", "--input", "caption=a cube", "--temperature", "-1", "--out", temporary("s")])
        #expect(temperature.status != 0 && firstLine(temperature).contains("--temperature must be a non-negative number"), "\(temperature.stderr)")
    }

    @Test func guidanceAndTemperatureBeyondFloatAreErrors() throws {
        let guidance = try cli.run(["generate", "--input", "caption=a cube", "--guidance", "1e308", "--out", temporary("g")])
        #expect(guidance.status != 0 && firstLine(guidance).contains("--guidance must be a finite number"), "\(guidance.stderr)")
        let temperature = try cli.run(["generate", "--input", "caption=a cube", "--temperature", "1e308", "--out", temporary("g")])
        #expect(temperature.status != 0 && firstLine(temperature).contains("got 1e+308"), "\(temperature.stderr)")
    }

    @Test func outputThatIsAFileFailsBeforeAnyCompute() throws {
        let file = temporary("file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let result = try cli.run(["generate", "--input", "caption=a cube", "--target", "depth", "--out", file])
        #expect(result.status != 0)
        #expect(result.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("is a file, expected a folder"), "\(result.stderr)")
        // No progress bar was drawn: the check ran before generation.
        #expect(!result.stderr.contains("["), "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain"))
    }

    @Test func uncreatableOutputFailsBeforeAnyCompute() throws {
        let result = try cli.run(["generate", "--input", "caption=a cube", "--target", "depth", "--out", "/proc/fourm-cannot-create/out"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("cannot create the folder"), "\(result.stderr)")
        #expect(result.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test func hostileCheckpointGivesOneLine() throws {
        let path = temporary("dup") + ".safetensors"
        let header = Array(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#.utf8)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + [7]
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let result = try cli.run(["inspect", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("header key 'a' appears more than once"), "\(result.stderr)")
        #expect(result.stderr.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test func inspectCheckReportsNonFiniteWeights() throws {
        let path = temporary("nan") + ".safetensors"
        var writer = SafeTensorsWriter()
        writer.add("w", Tensor<Float>(shape: [3], scalars: [1, .nan, 2]))
        try writer.write(to: path)
        let result = try cli.run(["inspect", path, "--check"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("tensor 'w' holds nan at element 1, expected finite values"), "\(result.stderr)")
        var good = SafeTensorsWriter()
        good.add("w", Tensor<Float>(shape: [2], scalars: [1, 2]))
        try good.write(to: path)
        let ok = try cli.run(["inspect", path, "--check"])
        #expect(ok.status == 0 && ok.stdout.contains("values: all finite"), "\(ok.stderr)")
    }

    /// The message audit (issue 15) on the command line: one bad value per option class and
    /// input file the CLI reads itself. Each run exits non-zero, and the first line of standard
    /// error names the option or file, the key where there is one, and expected versus actual,
    /// with none of Foundation's generic texts.
    @Test func messageAuditTable() throws {
        let folder = URL(fileURLWithPath: temporary("audit"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func file(_ name: String, _ text: String) throws -> String {
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url.path
        }
        let out = folder.appendingPathComponent("out").path
        let generate = ["generate", "--input", "caption=a cube", "--target", "depth", "--out", out]
        let subfolder = folder.appendingPathComponent("a-folder.json").path
        try FileManager.default.createDirectory(atPath: subfolder, withIntermediateDirectories: true)
        let badYAML = try file("s1.yaml", "targets: [\n")
        let noTargets = try file("s2.json", #"{"top_p": 0.5}"#)
        let negativeSteps = try file("s3.json", #"{"targets": [{"modality": "depth", "steps": -5}]}"#)
        let badJSON = try file("s4.json", #"{"targets": [{"modality": "depth",}]}"#)
        let presetNumber = try file("p1.json", #"{"p": 3}"#)
        let presetSyntax = try file("p2.json", #"{"p": {},}"#)
        let tokenizer = try file("t.json", #"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1}}}"#)
        let table: [(arguments: [String], exit: Int32, mentions: [String])] = [
            // Negative numbers parse (`.unconditional`) and are explained, never "Missing value".
            (generate + ["--diffusion-steps", "-2"], 64, ["--diffusion-steps must be at least 1, got -2"]),
            (generate + ["--sam-dense", "-1"], 64, ["--sam-dense must be at least 1, got -1"]),
            (generate + ["--sequence-tokens", "-3"], 64, ["--sequence-tokens must be at least 2, got -3"]),
            (generate + ["--seed", "-1"], 64, ["'-1'", "--seed"]),
            (["synth", "--count", "-3", "--out", out], 1, ["--count: got -3, expected 1...1000000"]),
            (["synth", "--count", "1", "--size", "-8", "--out", out], 1, ["--size: got -8, expected 8...4096"]),
            (["eval", "--count", "-1"], 64, ["--count: got -1, expected 2...100000"]),
            (["retrieve", "--bundle", folder.path, "--images", folder.path, "--k", "-2"], 64, ["--k must be at least 1, got -2"]),
            (["tokenize", "--tokenizer", "t.json", "--diffusion-steps", "-1", "a"], 64, ["--diffusion-steps must be at least 1, got -1"]),
            // Schedule files.
            (generate + ["--schedule", badYAML], 1, ["s1.yaml", "invalid YAML", "at line"]),
            (generate + ["--schedule", noTargets], 1, ["s2.json", "schedule.targets is missing", "expected a non-empty array"]),
            (generate + ["--schedule", negativeSteps], 1, ["s3.json", "targets[0].steps is -5", "expected a whole number from 1"]),
            (generate + ["--schedule", badJSON], 1, ["s4.json", "invalid JSON", "at byte 34"]),
            (generate + ["--schedule", subfolder], 1, ["a-folder.json", "Is a directory"]),
            // Files the tokenize command reads itself.
            (["tokenize", "--tokenizer", tokenizer, "--file", folder.appendingPathComponent("absent.txt").path], 1, ["--file", "absent.txt", "No such file or directory"]),
            (["tokenize", "--image-tokenizer", "x.safetensors", "--image", "x.png", "--diffusion-presets", presetNumber], 1,
             ["p1.json", "key 'p' is number 3", "expected a preset object"]),
            (["tokenize", "--image-tokenizer", "x.safetensors", "--image", "x.png", "--diffusion-presets", presetSyntax], 1,
             ["p2.json", "invalid JSON", "at byte 9"]),
            // Output files are checked before any compute (folders by the existing tests above).
            (generate + ["--grid", "/nonexistent-fourm-folder/g.png"], 1, ["--grid", "/nonexistent-fourm-folder/g.png", "does not exist"]),
            (["convert", "--precision", "bf16", "in.safetensors", "/nonexistent-fourm-folder/o.safetensors"], 1, ["OUT", "/nonexistent-fourm-folder", "does not exist"]),
            (["retrieve", "--bundle", folder.path, "--images", folder.path, "--save-index", "/nonexistent-fourm-folder/i.safetensors"], 1, ["--save-index", "does not exist"]),
            (["tokenize", "--image-tokenizer", "x.safetensors", "--image", "x.png", "--reconstruct", subfolder], 1, ["--reconstruct", "is a folder, expected a file path"]),
            // Checkpoints.
            (["inspect", subfolder], 1, ["a-folder.json", "directory"]),
            (["inspect", folder.appendingPathComponent("absent.safetensors").path], 1, ["absent.safetensors", "No such file"]),
        ]
        // Exit codes: 64 (EX_USAGE) for an option ArgumentParser or `validate()` rejects, 1 for
        // an input found bad while running.
        for (arguments, exit, mentions) in table {
            let result = try cli.run(arguments)
            let line = firstLine(result)
            #expect(result.status == exit, "\(arguments): exit \(result.status), expected \(exit): \(result.stderr)")
            for part in mentions { #expect(line.contains(part), "\(arguments): '\(part)' missing from: \(result.stderr)") }
            for generic in ["NSCocoaErrorDomain", "The operation could not be completed", "not in the correct format", "Missing value"] {
                #expect(!result.stderr.contains(generic), "\(arguments): generic text in: \(result.stderr)")
            }
        }
    }
}
