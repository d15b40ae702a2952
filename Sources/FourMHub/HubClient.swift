import Foundation
import FourMTensor

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One file of a repository as the Hub lists it.
public struct RepoFile: Sendable, Equatable {
    /// Path relative to the repository root, `/`-separated.
    public let path: String
    /// Size in bytes, when the listing gave it.
    public let size: Int64?
    /// SHA-256 of an LFS file, when the listing gave it.
    public let sha256: String?
}

/// A repository resolved at one commit.
public struct RepoInfo: Sendable, Equatable {
    /// `ORG/NAME`.
    public let repo: String
    /// The 40-digit commit hash the revision pointed to.
    public let commit: String
    /// Every file at that commit.
    public let files: [RepoFile]
}

/// Files of a repository in the cache: the snapshot folder of one commit.
public struct Snapshot: Sendable, Equatable {
    /// `ORG/NAME`.
    public let repo: String
    /// The revision asked for (branch, tag or commit).
    public let revision: String
    /// The commit it resolved to.
    public let commit: String
    /// `<cache>/models--ORG--NAME/snapshots/<commit>`.
    public let folder: URL
    /// The files fetched or found by this call, relative to ``folder``.
    public let files: [String]

    /// The local path of one file of the snapshot.
    public func url(for path: String) -> URL { folder.appendingPathComponent(path) }
}

/// How often and how patiently transient failures (HTTP 408/429/5xx, dropped or refused
/// connections) are retried: the delay doubles from `initialDelay` up to `maxDelay`.
public struct RetryPolicy: Sendable, Equatable {
    /// Tries per request; for downloads, tries in a row without receiving a byte.
    public var attempts: Int
    /// Seconds before the second try.
    public var initialDelay: Double
    /// The longest wait between tries, in seconds.
    public var maxDelay: Double

    /// Creates a policy (default: 5 tries, 1 s doubling to 16 s).
    public init(attempts: Int = 5, initialDelay: Double = 1, maxDelay: Double = 16) {
        self.attempts = max(attempts, 1)
        self.initialDelay = max(initialDelay, 0)
        self.maxDelay = max(maxDelay, 0)
    }
}

/// A client of the Hugging Face Hub (or a server speaking its protocol) that downloads into
/// the cache shared with Python's `huggingface_hub`.
///
/// ```swift
/// let hub = HubClient()   // HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_CACHE / HF_HOME
/// let snapshot = try await hub.snapshot("EPFL-VILAB/4M-21_B", files: ["model.safetensors"]) { p in
///     print(p.file, p.fileBytes, p.fileTotal ?? 0)
/// }
/// let checkpoint = snapshot.url(for: "model.safetensors")
/// ```
///
/// Every file is fetched with `Range` resume into `blobs/<etag>.incomplete` while holding the
/// blob's lock, checked against the Hub's SHA-256 (LFS) or git blob id, renamed into place
/// and linked from `snapshots/<commit>/`. The token goes only to the endpoint's host, never
/// to a redirect elsewhere (the Hub sends LFS files from a CDN with signed URLs).
public struct HubClient: Sendable {
    /// The server, `https://huggingface.co` unless `HF_ENDPOINT` says otherwise.
    public var endpoint: URL
    /// The access token sent as `Authorization: Bearer …` (`HF_TOKEN`).
    public var token: String?
    /// The cache to read and fill.
    public var cache: HubCache
    /// Use only the cache (`HF_HUB_OFFLINE=1`).
    public var offline: Bool
    /// Retries of transient failures.
    public var retry: RetryPolicy
    /// Seconds a request may wait for the next bytes before it counts as failed
    /// (`HF_HUB_DOWNLOAD_TIMEOUT`, default 30).
    public var timeout: Double
    /// Seconds to wait for another process that is downloading the same blob (nil: no limit).
    public var lockTimeout: Double?
    /// Bytes asked for per `Range` request (default 16 MiB); bounds the memory a download uses.
    public var rangeSize: Int64 = 16 << 20

    /// The default server.
    public static let defaultEndpoint: URL = URL(string: "https://huggingface.co") ?? URL(fileURLWithPath: "/")  // a literal: always parses

