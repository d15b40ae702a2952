/// A tensor as a checkpoint stores it: its dtype, shape and little-endian bytes, not converted
/// (spec/model.md 1.1: a safetensors entry is dtype, shape and a byte range).
///
/// The hook for weights that stay in their stored dtype (a BF16 or F16 weight handed to a
/// kernel as it is, without a round trip through `Float`).
package struct StoredTensor: Sendable, Equatable {
    /// The stored element type.
    package let dtype: DType
    /// The shape.
    package let shape: [Int]
    /// `shape.product × dtype.size` little-endian bytes.
    package let bytes: [UInt8]

    /// Wraps bytes of a dtype and shape.
    /// - Throws: `.sizeMismatch` when `bytes` is not `shape.product × dtype.size` long,
    ///   `.shapeOverflow` for a negative extent or a size beyond `Int`.
    package init(dtype: DType, shape: [Int], bytes: [UInt8]) throws(WeightError) {
        var expected = dtype.size
        for extent in shape {
            let (product, overflow) = expected.multipliedReportingOverflow(by: extent)
            guard extent >= 0, !overflow else { throw .shapeOverflow(file: "<memory>", key: "", shape: shape, dtype: dtype.rawValue) }
            expected = product
        }
        guard expected == bytes.count else { throw .sizeMismatch(file: "<memory>", key: "", expectedBytes: expected, actualBytes: bytes.count) }
        self.init(unchecked: dtype, shape: shape, bytes: bytes)
    }

    /// Wraps bytes whose count the caller has checked (a validated safetensors entry).
    package init(unchecked dtype: DType, shape: [Int], bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// The bits of a float tensor in `dtype` (F32, F16 or BF16; F16 and BF16 round to nearest
    /// even), as a file of that dtype would store them.
    package init(_ tensor: Tensor<Float>, dtype: DType) {
        let scalars = tensor.scalars
        var out: [UInt8] = []
        out.reserveCapacity(scalars.count * 4)
        func append<T: FixedWidthInteger>(_ word: T) { withUnsafeBytes(of: word.littleEndian) { out.append(contentsOf: $0) } }
        switch dtype {
        case .f16:
            for value in scalars { append(halfBitsFromFloat(value)) }
        case .bf16:
            // The same rounding as a bf16 linear layer's weights (nearest even).
            var bits = [UInt16](repeating: 0, count: scalars.count)
            scalars.withUnsafeBufferPointer { src in
                bits.withUnsafeMutableBufferPointer { dst in
                    if let s = src.baseAddress, let d = dst.baseAddress { convertToBFloat16(s, d, count: src.count) }
                }
            }
            for word in bits { append(word) }
        default:
            for value in scalars { append(value.bitPattern) }
        }
        self.init(unchecked: dtype == .f16 || dtype == .bf16 ? dtype : .f32, shape: tensor.shape, bytes: out)
    }

    /// The element at `index` of a BF16 tensor as its 16 bits (callers check ``dtype``).
    package func halfWord(at index: Int) -> UInt16 {
        UInt16(bytes[2 * index]) | UInt16(bytes[2 * index + 1]) << 8
    }
}

/// Where layers take their tensors from, by key (spec/model.md 1.1 names the keys).
///
/// Three implementations: ``WeightStore`` (a safetensors file, strict: it records the
/// keys taken so the loader can prove every tensor was used), ``RandomTensorSource``
/// (seeded random weights for random checkpoints, benchmarks and tests) and
/// ``DictionaryTensorSource`` (tensors in memory). Layers load from a source scoped to their
/// own prefix: `Linear(source.scoped("decoder.blocks.3.attn.qkv"), …)` reads `weight` and
/// `bias` under that prefix, and every error names the source and the full key.
///
/// A source is not thread-safe: build one model from one source on one task.
package protocol TensorSource {
    /// The source's name in error messages (the file path of a checkpoint).
    var name: String { get }
    /// The precision linear layers built from this source compute in.
    var precision: ComputePrecision { get }
    /// The stored shape of `key`, or nil when the source has no such tensor.
    func shape(of key: String) -> [Int]?
    /// The stored dtype of `key`, or nil when the source has no such tensor (or makes its
    /// tensors on demand).
    func dtype(of key: String) -> DType?
    /// A float tensor of exactly `shape` (F16/BF16 converted to `Float`), marked as used.
    /// - Throws: `.missingTensor`, `.shapeMismatch`, `.dtypeMismatch`, naming ``name`` and the key.
    func tensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float>
    /// Like ``tensor(_:shape:)`` but nil when the key is absent.
    func optionalTensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float>?
    /// The tensor in its stored dtype, not converted, marked as used.
    /// - Throws: `.missingTensor`, `.shapeMismatch`.
    func storedTensor(_ key: String, shape: [Int]) throws(WeightError) -> StoredTensor
    /// Copies the stored bytes of `key` (its dtype, not converted) into `destination`, whose
    /// size must be the stored byte count, and marks the key as used. The default goes through
    /// ``storedTensor(_:shape:)``; a file reads straight into `destination`.
    /// - Throws: `.missingTensor`, `.shapeMismatch`, `.sizeMismatch` for a wrong destination size.
    func readStoredBytes(_ key: String, shape: [Int], into destination: UnsafeMutableRawBufferPointer) throws(WeightError)
    /// Marks keys as used without loading them (aliases, buffers the model recomputes).
    func markUsed(_ keys: [String])
    /// A view of this source whose keys are `prefix.key`.
    func scoped(_ prefix: String) -> ScopedTensorSource
}

extension TensorSource {
    /// True when the source holds `key`.
    package func contains(_ key: String) -> Bool { shape(of: key) != nil }

    /// Like ``tensor(_:shape:)`` but nil when the key is absent.
    package func optionalTensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float>? {
        guard contains(key) else { return nil }
        return try tensor(key, shape: shape)
    }

    /// A view of this source whose keys are `prefix.key` (an empty prefix is the source itself).
    package func scoped(_ prefix: String) -> ScopedTensorSource { ScopedTensorSource(base: self, prefix: prefix) }

    /// Copies the stored bytes through ``storedTensor(_:shape:)`` (one temporary copy).
    package func readStoredBytes(_ key: String, shape: [Int], into destination: UnsafeMutableRawBufferPointer) throws(WeightError) {
        let stored = try storedTensor(key, shape: shape)
        guard stored.bytes.count == destination.count else {
            throw .sizeMismatch(file: name, key: key, expectedBytes: destination.count, actualBytes: stored.bytes.count)
        }
        stored.bytes.withUnsafeBytes { destination.copyMemory(from: $0) }
    }

    /// The bf16 bits of a weight matrix `shape` (`[rows, columns]`) for a bf16 linear layer: a
    /// BF16 tensor's bits as stored (no rounding, read straight into the matrix, no float
    /// copy), any other float dtype read as floats and rounded to nearest even (the float copy
    /// is dropped on return).
    /// - Throws: `.missingTensor`, `.shapeMismatch` (also for a shape that is not rank 2),
    ///   `.dtypeMismatch`, `.truncated`.
    package func bfloat16Matrix(_ key: String, shape: [Int]) throws(WeightError) -> BFloat16Matrix {
        guard shape.count == 2 else {
            throw .shapeMismatch(file: name, key: key, expected: [-1, -1], actual: shape)
        }
        guard dtype(of: key) == .bf16 else { return BFloat16Matrix(try tensor(key, shape: shape)) }
        try checkedShape(key, shape)
        var failure: WeightError?
        let matrix = BFloat16Matrix(rows: shape[0], columns: shape[1]) { out in
            do throws(WeightError) {
                try readStoredBytes(key, shape: shape, into: UnsafeMutableRawBufferPointer(out))
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return matrix
    }

    /// Checks a stored shape against the expected one.
    /// - Throws: `.missingTensor` or `.shapeMismatch` naming this source and the key.
    package func checkedShape(_ key: String, _ shape: [Int]) throws(WeightError) {
        guard let stored = self.shape(of: key) else { throw .missingTensor(file: name, key: key) }
        guard stored == shape else { throw .shapeMismatch(file: name, key: key, expected: shape, actual: stored) }
    }
}

/// A source seen under a key prefix: `scoped("a").tensor("b", …)` reads `a.b` of the base,
/// and errors name the full key.
package struct ScopedTensorSource: TensorSource {
    /// The source the keys resolve in.
    package let base: any TensorSource
    /// The prefix, without the trailing dot (empty for none).
    package let prefix: String

    /// A view of `base` under `prefix`.
    package init(base: any TensorSource, prefix: String) {
        self.base = base
        self.prefix = prefix
    }

    /// The full key of `key` in the base source.
    package func key(_ key: String) -> String { prefix.isEmpty ? key : key.isEmpty ? prefix : "\(prefix).\(key)" }

    /// The base source's name.
    package var name: String { base.name }
    /// The base source's precision.
    package var precision: ComputePrecision { base.precision }
    /// The stored shape of `prefix.key`.
    package func shape(of key: String) -> [Int]? { base.shape(of: self.key(key)) }
    /// The stored dtype of `prefix.key`.
    package func dtype(of key: String) -> DType? { base.dtype(of: self.key(key)) }
    /// The float tensor `prefix.key`.
    package func tensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float> { try base.tensor(self.key(key), shape: shape) }
    /// The float tensor `prefix.key`, nil when absent.
    package func optionalTensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float>? {
        try base.optionalTensor(self.key(key), shape: shape)
    }
    /// The stored tensor `prefix.key`.
    package func storedTensor(_ key: String, shape: [Int]) throws(WeightError) -> StoredTensor {
        try base.storedTensor(self.key(key), shape: shape)
    }
    /// The stored bytes of `prefix.key`, copied into `destination`.
    package func readStoredBytes(_ key: String, shape: [Int], into destination: UnsafeMutableRawBufferPointer) throws(WeightError) {
        try base.readStoredBytes(self.key(key), shape: shape, into: destination)
    }
    /// Marks `prefix.key` for each key as used.
    package func markUsed(_ keys: [String]) { base.markUsed(keys.map { self.key($0) }) }
    /// This view under a further prefix.
    package func scoped(_ prefix: String) -> ScopedTensorSource { ScopedTensorSource(base: base, prefix: key(prefix)) }
}

/// Random weights by key: N(0, std²), with 1-D `.weight`s (normalisation scales) around 1.
/// Every key handed out is recorded in order, optional ones included (``contains(_:)`` is
/// false, but ``optionalTensor(_:shape:)`` makes the tensor), so the record of a model built
/// from it is a complete checkpoint of that model (the random checkpoint writers).
package final class RandomTensorSource: TensorSource {
    private var rng: SeededGenerator
    /// The standard deviation of the weights.
    package let std: Float
    /// The precision linear layers built from this source compute in.
    package var precision: ComputePrecision = .fp32
    /// Every tensor handed out, in order.
    package private(set) var recorded: [(key: String, tensor: Tensor<Float>)] = []

    /// A source drawing from a generator seeded with `seed`.
    package init(seed: UInt64, std: Float = 0.02) {
        rng = SeededGenerator(seed: seed)
        self.std = std
    }

    /// `<random weights>`.
    package var name: String { "<random weights>" }

    /// Always nil: nothing is stored before it is asked for.
    package func shape(of key: String) -> [Int]? { nil }

    /// Always nil.
    package func dtype(of key: String) -> DType? { nil }

    /// A new random tensor of `shape`, recorded under `key`.
    package func tensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float> {
        var t = Tensor<Float>.randomNormal(shape: shape, std: std, using: &rng)
        if shape.count == 1 && key.hasSuffix(".weight") { t = t + Tensor(repeating: 1, shape: shape) }
        recorded.append((key, t))
        return t
    }

    /// A new random tensor (optional tensors are made too).
    package func optionalTensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float>? {
        try tensor(key, shape: shape)
    }

    /// A new random tensor as F32 bytes.
    package func storedTensor(_ key: String, shape: [Int]) throws(WeightError) -> StoredTensor {
        StoredTensor(try tensor(key, shape: shape), dtype: .f32)
    }

    /// Nothing to mark.
    package func markUsed(_ keys: [String]) {}
}

/// Tensors held in memory by key, each float (converted on the way in) or stored bytes; strict
/// like ``WeightStore``: it records the keys taken (``unusedKeys``).
package final class DictionaryTensorSource: TensorSource {
    private let tensors: [String: StoredTensor]
    private var used: Set<String> = []
    /// The name in error messages.
    package let name: String
    /// The precision linear layers built from this source compute in.
    package var precision: ComputePrecision = .fp32

    /// Float tensors by key, stored as F32.
    package convenience init(_ tensors: [String: Tensor<Float>], name: String = "<memory>") {
        self.init(stored: tensors.mapValues { StoredTensor($0, dtype: .f32) }, name: name)
    }

    /// Tensors by key in their own dtypes.
    package init(stored: [String: StoredTensor], name: String = "<memory>") {
        tensors = stored
        self.name = name
    }

    /// The shape of `key`, if held.
    package func shape(of key: String) -> [Int]? { tensors[key]?.shape }

    /// The dtype of `key`, if held.
    package func dtype(of key: String) -> DType? { tensors[key]?.dtype }

    /// The tensor as floats.
    /// - Throws: `.missingTensor`, `.shapeMismatch`, `.dtypeMismatch` for integer dtypes.
    package func tensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float> {
        let stored = try storedTensor(key, shape: shape)
        let count = shape.reduce(1, *)
        let bytes = stored.bytes
        func word(_ i: Int) -> UInt16 { UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8 }
        switch stored.dtype {
        case .f32:
            return Tensor(shape: shape) { out in
                for i in 0..<count {
                    let b = 4 * i
                    out[i] = Float(bitPattern: UInt32(bytes[b]) | UInt32(bytes[b + 1]) << 8 | UInt32(bytes[b + 2]) << 16 | UInt32(bytes[b + 3]) << 24)
                }
            }
        case .f16:
            return Tensor(shape: shape) { out in for i in 0..<count { out[i] = floatFromHalfBits(word(i)) } }
        case .bf16:
            return Tensor(shape: shape) { out in for i in 0..<count { out[i] = Float(bitPattern: UInt32(word(i)) << 16) } }
        case .i64, .i32, .u8, .bool:
            throw .dtypeMismatch(file: name, key: key, expected: "F32, F16 or BF16", actual: stored.dtype.rawValue)
        }
    }

    /// The tensor as held.
    /// - Throws: `.missingTensor`, `.shapeMismatch`.
    package func storedTensor(_ key: String, shape: [Int]) throws(WeightError) -> StoredTensor {
        try checkedShape(key, shape)
        guard let stored = tensors[key] else { throw .missingTensor(file: name, key: key) }
        used.insert(key)
        return stored
    }

    /// Marks keys as used.
    package func markUsed(_ keys: [String]) {
        for key in keys where tensors[key] != nil { used.insert(key) }
    }

    /// Keys not taken so far, sorted.
    package var unusedKeys: [String] { tensors.keys.filter { !used.contains($0) }.sorted() }
}
