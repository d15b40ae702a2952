import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A regular file open for reading at explicit offsets (`pread`), closed when the last
/// reference goes away.
///
/// Invariant behind `@unchecked Sendable`: the descriptor and size never change after `init`,
/// and `pread` does not move a shared file position, so concurrent reads are safe.
final class FileReader: @unchecked Sendable {
    let path: String
    /// The size when the file was opened.
    let size: Int
    private let descriptor: Int32

    /// Opens `path`, which must be a regular file.
    /// - Throws: `.unreadable` with the system's reason.
    init(path: String) throws(WeightError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .unreadable(file: path, reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            let found = (info.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "another kind of file (a device, socket or pipe)"
            throw .unreadable(file: path, reason: "is \(found), expected a regular file")
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Reads exactly `count` bytes at `offset` into `destination`.
    /// - Throws: `.truncated` naming the end it needed when the file ends first (it was
    ///   shortened after opening), `.unreadable` for an I/O error.
    func read(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) throws(WeightError) {
        var done = 0
        while done < count {
            // At most 1 GiB per call: Linux transfers at most 0x7ffff000 bytes per read.
            let chunk = min(count - done, 1 << 30)
            let got = pread(descriptor, destination + done, chunk, off_t(offset + done))
            if got < 0 {
                if errno == EINTR { continue }
                throw .unreadable(file: path, reason: "read failed at byte \(offset + done): \(String(cString: strerror(errno)))")
            }
            if got == 0 {
                var info = stat()
                let now = fstat(descriptor, &info) == 0 ? Int(info.st_size) : offset + done
                throw .truncated(file: path, expectedAtLeast: offset + count, actual: now)
            }
            done += got
        }
    }

    /// Reads exactly `count` bytes at `offset`.
    func read(count: Int, at offset: Int) throws(WeightError) -> [UInt8] {
        let bytes = OwnedBytes(count: count)
        defer { withExtendedLifetime(bytes) {} }
        try read(into: bytes.base, count: count, at: offset)
        return Array(UnsafeRawBufferPointer(start: bytes.base, count: count))
    }
}

/// Bytes this process allocated (aligned for any scalar type), freed with the last reference.
/// Tensors read from a file borrow them as their storage.
final class OwnedBytes: @unchecked Sendable {
    // Invariant behind @unchecked Sendable: the bytes are written once, before the object is
    // shared, and only read afterwards.
    let base: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }

    deinit { base.deallocate() }
}