    /// Creates a client with explicit settings.
    /// - Parameters:
    ///   - endpoint: the server (trailing `/` ignored).
    ///   - token: the access token, or nil.
    ///   - cache: the cache folder.
    ///   - offline: whether to use only the cache.
    ///   - retry: how transient failures are retried.
    ///   - timeout: seconds a request may wait for the next bytes.
    ///   - lockTimeout: seconds to wait for another process writing the same blob (nil: no limit).
    public init(endpoint: URL, token: String? = nil, cache: HubCache = HubCache(), offline: Bool = false, retry: RetryPolicy = RetryPolicy(),
                timeout: Double = 30, lockTimeout: Double? = nil) {
        var text = endpoint.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        self.endpoint = URL(string: text) ?? endpoint
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.cache = cache
        self.offline = offline
        self.retry = retry
        self.timeout = timeout
        self.lockTimeout = lockTimeout
    }

    /// Creates a client configured the way `huggingface_hub` reads its environment:
    /// `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_OFFLINE` (1/true/yes/on), `HF_HUB_DOWNLOAD_TIMEOUT`,
    /// and the cache from `HF_HUB_CACHE` / `HF_HOME` (see ``HubCache/init(environment:)``).
    /// The token file `huggingface-cli login` writes is not read: set `HF_TOKEN`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let endpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : URL(string: $0) } ?? Self.defaultEndpoint
        let offlineValue = (environment["HF_HUB_OFFLINE"] ?? environment["TRANSFORMERS_OFFLINE"] ?? "").uppercased()
        let timeout = environment["HF_HUB_DOWNLOAD_TIMEOUT"].flatMap(Double.init).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } ?? 30
        self.init(endpoint: endpoint, token: environment["HF_TOKEN"] ?? environment["HUGGING_FACE_HUB_TOKEN"],
                  cache: HubCache(environment: environment), offline: ["1", "ON", "YES", "TRUE"].contains(offlineValue), timeout: timeout)
    }

    // MARK: - Listing

    /// Resolves a revision to its commit and lists the files there
    /// (`GET /api/models/{repo}/revision/{revision}?blobs=true`).
    /// - Throws: `.repoNotFound`, `.revisionNotFound`, `.unauthorized`, `.network`,
    ///   `.invalidResponse`, `.invalidFileName` (a listed name that leaves the repository),
    ///   `.offlineMissing` when offline.
    public func repoInfo(_ repo: String, revision: String = "main") async throws(HubError) -> RepoInfo {
        try validateRepoID(repo)
        if offline { throw .offlineMissing(repo: repo, revision: revision, missing: ["the file list (offline: use snapshot(...), which reads the cache)"], cache: cache.root.path) }
        guard let url = URL(string: "\(endpoint.absoluteString)/api/models/\(repo)/revision/\(percentEncoded(revision))?blobs=true") else {
            throw .revisionNotFound(repo: repo, revision: revision)
        }
        let reply = try await sendWithRetry(request(url, method: "GET"))
        guard reply.status == 200 else { throw failure(reply, repo: repo, revision: revision, file: nil) }
        guard let object = (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any] else {
            throw .invalidResponse(url: url.absoluteString, reason: "the revision info is not a JSON object")
        }
        guard let commit = object["sha"] as? String, isCommitHash(commit) else {
            throw .invalidResponse(url: url.absoluteString, reason: "no 40-digit commit hash in 'sha'")
        }
        guard let siblings = object["siblings"] as? [[String: Any]] else {
            throw .invalidResponse(url: url.absoluteString, reason: "no 'siblings' list of files")
        }
        var files: [RepoFile] = []
        for sibling in siblings {
            guard let path = sibling["rfilename"] as? String else { throw .invalidResponse(url: url.absoluteString, reason: "a sibling without 'rfilename'") }
            try validateFileName(path, repo: repo)
            let lfs = sibling["lfs"] as? [String: Any]
            let size = ((lfs?["size"] ?? sibling["size"]) as? NSNumber)?.int64Value
            files.append(RepoFile(path: path, size: size.flatMap { $0 >= 0 ? $0 : nil }, sha256: lfs?["sha256"] as? String))
        }
        return RepoInfo(repo: repo, commit: commit, files: files)
    }

    // MARK: - Downloading

    /// Makes files of a repository available in the cache and returns their snapshot.
    ///
    /// Offline (``offline``), or when the server cannot be reached and the cache has every
    /// file, the cache alone answers. With a commit hash as revision and every named file
    /// cached, nothing is sent.
    /// - Parameters:
    ///   - repo: `ORG/NAME`.
    ///   - revision: a branch, tag or commit hash.
    ///   - files: the files to fetch (each must exist); nil for every file that `patterns` select.
    ///   - patterns: shell globs (`*.json`, `tok_*/*`; `*` also matches `/`, a trailing `/`
    ///     means the whole folder); empty selects every file.
    ///   - progress: called as bytes arrive.
    /// - Throws: the cases of ``repoInfo(_:revision:)``, `.fileNotFound`, `.hashMismatch`,
    ///   `.sizeMismatch`, `.fileSystem`, `.cancelled`.
    public func snapshot(_ repo: String, revision: String = "main", files: [String]? = nil, matching patterns: [String] = [],
                         progress: HubProgressHandler? = nil) async throws(HubError) -> Snapshot {
        try validateRepoID(repo)
        for file in files ?? [] { try validateFileName(file, repo: repo) }
        if offline { return try cachedSnapshot(repo, revision: revision, files: files, patterns: patterns) }
        if isCommitHash(revision), let files, let cached = try? cachedSnapshot(repo, revision: revision, files: files, patterns: []) {
            return cached
        }
        let info: RepoInfo
        do { info = try await repoInfo(repo, revision: revision) } catch {
            if case .network = error, let cached = try? cachedSnapshot(repo, revision: revision, files: files, patterns: patterns) { return cached }
            throw error
        }
        var wanted: [RepoFile] = []
        if let files {
            for file in files {
                guard let listed = info.files.first(where: { $0.path == file }) else { throw .fileNotFound(repo: repo, revision: revision, file: file) }
                wanted.append(listed)
            }
        } else {
            wanted = info.files.filter { matches($0.path, patterns) }
        }
        // Sizes come from the server: an overflowing sum means "unknown", not a trap.
        let total = wanted.reduce(Int64(0) as Int64?) { sum, file in
            guard let sum, let size = file.size else { return nil }
            let (next, overflow) = sum.addingReportingOverflow(size)
            return overflow ? nil : next
        }
        let tracker = ProgressTracker(repo: repo, fileCount: wanted.count, total: total, handler: progress)
        // As huggingface_hub: the ref first, so files fetched before a failure are found offline.
        try cache.writeRef(repo: repo, revision: revision, commit: info.commit)
        for (index, file) in wanted.enumerated() {
            if Task.isCancelled { throw .cancelled }
            tracker.beginFile(file.path, index: index, size: file.size)
            if let cached = try cache.cachedFile(repo: repo, revision: info.commit, path: file.path) {
                tracker.endFile(size: (try? fileSize(cached.resolvingSymlinksInPath())) ?? file.size ?? 0, phase: .cached)
                continue
            }
            let metadata = try await fileMetadata(repo: repo, revision: info.commit, path: file.path)
            if let served = metadata.commit, served != info.commit {
                throw .invalidResponse(url: metadata.location.absoluteString, reason: "X-Repo-Commit is \(served), expected \(info.commit)")
            }
            tracker.setFileSize(metadata.size ?? file.size)
            let size = try await fetchBlob(repo: repo, file: file.path, metadata: metadata, tracker: tracker)
            try cache.linkSnapshot(repo: repo, commit: info.commit, path: file.path, etag: metadata.etag)
            tracker.endFile(size: size, phase: .finished)
        }
        return Snapshot(repo: repo, revision: revision, commit: info.commit, folder: try cache.snapshotFolder(repo: repo, commit: info.commit),
                        files: wanted.map(\.path))
    }

    /// Makes one file available in the cache and returns its local path (a symlink into
    /// `blobs/`).
    /// - Throws: as ``snapshot(_:revision:files:matching:progress:)``.
    public func file(_ repo: String, path: String, revision: String = "main", progress: HubProgressHandler? = nil) async throws(HubError) -> URL {
        try await snapshot(repo, revision: revision, files: [path], progress: progress).url(for: path)
    }

    /// The snapshot the cache alone can give.
    /// - Throws: `.offlineMissing` naming the revision or the files that are not cached.
    public func cachedSnapshot(_ repo: String, revision: String = "main", files: [String]? = nil, patterns: [String] = []) throws(HubError) -> Snapshot {
        guard let commit = try cache.commit(repo: repo, revision: revision) else {
            throw .offlineMissing(repo: repo, revision: revision, missing: ["refs/\(revision) (the revision was never fetched)"], cache: cache.root.path)
        }
        let available = try cache.snapshotFiles(repo: repo, commit: commit)
        let folder = try cache.snapshotFolder(repo: repo, commit: commit)
        let chosen: [String]
        if let files {
            let missing = files.filter { !available.contains($0) }
            if !missing.isEmpty { throw .offlineMissing(repo: repo, revision: revision, missing: missing, cache: cache.root.path) }
            chosen = files
        } else {
            chosen = available.filter { matches($0, patterns) }
            if chosen.isEmpty {
                let what = patterns.isEmpty ? ["snapshots/\(commit)"] : patterns.map { "files matching '\($0)'" }
                throw .offlineMissing(repo: repo, revision: revision, missing: what, cache: cache.root.path)
            }
        }
        return Snapshot(repo: repo, revision: revision, commit: commit, folder: folder, files: chosen)
    }

    // MARK: - One file

    struct FileMetadata {
        let commit: String?
        let etag: String
        let size: Int64?
        let location: URL
    }

    /// HEAD on `/{repo}/resolve/{revision}/{path}`: follows redirects on the endpoint's own host
    /// (a renamed repository) and reads the Hub's headers from the first other response, as
    /// `huggingface_hub` does; a redirect elsewhere is the download location.
    func fileMetadata(repo: String, revision: String, path: String) async throws(HubError) -> FileMetadata {
        guard var url = URL(string: "\(endpoint.absoluteString)/\(repo)/resolve/\(percentEncoded(revision))/\(percentEncodedPath(path))") else {
            throw .invalidFileName(repo: repo, file: path)
        }
        for _ in 0..<6 {
            let reply = try await sendWithRetry(request(url, method: "HEAD"))
            var location = url
            if (300..<400).contains(reply.status) {
                guard let text = reply.header("location"), let next = URL(string: text, relativeTo: url)?.absoluteURL else {
                    throw .invalidResponse(url: url.absoluteString, reason: "HTTP \(reply.status) without a Location header")
                }
                if next.host == url.host && reply.header("x-linked-etag") == nil && reply.header("x-repo-commit") == nil {
                    url = next
                    continue
                }
                location = next
            } else if !(200..<300).contains(reply.status) {
                throw failure(reply, repo: repo, revision: revision, file: path)
            }
            guard let rawTag = reply.header("x-linked-etag") ?? reply.header("etag") else {
                throw .invalidResponse(url: url.absoluteString, reason: "no X-Linked-Etag or ETag header for \(path)")
            }
            let etag = normalizedETag(rawTag)
            guard !etag.isEmpty, etag.count <= 128, !etag.contains("/"), !etag.contains(".."), !etag.contains("\0") else {
                throw .invalidResponse(url: url.absoluteString, reason: "ETag '\(rawTag)' cannot name a blob")
            }
            let sizeText = reply.header("x-linked-size") ?? ((300..<400).contains(reply.status) ? nil : reply.header("content-length"))
            let size = sizeText.flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0 >= 0 ? $0 : nil }
            return FileMetadata(commit: reply.header("x-repo-commit"), etag: etag, size: size, location: location)
        }
        throw .invalidResponse(url: url.absoluteString, reason: "more than 5 redirects")
    }

    /// Downloads a blob under its lock unless it is already there; returns its size.
    func fetchBlob(repo: String, file: String, metadata: FileMetadata, tracker: ProgressTracker) async throws(HubError) -> Int64 {
        let blobs = try cache.blobsFolder(repo)
        try makeDirectory(blobs)
        cache.tagCacheFolder()
        let blob = blobs.appendingPathComponent(metadata.etag)
        if FileManager.default.fileExists(atPath: blob.path) { return try fileSize(blob) }
        let lock = try await FileLock.acquire(try cache.lockFile(repo: repo, etag: metadata.etag), timeout: lockTimeout)
        defer { lock.unlock() }
        // Another process may have finished it while we waited.
        if FileManager.default.fileExists(atPath: blob.path) { return try fileSize(blob) }
        let incomplete = blobs.appendingPathComponent("\(metadata.etag).incomplete")
        let streamed = try await download(repo: repo, file: file, metadata: metadata, to: incomplete, tracker: tracker)
        let size = try fileSize(incomplete)
        if let expected = metadata.size, size != expected {
            try? FileManager.default.removeItem(at: incomplete)
            throw .sizeMismatch(repo: repo, file: file, expected: expected, actual: size)
        }
        tracker.phase(.verifying)
        let check = BlobCheck(etag: metadata.etag)
        if let expected = check.expected {
            let actual: String
            if let streamed { actual = streamed } else { actual = try check.digest(of: incomplete) ?? "" }
            if actual != expected {
                try? FileManager.default.removeItem(at: incomplete)
                throw .hashMismatch(repo: repo, file: file, expected: expected, actual: actual)
            }
        }
        try replaceItem(at: blob, with: incomplete)
        return size
    }

    /// Fills `incomplete` from its current length to the end, resuming after drops; returns the
    /// digest computed on the way (nil when it could not be: the caller then hashes the file).
    func download(repo: String, file: String, metadata: FileMetadata, to incomplete: URL, tracker: ProgressTracker) async throws(HubError) -> String? {
        let fm = FileManager.default
        if !fm.fileExists(atPath: incomplete.path) && !fm.createFile(atPath: incomplete.path, contents: nil) {
            throw .fileSystem(path: incomplete.path, reason: "cannot create the partial download")
        }
        let handle: FileHandle
        do { handle = try FileHandle(forUpdating: incomplete) } catch { throw .fileSystem(path: incomplete.path, reason: "cannot open the partial download: \(fileErrorReason(error))") }
        defer { try? handle.close() }
        let writer = BlobWriter(handle: handle, path: incomplete.path, tracker: tracker, check: BlobCheck(etag: metadata.etag), expectedSize: metadata.size)
        let transport = HTTPTransport(timeout: timeout)
        var location = metadata.location
        var refreshed = false
        var failures = 0
        while true {
            if Task.isCancelled { throw .cancelled }
            var offset = try writer.length()
            if let size = metadata.size, offset > size {
                try writer.truncate()
                offset = 0
            }
            try writer.catchUp(to: offset)
            if let size = metadata.size, offset == size { return writer.finishedDigest(length: offset) }
            tracker.setFileBytes(offset)
            writer.requestedOffset = offset
            var request = self.request(location, method: "GET")
            if location.host != endpoint.host { request.setValue(nil, forHTTPHeaderField: "Authorization") }
            // Known sizes are fetched in ranges of `rangeSize`: URLSession on Linux hands every
            // received piece to the delegate queue without back-pressure, so one request for a
            // whole multi-GB file could pile up in memory whenever hashing falls behind the network.
            var requestedEnd: Int64? = nil
            if let size = metadata.size {
                requestedEnd = min(offset + max(rangeSize, 1), size) - 1
                request.setValue("bytes=\(offset)-\(requestedEnd ?? 0)", forHTTPHeaderField: "Range")
            } else if offset > 0 {
                request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range")
            }
            let reply: HTTPReply
            do {
                reply = try await transport.stream(request, authorizedHost: endpoint.host, onResponse: writer.begin, sink: writer.write)
            } catch let error as HubError {
                throw error
            } catch {
                let failure = error as? TransportFailure
                if failure?.cancelled == true || Task.isCancelled { throw .cancelled }
                failures = ((try? writer.length()) ?? offset) > offset ? 1 : failures + 1  // progress resets the count
                if failures >= retry.attempts { throw .downloadFailed(repo: repo, file: file, reason: failure?.reason ?? "\(error)", attempts: failures) }
                try await pause(failures)
                continue
            }
            switch reply.status {
            case 200..<300:
                let length = try writer.length()
                guard let size = metadata.size else { return writer.finishedDigest(length: length) }
                if length >= size { return writer.finishedDigest(length: length) }
                if reply.status == 206, let requestedEnd, length > requestedEnd {
                    failures = 0  // the range is complete: ask for the next one
                    continue
                }
                failures += 1  // a short body without an error: resume
                if failures >= retry.attempts { throw .downloadFailed(repo: repo, file: file, reason: "the body ended early", attempts: failures) }
            case 416 where metadata.size == nil:
                return nil
            case 401 where location.host != endpoint.host && !refreshed, 403 where location.host != endpoint.host && !refreshed:
                // A signed CDN link expired: ask the Hub for a fresh one, once.
                refreshed = true
                location = try await fileMetadata(repo: repo, revision: metadata.commit ?? "main", path: file).location
                continue
            case 408, 429, 500..<600:
                failures += 1
                if failures >= retry.attempts { throw self.failure(reply, repo: repo, revision: metadata.commit ?? "", file: file) }
            default:
                throw self.failure(reply, repo: repo, revision: metadata.commit ?? "", file: file)
            }
            try await pause(failures)
        }
    }

    // MARK: - HTTP helpers

    func request(_ url: URL, method: String) -> URLRequest {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = timeout
        request.setValue("fourm-hub/1; swift", forHTTPHeaderField: "User-Agent")
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        if let token, url.host == endpoint.host { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return request
    }

    func sendWithRetry(_ request: URLRequest) async throws(HubError) -> HTTPReply {
        let transport = HTTPTransport(timeout: timeout)
        var attempt = 0
        while true {
            attempt += 1
            let reply: HTTPReply
            do { reply = try await transport.send(request) } catch {
                if error.cancelled || Task.isCancelled { throw .cancelled }
                if attempt >= retry.attempts { throw .network(url: request.url?.absoluteString ?? "?", reason: error.reason, attempts: attempt) }
                try await pause(attempt)
                continue
            }
            if isTransient(reply.status) && attempt < retry.attempts {
                try await pause(attempt)
                continue
            }
            return reply
        }
    }

    func pause(_ attempt: Int) async throws(HubError) {
        let delay = min(retry.initialDelay * pow(2, Double(max(attempt - 1, 0))), retry.maxDelay)
        do { try await Task.sleep(nanoseconds: UInt64(delay * 1e9)) } catch { throw .cancelled }
    }

    func failure(_ reply: HTTPReply, repo: String, revision: String, file: String?) -> HubError {
        let code = reply.header("x-error-code")
        switch reply.status {
        case 401, 403:
            return .unauthorized(repo: repo, status: reply.status, tokenSent: token != nil)
        case 404:
            switch code {
            case "RepoNotFound": return .repoNotFound(repo: repo)
            case "RevisionNotFound": return .revisionNotFound(repo: repo, revision: revision)
            default: return file.map { .fileNotFound(repo: repo, revision: revision, file: $0) } ?? .repoNotFound(repo: repo)
            }
        default:
            let message = reply.header("x-error-message") ?? String(decoding: reply.body.prefix(200), as: UTF8.self)
            return .http(url: reply.url.absoluteString, status: reply.status, message: message.replacingOccurrences(of: "\n", with: " "))
        }
    }
}

