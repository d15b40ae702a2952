import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Builds a safetensors file in memory and writes it to disk.
///
/// ```swift
/// var writer = SafeTensorsWriter(metadata: ["dim": "8"])
/// writer.add("mask_token", Tensor<Float>(zeros: [1, 1, 8]))
/// try writer.write(to: "model.safetensors")
/// ```
public struct SafeTensorsWriter: Sendable {
    private struct Item: Sendable {
        let name: String
        let dtype: DType
        let shape: [Int]
        let bytes: [UInt8]
    }

    private var items: [Item] = []
    private var names: Set<String> = []
    /// The `__metadata__` strings written into the header.
    public var metadata: [String: String]

    /// Creates an empty writer.
    /// - Parameter metadata: the header's `__metadata__` (all values are strings).
    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a float tensor stored as F32 (default), F16 or BF16. Names must be unique.
    public mutating func add(_ name: String, _ tensor: Tensor<Float>, as dtype: DType = .f32) {
        precondition(dtype.isFloatingPoint, "a Float tensor is stored as F32, F16 or BF16, not \(dtype)")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tensor.count * dtype.size)
        tensor.withUnsafeBufferPointer { values in
            for value in values {
                switch dtype {
                case .f32: append(value.bitPattern, 4, to: &bytes)
                case .f16: append(UInt32(halfBitsFromFloat(value)), 2, to: &bytes)
                default: append(bfloat16Bits(value), 2, to: &bytes)
                }
            }
        }
        insert(Item(name: name, dtype: dtype, shape: tensor.shape, bytes: bytes))
    }

    /// Adds an integer tensor stored as I64 (default), I32 or U8.
    public mutating func add(_ name: String, _ tensor: Tensor<Int32>, as dtype: DType = .i64) {
        precondition([.i64, .i32, .u8].contains(dtype), "an Int32 tensor is stored as I64, I32 or U8, not \(dtype)")
        var bytes: [UInt8] = []
        tensor.withUnsafeBufferPointer { values in
            for value in values {
                switch dtype {
                case .i64: append64(UInt64(bitPattern: Int64(value)), to: &bytes)
                case .i32: append(UInt32(bitPattern: value), 4, to: &bytes)
                default: bytes.append(UInt8(truncatingIfNeeded: value))
                }
            }
        }
        insert(Item(name: name, dtype: dtype, shape: tensor.shape, bytes: bytes))
    }

    /// Adds a boolean tensor stored as BOOL (default) or U8.
    public mutating func add(_ name: String, _ tensor: Tensor<Bool>, as dtype: DType = .bool) {
        precondition(dtype == .bool || dtype == .u8, "a Bool tensor is stored as BOOL or U8, not \(dtype)")
        let bytes = tensor.scalars.map { $0 ? UInt8(1) : 0 }
        insert(Item(name: name, dtype: dtype, shape: tensor.shape, bytes: bytes))
    }

    private mutating func insert(_ item: Item) {
        precondition(!names.contains(item.name), "tensor '\(item.name)' added twice")
        precondition(item.name != "__metadata__", "'__metadata__' is reserved")
        names.insert(item.name)
        items.append(item)
    }

    /// The header bytes: 8-byte length, then JSON padded with spaces to a multiple of 8.
    private func headerBytes() -> [UInt8] {
        Self.headerBytes(items.map { ($0.name, $0.dtype, $0.shape, $0.bytes.count) }, metadata: metadata)
    }

    /// The header of tensors laid out back to back in the given order.
    static func headerBytes(_ layout: [(name: String, dtype: DType, shape: [Int], byteCount: Int)], metadata: [String: String]) -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        for item in layout {
            header[item.name] = [
                "dtype": item.dtype.rawValue, "shape": item.shape, "data_offsets": [offset, offset + item.byteCount],
            ]
            offset += item.byteCount
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        // JSONSerialization of plain strings, numbers, arrays and dictionaries cannot fail.
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])).map { [UInt8]($0) } ?? Array("{}".utf8)
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var out: [UInt8] = []
        append64(UInt64(json.count), to: &out)
        return out + json
    }

    /// The complete file in memory.
    public func serialized() -> [UInt8] {
        var out = headerBytes()
        for item in items { out += item.bytes }
        return out
    }

    /// Writes the file (header, then each tensor's bytes, streamed; no whole-file copy).
    ///
    /// The bytes go to a temporary file next to `path`, which is flushed and then renamed
    /// over `path` in one step: a crash mid-write, or a reader that has the old file mapped,
    /// never sees a torn file.
    /// - Parameter path: the destination file.
    /// - Throws: `WeightError.writeFailed` naming the path.
    public func write(to path: String) throws(WeightError) {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try Data(headerBytes()).write(to: temporary)
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try handle.seekToEnd()
            for item in items { try handle.write(contentsOf: item.bytes) }
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .writeFailed(file: path, reason: fileErrorReason(error))
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw .writeFailed(file: path, reason: reason)
        }
    }
}

private func append(_ value: UInt32, _ byteCount: Int, to bytes: inout [UInt8]) {
    for i in 0..<byteCount { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
}

private func append64(_ value: UInt64, to bytes: inout [UInt8]) {
    for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
}

/// bfloat16 bits of a float, rounding to nearest even (NaN stays NaN).
private func bfloat16Bits(_ value: Float) -> UInt32 {
    let bits = value.bitPattern
    if value.isNaN { return (bits >> 16) | 0x40 }
    let rounding = 0x7FFF + ((bits >> 16) & 1)
    return (bits &+ rounding) >> 16
}
