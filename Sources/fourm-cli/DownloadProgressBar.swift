import Foundation
import FourMHub

/// Download progress on standard error: on a terminal one redrawn line with a bar, bytes, rate
/// and ETA for the file and for the whole call; otherwise plain lines when a file starts,
/// every 25 % of a large file, and when it ends.
final class DownloadProgressBar: @unchecked Sendable {
    // Invariant behind @unchecked Sendable: every field is used under `lock`.
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var lastFile = ""
    private var lastQuarter = 0
    private var lineOpen = false

    /// The callback to hand to FourMHub.
    var handler: HubProgressHandler { { [self] progress in self.show(progress) } }

    func show(_ p: HubProgress) {
        lock.withLock {
            let name = "\(p.repo)/\(p.file)"
            if isTerminal {
                drawTerminal(p, name: name)
            } else {
                drawPlain(p, name: name)
            }
        }
    }

    /// Ends a redrawn line so later output starts on its own line.
    func finish() {
        lock.withLock {
            if lineOpen { write("\n") }
            lineOpen = false
        }
    }

    private func drawTerminal(_ p: HubProgress, name: String) {
        let width = 20
        let fraction = min(max(p.fileTotal.map { $0 > 0 ? Double(p.fileBytes) / Double($0) : 1 } ?? 0, 0), 1)  // sizes come from the server
        let filled = Int(fraction * Double(width))
        var line = "[\(p.fileIndex + 1)/\(p.fileCount)] \(short(name)) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] "
        line += "\(formatBytes(Int(p.fileBytes)))/\(p.fileTotal.map { formatBytes(Int($0)) } ?? "?")"
        switch p.phase {
        case .downloading: line += " \(rate(p.fileBytesPerSecond)) ETA \(duration(p.fileSecondsLeft))"
        case .verifying: line += " verifying"
        case .cached: line += " cached"
        case .finished: line += " done"
        }
        if let total = p.total, total > 0 {
            line += " | all \(Int(min(max(100 * Double(p.bytes) / Double(total), 0), 100)))% of \(formatBytes(Int(total))) ETA \(duration(p.secondsLeft))"
        }
        write("\r\(line)\u{1B}[K")
        lineOpen = true
        if p.phase == .finished || p.phase == .cached {
            write("\n")
            lineOpen = false
        }
    }

    private func drawPlain(_ p: HubProgress, name: String) {
        if name != lastFile {
            lastFile = name
            lastQuarter = 0
            if p.phase == .downloading {
                write("fetching \(name) (\(p.fileTotal.map { formatBytes(Int($0)) } ?? "size unknown")), file \(p.fileIndex + 1) of \(p.fileCount)\n")
            }
        }
        switch p.phase {
        case .downloading:
            guard let total = p.fileTotal, total >= 8_000_000 else { return }
            let quarter = Int(min(max(4 * Double(p.fileBytes) / Double(total), 0), 4))
            if quarter > lastQuarter && quarter < 4 {
                lastQuarter = quarter
                write("  \(name): \(quarter * 25)% \(formatBytes(Int(p.fileBytes))) at \(rate(p.fileBytesPerSecond)), ETA \(duration(p.fileSecondsLeft))\n")
            }
        case .verifying:
            break
        case .cached:
            write("cached \(name) (\(formatBytes(Int(p.fileBytes))))\n")
        case .finished:
            write("fetched \(name) (\(formatBytes(Int(p.fileBytes))), \(rate(p.fileBytesPerSecond)))\(p.total.map { " — all: \(formatBytes(Int(p.bytes))) of \(formatBytes(Int($0)))" } ?? "")\n")
        }
    }

    private func short(_ name: String) -> String { name.count > 48 ? "…" + name.suffix(47) : name }
    private func rate(_ bytesPerSecond: Double) -> String { bytesPerSecond > 0 ? "\(formatBytes(Int(bytesPerSecond)))/s" : "-" }
    private func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds >= 0, seconds < 1e7 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