/// Writes arriving bytes to the partial blob, counts them, and hashes them on the way so the
/// finished file need not be read again.
final class BlobWriter: @unchecked Sendable {
    // Invariant behind @unchecked Sendable: used by one download at a time; the delegate queue
    // calls begin/write serially while the owning task awaits the transfer, and the task reads
    // the state only after the transfer has completed.
    let handle: FileHandle
    let path: String
    let tracker: ProgressTracker
    let check: BlobCheck
    let expectedSize: Int64?
    var requestedOffset: Int64 = 0
    private var sha256 = SHA256Digest()
    private var sha1 = SHA1Digest()
    /// Bytes fed to the running hash; equal to the file's length while the hash is in step.
    private(set) var hashedLength: Int64 = 0

    init(handle: FileHandle, path: String, tracker: ProgressTracker, check: BlobCheck, expectedSize: Int64?) {
        self.handle = handle
        self.path = path
        self.tracker = tracker
        self.check = check
        self.expectedSize = expectedSize
        resetHash()
    }

    func length() throws(HubError) -> Int64 {
        do { return Int64(try handle.seekToEnd()) } catch { throw .fileSystem(path: path, reason: "cannot seek: \(fileErrorReason(error))") }
    }

    func truncate() throws(HubError) {
        do {
            try handle.truncate(atOffset: 0)
            try handle.seek(toOffset: 0)
        } catch { throw .fileSystem(path: path, reason: "cannot truncate: \(fileErrorReason(error))") }
        resetHash()
    }

