import Foundation

/// One tensor entry of a safetensors header.
public struct SafeTensorsEntry: Sendable, Equatable {
    /// The tensor name.
    public let name: String
    /// The stored element type.
    public let dtype: DType
    /// The stored shape.
    public let shape: [Int]
    /// Byte range inside the data section.
    public let byteRange: Range<Int>
}

/// A strictly validated safetensors file.
///
/// Opening reads and checks the 8-byte header length, the JSON header, every dtype, that every
/// byte range lies inside the file, equals shape × dtype size, and that no two ranges overlap.
/// Tensor data is read from the open file when a tensor is asked for, into memory the tensor
/// owns (F16/BF16 converted to `Float`). The file is read rather than memory-mapped so that
/// another process truncating or rewriting it cannot crash this one (a mapped page past the
/// new end of file raises SIGBUS): a short read is a `.truncated` error naming the tensor's
/// end. Reading costs one copy from the page cache at load, which a fully used mapping also
/// pays in page faults; the resident size is the same.
///
/// ```swift
/// let file = try SafeTensorsFile(path: "model.safetensors")
/// print(file.metadata["dim"] ?? "?")
/// let w: Tensor<Float> = try file.floatTensor("mask_token")
/// ```
///
/// `@unchecked Sendable`: every stored property is immutable after `init`, and reads use
/// `pread` at explicit offsets, which is safe from several threads on one descriptor.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The path the file was opened from (used in error messages).
    public let path: String
    /// The `__metadata__` object (string values; other JSON values kept as their JSON text).
    public let metadata: [String: String]
    /// Every tensor entry, by name.
    public let entries: [String: SafeTensorsEntry]
    /// The size of the file in bytes.
    public let fileSize: Int
    let reader: FileReader
    /// The file offset of the data section (8 + header length).
    let dataOffset: Int

    /// Opens and validates a safetensors file.
    ///
    /// The header is read as the format defines it: at most
    /// ``InputLimits/maximumSafeTensorsHeaderBytes`` of UTF-8 JSON holding one object with no
    /// duplicate keys; `__metadata__` maps strings to strings; every tensor has a known dtype,
    /// integer extents and two integer offsets; the tensors tile the data section from byte 0
    /// to the end of the file with no hole, overlap or trailing byte.
    /// - Parameter path: the file's path.
    /// - Throws: `WeightError` naming the file (and key) for any structural problem:
    ///   `.truncated`, `.headerPastEnd`, `.invalidHeader` (with the file byte offset),
    ///   `.duplicateKey`, `.limitExceeded`, `.invalidEntry`, `.unknownDType`,
    ///   `.shapeOverflow`, `.offsetsOutOfBounds`, `.sizeMismatch`, `.overlappingTensors`,
    ///   `.hole`, `.trailingBytes`.
    public init(path: String) throws(WeightError) {
        self.path = path
        reader = try FileReader(path: path)
        fileSize = reader.size
        guard fileSize >= 8 else {
            throw .truncated(file: path, expectedAtLeast: 8, actual: fileSize)
        }
        var headerLength: UInt64 = 0
        for (i, byte) in try reader.read(count: 8, at: 0).enumerated() { headerLength |= UInt64(byte) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(InputLimits.maximumSafeTensorsHeaderBytes) else {
            throw .limitExceeded(
                file: path, what: "header length", limit: InputLimits.maximumSafeTensorsHeaderBytes,
                actual: headerLength > UInt64(Int.max) ? Int.max : Int(headerLength))
        }
        guard headerLength <= UInt64(fileSize - 8) else {
            throw .headerPastEnd(file: path, headerLength: headerLength, fileSize: fileSize)
        }
        let headerEnd = 8 + Int(headerLength)
        dataOffset = headerEnd
        let headerBytes = try reader.read(count: Int(headerLength), at: 8)
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(headerBytes)
        } catch {
            // Offsets are reported from the start of the file (the header starts at byte 8).
            throw .invalidHeader(file: path, reason: "JSON: \(error.message(offsetBy: 8))")
        }
        guard case .object(let members) = parsed else {
            throw .invalidHeader(file: path, reason: "the header is \(parsed.summary), expected a JSON object")
        }
        let tensorCount = members.count - (members.contains { $0.key == "__metadata__" } ? 1 : 0)
        guard tensorCount <= InputLimits.maximumTensorCount else {
            throw .limitExceeded(
                file: path, what: "tensor count", limit: InputLimits.maximumTensorCount, actual: tensorCount)
        }
        let dataSize = fileSize - headerEnd
        var metadata: [String: String]?
        var entries: [String: SafeTensorsEntry] = [:]
        entries.reserveCapacity(members.count)
        for (name, value) in members {
            if name == "__metadata__" {
                guard metadata == nil else { throw .duplicateKey(file: path, key: name) }
                metadata = try Self.parseMetadata(value, file: path)
                continue
            }
            guard entries[name] == nil else { throw .duplicateKey(file: path, key: name) }
            entries[name] = try Self.parseEntry(name: name, value: value, file: path, dataSize: dataSize)
        }
        // The tensors must tile the data section exactly (the format's own reader checks the
        // same): sorted by offsets, each starts where the previous one ends, the last one ends
        // at the end of the file. Empty tensors occupy nothing.
        let ordered = entries.values.sorted {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name)
                < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name)
        }
        var end = 0
        var previous: String?
        for entry in ordered {
            if entry.byteRange.lowerBound < end, let previous {
                throw .overlappingTensors(file: path, first: previous, second: entry.name)
            }
            if entry.byteRange.lowerBound > end {
                throw .hole(file: path, key: entry.name, expectedBegin: end, actualBegin: entry.byteRange.lowerBound)
            }
            end = entry.byteRange.upperBound
            previous = entry.name
        }
        guard end == dataSize else {
            throw .trailingBytes(file: path, dataEnd: headerEnd + end, fileSize: fileSize)
        }
        self.metadata = metadata ?? [:]
        self.entries = entries
    }

    /// Opens and validates a safetensors file.
    /// - Parameter url: the file's location.
    /// - Throws: every error of ``init(path:)``.
    public convenience init(url: URL) throws(WeightError) {
        try self.init(path: url.path)
    }

    private static func parseMetadata(_ value: JSONValue, file: String) throws(WeightError) -> [String: String] {
        guard case .object(let items) = value else {
            throw .invalidHeader(file: file, reason: "__metadata__ is \(value.summary), expected an object of strings")
        }
        var metadata: [String: String] = [:]
        for (key, item) in items {
            guard case .string(let text) = item else {
                throw .invalidEntry(file: file, key: "__metadata__.\(key)", reason: "is \(item.summary), expected a string")
            }
            guard metadata[key] == nil else { throw .duplicateKey(file: file, key: "__metadata__.\(key)") }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(name: String, value: JSONValue, file: String, dataSize: Int) throws(WeightError)
        -> SafeTensorsEntry
    {
        guard case .object(let fields) = value else {
            throw .invalidEntry(file: file, key: name, reason: "entry is \(value.summary), expected an object")
        }
        var seen: Set<String> = []
        for field in fields where !seen.insert(field.key).inserted {
            throw .duplicateKey(file: file, key: "\(name).\(field.key)")
        }
        guard let dtypeValue = value.member("dtype") else {
            throw .invalidEntry(file: file, key: name, reason: "missing 'dtype'")
        }
        guard case .string(let dtypeName) = dtypeValue else {
            throw .invalidEntry(file: file, key: name, reason: "'dtype' is \(dtypeValue.summary), expected a string")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw .unknownDType(file: file, key: name, dtype: dtypeName)
        }
        guard let shapeValue = value.member("shape") else {
            throw .invalidEntry(file: file, key: name, reason: "missing 'shape'")
        }
        guard case .array(let shapeValues) = shapeValue else {
            throw .invalidEntry(file: file, key: name, reason: "'shape' is \(shapeValue.summary), expected an array")
        }
        guard shapeValues.count <= InputLimits.maximumTensorRank else {
            throw .limitExceeded(
                file: file, what: "rank of tensor '\(name)'", limit: InputLimits.maximumTensorRank,
                actual: shapeValues.count)
        }
        var shape: [Int] = []
        for item in shapeValues {
            guard let extent = item.integer, extent >= 0 else {
                throw .invalidEntry(
                    file: file, key: name, reason: "shape extent is \(item.summary), expected a non-negative integer")
            }
            shape.append(extent)
        }
        guard let offsetsValue = value.member("data_offsets") else {
            throw .invalidEntry(file: file, key: name, reason: "missing 'data_offsets'")
        }
        guard case .array(let offsets) = offsetsValue, offsets.count == 2 else {
            throw .invalidEntry(
                file: file, key: name, reason: "'data_offsets' is \(offsetsValue.summary), expected two integers")
        }
        guard let begin = offsets[0].integer, let end = offsets[1].integer else {
            let bad = offsets[0].integer == nil ? offsets[0] : offsets[1]
            throw .invalidEntry(
                file: file, key: name, reason: "'data_offsets' holds \(bad.summary), expected an integer")
        }
        guard begin >= 0, end >= begin else {
            throw .invalidEntry(file: file, key: name, reason: "data_offsets [\(begin), \(end)] are not an ascending range")
        }
        guard end <= dataSize else {
            throw .offsetsOutOfBounds(file: file, key: name, end: end, dataSize: dataSize)
        }
        var bytes = dtype.size
        for extent in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw .shapeOverflow(file: file, key: name, shape: shape, dtype: dtype.rawValue) }
            bytes = product
        }
        guard bytes == end - begin else {
            throw .sizeMismatch(file: file, key: name, expectedBytes: bytes, actualBytes: end - begin)
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// The tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    private func entry(_ name: String) throws(WeightError) -> SafeTensorsEntry {
        guard let entry = entries[name] else { throw .missingTensor(file: path, key: name) }
        return entry
    }

    /// Reads an entry's bytes (little-endian, as stored) into memory owned by the result.
    private func readBytes(of entry: SafeTensorsEntry) throws(WeightError) -> OwnedBytes {
        let bytes = OwnedBytes(count: entry.byteRange.count)
        try reader.read(into: bytes.base, count: bytes.count, at: dataOffset + entry.byteRange.lowerBound)
        return bytes
    }

    /// Calls `body` with the raw little-endian bytes of an entry, as stored; nil when there is
    /// no such entry. The bytes are valid only inside `body`.
    /// - Throws: `.truncated` when the file has become shorter than the entry's end.
    package func withRawBytes<R>(of name: String, _ body: (UnsafeRawPointer) -> R) throws(WeightError) -> R? {
        guard let entry = entries[name] else { return nil }
        let bytes = try readBytes(of: entry)
        defer { withExtendedLifetime(bytes) {} }
        return body(UnsafeRawPointer(bytes.base))
    }

    /// Reads an entry's raw little-endian bytes, as stored, into `destination`, which must be
    /// exactly the entry's byte count.
    /// - Throws: `.missingTensor`, `.sizeMismatch` for a wrong destination size, `.truncated`
    ///   when the file has become shorter than the entry's end.
    package func readRawBytes(of name: String, into destination: UnsafeMutableRawBufferPointer) throws(WeightError) {
        let entry = try entry(name)
        guard destination.count == entry.byteRange.count else {
            throw .sizeMismatch(file: path, key: name, expectedBytes: entry.byteRange.count, actualBytes: destination.count)
        }
        guard let base = destination.baseAddress, !destination.isEmpty else { return }
        try reader.read(into: base, count: destination.count, at: dataOffset + entry.byteRange.lowerBound)
    }

    /// A floating-point tensor. F32 data is read straight into the tensor's storage; F16/BF16
    /// are converted to `Float` once.
    /// - Throws: `.missingTensor`, `.dtypeMismatch` for integer dtypes, `.truncated` when the
    ///   file has become shorter than the entry's end.
    public func floatTensor(_ name: String) throws(WeightError) -> Tensor<Float> {
        let entry = try entry(name)
        let count = entry.shape.reduce(1, *)
        switch entry.dtype {
        case .f32:
            // OwnedBytes is allocated with Float alignment; the host is little-endian as the
            // format (x86-64, arm64).
            let bytes = try readBytes(of: entry)
            let pointer = bytes.base.bindMemory(to: Float.self, capacity: count)
            return Tensor(shape: entry.shape, buffer: TensorBuffer(borrowing: pointer, count: count, owner: bytes))
        case .f16:
            let bytes = try readBytes(of: entry)
            defer { withExtendedLifetime(bytes) {} }
            let raw = UnsafeRawPointer(bytes.base)
            return Tensor(shape: entry.shape) { out in
                for i in 0..<count { out[i] = floatFromHalfBits(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
            }
        case .bf16:
            let bytes = try readBytes(of: entry)
            defer { withExtendedLifetime(bytes) {} }
            let raw = UnsafeRawPointer(bytes.base)
            return Tensor(shape: entry.shape) { out in
                for i in 0..<count {
                    let bits = UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16
                    out[i] = Float(bitPattern: bits)
                }
            }
        case .i64, .i32, .u8, .bool:
            throw .dtypeMismatch(file: path, key: name, expected: "F32, F16 or BF16", actual: entry.dtype.rawValue)
        }
    }

    /// An integer tensor as `Int32` (I64 values must fit; U8 and BOOL are widened).
    /// - Throws: `.missingTensor`, `.dtypeMismatch` for float dtypes, `.valueOutOfRange`.
    public func intTensor(_ name: String) throws(WeightError) -> Tensor<Int32> {
        let entry = try entry(name)
        let bytes = try readBytes(of: entry)
        defer { withExtendedLifetime(bytes) {} }
        let raw = UnsafeRawPointer(bytes.base)
        let count = entry.shape.reduce(1, *)
        switch entry.dtype {
        case .i64:
            for i in 0..<count {
                let value = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                if Int32(exactly: value) == nil { throw .valueOutOfRange(file: path, key: name, value: value) }
            }
            return Tensor(shape: entry.shape) { out in
                for i in 0..<count { out[i] = Int32(truncatingIfNeeded: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            }
        case .i32:
            return Tensor(shape: entry.shape) { out in
                for i in 0..<count { out[i] = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
            }
        case .u8, .bool:
            return Tensor(shape: entry.shape) { out in
                for i in 0..<count { out[i] = Int32(raw.load(fromByteOffset: i, as: UInt8.self)) }
            }
        case .f32, .f16, .bf16:
            throw .dtypeMismatch(file: path, key: name, expected: "I64, I32, U8 or BOOL", actual: entry.dtype.rawValue)
        }
    }

    /// A boolean tensor: BOOL or U8 (non-zero is `true`), or an integer tensor compared with 0.
    /// - Throws: `.missingTensor`, `.dtypeMismatch` for float dtypes.
    public func boolTensor(_ name: String) throws(WeightError) -> Tensor<Bool> {
        let ints = try intTensor(name)
        return Tensor(shape: ints.shape) { out in
            ints.withUnsafeBufferPointer { src in for i in 0..<src.count { out[i] = src[i] != 0 } }
        }
    }
}

/// Converts IEEE 754 half-precision bits to `Float` (portable: no `Float16` needed).
package func floatFromHalfBits(_ bits: UInt16) -> Float {
    let sign = UInt32(bits >> 15) << 31
    let exponent = UInt32((bits >> 10) & 0x1F)
    let mantissa = UInt32(bits & 0x3FF)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        // Subnormal half: value = mantissa · 2^-24.
        let value = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign == 0 ? value : -value
    }
    if exponent == 0x1F {
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// Converts a `Float` to IEEE 754 half-precision bits, rounding to nearest even.
package func halfBitsFromFloat(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let exponent = Int((bits >> 23) & 0xFF)
    var mantissa = bits & 0x7F_FFFF
    if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
    var e = exponent - 127 + 15
    if e >= 0x1F { return sign | 0x7C00 }
    if e <= 0 {
        if e < -10 { return sign }
        mantissa |= 0x80_0000
        let shift = UInt32(14 - e)
        var half = mantissa >> shift
        let remainder = mantissa & ((1 << shift) - 1)
        let halfway = UInt32(1) << (shift - 1)
        if remainder > halfway || (remainder == halfway && (half & 1) == 1) { half += 1 }
        return sign | UInt16(half)
    }
    var half = mantissa >> 13
    let remainder = mantissa & 0x1FFF
    if remainder > 0x1000 || (remainder == 0x1000 && (half & 1) == 1) {
        half += 1
        if half == 0x400 {
            half = 0
            e += 1
            if e >= 0x1F { return sign | 0x7C00 }
        }
    }
    return sign | UInt16(e << 10) | UInt16(half)
}
