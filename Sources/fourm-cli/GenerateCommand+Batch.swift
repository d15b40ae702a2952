import Foundation
import FourM

extension GenerateCommand {
    /// File names a folder input expands to: its images, sorted.
    static let batchExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// When one `--input NAME=FOLDER` names a folder, the runs it expands to: one per image in
    /// the folder (sorted), each writing to `OUT/<image name>/`. Nil when no input is a folder.
    /// - Throws: `CLIError` for more than one folder or a folder without images.
    func batchRuns() throws -> [GenerateCommand]? {
        var folder: (index: Int, name: String, path: String)? = nil
        for (i, input) in inputs.enumerated() {
            let parts = input.split(separator: "=", maxSplits: 1).map(String.init)
            var isDirectory: ObjCBool = false
            guard parts.count == 2, FileManager.default.fileExists(atPath: parts[1], isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            if folder != nil { throw CLIError("--input: only one input may be a folder, got '\(folder?.path ?? "")' and '\(parts[1])'") }
            folder = (i, parts[0], parts[1])
        }
        guard let folder else { return nil }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { Self.batchExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard !files.isEmpty else { throw CLIError("\(folder.path): no PNG or JPEG images in the folder given for \(folder.name)") }
        return files.map { file in
            var run = self
            run.inputs[folder.index] = "\(folder.name)=\((folder.path as NSString).appendingPathComponent(file))"
            run.out = (out as NSString).appendingPathComponent((file as NSString).deletingPathExtension)
            if let grid { run.grid = (run.out as NSString).appendingPathComponent((grid as NSString).lastPathComponent) }
            return run
        }
    }

    /// Runs every expanded input, continuing after failures, then prints a summary; fails when
    /// any input failed.
    func runBatch(_ runs: [GenerateCommand]) async throws {
        var failures: [String] = []
        for (i, run) in runs.enumerated() {
            FileHandle.standardError.write(Data("[\(i + 1)/\(runs.count)] \(run.out)\n".utf8))
            do { try await run.execute() } catch { failures.append("\(run.out): \(error)") }
        }
        print("generated \(runs.count - failures.count) of \(runs.count) inputs into \(out)")
        if !failures.isEmpty { throw CLIError("\(failures.count) of \(runs.count) inputs failed; first: \(failures[0])") }
    }
}