    private func resetHash() {
        sha256 = SHA256Digest()
        sha1 = SHA1Digest()
        if case .gitBlob = check, let expectedSize { sha1.update(Array("blob \(expectedSize)\0".utf8)) }
        hashedLength = 0
    }

    private func feed(_ data: Data) {
        switch check {
        case .sha256: sha256.update(data)
        case .gitBlob: sha1.update(data)
        case .sizeOnly: break
        }
        hashedLength += Int64(data.count)
    }

    /// Brings the running hash up to the file's length `offset` (a partial file from an earlier
    /// run is read once).
    func catchUp(to offset: Int64) throws(HubError) {
        guard hashedLength != offset else { return }
        resetHash()
        do {
            try handle.seek(toOffset: 0)
            while hashedLength < offset {
                guard let chunk = try handle.read(upToCount: Int(min(offset - hashedLength, 4 << 20))), !chunk.isEmpty else { break }
                feed(chunk)
            }
            _ = try handle.seekToEnd()
        } catch { throw .fileSystem(path: path, reason: "cannot read the partial download: \(fileErrorReason(error))") }
    }

    /// The hex digest of everything written, when the check has one and the hash kept up
    /// (a git blob id needs the size in advance).
    func finishedDigest(length: Int64) -> String? {
        guard hashedLength == length else { return nil }
        switch check {
        case .sha256: return hexString(sha256.finalize())
        case .gitBlob: return expectedSize == length ? hexString(sha1.finalize()) : nil
        case .sizeOnly: return nil
        }
    }

