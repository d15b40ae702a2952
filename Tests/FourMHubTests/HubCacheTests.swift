import Foundation
import FourMTensor
import FourMTestSupport
import Testing

@testable import FourMHub

@Suite struct HubCacheTests {
    @Test func findsTheCacheTheWayHuggingfaceHubDoes() {
        #expect(HubCache(environment: ["HF_HUB_CACHE": "/a/cache", "HF_HOME": "/h"]).root.path == "/a/cache")
        #expect(HubCache(environment: ["HF_HOME": "/h"]).root.path == "/h/hub")
        #expect(HubCache(environment: ["XDG_CACHE_HOME": "/x"]).root.path == "/x/huggingface/hub")
        #expect(HubCache(environment: [:]).root.path == NSHomeDirectory() + "/.cache/huggingface/hub")
    }

    @Test func readsTheEnvironment() {
        let client = HubClient(environment: ["HF_ENDPOINT": "http://127.0.0.1:9/", "HF_TOKEN": "t", "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": "/c"])
        #expect(client.endpoint.absoluteString == "http://127.0.0.1:9")
        #expect(client.token == "t" && client.offline && client.cache.root.path == "/c")
        let plain = HubClient(environment: [:])
        #expect(plain.endpoint.absoluteString == "https://huggingface.co" && plain.token == nil && !plain.offline)
    }

    @Test func namesRepositoryFolders() throws {
        #expect(try HubCache.folderName(for: "EPFL-VILAB/4M-21_XL") == "models--EPFL-VILAB--4M-21_XL")
        #expect(try HubCache.folderName(for: "gpt2") == "models--gpt2")
    }

    @Test(arguments: ["", "a/b/c", "a--b/c", "../x", "a/..", "/abs", "a/b c", "-a/b", "a/"])
    func rejectsBadRepoIDs(id: String) {
        #expect(throws: HubError.invalidRepoID(id)) { try HubCache.folderName(for: id) }
    }

    @Test(arguments: ["../etc/passwd", "/abs", "a/../../b", "a//b", "./a", "a\\b", ""])
    func rejectsFileNamesThatLeaveTheSnapshot(name: String) {
        #expect(throws: HubError.invalidFileName(repo: "acme/x", file: name)) { try validateFileName(name, repo: "acme/x") }
    }

    @Test func globsMatchLikePythonsFnmatch() {
        #expect(matches("model.safetensors", ["*.safetensors"]))
        #expect(matches("sub/dir/a.json", ["*.json"]))  // `*` crosses `/`, as in fnmatch
        #expect(matches("sub/a.json", ["sub/"]))
        #expect(!matches("config.json", ["*.safetensors"]))
        #expect(matches("anything", []))
    }

    /// A cache as Python's huggingface_hub writes it (built by hand: blobs named by SHA-256,
    /// relative symlinks, refs/main) is used as is, offline.
    @Test func usesACacheWrittenByPython() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hf-python-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let commit = "0123456789abcdef0123456789abcdef01234567"
        let weights = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let blob = hexString({ var d = SHA256Digest(); d.update(weights); return d.finalize() }())
        let folder = root.appendingPathComponent("models--EPFL-VILAB--4M-21_B")
        try writePythonLayout(folder: folder, commit: commit, files: ["model.safetensors": (weights, blob), "nested/readme.txt": (Data("hi\n".utf8), "45b983be36b73c0788dc9cbcb76cbb80fc7bb057")])
        let client = HubClient(endpoint: URL(string: "http://127.0.0.1:9")!, cache: HubCache(root: root), offline: true)
        let snapshot = try await client.snapshot("EPFL-VILAB/4M-21_B")
        #expect(snapshot.commit == commit)
        #expect(snapshot.files == ["model.safetensors", "nested/readme.txt"])
        #expect(try Data(contentsOf: snapshot.url(for: "model.safetensors")) == weights)
        #expect(try client.cache.cachedFile(repo: "EPFL-VILAB/4M-21_B", path: "nested/readme.txt") != nil)
        #expect(try client.cache.verify().isEmpty)
    }
}

/// Writes `models--ORG--NAME` exactly as huggingface_hub does: blobs/<etag>,
/// snapshots/<commit>/<path> → ../../blobs/<etag> (one more ../ per folder), refs/main.
func writePythonLayout(folder: URL, commit: String, files: [String: (Data, String)]) throws {
    let fm = FileManager.default
    try fm.createDirectory(at: folder.appendingPathComponent("blobs"), withIntermediateDirectories: true)
    try fm.createDirectory(at: folder.appendingPathComponent("refs"), withIntermediateDirectories: true)
    try Data(commit.utf8).write(to: folder.appendingPathComponent("refs/main"))
    for (path, (data, etag)) in files {
        try data.write(to: folder.appendingPathComponent("blobs/\(etag)"))
        let link = folder.appendingPathComponent("snapshots/\(commit)/\(path)")
        try fm.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
        let depth = path.split(separator: "/").count - 1
        try fm.createSymbolicLink(atPath: link.path, withDestinationPath: String(repeating: "../", count: depth + 2) + "blobs/\(etag)")
    }
}
