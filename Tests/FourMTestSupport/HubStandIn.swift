import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Hugging Face Hub stand-in (`Tests/FourMHubTests/Resources/hub_standin.py`) run by a
/// test on 127.0.0.1: it serves every folder `root/ORG/NAME/` as a model repository. Every
/// wait is bounded; ``stop()`` (also on deinit) ends the server.
public final class HubStandIn: @unchecked Sendable {
    // Invariant behind @unchecked Sendable: `process` is started in init and only terminated
    // afterwards; the other fields never change.
    public let root: URL
    public let port: Int
    let process: Process
    let input: Pipe
    let ownsRoot: Bool

    /// The server's base URL, `http://127.0.0.1:<port>`.
    public var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// The Python script.
    public static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FourMHubTests/Resources/hub_standin.py")
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts the server over a fresh temporary folder (or `root`) and waits up to `timeout`
    /// seconds for its port.
    public init(root: URL? = nil, timeout: Double = 20) throws {
        ownsRoot = root == nil
        let root = root ?? FileManager.default.temporaryDirectory.appendingPathComponent("hub-standin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        self.root = root
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", Self.script.path, root.path]
        let out = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        let firstLine = LineBox()
        let got = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            var bytes = Data()
            while !bytes.contains(10) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                bytes.append(chunk)
            }
            firstLine.set(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            got.signal()
        }
        guard got.wait(timeout: .now() + timeout) == .success, let port = Int(firstLine.get()), port > 0 else {
            kill(process.processIdentifier, SIGKILL)
            throw Failure(description: "the Hub stand-in did not print its port within \(timeout) s (is python3 installed?)")
        }
        self.port = port
        self.process = process
        self.input = input
    }

    /// Ends the server (idempotent).
    /// Ends the server (idempotent): closes its stdin, which it watches, and waits at most 5 s
    /// before killing it.
    public func stop() {
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    deinit {
        stop()
        if ownsRoot { try? FileManager.default.removeItem(at: root) }  // the served repos
    }

    /// Writes a repository's files (path → bytes) under `root/ORG/NAME/`.
    public func addRepo(_ id: String, files: [String: Data]) throws {
        for (path, data) in files {
            let url = root.appendingPathComponent(id).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
    }

    /// Copies a folder's files into the repository `ORG/NAME`.
    public func addRepo(_ id: String, copying folder: URL) throws {
        let destination = root.appendingPathComponent(id)
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: folder, to: destination)
    }

    /// Sets fault switches (`drop_once`, `corrupt`, `token`, `fail_next`, `blob_host`, `delay_ms`).
    public func control(_ settings: [String: Any]) async throws {
        var request = URLRequest(url: endpoint.appendingPathComponent("_control"))
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: settings)
        request.timeoutInterval = 10
        let (_, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw Failure(description: "control request failed") }
    }

    /// What the server saw: `gets` (GET count per `ORG/NAME/path`), `ranges`, `blob_auth`.
    public func stats() async throws -> [String: Any] {
        var request = URLRequest(url: endpoint.appendingPathComponent("_stats"))
        request.timeoutInterval = 10
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// ``gets(_:)`` for synchronous tests (waits at most 10 s).
    public func getsNow(_ key: String) -> Int {
        let done = DispatchSemaphore(value: 0)
        let box = LineBox()
        URLSession.shared.dataTask(with: endpoint.appendingPathComponent("_stats")) { data, _, _ in
            let object = data.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            box.set("\(((object?["gets"] as? [String: Any])?[key] as? NSNumber)?.intValue ?? 0)")
            done.signal()
        }.resume()
        return done.wait(timeout: .now() + 10) == .success ? Int(box.get()) ?? -1 : -1
    }

    /// GET count of one file (`ORG/NAME/path`).
    public func gets(_ key: String) async throws -> Int {
        ((try await stats()["gets"] as? [String: Any])?[key] as? NSNumber)?.intValue ?? 0
    }
}

private final class LineBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""
    func set(_ text: String) { lock.withLock { value = text } }
    func get() -> String { lock.withLock { value } }
}