    /// A 200 to a ranged request carries the whole file: start over.
    @Sendable func begin(_ status: Int) throws {
        if status == 200 && requestedOffset > 0 {
            try truncate()
            tracker.setFileBytes(0)
        }
    }

    @Sendable func write(_ data: Data) throws {
        do { try handle.write(contentsOf: data) } catch { throw HubError.fileSystem(path: path, reason: "cannot write: \(fileErrorReason(error))") }
        feed(data)
        tracker.received(data.count)
    }
}

func isTransient(_ status: Int) -> Bool { status == 408 || status == 429 || (500..<600).contains(status) }

/// `W/"abc"` → `abc`.
func normalizedETag(_ raw: String) -> String {
    var text = raw.trimmingCharacters(in: .whitespaces)
    if text.hasPrefix("W/") { text.removeFirst(2) }
    return text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
}

func percentEncoded(_ component: String) -> String {
    var allowed = CharacterSet.urlPathAllowed
    allowed.remove(charactersIn: "/?#")
    return component.addingPercentEncoding(withAllowedCharacters: allowed) ?? component
}

func percentEncodedPath(_ path: String) -> String {
    path.split(separator: "/", omittingEmptySubsequences: false).map { percentEncoded(String($0)) }.joined(separator: "/")
}

/// Whether a path is selected by shell globs (`fnmatch` without `FNM_PATHNAME`, as Python's
/// `fnmatch`: `*` also matches `/`). No patterns select everything; `dir/` means `dir/*`.
package func matches(_ path: String, _ patterns: [String]) -> Bool {
    if patterns.isEmpty { return true }
    return patterns.contains { pattern in
        let full = pattern.hasSuffix("/") ? pattern + "*" : pattern
        return fnmatch(full, path, 0) == 0
    }
}
