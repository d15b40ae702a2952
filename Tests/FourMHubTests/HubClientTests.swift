import Foundation
import FourMTensor
import FourMTestSupport
import Testing

@testable import FourMHub

/// Downloads against the Hub stand-in on 127.0.0.1 (started and stopped by each test).
@Suite(.timeLimit(.minutes(15))) struct HubClientTests {
    static let repo = "acme/tiny"
    /// 300 kB of deterministic bytes: an LFS file (served through a 302 to the blob host).
    static let weights = Data((0..<300_000).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761) >> 11) })
    static let config = Data(#"{"dim": 16}"#.utf8)  // a small git (non-LFS) file
    static var weightsSHA: String { var d = SHA256Digest(); d.update(weights); return hexString(d.finalize()) }

    /// A stand-in serving `acme/tiny` and an empty cache folder.
    static func setUp() throws -> (HubStandIn, URL) {
        let server = try HubStandIn()
        try server.addRepo(repo, files: ["model.safetensors": weights, "config.json": config, "sub/dir/notes.txt": Data("notes\n".utf8)])
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("hub-cache-\(UUID())")
        return (server, cache)
    }

    /// The lock timeout is generous: a test that shares a blob waits for the other download,
    /// which on a starved CPU (the whole suite on two cores) once took more than 30 s.
    static func client(_ server: HubStandIn, _ cache: URL, token: String? = nil, offline: Bool = false, attempts: Int = 4) -> HubClient {
        HubClient(endpoint: server.endpoint, token: token, cache: HubCache(root: cache), offline: offline,
                  retry: RetryPolicy(attempts: attempts, initialDelay: 0.02, maxDelay: 0.1), timeout: 10, lockTimeout: 300)
    }

    static func blobs(_ cache: URL, _ repo: String = repo) -> [String] {
        let folder = cache.appendingPathComponent(try! HubCache.folderName(for: repo)).appendingPathComponent("blobs")
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    @Test func freshDownloadWritesThePythonLayout() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        let seen = ProgressLog()
        let snapshot = try await Self.client(server, cache).snapshot(Self.repo) { seen.add($0) }
        #expect(snapshot.files == ["config.json", "model.safetensors", "sub/dir/notes.txt"])
        #expect(try Data(contentsOf: snapshot.url(for: "model.safetensors")) == Self.weights)
        #expect(try Data(contentsOf: snapshot.url(for: "config.json")) == Self.config)
        let folder = cache.appendingPathComponent("models--acme--tiny")
        // Blob names: SHA-256 for the LFS file, the git blob id for the others.
        #expect(Self.blobs(cache).contains(Self.weightsSHA))
        #expect(Self.blobs(cache).count == 3 && !Self.blobs(cache).contains { $0.hasSuffix(".incomplete") })
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: snapshot.url(for: "model.safetensors").path)
        #expect(link == "../../blobs/\(Self.weightsSHA)")
        let nested = try FileManager.default.destinationOfSymbolicLink(atPath: snapshot.url(for: "sub/dir/notes.txt").path)
        #expect(nested.hasPrefix("../../../../blobs/"))
        #expect(try String(contentsOf: folder.appendingPathComponent("refs/main"), encoding: .utf8) == snapshot.commit)
        #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent(".locks/models--acme--tiny/\(Self.weightsSHA).lock").path))
        // Progress: the last report covers every byte.
        let last = try #require(seen.all.last)
        #expect(last.bytes == Int64(Self.weights.count + Self.config.count + 6) && last.total == last.bytes && last.fileIndex == 2)
        // The token-free LFS bytes came from the blob URL; a second call fetches nothing.
        let before = try await server.gets("acme/tiny/model.safetensors")
        _ = try await Self.client(server, cache).snapshot(Self.repo)
        #expect(try await server.gets("acme/tiny/model.safetensors") == before && before == 1)
    }

    /// The server drops the connection halfway through the file once: the client keeps the
    /// received half and resumes with `Range: bytes=<half>-`.
    @Test func resumesAnInterruptedDownload() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        try await server.control(["drop_once": "model.safetensors"])
        let url = try await Self.client(server, cache).file(Self.repo, path: "model.safetensors")
        #expect(try Data(contentsOf: url) == Self.weights)
        let stats = try await server.stats()
        #expect((stats["ranges"] as? [String]) == ["bytes=0-299999", "bytes=\(Self.weights.count / 2)-299999"])
        #expect(try await server.gets("acme/tiny/model.safetensors") == 2)
    }

    /// A partial file left by an earlier run (`blobs/<sha>.incomplete`) is continued, not restarted.
    @Test func continuesAPartialFileFromAnEarlierRun() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        let blobs = cache.appendingPathComponent("models--acme--tiny/blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try Self.weights.prefix(100_000).write(to: blobs.appendingPathComponent("\(Self.weightsSHA).incomplete"))
        let url = try await Self.client(server, cache).file(Self.repo, path: "model.safetensors")
        #expect(try Data(contentsOf: url) == Self.weights)
        #expect((try await server.stats()["ranges"] as? [String]) == ["bytes=100000-299999"])
    }

    /// One flipped byte: a typed hash error naming repo, file, expected and actual; nothing cached.
    @Test func rejectsACorruptedByteAndCachesNothing() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        try await server.control(["corrupt": "model.safetensors"])
        var corrupted = Self.weights
        corrupted[corrupted.count / 2] ^= 0xFF
        let actual = hexString({ var d = SHA256Digest(); d.update(corrupted); return d.finalize() }())
        await #expect(throws: HubError.hashMismatch(repo: Self.repo, file: "model.safetensors", expected: Self.weightsSHA, actual: actual)) {
            try await Self.client(server, cache).file(Self.repo, path: "model.safetensors")
        }
        #expect(Self.blobs(cache).isEmpty)
        #expect(try HubCache(root: cache).cachedFile(repo: Self.repo, path: "model.safetensors") == nil)
        // A corrupted git file is caught by its blob id too.
        try await server.control(["corrupt": "config.json"])
        await #expect {
            try await Self.client(server, cache).file(Self.repo, path: "config.json")
        } throws: { error in
            guard case .hashMismatch(_, "config.json", _, _) = error as? HubError else { return false }
            return "\(error)".split(separator: "\n").count == 1
        }
    }

    /// A private repository: 401 without a token, 401 naming the refused token with a wrong
    /// one, success with the right one; the token never goes to the blob host.
    @Test func sendsTheTokenOnlyToTheHub() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        try await server.control(["token": "secret", "blob_host": "localhost"])
        await #expect(throws: HubError.unauthorized(repo: Self.repo, status: 401, tokenSent: false)) {
            try await Self.client(server, cache).snapshot(Self.repo)
        }
        await #expect(throws: HubError.unauthorized(repo: Self.repo, status: 401, tokenSent: true)) {
            try await Self.client(server, cache, token: "wrong").snapshot(Self.repo)
        }
        let url = try await Self.client(server, cache, token: "secret").file(Self.repo, path: "model.safetensors")
        #expect(try Data(contentsOf: url) == Self.weights)
        #expect((try await server.stats()["blob_auth"] as? NSNumber)?.intValue == 0)
    }

    @Test func namesAMissingRepositoryRevisionOrFile() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        let client = Self.client(server, cache)
        await #expect(throws: HubError.repoNotFound(repo: "acme/missing")) { try await client.snapshot("acme/missing") }
        await #expect(throws: HubError.revisionNotFound(repo: Self.repo, revision: "v9")) { try await client.snapshot(Self.repo, revision: "v9") }
        await #expect(throws: HubError.fileNotFound(repo: Self.repo, revision: "main", file: "nope.bin")) {
            try await client.file(Self.repo, path: "nope.bin")
        }
        #expect(HubError.repoNotFound(repo: "acme/missing").description == "acme/missing: repository not found on the Hub (HTTP 404; check the id, or HF_ENDPOINT)")
    }

    @Test func retriesTransientServerErrors() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        try await server.control(["fail_next": 2])
        let url = try await Self.client(server, cache).file(Self.repo, path: "config.json")
        #expect(try Data(contentsOf: url) == Self.config)
        try await server.control(["fail_next": 10])
        await #expect {
            try await Self.client(server, cache, attempts: 2).snapshot(Self.repo)
        } throws: { error in
            guard case .http(_, 503, _) = error as? HubError else { return false }
            return true
        }
    }

    /// Offline: only the cache, and the error names exactly what is missing; an unreachable
    /// server falls back to the cache too.
    @Test func offlineUsesOnlyTheCache() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        let offline = Self.client(server, cache, offline: true)
        await #expect(throws: HubError.offlineMissing(repo: Self.repo, revision: "main", missing: ["refs/main (the revision was never fetched)"], cache: cache.standardizedFileURL.path)) {
            try await offline.snapshot(Self.repo)
        }
        let online = try await Self.client(server, cache).snapshot(Self.repo, files: ["model.safetensors"])
        server.stop()
        let again = try await offline.snapshot(Self.repo, files: ["model.safetensors"])
        #expect(again == Snapshot(repo: Self.repo, revision: "main", commit: online.commit, folder: online.folder, files: ["model.safetensors"]))
        await #expect(throws: HubError.offlineMissing(repo: Self.repo, revision: "main", missing: ["config.json"], cache: cache.standardizedFileURL.path)) {
            try await offline.snapshot(Self.repo, files: ["model.safetensors", "config.json"])
        }
        // HF_HUB_OFFLINE=1 in the environment means the same.
        let fromEnvironment = HubClient(environment: ["HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": cache.path, "HF_ENDPOINT": server.endpoint.absoluteString])
        #expect(try await fromEnvironment.snapshot(Self.repo, files: ["model.safetensors"]).commit == online.commit)
        // The server is gone: online calls fall back to what the cache has, and fail with
        // `.network` for what it lacks.
        let unreachable = Self.client(server, cache, attempts: 2)
        #expect(try await unreachable.snapshot(Self.repo, files: ["model.safetensors"]).commit == online.commit)
        await #expect {
            try await unreachable.snapshot(Self.repo, files: ["config.json"])
        } throws: { error in
            guard case .network(_, _, 2) = error as? HubError else { return false }
            return true
        }
    }

    /// Two downloads of the same file at once: the blob lock makes the second wait and reuse
    /// the first's blob: one GET, one blob, the right bytes.
    @Test func concurrentDownloadsShareOneBlob() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        try await server.control(["delay_ms": 100])
        let client = Self.client(server, cache)
        async let first = client.file(Self.repo, path: "model.safetensors")
        async let second = client.file(Self.repo, path: "model.safetensors")
        let (a, b) = try await (first, second)
        #expect(a == b)
        #expect(try Data(contentsOf: a) == Self.weights)
        #expect(Self.blobs(cache) == [Self.weightsSHA])
        #expect(try await server.gets("acme/tiny/model.safetensors") == 1)
    }

    /// The lock is the one Python's `filelock` takes (`flock` on
    /// `.locks/models--ORG--NAME/<etag>.lock`): while a Python process holds it, the client
    /// waits (here: up to its 0.5 s lock timeout) instead of writing the blob.
    @Test func waitsForAPythonProcessHoldingTheBlobLock() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        let lock = cache.appendingPathComponent(".locks/models--acme--tiny/\(Self.weightsSHA).lock")
        try FileManager.default.createDirectory(at: lock.deletingLastPathComponent(), withIntermediateDirectories: true)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-u", "-c", "import fcntl,sys; f=open(sys.argv[1],'w'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.readline()", lock.path]
        let toHolder = Pipe(), fromHolder = Pipe()
        holder.standardInput = toHolder
        holder.standardOutput = fromHolder
        try holder.run()
        defer { try? toHolder.fileHandleForWriting.close(); holder.waitUntilExit() }
        #expect(String(decoding: readChunk(fromHolder.fileHandleForReading), as: UTF8.self).hasPrefix("locked"))
        var client = Self.client(server, cache)
        client.lockTimeout = 0.5
        await #expect {
            try await client.file(Self.repo, path: "model.safetensors")
        } throws: { error in
            guard case .fileSystem(lock.path, let reason) = error as? HubError else { return false }
            return reason.contains("locked by another download")
        }
        #expect(try await server.gets("acme/tiny/model.safetensors") == 0)
        try toHolder.fileHandleForWriting.close()
        holder.waitUntilExit()
        client.lockTimeout = 30
        #expect(try Data(contentsOf: try await client.file(Self.repo, path: "model.safetensors")) == Self.weights)
    }

    /// A connection that keeps dropping without delivering a byte: a one-line error naming the
    /// repository and the file; once the server behaves, the next call succeeds.
    @Test func namesTheFileWhenDownloadsKeepFailing() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        try await server.control(["drop_every": "model.safetensors"])
        let client = Self.client(server, cache, attempts: 3)
        await #expect {
            try await client.file(Self.repo, path: "model.safetensors")
        } throws: { error in
            guard case .downloadFailed(Self.repo, "model.safetensors", _, 3) = error as? HubError else { return false }
            return "\(error)".split(separator: "\n").count == 1 && "\(error)".hasPrefix("acme/tiny/model.safetensors: ")
        }
        #expect(try HubCache(root: cache).cachedFile(repo: Self.repo, path: "model.safetensors") == nil)
        try await server.control(["drop_every": NSNull()])
        #expect(try Data(contentsOf: try await client.file(Self.repo, path: "model.safetensors")) == Self.weights)
    }

    /// Known sizes are fetched in bounded ranges (here 64 kB), each appended and hashed in turn.
    @Test func fetchesLargeFilesInRanges() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        var client = Self.client(server, cache)
        client.rangeSize = 65536
        try await server.control(["drop_once": "model.safetensors"])
        let url = try await client.file(Self.repo, path: "model.safetensors")
        #expect(try Data(contentsOf: url) == Self.weights)
        let ranges = try #require(try await server.stats()["ranges"] as? [String])
        #expect(ranges == ["bytes=0-65535", "bytes=32768-98303", "bytes=98304-163839", "bytes=163840-229375", "bytes=229376-294911", "bytes=294912-299999"])
    }

    @Test func cacheListVerifyAndPrune() async throws {
        let (server, cache) = try Self.setUp()
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        let snapshot = try await Self.client(server, cache).snapshot(Self.repo)
        let hub = HubCache(root: cache)
        let listed = try #require(hub.repos().first)
        #expect(listed.repo == Self.repo && listed.blobCount == 3 && listed.size == Int64(Self.weights.count + Self.config.count + 6))
        #expect(listed.refs == ["main": snapshot.commit] && listed.commits == [snapshot.commit])
        #expect(try hub.verify().isEmpty)
        // Damage a blob, orphan another, leave a stale partial file.
        let blobs = cache.appendingPathComponent("models--acme--tiny/blobs")
        var damaged = Self.weights
        damaged[0] ^= 1
        try damaged.write(to: blobs.appendingPathComponent(Self.weightsSHA))
        try FileManager.default.removeItem(at: snapshot.url(for: "config.json"))
        try Data("x".utf8).write(to: blobs.appendingPathComponent("abc.incomplete"))
        let issues = try hub.verify()
        #expect(issues.count == 1)
        if case .corruptBlob(Self.repo, Self.weightsSHA, Self.weightsSHA, _)? = issues.first {} else { Issue.record("unexpected \(issues)") }
        // A partial file of a running download (its lock held, here by us) is left alone, in
        // either naming: FourMHub's `<etag>.incomplete` or current Python's `<etag>.<random>.incomplete`.
        let busy = try await FileLock.acquire(try hub.lockFile(repo: Self.repo, etag: "def"))
        defer { busy.unlock() }
        try Data("y".utf8).write(to: blobs.appendingPathComponent("def.incomplete"))
        try Data("z".utf8).write(to: blobs.appendingPathComponent("def.1a2b3c4d.incomplete"))
        let dry = try hub.prune(dryRun: true)
        #expect(dry.files.map(\.lastPathComponent).sorted() == ["abc.incomplete", hexGitBlob(Self.config)].sorted())
        _ = try hub.prune()
        #expect(Self.blobs(cache) == [Self.weightsSHA, "def.1a2b3c4d.incomplete", "def.incomplete", hexGitBlob(Data("notes\n".utf8))].sorted())
    }
}

func hexGitBlob(_ data: Data) -> String {
    var digest = SHA1Digest()
    digest.update(Array("blob \(data.count)\0".utf8))
    digest.update(data)
    return hexString(digest.finalize())
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [HubProgress] = []
    func add(_ item: HubProgress) { lock.withLock { items.append(item) } }
    var all: [HubProgress] { lock.withLock { items } }
}
