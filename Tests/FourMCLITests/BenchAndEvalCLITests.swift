import Foundation
import FourMTestSupport
import Testing

/// `fourm-bench` on swift-argument-parser: its cases in `--help`, `--only` with a list and
/// together with `--json`, unknown cases refused.
@Suite struct BenchCLITests {
    /// Runs the built `fourm-bench` (beside `fourm`); stdout and stderr together.
    func bench(_ arguments: [String]) throws -> CLITests.Result {
        try CLITests.runSibling("fourm-bench", arguments)
    }

    @Test func helpListsTheCases() throws {
        let help = try bench(["--help"])
        #expect(help.status == 0, "\(help.stdout)")
        for name in ["sgemm", "kernels", "pass", "rgb2depth", "caption2rgb", "rgb2caption", "demo", "text", "vqvae", "unet", "uvit", "--precision"] {
            #expect(help.stdout.contains(name), "--help does not mention \(name)")
        }
    }

    @Test func onlyWorksWithJSON() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID()).json").path
        let result = try bench(["--only", "kernels", "--json", path])
        #expect(result.status == 0, "\(result.stdout)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        // The keys scripts/bench-vs-pytorch.py and earlier JSON files use.
        for key in ["threads", "openblas_core", "build", "commit", "cpu", "sgemm_rate_gflops", "cases", "precisions", "backends", "bf16_matmul_rate_gflops"] {
            #expect(object[key] != nil, "JSON lacks \(key)")
        }
        let cases = try #require(object["cases"] as? [[String: Any]])
        #expect(!cases.isEmpty && cases.allSatisfy { $0["name"] is String && $0["min_s"] is Double && $0["runs"] is Int })
        #expect(object["sgemm_rate_gflops"] is NSNull, "sgemm did not run, so its rate is null")
    }

    @Test func unknownCasesAreRefused() throws {
        let result = try bench(["--only", "kernels,nonsense"])
        #expect(result.status != 0 && result.stdout.contains("nonsense") && result.stdout.contains("kernels"), "\(result.stdout)")
    }
}

/// `fourm eval` as a shell over FourMEvaluation, on the demo model with two scenes.
@Suite struct EvalCLITests {
    let cli = CLITests()

    @Test func writesTheTableReportAndExamples() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("eval-\(UUID())")
        let report = folder.appendingPathComponent("Quality.md").path, examples = folder.appendingPathComponent("examples").path
        let result = try cli.run(["eval", "--count", "2", "--baseline-scenes", "2", "--batch", "2", "--example-count", "1", "--rgb-steps", "2",
                                  "--report", report, "--examples", examples])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "| task | metric | model | baseline | better is |" && lines.count == 14, "\(result.stdout)")
        let text = try String(contentsOfFile: report, encoding: .utf8)
        #expect(text.contains("fourm eval --count 2 --seed 2 --baseline-scenes 2 --batch 2 --example-count 1"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: examples).sorted() == ["scene_000000.png", "scene_000000_caption2rgb.png"])
        let training = try cli.run(["eval", "--seed", "1", "--report", report, "--examples", examples])
        #expect(training.status != 0 && training.stderr.contains("training world"))
    }
}
