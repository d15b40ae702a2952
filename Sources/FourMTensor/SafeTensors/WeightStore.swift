/// Hands out tensors of a ``SafeTensorsFile`` by key and expected shape, and records which keys
/// were taken, so that a model can prove it used every tensor (``finish(ignoring:)``).
///
/// Not thread-safe: build one model from one store on one task.
public final class WeightStore {
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

    /// True when the file holds `key`.
    public func contains(_ key: String) -> Bool { file.entries[key] != nil }

    /// The stored shape of `key`, if present.
    public func shape(of key: String) -> [Int]? { file.entries[key]?.shape }

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

    /// The bf16 bits of a weight: a BF16 entry's bits as stored (no rounding), otherwise
    /// `fallback` (the same tensor, already loaded as floats) rounded to nearest even.
    package func bfloat16Matrix(_ key: String, fallback: Tensor<Float>) throws(WeightError) -> BFloat16Matrix {
        guard fallback.rank == 2 else {
            throw .shapeMismatch(file: file.path, key: key, expected: [-1, -1], actual: fallback.shape)
        }
        if let entry = file.entries[key], entry.dtype == .bf16,
            let matrix = try file.withRawBytes(of: key, { bits in
                BFloat16Matrix(rows: fallback.shape[0], columns: fallback.shape[1]) { out in
                    for i in 0..<out.count { out[i] = UInt16(littleEndian: bits.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
                }
            })
        {
            return matrix
        }
        return BFloat16Matrix(fallback)
    }

    /// Like ``tensor(_:shape:)`` but `nil` when the key is absent.
    public func optionalTensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float>? {
        guard contains(key) else { return nil }
        return try tensor(key, shape: shape)
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
