import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One tensor of a streamed safetensors file: name, stored dtype and shape, known before any
/// data is written.
package struct SafeTensorsLayoutEntry: Sendable, Equatable {
    /// The tensor name.
    package let name: String
    /// The stored dtype.
    package let dtype: DType
    /// The stored shape.
    package let shape: [Int]

    /// An entry.
    package init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    /// `shape.product × dtype.size`, nil on a negative extent or overflow.
    package var byteCount: Int? {
        var bytes = dtype.size
        for extent in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: extent)
            guard extent >= 0, !overflow else { return nil }
            bytes = product
        }
        return bytes
    }
}

/// Writes a safetensors file tensor by tensor, never holding more than one tensor (and a
/// conversion chunk) in memory.
///
/// The layout (names, dtypes, shapes, in file order) is given up front, so the header is
/// written first; each tensor is then written, in layout order, as it is produced. The bytes
/// go to a temporary file next to the destination, which ``finish()`` flushes and renames over
/// it in one step (as ``SafeTensorsWriter/write(to:)`` does); a writer dropped before
/// ``finish()`` removes its temporary file.
///
/// ```swift
/// let writer = try SafeTensorsStreamWriter(path: out, layout: layout, metadata: meta)
/// for entry in layout { try writer.write(entry.name, makeTensor(entry)) }
/// try writer.finish()
/// ```
package final class SafeTensorsStreamWriter {
    /// The destination path.
    package let path: String
    private let temporary: String
    private let layout: [SafeTensorsLayoutEntry]
    private let byteCounts: [Int]
    private var descriptor: Int32
    private var next = 0
    private var finished = false
    /// Bytes of the largest buffer this writer allocated (tests check it stays one chunk).
    package private(set) var largestBuffer = 0

    /// The size of the temporary file so far (what has reached the file: the writer keeps no
    /// buffer between calls), nil after ``finish()``.
    package var bytesOnDisk: Int? {
        guard descriptor >= 0 else { return nil }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        return Int(info.st_size)
    }

    /// Elements converted per write call.
    static let chunkElements = 1 << 20

    /// Creates the temporary file and writes the header.
    /// - Throws: `.shapeOverflow` for a shape whose size overflows, `.writeFailed` naming the
    ///   path (also for a duplicate or reserved name).
    package init(path: String, layout: [SafeTensorsLayoutEntry], metadata: [String: String] = [:]) throws(WeightError) {
        self.path = path
        self.layout = layout
        var counts: [Int] = []
        var names = Set<String>()
        for entry in layout {
            guard let count = entry.byteCount else { throw .shapeOverflow(file: path, key: entry.name, shape: entry.shape, dtype: entry.dtype.rawValue) }
            guard entry.name != "__metadata__", names.insert(entry.name).inserted else {
                throw .writeFailed(file: path, reason: "tensor name '\(entry.name)' is reserved or repeated")
            }
            counts.append(count)
        }
        byteCounts = counts
        let url = URL(fileURLWithPath: path)
        temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .writeFailed(file: path, reason: String(cString: strerror(errno))) }
        let header = SafeTensorsWriter.headerBytes(
            zip(layout, counts).map { ($0.name, $0.dtype, $0.shape, $1) }, metadata: metadata)
        var failure: WeightError?
        header.withUnsafeBytes { raw in
            do throws(WeightError) { try writeAll(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if !finished { unlink(temporary) }
    }

    /// The entry the next write must be.
    private func expect(_ name: String) throws(WeightError) -> (SafeTensorsLayoutEntry, Int) {
        guard next < layout.count else { throw .writeFailed(file: path, reason: "tensor '\(name)' is not in the layout (all \(layout.count) written)") }
        let entry = layout[next]
        guard entry.name == name else { throw .writeFailed(file: path, reason: "tensor '\(name)' written where the layout has '\(entry.name)'") }
        return (entry, byteCounts[next])
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(WeightError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let wrote = posixWrite(descriptor, base + done, bytes.count - done)
            if wrote < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(file: path, reason: String(cString: strerror(errno)))
            }
            done += wrote
        }
    }

    /// Writes the next tensor of the layout from floats, converted to its layout dtype (F32,
    /// F16 or BF16; F16 and BF16 round to nearest even) one chunk at a time.
    /// - Throws: `.writeFailed` when `name` is not the next entry, the shape differs, the
    ///   entry is not a float dtype, or the disk write fails.
    package func write(_ name: String, _ tensor: Tensor<Float>) throws(WeightError) {
        let (entry, _) = try expect(name)
        guard entry.shape == tensor.shape else {
            throw .writeFailed(file: path, reason: "tensor '\(name)' has shape \(tensor.shape), the layout says \(entry.shape)")
        }
        guard entry.dtype.isFloatingPoint else { throw .writeFailed(file: path, reason: "tensor '\(name)' is \(entry.dtype.rawValue), not a float dtype") }
        let size = entry.dtype.size
        let chunk = Self.chunkElements
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(max(tensor.count, 1), chunk) * size, alignment: 64)
        defer { buffer.deallocate() }
        largestBuffer = max(largestBuffer, buffer.count)
        var failure: WeightError?
        tensor.withUnsafeBufferPointer { values in
            guard let source = values.baseAddress else { return }
            var start = 0
            while start < values.count, failure == nil {
                let count = min(chunk, values.count - start)
                switch entry.dtype {
                case .f32:
                    buffer.baseAddress?.copyMemory(from: source + start, byteCount: count * 4)
                case .f16:
                    let words = buffer.bindMemory(to: UInt16.self)
                    for i in 0..<count { words[i] = halfBitsFromFloat(source[start + i]).littleEndian }
                default:
                    let words = buffer.bindMemory(to: UInt16.self)
                    if let dst = words.baseAddress { convertToBFloat16(source + start, dst, count: count) }
                }
                do throws(WeightError) {
                    try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<(count * size)]))
                } catch {
                    failure = error
                }
                start += count
            }
        }
        if let failure { throw failure }
        next += 1
    }

    /// Writes the next tensor of the layout as raw little-endian bytes of its layout dtype.
    /// - Throws: `.writeFailed` when `name` is not the next entry, the byte count differs from
    ///   the layout's, or the disk write fails.
    package func write(_ name: String, rawBytes: UnsafeRawBufferPointer) throws(WeightError) {
        let (_, byteCount) = try expect(name)
        guard rawBytes.count == byteCount else {
            throw .writeFailed(file: path, reason: "tensor '\(name)' has \(rawBytes.count) bytes, the layout says \(byteCount)")
        }
        try writeAll(rawBytes)
        next += 1
    }

    /// Flushes the file and renames it over ``path``.
    /// - Throws: `.writeFailed` when tensors of the layout were not written, or the flush or
    ///   rename fails.
    package func finish() throws(WeightError) {
        guard next == layout.count else {
            throw .writeFailed(file: path, reason: "\(layout.count - next) of \(layout.count) tensors not written (next: '\(layout[next].name)')")
        }
        guard fsync(descriptor) == 0 else { throw .writeFailed(file: path, reason: String(cString: strerror(errno))) }
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else { throw .writeFailed(file: path, reason: String(cString: strerror(errno))) }
        guard rename(temporary, path) == 0 else { throw .writeFailed(file: path, reason: String(cString: strerror(errno))) }
        finished = true
    }
}

