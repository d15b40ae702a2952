import Foundation
import FourMTensor

/// Checks an output folder before any compute: it exists or can be created, it is a folder
/// (not a file), and this process can write into it. A long generation must not run only to
/// fail at the first write.
/// - Throws: `CLIError` with one line naming the option and the path.
func prepareOutputFolder(_ path: String, option: String) throws {
    guard !path.isEmpty else { throw CLIError("\(option): the output folder path is empty") }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else {
            throw CLIError("\(option) \(path): is a file, expected a folder (or a path where one can be created)")
        }
    } else {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CLIError("\(option) \(path): cannot create the folder (\(posixReason(error)))")
        }
    }
    guard access(path, W_OK | X_OK) == 0 else {
        throw CLIError("\(option) \(path): the folder is not writable (\(String(cString: strerror(errno))))")
    }
}

/// The POSIX reason inside a Foundation file error ("Permission denied"), instead of the
/// generic `NSCocoaErrorDomain` text.
func posixReason(_ error: Error) -> String { fileErrorReason(error) }

/// Checks an output file path before any compute: it is not a folder, and the folder it goes
/// into exists and this process can write there (FourM writes files atomically: a temporary
/// file beside the target, then a rename). A long run must not fail only at its last write.
/// - Throws: `CLIError` with one line naming the option and the path.
func prepareOutputFile(_ path: String, option: String) throws {
    guard !path.isEmpty else { throw CLIError("\(option): the output file path is empty") }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw CLIError("\(option) \(path): is a folder, expected a file path")
    }
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory) else {
        throw CLIError("\(option) \(path): the folder \(parent) does not exist")
    }
    guard isDirectory.boolValue else { throw CLIError("\(option) \(path): \(parent) is a file, expected a folder") }
    guard access(parent, W_OK | X_OK) == 0 else {
        throw CLIError("\(option) \(path): the folder \(parent) is not writable (\(String(cString: strerror(errno))))")
    }
}
