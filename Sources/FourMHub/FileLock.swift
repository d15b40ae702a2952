import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock on a file (`flock`), released by ``unlock()`` or when the process
/// ends. `huggingface_hub` locks `.locks/models--ORG--NAME/<etag>.lock` the same way (through
/// `filelock`), so Python and Swift processes writing one blob wait for each other.
final class FileLock: @unchecked Sendable {
    // Invariant behind @unchecked Sendable: `descriptor` is written once in init and by unlock(),
    // which its single owner calls once.
    private var descriptor: Int32
    let url: URL

    private init(descriptor: Int32, url: URL) {
        self.descriptor = descriptor
        self.url = url
    }

    /// Takes the lock, polling every 50 ms while another process holds it, until `timeout`
    /// seconds have passed (nil: wait as long as it takes) or the task is cancelled.
    /// - Throws: `.fileSystem` when the lock file cannot be opened or the wait timed out,
    ///   `.cancelled`.
    static func acquire(_ url: URL, timeout: Double? = nil, onWait: (() -> Void)? = nil) async throws(HubError) -> FileLock {
        try makeDirectory(url.deletingLastPathComponent())
        let descriptor = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw .fileSystem(path: url.path, reason: "cannot open the lock file: \(String(cString: strerror(errno)))") }
        let start = Date()
        var told = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                throw .fileSystem(path: url.path, reason: "cannot lock: \(reason)")
            }
            if !told { onWait?(); told = true }
            if let timeout, Date().timeIntervalSince(start) > timeout {
                close(descriptor)
                throw .fileSystem(path: url.path, reason: "still locked by another download after \(Int(timeout)) s")
            }
            do { try await Task.sleep(nanoseconds: 50_000_000) } catch {
                close(descriptor)
                throw .cancelled
            }
        }
        return FileLock(descriptor: descriptor, url: url)
    }

    /// Whether another process holds the lock right now (used by `prune` to leave in-progress
    /// downloads alone).
    static func isHeld(_ url: URL) -> Bool {
        let descriptor = open(url.path, O_RDWR)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return false
        }
        return true
    }

    /// Releases the lock (the lock file stays, as in `huggingface_hub`).
    func unlock() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { unlock() }
}
