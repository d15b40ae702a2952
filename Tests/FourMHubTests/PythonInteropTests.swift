import Foundation
import FourMTestSupport
import Testing

@testable import FourMHub

/// Python's `huggingface_hub` on this machine, when it is installed (the tests that need it
/// are skipped otherwise; the hand-built layout test in HubCacheTests always runs).
let pythonHubVersion: String? = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import huggingface_hub; print(huggingface_hub.__version__)"]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
}()

/// The same cache folder used by both sides, through the Hub stand-in.
@Suite(.enabled(if: pythonHubVersion != nil, "needs Python's huggingface_hub"), .timeLimit(.minutes(2)))
struct PythonInteropTests {
    /// Runs Python with the cache and endpoint in its environment; returns stdout.
    func python(_ script: String, cache: URL, endpoint: URL, offline: Bool = false) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HF_") }
        environment["HF_HUB_CACHE"] = cache.path
        environment["HF_ENDPOINT"] = endpoint.absoluteString
        environment["HF_HUB_DISABLE_TELEMETRY"] = "1"
        if offline { environment["HF_HUB_OFFLINE"] = "1" }
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Python downloads; Swift finds the files offline with the server stopped.
    @Test func swiftReadsWhatPythonDownloaded() async throws {
        let (server, cache) = try HubClientTests.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        let (status, printed) = try python("""
            from huggingface_hub import hf_hub_download
            for name in ["model.safetensors", "config.json", "sub/dir/notes.txt"]:
                print(hf_hub_download("acme/tiny", name))
            """, cache: cache, endpoint: server.endpoint)
        #expect(status == 0, "\(printed)")
        server.stop()
        let offline = HubClientTests.client(server, cache, offline: true)
        let snapshot = try await offline.snapshot(HubClientTests.repo)
        #expect(snapshot.files == ["config.json", "model.safetensors", "sub/dir/notes.txt"])
        #expect(try Data(contentsOf: snapshot.url(for: "model.safetensors")) == HubClientTests.weights)
        #expect(printed.contains(snapshot.url(for: "model.safetensors").path))
        #expect(try HubCache(root: cache).verify().isEmpty)
    }

    /// Swift downloads; Python finds the files offline (`HF_HUB_OFFLINE=1`) and both sides name
    /// the same paths.
    @Test func pythonReadsWhatSwiftDownloaded() async throws {
        let (server, cache) = try HubClientTests.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        let snapshot = try await HubClientTests.client(server, cache).snapshot(HubClientTests.repo)
        server.stop()
        let (status, printed) = try python("""
            from huggingface_hub import hf_hub_download
            for name in ["model.safetensors", "config.json", "sub/dir/notes.txt"]:
                print(hf_hub_download("acme/tiny", name))
            """, cache: cache, endpoint: server.endpoint, offline: true)
        #expect(status == 0, "\(printed)")
        let paths = printed.split(separator: "\n").map(String.init)
        #expect(paths == ["model.safetensors", "config.json", "sub/dir/notes.txt"].map { snapshot.url(for: $0).path })
        #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent("CACHEDIR.TAG").path))
    }
}
