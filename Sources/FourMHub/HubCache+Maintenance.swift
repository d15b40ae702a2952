import Foundation
import FourMTensor

/// One model repository in the cache, as ``HubCache/repos()`` reports it.
public struct CachedRepo: Sendable, Equatable {
    /// `ORG/NAME`.
    public let repo: String
    /// The repository's folder.
    public let folder: URL
    /// Bytes of all finished blobs (each counted once, however many snapshots share it).
    public let size: Int64
    /// Number of finished blobs.
    public let blobCount: Int
    /// Commits with a snapshot folder.
    public let commits: [String]
    /// Branch or tag → commit, from `refs/`.
    public let refs: [String: String]
    /// Bytes of partial downloads (`*.incomplete`).
    public let incompleteSize: Int64
}

/// Something wrong in the cache, found by ``HubCache/verify(repo:progress:)``.
public enum CacheIssue: Sendable, Equatable, CustomStringConvertible {
    /// A blob whose bytes do not hash to its name.
    case corruptBlob(repo: String, blob: String, expected: String, actual: String)
    /// A snapshot entry whose blob is missing.
    case danglingLink(repo: String, commit: String, file: String)
    /// A snapshot entry that is a plain file rather than a link into `blobs/`.
    case notALink(repo: String, commit: String, file: String)

    /// One line naming the repository and the file.
    public var description: String {
        switch self {
        case let .corruptBlob(repo, blob, expected, actual): return "\(repo): blob \(blob) hashes to \(actual), expected \(expected)"
        case let .danglingLink(repo, commit, file): return "\(repo)@\(commit.prefix(10)): \(file) points to a missing blob"
        case let .notALink(repo, commit, file): return "\(repo)@\(commit.prefix(10)): \(file) is a plain file, not a link into blobs/"
        }
    }
}

extension HubCache {
    /// Every model repository in the cache, sorted by id.
    public func repos() -> [CachedRepo] {
        let fm = FileManager.default
        let names = ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0.hasPrefix("models--") }.sorted()
        return names.compactMap { name in
            let repo = name.dropFirst("models--".count).replacingOccurrences(of: "--", with: "/")
            guard (try? validateRepoID(repo)) != nil else { return nil }
            let folder = root.appendingPathComponent(name)
            var size: Int64 = 0, count = 0, incomplete: Int64 = 0
            for blob in (try? fm.contentsOfDirectory(atPath: folder.appendingPathComponent("blobs").path)) ?? [] {
                let bytes = (try? fileSize(folder.appendingPathComponent("blobs").appendingPathComponent(blob))) ?? 0
                if blob.hasSuffix(".incomplete") {
                    incomplete &+= bytes
                } else {
                    size &+= bytes
                    count += 1
                }
            }
            let commits = ((try? fm.contentsOfDirectory(atPath: folder.appendingPathComponent("snapshots").path)) ?? []).sorted()
            var refs: [String: String] = [:]
            let refsFolder = folder.appendingPathComponent("refs")
            if let walker = fm.enumerator(atPath: refsFolder.path) {
                while let ref = walker.nextObject() as? String {
                    if let data = fm.contents(atPath: refsFolder.appendingPathComponent(ref).path) {
                        refs[ref] = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                }
            }
            return CachedRepo(repo: repo, folder: folder, size: size, blobCount: count, commits: commits, refs: refs, incompleteSize: incomplete)
        }
    }

    /// Re-hashes every blob of one repository (or of all) against its name and checks that
    /// every snapshot entry links to an existing blob.
    /// - Parameters:
    ///   - repo: one repository, or nil for all.
    ///   - progress: told each blob before it is hashed.
    /// - Returns: the problems found (empty when all is well).
    /// - Throws: `.invalidRepoID`, `.fileSystem` for an unreadable blob.
    public func verify(repo: String? = nil, progress: (@Sendable (String, String) -> Void)? = nil) throws(HubError) -> [CacheIssue] {
        let fm = FileManager.default
        var issues: [CacheIssue] = []
        let chosen = try repo.map { id throws(HubError) in [try repoFolder(id)] } ?? repos().map(\.folder)
        for folder in chosen {
            let id = folder.lastPathComponent.dropFirst("models--".count).replacingOccurrences(of: "--", with: "/")
            let blobs = folder.appendingPathComponent("blobs")
            for blob in ((try? fm.contentsOfDirectory(atPath: blobs.path)) ?? []).sorted() where !blob.hasSuffix(".incomplete") {
                let check = BlobCheck(etag: blob)
                guard let expected = check.expected else { continue }
                progress?(id, blob)
                let actual = try check.digest(of: blobs.appendingPathComponent(blob)) ?? ""
                if actual != expected { issues.append(.corruptBlob(repo: id, blob: blob, expected: expected, actual: actual)) }
            }
            let snapshots = folder.appendingPathComponent("snapshots")
            for commit in ((try? fm.contentsOfDirectory(atPath: snapshots.path)) ?? []).sorted() {
                guard let walker = fm.enumerator(atPath: snapshots.appendingPathComponent(commit).path) else { continue }
                while let file = walker.nextObject() as? String {
                    let url = snapshots.appendingPathComponent(commit).appendingPathComponent(file)
                    if (try? fm.destinationOfSymbolicLink(atPath: url.path)) != nil {
                        if !fm.fileExists(atPath: url.path) { issues.append(.danglingLink(repo: id, commit: commit, file: file)) }
                    } else {
                        var isDirectory: ObjCBool = false
                        if fm.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                            issues.append(.notALink(repo: id, commit: commit, file: file))
                        }
                    }
                }
            }
        }
        return issues
    }

    /// Removes blobs that no snapshot links to, and partial downloads that no process is
    /// writing (their blob's lock in `.locks/` is free).
    /// - Parameter dryRun: only report what would go.
    /// - Returns: the removed (or removable) files and their total size.
    /// - Throws: `.fileSystem` when a file cannot be removed.
    public func prune(dryRun: Bool = false) throws(HubError) -> (files: [URL], bytes: Int64) {
        let fm = FileManager.default
        var removed: [URL] = []
        var bytes: Int64 = 0
        for entry in repos() {
            let blobs = entry.folder.appendingPathComponent("blobs")
            var referenced = Set<String>()
            let snapshots = entry.folder.appendingPathComponent("snapshots")
            for commit in entry.commits {
                guard let walker = fm.enumerator(atPath: snapshots.appendingPathComponent(commit).path) else { continue }
                while let file = walker.nextObject() as? String {
                    if let target = try? fm.destinationOfSymbolicLink(atPath: snapshots.appendingPathComponent(commit).appendingPathComponent(file).path) {
                        referenced.insert((target as NSString).lastPathComponent)
                    }
                }
            }
            for blob in ((try? fm.contentsOfDirectory(atPath: blobs.path)) ?? []).sorted() {
                let url = blobs.appendingPathComponent(blob)
                if blob.hasSuffix(".incomplete") {
                    // `<etag>.incomplete` (FourMHub, older huggingface_hub) or
                    // `<etag>.<random>.incomplete` (current huggingface_hub): both lock `<etag>.lock`.
                    let etag = String(blob.prefix { $0 != "." })
                    if let lock = try? lockFile(repo: entry.repo, etag: etag), FileLock.isHeld(lock) { continue }
                } else if referenced.contains(blob) {
                    continue
                }
                bytes &+= (try? fileSize(url)) ?? 0
                removed.append(url)
                if !dryRun {
                    do { try fm.removeItem(at: url) } catch { throw .fileSystem(path: url.path, reason: "cannot remove: \(fileErrorReason(error))") }
                }
            }
        }
        return (removed, bytes)
    }
}
