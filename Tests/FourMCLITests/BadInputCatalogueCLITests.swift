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
}