/// `write(2)` (the stream writer's own `write` methods hide the system function's name).
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

/// Rewriting a checkpoint with its float tensors in another dtype (`fourm convert`).
package enum SafeTensorsConversion {
    /// Streams `file` to `path` tensor by tensor (sorted by name) with every float tensor stored
    /// as `floatsAs` (F32, F16 or BF16; rounding to nearest even), integer and boolean tensors
    /// and float tensors already in `floatsAs` copied byte for byte, and the metadata kept.
    /// Memory: one tensor (as floats when converted) at a time.
    /// - Returns: the number of tensors written.
    /// - Throws: the reader's and writer's `WeightError`s.
    @discardableResult
    package static func convert(_ file: SafeTensorsFile, to path: String, floatsAs: DType) throws(WeightError) -> Int {
        precondition(floatsAs.isFloatingPoint, "floats are stored as F32, F16 or BF16, not \(floatsAs)")
        let names = file.names
        var layout: [SafeTensorsLayoutEntry] = []
        for name in names {
            guard let entry = file.entries[name] else { continue }
            layout.append(SafeTensorsLayoutEntry(name: name, dtype: entry.dtype.isFloatingPoint ? floatsAs : entry.dtype, shape: entry.shape))
        }
        let writer = try SafeTensorsStreamWriter(path: path, layout: layout, metadata: file.metadata)
        for item in layout {
            guard let entry = file.entries[item.name] else { continue }
            if entry.dtype == item.dtype {
                let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, entry.byteRange.count), alignment: 64)
                defer { bytes.deallocate() }
                let exact = UnsafeMutableRawBufferPointer(rebasing: bytes[0..<entry.byteRange.count])
                try file.readRawBytes(of: item.name, into: exact)
                try writer.write(item.name, rawBytes: UnsafeRawBufferPointer(exact))
            } else {
                try writer.write(item.name, try file.floatTensor(item.name))
            }
        }
        try writer.finish()
        return layout.count
    }
}
