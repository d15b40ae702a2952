import FourM

/// Every error of the Hub client and the cache. Each names the repository, the file, and what
/// was expected versus what came, on one line.
public enum HubError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A repository id that is not `name` or `org/name` of letters, digits, `-`, `_`, `.`.
    case invalidRepoID(String)
    /// A file name from the server or the caller that would leave the snapshot folder.
    case invalidFileName(repo: String, file: String)
    /// The server does not know the repository (HTTP 404).
    case repoNotFound(repo: String)
    /// The repository has no such branch, tag or commit.
    case revisionNotFound(repo: String, revision: String)
    /// The revision has no such file.
    case fileNotFound(repo: String, revision: String, file: String)
    /// HTTP 401/403: the repository is private or gated, or the token was refused.
    case unauthorized(repo: String, status: Int, tokenSent: Bool)
    /// Any other HTTP status that retries did not fix.
    case http(url: String, status: Int, message: String)
    /// The connection failed (refused, dropped, timed out) on every attempt.
    case network(url: String, reason: String, attempts: Int)
    /// Downloading a file's bytes failed on every attempt (the partial file is kept and the next
    /// call resumes it).
    case downloadFailed(repo: String, file: String, reason: String, attempts: Int)
    /// A response without a header the protocol needs, or with a body that does not parse.
    case invalidResponse(url: String, reason: String)
    /// The downloaded bytes do not hash to the Hub's SHA-256 (LFS) or git blob id; nothing was
    /// cached.
    case hashMismatch(repo: String, file: String, expected: String, actual: String)
    /// The downloaded file has another size than the Hub announced; nothing was cached.
    case sizeMismatch(repo: String, file: String, expected: Int64, actual: Int64)
    /// `HF_HUB_OFFLINE=1` (or offline use) and the cache lacks what is needed.
    case offlineMissing(repo: String, revision: String, missing: [String], cache: String)
    /// Creating, renaming, locking or reading a file in the cache failed.
    case fileSystem(path: String, reason: String)
    /// The files were fetched, but loading them as a FourM bundle failed.
    case bundle(FourMError)
    /// The task was cancelled.
    case cancelled

    /// One line: where, what, expected versus actual, and the fix when it is known.
    public var description: String {
        switch self {
        case .invalidRepoID(let id):
            return "'\(id)' is not a Hub repository id (expected ORG/NAME of letters, digits, '-', '_', '.', without '--' or '..')"
        case let .invalidFileName(repo, file):
            return "\(repo): file name '\(file)' is not a relative path inside the repository"
        case .repoNotFound(let repo):
            return "\(repo): repository not found on the Hub (HTTP 404; check the id, or HF_ENDPOINT)"
        case let .revisionNotFound(repo, revision):
            return "\(repo): revision '\(revision)' not found (expected a branch, tag or commit hash)"
        case let .fileNotFound(repo, revision, file):
            return "\(repo)@\(revision): file '\(file)' not found"
        case let .unauthorized(repo, status, tokenSent):
            return tokenSent
                ? "\(repo): HTTP \(status), the token in HF_TOKEN was refused (is it valid, and has it access to this repository?)"
                : "\(repo): HTTP \(status), the repository is private, gated or missing; set HF_TOKEN to a token with access"
        case let .http(url, status, message):
            return "\(url): HTTP \(status)\(message.isEmpty ? "" : " (\(message))")"
        case let .network(url, reason, attempts):
            return "\(url): \(reason) (after \(attempts) attempt\(attempts == 1 ? "" : "s"); set HF_HUB_OFFLINE=1 to use only the cache)"
        case let .downloadFailed(repo, file, reason, attempts):
            return "\(repo)/\(file): \(reason) (after \(attempts) attempt\(attempts == 1 ? "" : "s") without progress; run again to resume)"
        case let .invalidResponse(url, reason):
            return "\(url): \(reason)"
        case let .hashMismatch(repo, file, expected, actual):
            return "\(repo)/\(file): downloaded bytes hash to \(actual), expected \(expected); nothing was cached"
        case let .sizeMismatch(repo, file, expected, actual):
            return "\(repo)/\(file): downloaded \(actual) bytes, expected \(expected); nothing was cached"
        case let .offlineMissing(repo, revision, missing, cache):
            return "\(repo)@\(revision): offline and not in the cache \(cache): missing \(missing.joined(separator: ", "))"
        case let .fileSystem(path, reason):
            return "\(path): \(reason)"
        case .bundle(let error):
            return error.description
        case .cancelled:
            return "download cancelled"
        }
    }
}
