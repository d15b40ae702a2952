import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a pipe to its end with POSIX `read`, retrying when a signal interrupts it (`EINTR`).
/// Foundation's `readDataToEndOfFile()` and `availableData` stop the process with a `try!` on
/// `EINTR`, which the `SIGCHLD`s of the test's child processes (CLI runs, the Hub stand-in)
/// can cause while a read waits.
public func readToEnd(_ handle: FileHandle) -> Data {
    var data = Data()
    while true {
        let chunk = readChunk(handle)
        if chunk.isEmpty { return data }
        data.append(chunk)
    }
}

/// One `read` of up to 64 KiB (empty at the end of the pipe or on an error other than `EINTR`).
public func readChunk(_ handle: FileHandle) -> Data {
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
        if count >= 0 { return Data(buffer.prefix(count)) }
        if errno != EINTR { return Data() }
    }
}
