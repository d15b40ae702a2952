import Foundation

/// Where a download stands, handed to the progress callback of ``HubClient`` (at most about
/// ten times a second per file, plus once at each file's start and end).
public struct HubProgress: Sendable, Equatable {
    /// What is happening to the current file.
    public enum Phase: Sendable, Equatable {
        /// Bytes are arriving.
        case downloading
        /// The finished download is being hashed.
        case verifying
        /// The file was already in the cache; nothing was fetched.
        case cached
        /// The file is in the cache and linked into the snapshot.
        case finished
    }

    /// The repository, `ORG/NAME`.
    public var repo: String
    /// The file, relative to the repository.
    public var file: String
    /// The file's position in this call (0-based) and the number of files.
    public var fileIndex: Int, fileCount: Int
    /// Bytes of this file on disk so far (including a resumed part) and its size, when known.
    public var fileBytes: Int64, fileTotal: Int64?
    /// Bytes of all files of this call so far and their total, when every size is known.
    public var bytes: Int64, total: Int64?
    /// Bytes per second received for this file and for the whole call (network only; cached and
    /// resumed bytes do not count).
    public var fileBytesPerSecond: Double, bytesPerSecond: Double
    /// The current phase.
    public var phase: Phase

    /// Seconds left for this file at the current rate, nil when unknown.
    public var fileSecondsLeft: Double? { secondsLeft(done: fileBytes, total: fileTotal, rate: fileBytesPerSecond) }
    /// Seconds left for the whole call at the current rate, nil when unknown.
    public var secondsLeft: Double? { secondsLeft(done: bytes, total: total, rate: bytesPerSecond) }

    private func secondsLeft(done: Int64, total: Int64?, rate: Double) -> Double? {
        guard let total, rate > 0 else { return nil }
        return Double(max(total - done, 0)) / rate
    }
}

/// The callback type for download progress.
public typealias HubProgressHandler = @Sendable (HubProgress) -> Void

/// Counts bytes across the files of one call and throttles the callback.
final class ProgressTracker: @unchecked Sendable {
    // Invariant behind @unchecked Sendable: every field is read and written under `lock`.
    private let lock = NSLock()
    private let handler: HubProgressHandler?
    private var state: HubProgress
    private var doneBefore: Int64 = 0  // bytes of finished files
    private let start = Date()
    private var networkBytes: Int64 = 0
    private var fileStart = Date()
    private var fileNetworkBytes: Int64 = 0
    private var lastReport = Date.distantPast

    init(repo: String, fileCount: Int, total: Int64?, handler: HubProgressHandler?) {
        self.handler = handler
        state = HubProgress(repo: repo, file: "", fileIndex: 0, fileCount: fileCount, fileBytes: 0, fileTotal: nil, bytes: 0, total: total,
                            fileBytesPerSecond: 0, bytesPerSecond: 0, phase: .downloading)
    }

    /// A new file; reported only once its transfer starts (``setFileSize(_:)``) or it is found
    /// cached (``endFile(size:phase:)``).
    func beginFile(_ file: String, index: Int, size: Int64?) {
        lock.withLock {
            state.file = file
            state.fileIndex = index
            state.fileBytes = 0
            state.fileTotal = size
            state.phase = .downloading
            state.fileBytesPerSecond = 0
            fileStart = Date()
            fileNetworkBytes = 0
        }
    }

    /// The size became known (HEAD): the transfer starts, and is reported.
    func setFileSize(_ size: Int64?) {
        let snapshot = lock.withLock { () -> HubProgress in
            state.fileTotal = size ?? state.fileTotal
            fileStart = Date()
            return state
        }
        handler?(snapshot)
    }

    /// Bytes already on disk before this attempt (a resumed `.incomplete`).
    func setFileBytes(_ bytes: Int64) {
        lock.withLock {
            state.fileBytes = bytes
            state.bytes = doneBefore + bytes
        }
    }

    func received(_ count: Int) {
        let now = Date()
        let snapshot = lock.withLock { () -> HubProgress? in
            state.fileBytes += Int64(count)
            state.bytes = doneBefore + state.fileBytes
            networkBytes += Int64(count)
            fileNetworkBytes += Int64(count)
            state.bytesPerSecond = Double(networkBytes) / max(now.timeIntervalSince(start), 1e-3)
            state.fileBytesPerSecond = Double(fileNetworkBytes) / max(now.timeIntervalSince(fileStart), 1e-3)
            guard now.timeIntervalSince(lastReport) >= 0.1 else { return nil }
            lastReport = now
            return state
        }
        if let snapshot { handler?(snapshot) }
    }

    func phase(_ phase: HubProgress.Phase) {
        let snapshot = lock.withLock { () -> HubProgress in
            state.phase = phase
            return state
        }
        handler?(snapshot)
    }

    /// The file is done; `size` is its final size.
    func endFile(size: Int64, phase: HubProgress.Phase) {
        let snapshot = lock.withLock { () -> HubProgress in
            state.fileBytes = size
            state.fileTotal = size
            doneBefore += size
            state.bytes = doneBefore
            state.phase = phase
            lastReport = .distantPast
            return state
        }
        handler?(snapshot)
    }
}
