/// The tensor source of a ``SafeTensorsFile``: hands out its tensors by key and
/// expected shape, and records which keys were taken, so that a model can prove it used every
/// tensor (``finish(ignoring:)``).
///
/// Not thread-safe: build one model from one store on one task.
public final class WeightStore: TensorSource {
    /// The file the tensors come from.
    public let file: SafeTensorsFile
    private(set) var used: Set<String> = []

    /// The precision linear layers built from this store compute in (default ``ComputePrecision/fp32``).
    /// With ``ComputePrecision/bf16`` each linear weight gets a bf16 copy at load.
    public var precision: ComputePrecision = .fp32

    /// Wraps an opened file.
    public init(_ file: SafeTensorsFile) {
        self.file = file
    }

    /// The file's path.
    public var name: String { file.path }

    /// The stored shape of `key`, if present.
    public func shape(of key: String) -> [Int]? { file.entries[key]?.shape }

    /// The stored dtype of `key`, if present.
    public func dtype(of key: String) -> DType? { file.entries[key]?.dtype }

    /// A float tensor of exactly `shape`, marked as used.
    /// - Throws: `.missingTensor`, `.shapeMismatch`, `.dtypeMismatch`.
    public func tensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float> {
        guard let entry = file.entries[key] else { throw .missingTensor(file: file.path, key: key) }
        guard entry.shape == shape else {
            throw .shapeMismatch(file: file.path, key: key, expected: shape, actual: entry.shape)
        }
        let tensor = try file.floatTensor(key)
        used.insert(key)
        return tensor
    }

    /// The tensor's dtype and bytes as stored (read from the file, not converted), marked as
    /// used.
    /// - Throws: `.missingTensor`, `.shapeMismatch`, `.truncated` when the file has become
    ///   shorter than the entry's end.
    package func storedTensor(_ key: String, shape: [Int]) throws(WeightError) -> StoredTensor {
        try checkedShape(key, shape)
        guard let entry = file.entries[key],
            let bytes = try file.withRawBytes(of: key, { Array(UnsafeRawBufferPointer(start: $0, count: entry.byteRange.count)) })
        else { throw .missingTensor(file: file.path, key: key) }
        used.insert(key)
        return StoredTensor(unchecked: entry.dtype, shape: entry.shape, bytes: bytes)
    }

    /// The tensor's stored bytes read from the file straight into `destination` (no
    /// intermediate copy), marked as used.
    /// - Throws: `.missingTensor`, `.shapeMismatch`, `.sizeMismatch` when `destination` is not
    ///   the entry's byte count, `.truncated`.
    package func readStoredBytes(_ key: String, shape: [Int], into destination: UnsafeMutableRawBufferPointer) throws(WeightError) {
        try checkedShape(key, shape)
        try file.readRawBytes(of: key, into: destination)
        used.insert(key)
    }

    /// Marks keys as used without loading them (aliases, buffers the model recomputes).
    public func markUsed(_ keys: [String]) {
        for key in keys where contains(key) { used.insert(key) }
    }

    /// Keys of the file not taken so far, sorted.
    public var unusedKeys: [String] { file.names.filter { !used.contains($0) } }

    /// Throws when tensors remain that the model did not take.
    /// - Parameter ignoring: keys (exact) that may stay unused.
    /// - Throws: `.unusedTensors` listing the first few keys.
    public func finish(ignoring: Set<String> = []) throws(WeightError) {
        let left = unusedKeys.filter { !ignoring.contains($0) }
        if !left.isEmpty {
            throw .unusedTensors(file: file.path, keys: Array(left.prefix(5)), total: left.count)
        }
    }
}
