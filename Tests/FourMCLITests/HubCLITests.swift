import Foundation
import FourMTestSupport
import Testing

/// `fourm generate --model`, `fourm download` and `fourm cache` against the Hub stand-in, with
/// an empty cache of their own (no HF_* variable of the machine leaks in).
@Suite(.serialized, .timeLimit(.minutes(5))) struct HubCLITests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Starts `fourm` with `arguments`; `wait` collects it (killing it after 240 s).
    final class Launched: @unchecked Sendable {
        let process = Process()
        let out = Pipe(), err = Pipe()
        init(_ arguments: [String], environment: [String: String]) throws {
            process.executableURL = CLITests.binary
            process.arguments = arguments
            var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HF_") && !$0.key.hasPrefix("HUGGING") }
            env["FOURM_KEEP_BLAS_CORE"] = "1"
            env.merge(environment) { $1 }
            process.environment = env
            process.standardOutput = out
            process.standardError = err
            try process.run()
        }

        func wait() -> Run {
            let group = DispatchGroup()
            let stdout = Box(), stderr = Box()
            for (pipe, box) in [(out, stdout), (err, stderr)] {
                group.enter()
                DispatchQueue.global().async {
                    box.data = pipe.fileHandleForReading.readDataToEndOfFile()
                    group.leave()
                }
            }
            if group.wait(timeout: .now() + 240) == .timedOut { process.terminate() }
            process.waitUntilExit()
            return Run(status: process.terminationStatus, stdout: String(decoding: stdout.data, as: UTF8.self), stderr: String(decoding: stderr.data, as: UTF8.self))
        }
    }

    final class Box: @unchecked Sendable { var data = Data() }

    func run(_ arguments: [String], _ environment: [String: String]) throws -> Run {
        try Launched(arguments, environment: environment).wait()
    }

    static func serveDemo() throws -> (HubStandIn, URL) {
        let server = try HubStandIn()
        try server.addRepo("acme/fourm-demo", copying: packageRoot.appendingPathComponent("Sources/FourM/Resources/DemoModel"))
        return (server, FileManager.default.temporaryDirectory.appendingPathComponent("hub-cli-\(UUID())"))
    }

    /// From an empty cache, then offline with the server gone.
    @Test func generateByModelIDOnlineThenOffline() throws {
        let (server, work) = try Self.serveDemo()
        defer { server.stop(); try? FileManager.default.removeItem(at: work) }
        let environment = ["HF_ENDPOINT": server.endpoint.absoluteString, "HF_HUB_CACHE": work.appendingPathComponent("cache").path]
        let scene = Self.packageRoot.appendingPathComponent("Examples/Assets/scene.png").path
        let arguments = ["generate", "--model", "acme/fourm-demo", "--input", "rgb=\(scene)", "--target", "depth,caption", "--seed", "1"]
        let online = try run(arguments + ["--out", work.appendingPathComponent("online").path], environment)
        #expect(online.status == 0, "\(online.stderr)")
        #expect(online.stderr.contains("fetched acme/fourm-demo/fourm_demo.safetensors"))
        #expect(!online.stderr.contains("tok_rgb.safetensors"))  // only the tokenizers the targets need
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("online/tok_depth_64.png").path))
        server.stop()
        var offlineEnvironment = environment
        offlineEnvironment["HF_HUB_OFFLINE"] = "1"
        let offline = try run(arguments + ["--out", work.appendingPathComponent("offline").path], offlineEnvironment)
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(try Data(contentsOf: work.appendingPathComponent("offline/caption.txt")) == Data(contentsOf: work.appendingPathComponent("online/caption.txt")))
        let missing = try run(["generate", "--model", "acme/fourm-demo", "--input", "rgb=\(scene)", "--target", "normal", "--out", work.appendingPathComponent("x").path], offlineEnvironment)
        #expect(missing.status != 0)
        let lines = missing.stderr.split(separator: "\n").filter { !$0.hasPrefix("[") }
        #expect(lines.count == 1 && lines[0].contains("acme/fourm-demo@main: offline and not in the cache") && lines[0].contains("missing tok_normal.safetensors"), "\(missing.stderr)")
    }

    /// Two `fourm download` processes fetching the same file at once: one download, one blob, a
    /// clean `cache verify`; then `cache list` and `cache prune`.
    @Test func downloadAndCacheCommands() throws {
        let (server, work) = try Self.serveDemo()
        defer { server.stop(); try? FileManager.default.removeItem(at: work) }
        let environment = ["HF_ENDPOINT": server.endpoint.absoluteString, "HF_HUB_CACHE": work.appendingPathComponent("cache").path]
        let arguments = ["download", "acme/fourm-demo", "--include", "fourm_demo.safetensors", "--include", "*.json"]
        let first = try Launched(arguments, environment: environment)
        let second = try Launched(arguments, environment: environment)
        let (a, b) = (first.wait(), second.wait())
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        #expect(a.stdout.contains("acme/fourm-demo@") && a.stdout.contains("3 files"))
        let blobs = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("cache/models--acme--fourm-demo/blobs").path)
        #expect(blobs.count == 3 && !blobs.contains { $0.hasSuffix(".incomplete") })
        // One download of the 21 MB checkpoint is two 16 MiB range requests; two would be four.
        #expect(server.getsNow("acme/fourm-demo/fourm_demo.safetensors") == 2)
        let list = try run(["cache", "list"], environment)
        #expect(list.status == 0 && list.stdout.contains("acme/fourm-demo") && list.stdout.contains("3 blobs"), "\(list.stdout)")
        let verify = try run(["cache", "verify"], environment)
        #expect(verify.status == 0 && verify.stdout.contains("cache ok"), "\(verify.stdout)\(verify.stderr)")
        let prune = try run(["cache", "prune", "--dry-run"], environment)
        #expect(prune.status == 0 && prune.stdout.contains("would free 0 B in 0 files"), "\(prune.stdout)")
        let missing = try run(["download", "acme/nothing-here"], environment)
        #expect(missing.status != 0 && missing.stderr.contains("acme/nothing-here: repository not found"))
    }
}
