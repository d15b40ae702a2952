import Foundation
import FourMTensor

/// The Hugging Face cache folder, laid out exactly as Python's `huggingface_hub` writes it, so
/// that a model downloaded by either side is found by the other:
///
/// ```
/// <root>/models--ORG--NAME/
///     blobs/<etag>                      the bytes (etag = SHA-256 for LFS files, git blob id otherwise)
///     blobs/<etag>.incomplete           a download in progress (resumed from its length)
///     snapshots/<commit>/<path>         symlink to ../../blobs/<etag> (one more ../ per folder level)
///     refs/<revision>                   the commit hash a branch or tag pointed to
/// <root>/.locks/models--ORG--NAME/<etag>.lock   held (flock) while a blob is written
/// ```
public struct HubCache: Sendable, Equatable {
    /// The cache root (`.../huggingface/hub`).
    public let root: URL

    /// A cache at an explicit folder.
    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    /// The folder `huggingface_hub` uses: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
    /// - Parameter environment: the variables to read (default: the process's).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        func nonEmpty(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : expandTilde($0) } }
        if let cache = nonEmpty("HF_HUB_CACHE") ?? nonEmpty("HUGGINGFACE_HUB_CACHE") {
            self.init(root: URL(fileURLWithPath: cache))
        } else if let home = nonEmpty("HF_HOME") {
            self.init(root: URL(fileURLWithPath: home).appendingPathComponent("hub"))
        } else {
            let base = nonEmpty("XDG_CACHE_HOME") ?? (NSHomeDirectory() + "/.cache")
            self.init(root: URL(fileURLWithPath: base).appendingPathComponent("huggingface/hub"))
        }
    }

    /// `models--ORG--NAME`, the folder of a model repository.
    /// - Throws: `.invalidRepoID`.
    public static func folderName(for repo: String) throws(HubError) -> String {
        try validateRepoID(repo)
        return (["models"] + repo.split(separator: "/").map(String.init)).joined(separator: "--")
    }

    /// The folder of a model repository in this cache.
    /// - Throws: `.invalidRepoID`.
    public func repoFolder(_ repo: String) throws(HubError) -> URL {
        root.appendingPathComponent(try Self.folderName(for: repo))
    }

    /// The commit a revision stands for in this cache: the revision itself when it is a
    /// 40-digit commit hash, else the content of `refs/<revision>`; nil when unknown.
    /// - Throws: `.invalidRepoID`.
    public func commit(repo: String, revision: String) throws(HubError) -> String? {
        if isCommitHash(revision) { return revision }
        guard isSafeRevision(revision) else { return nil }
        let ref = try repoFolder(repo).appendingPathComponent("refs").appendingPathComponent(revision)
        guard let data = FileManager.default.contents(atPath: ref.path) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return isCommitHash(text) ? text : nil
    }

    /// The snapshot folder of a commit (it may not exist).
    /// - Throws: `.invalidRepoID`.
    public func snapshotFolder(repo: String, commit: String) throws(HubError) -> URL {
        try repoFolder(repo).appendingPathComponent("snapshots").appendingPathComponent(commit)
    }

    /// The cached copy of one file at a revision, nil when the revision or the file is not in
    /// the cache (a dangling symlink counts as missing).
    /// - Throws: `.invalidRepoID`, `.invalidFileName`.
    public func cachedFile(repo: String, revision: String = "main", path: String) throws(HubError) -> URL? {
        try validateFileName(path, repo: repo)
        guard let commit = try commit(repo: repo, revision: revision) else { return nil }
        let url = try snapshotFolder(repo: repo, commit: commit).appendingPathComponent(path)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil  // follows the symlink
    }

    /// Every file path of a cached snapshot (relative, `/`-separated, sorted), following symlinks;
    /// empty when the snapshot is absent.
    /// - Throws: `.invalidRepoID`.
    public func snapshotFiles(repo: String, commit: String) throws(HubError) -> [String] {
        let folder = try snapshotFolder(repo: repo, commit: commit)
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(relative).path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(relative)
            }
        }
        return files.sorted()
    }

    // MARK: - Writing (used by HubClient)

    /// Writes `CACHEDIR.TAG` at the root (the cachedir.info standard that backup tools honour),
    /// as huggingface_hub does, unless one is there.
    func tagCacheFolder() {
        let tag = root.appendingPathComponent("CACHEDIR.TAG")
        guard !FileManager.default.fileExists(atPath: tag.path) else { return }
        let text = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by FourMHub (the huggingface_hub cache).\n# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n"
        try? Data(text.utf8).write(to: tag, options: .atomic)
    }

    func blobsFolder(_ repo: String) throws(HubError) -> URL { try repoFolder(repo).appendingPathComponent("blobs") }

    func lockFile(repo: String, etag: String) throws(HubError) -> URL {
        root.appendingPathComponent(".locks").appendingPathComponent(try Self.folderName(for: repo)).appendingPathComponent("\(etag).lock")
    }

    /// Records `refs/<revision>` → commit (atomically: temporary file, then rename), unless the
    /// revision is the commit itself or the ref already says so.
    func writeRef(repo: String, revision: String, commit: String) throws(HubError) {
        guard revision != commit, isSafeRevision(revision) else { return }
        let ref = try repoFolder(repo).appendingPathComponent("refs").appendingPathComponent(revision)
        if let data = FileManager.default.contents(atPath: ref.path), String(decoding: data, as: UTF8.self) == commit { return }
        try makeDirectory(ref.deletingLastPathComponent())
        let temporary = ref.deletingLastPathComponent().appendingPathComponent(".\(ref.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
        do {
            try Data(commit.utf8).write(to: temporary)
            try replaceItem(at: ref, with: temporary)
        } catch let error as HubError {
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .fileSystem(path: ref.path, reason: "cannot write the ref: \(fileErrorReason(error))")
        }
    }

    /// Points `snapshots/<commit>/<path>` at `blobs/<etag>` with a relative symlink, as
    /// `huggingface_hub` does (replacing a wrong or dangling link).
    func linkSnapshot(repo: String, commit: String, path: String, etag: String) throws(HubError) {
        let pointer = try snapshotFolder(repo: repo, commit: commit).appendingPathComponent(path)
        let depth = path.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth + 2) + "blobs/" + etag
        let fm = FileManager.default
        if let existing = try? fm.destinationOfSymbolicLink(atPath: pointer.path), existing == target { return }
        try makeDirectory(pointer.deletingLastPathComponent())
        if (try? fm.attributesOfItem(atPath: pointer.path)) != nil { try? fm.removeItem(at: pointer) }
        do { try fm.createSymbolicLink(atPath: pointer.path, withDestinationPath: target) } catch {
            // Another process may have made the same link between the removal and now.
            if (try? fm.destinationOfSymbolicLink(atPath: pointer.path)) == target { return }
            throw .fileSystem(path: pointer.path, reason: "cannot create the snapshot symlink: \(fileErrorReason(error))")
        }
    }
}

