import CZlib
import Foundation
import FourMTensor

/// One array of an `.npz` archive, in C order, as `Double` (integer dtypes are exact below 2^53).
package struct NPYArray: Sendable, Equatable {
    /// The declared shape (`[]` for a scalar).
    package var shape: [Int]
    /// The elements in C (row-major) order.
    package var values: [Double]
    /// Whether the dtype was an integer type.
    package var isInteger: Bool
}

/// A strict reader of numpy's `.npz` files (`numpy.savez` / `savez_compressed`): a zip archive
/// of `.npy` arrays, stored or deflated (zlib), read through its central directory.
///
/// Follows the zip application note (APPNOTE.TXT 4.3: end of central directory, central and
/// local headers, the zip64 extra field numpy writes) and numpy's `.npy` format versions 1–3.
/// Everything comes from outside: bounds, sizes (checked arithmetic, caps), CRC-32 and the
/// inflated size are checked, and each failure is an ``SMPLError`` naming the file and entry.
package struct NPZArchive: Sendable {
    /// The largest uncompressed entry accepted: 2^26 float64 elements (``SMPLModel/maximumArrayElements``)
    /// and a header.
    package static let maximumEntryBytes = (1 << 29) + (1 << 20)
    /// The most entries accepted.
    package static let maximumEntries = 4096

    struct Entry: Sendable {
        var name: String
        var flags: Int
        var method: Int
        var crc: UInt32
        var compressedSize: Int
        var uncompressedSize: Int
        var localHeaderOffset: Int
    }

    /// The file name used in errors.
    package let file: String
    let bytes: Data
    let entries: [String: Entry]

    /// The array names (entry names without `.npy`), sorted.
    package var arrayNames: [String] { entries.keys.sorted() }

    /// The largest file read (2 GiB).
    package static let maximumFileBytes = 1 << 31

    /// Reads an archive into memory and reads its central directory. The file is read, not
    /// memory-mapped: a mapped file that another process truncates kills the reader with SIGBUS
    /// (FourMTensor reads checkpoints the same way).
    /// - Throws: `.unreadable` (also for a file over ``maximumFileBytes``), `.malformedArchive`.
    package init(contentsOf url: URL) throws(SMPLError) {
        let data: Data
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= Self.maximumFileBytes else {
                throw SMPLError.unreadable(file: url.path, reason: "\(size) bytes, more than the \(Self.maximumFileBytes) FourM reads")
            }
            data = try Data(contentsOf: url)
        } catch let error as SMPLError { throw error } catch {
            throw .unreadable(file: url.path, reason: Self.reason(error))
        }
        try self.init(data: data, file: url.path)
    }

    /// Reads an archive held in memory; `file` names it in errors.
    /// - Throws: `.malformedArchive`.
    package init(data: Data, file: String) throws(SMPLError) {
        self.file = file
        self.bytes = data
        let count = data.count
        func fail(_ reason: String) -> SMPLError { .malformedArchive(file: file, reason: reason) }
        guard count >= 22 else { throw fail("\(count) bytes, shorter than a zip end record (22)") }
        // End of central directory: the last signature whose comment length reaches the end.
        var end: Int? = nil
        var at = count - 22
        let lowest = max(0, count - 22 - 0xFFFF)
        while at >= lowest {
            if Self.u32(data, at) == 0x0605_4b50, let comment = Self.u16(data, at + 20), at + 22 + comment == count { end = at; break }
            at -= 1
        }
        guard let end, let entryCount = Self.u16(data, end + 10), let directorySize = Self.u32(data, end + 12),
            let directoryOffset = Self.u32(data, end + 16)
        else { throw fail("no end-of-central-directory record (truncated or not a zip file)") }
        if entryCount == 0xFFFF || directoryOffset == 0xFFFF_FFFF || directorySize == 0xFFFF_FFFF {
            throw fail("zip64 end record (archives over 4 GB or 65535 entries) is not supported")
        }
        guard entryCount <= Self.maximumEntries else { throw fail("\(entryCount) entries, more than \(Self.maximumEntries)") }
        guard Int(directoryOffset) + Int(directorySize) <= end else {
            throw fail("central directory at \(directoryOffset)+\(directorySize) runs past its end record at \(end)")
        }
        var entries: [String: Entry] = [:]
        var cursor = Int(directoryOffset)
        for index in 0..<entryCount {
            guard Self.u32(data, cursor) == 0x0201_4b50, let flags = Self.u16(data, cursor + 8), let method = Self.u16(data, cursor + 10),
                let crc = Self.u32(data, cursor + 16), let compressed32 = Self.u32(data, cursor + 20),
                let uncompressed32 = Self.u32(data, cursor + 24), let nameLength = Self.u16(data, cursor + 28),
                let extraLength = Self.u16(data, cursor + 30), let commentLength = Self.u16(data, cursor + 32),
                let offset32 = Self.u32(data, cursor + 42)
            else { throw fail("central directory entry \(index) at \(cursor) is truncated") }
            let nameStart = cursor + 46, extraStart = nameStart + nameLength, next = extraStart + extraLength + commentLength
            guard next <= end else { throw fail("central directory entry \(index) runs past the directory") }
            let name = String(decoding: data[(data.startIndex + nameStart)..<(data.startIndex + extraStart)], as: UTF8.self)
            // zip64 extra field (id 1): the 8-byte values of the fields saturated at 0xFFFFFFFF.
            var uncompressed = Int(uncompressed32), compressed = Int(compressed32), offset = Int(offset32)
            if uncompressed32 == 0xFFFF_FFFF || compressed32 == 0xFFFF_FFFF || offset32 == 0xFFFF_FFFF {
                var field = extraStart
                var values: [Int]? = nil
                while field + 4 <= extraStart + extraLength, let id = Self.u16(data, field), let size = Self.u16(data, field + 2) {
                    if id == 1 {
                        var found: [Int] = []
                        var position = field + 4
                        while position + 8 <= min(field + 4 + size, extraStart + extraLength), let value = Self.u64(data, position) {
                            guard value <= UInt64(Int.max) else { throw fail("entry '\(name)' has a zip64 size of \(value)") }
                            found.append(Int(value))
                            position += 8
                        }
                        values = found
                        break
                    }
                    field += 4 + size
                }
                guard var remaining = values?[...] else { throw fail("entry '\(name)' has saturated sizes but no zip64 extra field") }
                for (saturated, assign) in [(uncompressed32, 0), (compressed32, 1), (offset32, 2)] where saturated == 0xFFFF_FFFF {
                    guard let value = remaining.popFirst() else { throw fail("entry '\(name)' has a short zip64 extra field") }
                    if assign == 0 { uncompressed = value } else if assign == 1 { compressed = value } else { offset = value }
                }
            }
            guard offset < end, compressed <= end else {
                throw fail("entry '\(name)' claims offset \(offset) and \(compressed) compressed bytes in a \(count)-byte file (truncated?)")
            }
            guard name.hasSuffix(".npy") else { cursor = next; continue }
            let key = String(name.dropLast(4))
            guard entries[key] == nil else { throw fail("entry '\(name)' appears more than once") }
            entries[key] = Entry(name: name, flags: flags, method: method, crc: crc, compressedSize: compressed, uncompressedSize: uncompressed,
                                 localHeaderOffset: offset)
            cursor = next
        }
        self.entries = entries
    }

    /// The raw (inflated, CRC-checked) bytes of the array `name`.
    /// - Throws: `.missingArray`, `.malformedArchive`, `.unsupportedCompression`, `.corruptEntry`, `.tooLarge`.
    package func entryBytes(_ name: String) throws(SMPLError) -> [UInt8] {
        guard let entry = entries[name] else { throw .missingArray(file: file, array: name, available: arrayNames) }
        if entry.flags & 1 != 0 || (entry.method != 0 && entry.method != 8) {
            throw .unsupportedCompression(file: file, entry: entry.name, method: entry.method)
        }
        guard entry.uncompressedSize <= Self.maximumEntryBytes else {
            throw .tooLarge(file: file, array: name, shape: [entry.uncompressedSize], limit: Self.maximumEntryBytes)
        }
        let local = entry.localHeaderOffset
        guard Self.u32(bytes, local) == 0x0403_4b50, let nameLength = Self.u16(bytes, local + 26), let extraLength = Self.u16(bytes, local + 28) else {
            throw .malformedArchive(file: file, reason: "entry '\(entry.name)' has no local header at \(local)")
        }
        let start = local + 30 + nameLength + extraLength
        let (stop, overflow) = start.addingReportingOverflow(entry.compressedSize)
        guard !overflow, stop <= bytes.count else {
            throw .malformedArchive(file: file, reason: "entry '\(entry.name)' data \(start)+\(entry.compressedSize) runs past the file end (\(bytes.count) bytes; truncated?)")
        }
        let size = entry.uncompressedSize
        var output = [UInt8](repeating: 0, count: size)
        let status: Int32 = bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int32 in
            let source = UnsafeRawBufferPointer(rebasing: raw[start..<stop])
            if entry.method == 0 {
                guard entry.compressedSize == size else { return -100 }
                output.withUnsafeMutableBytes { $0.copyMemory(from: source) }
                return Z_OK
            }
            guard let base = source.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return size == 0 ? Z_OK : Z_DATA_ERROR }
            var produced = 0
            return output.withUnsafeMutableBufferPointer { out -> Int32 in
                guard let dst = out.baseAddress else { return Z_BUF_ERROR }
                return czlib_inflate_raw(base, source.count, dst, size, &produced)
            }
        }
        switch status {
        case Z_OK: break
        case -100: throw .corruptEntry(file: file, entry: entry.name, reason: "stored with \(entry.compressedSize) bytes but declares \(size)")
        case Z_BUF_ERROR: throw .corruptEntry(file: file, entry: entry.name, reason: "does not inflate to its declared \(size) bytes")
        default: throw .corruptEntry(file: file, entry: entry.name, reason: "invalid deflate data (zlib status \(status))")
        }
        let crc = output.withUnsafeBufferPointer { buffer -> UInt32 in
            guard let base = buffer.baseAddress else { return 0 }
            return UInt32(truncatingIfNeeded: czlib_crc32(base, buffer.count))
        }
        guard crc == entry.crc else {
            throw .corruptEntry(file: file, entry: entry.name, reason: "CRC-32 is \(String(crc, radix: 16)), the directory says \(String(entry.crc, radix: 16))")
        }
        return output
    }

    /// The array `name`, decoded from its `.npy` bytes into C order.
    /// - Parameters:
    ///   - name: the array name (entry without `.npy`).
    ///   - maximumElements: the largest element count accepted.
    /// - Throws: the errors of ``entryBytes(_:)``, `.malformedArray`, `.unsupportedDType`,
    ///   `.tooLarge`, `.nonFinite`.
    package func array(_ name: String, maximumElements: Int) throws(SMPLError) -> NPYArray {
        let raw = try entryBytes(name)
        return try Self.parseNPY(raw, file: file, array: name, maximumElements: maximumElements)
    }

    /// Decodes one `.npy` file (numpy's format versions 1.0, 2.0 and 3.0).
    /// - Throws: `.malformedArray`, `.unsupportedDType`, `.tooLarge`, `.nonFinite`.
    package static func parseNPY(_ raw: [UInt8], file: String, array: String, maximumElements: Int) throws(SMPLError) -> NPYArray {
        func fail(_ reason: String) -> SMPLError { .malformedArray(file: file, array: array, reason: reason) }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard raw.count >= 10, Array(raw[0..<6]) == magic else { throw fail("no \\x93NUMPY magic") }
        let major = raw[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(raw[8]) | Int(raw[9]) << 8; headerStart = 10
        case 2, 3:
            guard raw.count >= 12 else { throw fail("truncated version \(major) header") }
            headerLength = Int(raw[8]) | Int(raw[9]) << 8 | Int(raw[10]) << 16 | Int(raw[11]) << 24; headerStart = 12
        default: throw fail("format version \(major).\(raw[7]), expected 1, 2 or 3")
        }
        guard headerLength <= raw.count - headerStart else { throw fail("header of \(headerLength) bytes runs past the \(raw.count)-byte array") }
        let header = String(decoding: raw[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = quotedValue(header, key: "descr") else { throw fail("header has no 'descr': \(header.prefix(80))") }
        let fortran: Bool
        if let flag = bareValue(header, key: "fortran_order") {
            guard flag == "True" || flag == "False" else { throw fail("fortran_order is '\(flag)'") }
            fortran = flag == "True"
        } else { throw fail("header has no 'fortran_order'") }
        guard let shapeText = tupleValue(header, key: "shape") else { throw fail("header has no 'shape' tuple") }
        var shape: [Int] = []
        for part in shapeText.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard trimmed.allSatisfy(\.isASCII), trimmed.allSatisfy(\.isNumber), trimmed.count <= 18, let value = Int(trimmed) else {
                throw fail("shape entry '\(trimmed)' is not a non-negative integer")
            }
            shape.append(value)
        }
        var elementCount = 1
        for dimension in shape {
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= maximumElements else { throw .tooLarge(file: file, array: array, shape: shape, limit: maximumElements) }
            elementCount = product
        }
        let kinds: [String: (size: Int, integer: Bool)] = ["<f4": (4, false), "<f8": (8, false), "<i4": (4, true), "<i8": (8, true), "<u4": (4, true), "<u8": (8, true)]
        guard let kind = kinds[descr] else { throw .unsupportedDType(file: file, array: array, dtype: descr) }
        let dataStart = headerStart + headerLength
        let expectedBytes = elementCount * kind.size  // ≤ maximumElements · 8: no overflow
        guard raw.count - dataStart == expectedBytes else {
            throw fail("shape \(shape) of \(descr) needs \(expectedBytes) data bytes, found \(raw.count - dataStart)")
        }
        var values = [Double](repeating: 0, count: elementCount)
        raw.withUnsafeBytes { buffer in
            let data = UnsafeRawBufferPointer(rebasing: buffer[dataStart...])
            func fill<T>(_: T.Type, _ convert: (T) -> Double) {
                for i in 0..<elementCount { values[i] = convert(data.loadUnaligned(fromByteOffset: i * kind.size, as: T.self)) }
            }
            switch descr {
            case "<f4": fill(UInt32.self) { Double(Float(bitPattern: UInt32(littleEndian: $0))) }
            case "<f8": fill(UInt64.self) { Double(bitPattern: UInt64(littleEndian: $0)) }
            case "<i4": fill(Int32.self) { Double(Int32(littleEndian: $0)) }
            case "<i8": fill(Int64.self) { Double(Int64(littleEndian: $0)) }
            case "<u4": fill(UInt32.self) { Double(UInt32(littleEndian: $0)) }
            default: fill(UInt64.self) { Double(UInt64(littleEndian: $0)) }
            }
        }
        if fortran && shape.count > 1 { values = cOrder(fromFortran: values, shape: shape) }
        if !kind.integer, let bad = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(file: file, array: array, index: bad) }
        return NPYArray(shape: shape, values: values, isInteger: kind.integer)
    }

    /// Reorders column-major (Fortran) elements into row-major (C) order.
    static func cOrder(fromFortran values: [Double], shape: [Int]) -> [Double] {
        var out = [Double](repeating: 0, count: values.count)
        var fortranStrides = [Int](repeating: 1, count: shape.count)
        for axis in 1..<shape.count { fortranStrides[axis] = fortranStrides[axis - 1] * shape[axis - 1] }
        var index = [Int](repeating: 0, count: shape.count)
        for c in 0..<values.count {
            var source = 0
            for axis in 0..<shape.count { source += index[axis] * fortranStrides[axis] }
            out[c] = values[source]
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return out
    }

    // MARK: - Header text

    private static func afterKey(_ header: String, _ key: String) -> Substring? {
        for quote in ["'", "\""] {
            if let range = header.range(of: "\(quote)\(key)\(quote)") {
                let rest = header[range.upperBound...].drop { $0 == " " }
                guard rest.first == ":" else { return nil }
                return rest.dropFirst().drop { $0 == " " }
            }
        }
        return nil
    }

    private static func quotedValue(_ header: String, key: String) -> String? {
        guard let rest = afterKey(header, key), let quote = rest.first, quote == "'" || quote == "\"" else { return nil }
        let body = rest.dropFirst()
        guard let close = body.firstIndex(of: quote) else { return nil }
        return String(body[..<close])
    }

    private static func bareValue(_ header: String, key: String) -> String? {
        guard let rest = afterKey(header, key) else { return nil }
        return String(rest.prefix { $0.isLetter })
    }

    private static func tupleValue(_ header: String, key: String) -> String? {
        guard let rest = afterKey(header, key), rest.first == "(" else { return nil }
        guard let close = rest.firstIndex(of: ")") else { return nil }
        return String(rest[rest.index(after: rest.startIndex)..<close])
    }

    // MARK: - Little-endian fields (nil when out of bounds)

    static func u16(_ data: Data, _ at: Int) -> Int? {
        guard at >= 0, at <= data.count - 2 else { return nil }
        let base = data.startIndex + at
        return Int(data[base]) | Int(data[base + 1]) << 8
    }

    static func u32(_ data: Data, _ at: Int) -> UInt32? {
        guard at >= 0, at <= data.count - 4 else { return nil }
        let base = data.startIndex + at
        return UInt32(data[base]) | UInt32(data[base + 1]) << 8 | UInt32(data[base + 2]) << 16 | UInt32(data[base + 3]) << 24
    }

    static func u64(_ data: Data, _ at: Int) -> UInt64? {
        guard let low = u32(data, at), let high = u32(data, at + 4) else { return nil }
        return UInt64(low) | UInt64(high) << 32
    }

    /// The POSIX reason of a file error ("Is a directory"), as every FourM file error gives it.
    static func reason(_ error: any Error) -> String { fileErrorReason(error) }
}
