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

    /// Reads of at least this many bytes are split over the compute threads: most of a large
    /// read's time is the kernel faulting in and zeroing the destination's fresh pages, which
    /// runs on the faulting thread, so parts read side by side fill their pages in parallel.
    static let parallelReadThreshold = 16 << 20

    /// Reads exactly `count` bytes at `offset` into `destination` (in parallel parts from
    /// ``parallelReadThreshold`` bytes on).
    /// - Throws: `.truncated` naming the end it needed when the file ends first (it was
    ///   shortened after opening), `.unreadable` for an I/O error (the first part's error
    ///   when several parts fail).
    func read(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) throws(WeightError) {
        let parts = min(computeThreadCount, count / Self.parallelReadThreshold + 1)
        guard parts > 1 else {
            try readPart(into: destination, count: count, at: offset, wholeReadEnd: offset + count)
            return
        }
        // Inner part boundaries fall on 4 KiB page starts of the destination, so no page is
        // faulted in by two threads.
        let address = Int(bitPattern: destination)
        let pageAligned = { @Sendable (part: Int) -> Int in
            if part == 0 { return 0 }
            if part == parts { return count }
            return max(0, ((address + count / parts * part) & ~4095) - address)
        }
        let errors = PartErrors(parts)
        let target = SendableRawPointer(destination)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let (start, end) = (pageAligned(part), pageAligned(part + 1))
            do throws(WeightError) {
                try readPart(into: target.base + start, count: end - start, at: offset + start, wholeReadEnd: offset + count)
            } catch {
                errors.set(part, error)
            }
        }
        if let error = errors.first { throw error }
    }

    /// One part of ``read(into:count:at:)``: `pread` until `count` bytes are in.
    private func readPart(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int, wholeReadEnd: Int) throws(WeightError) {
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
                throw .truncated(file: path, expectedAtLeast: wholeReadEnd, actual: now)
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

/// The errors of a parallel read's parts, by part (each slot written by one thread only).
private final class PartErrors: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [WeightError?]

    init(_ parts: Int) { errors = Array(repeating: nil, count: parts) }

    func set(_ part: Int, _ error: WeightError) {
        lock.lock()
        errors[part] = error
        lock.unlock()
    }

    /// The error of the lowest-numbered failed part.
    var first: WeightError? {
        lock.lock()
        defer { lock.unlock() }
        return errors.lazy.compactMap { $0 }.first
    }
}