// MARK: - Names

/// Validates a repository id the way `huggingface_hub` does: `name` or `org/name`, letters,
/// digits, `-`, `_`, `.`, at most 96 characters per part, no `--` or `..`.
/// - Throws: `.invalidRepoID`.
package func validateRepoID(_ id: String) throws(HubError) {
    let parts = id.split(separator: "/", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), !id.contains("--"), !id.contains("..") else { throw .invalidRepoID(id) }
    for part in parts {
        let allowed = part.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-_.".unicodeScalars.contains($0) }
        guard !part.isEmpty, part.count <= 96, allowed, part.first != "-", part.first != ".", part.last != "-", part.last != "." else {
            throw .invalidRepoID(id)
        }
    }
}

/// Rejects file names that would leave the snapshot folder: absolute paths, `..` or `.`
/// components, empty components, backslashes, NUL.
/// - Throws: `.invalidFileName`.
package func validateFileName(_ path: String, repo: String) throws(HubError) {
    let parts = path.split(separator: "/", omittingEmptySubsequences: false)
    guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\0"),
        parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
    else { throw .invalidFileName(repo: repo, file: path) }
}

/// A full 40-digit lower-case hexadecimal commit hash.
package func isCommitHash(_ text: String) -> Bool {
    text.utf8.count == 40 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
}

/// A branch or tag name that is safe as a path under `refs/` (it may contain `/`, as
/// `refs/pr/1` does, but no `..` or empty parts).
package func isSafeRevision(_ revision: String) -> Bool {
    let parts = revision.split(separator: "/", omittingEmptySubsequences: false)
    return !revision.isEmpty && !revision.hasPrefix("/") && !revision.contains("\0") && parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
}

func expandTilde(_ path: String) -> String {
    path.hasPrefix("~/") ? NSHomeDirectory() + path.dropFirst(1) : path
}

func makeDirectory(_ url: URL) throws(HubError) {
    do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
        throw .fileSystem(path: url.path, reason: "cannot create folder: \(fileErrorReason(error))")
    }
}

/// Atomically puts `source` at `destination` (POSIX rename, replacing any file there).
func replaceItem(at destination: URL, with source: URL) throws(HubError) {
    guard rename(source.path, destination.path) == 0 else {
        throw .fileSystem(path: destination.path, reason: "cannot rename \(source.lastPathComponent) into place: \(String(cString: strerror(errno)))")
    }
}
