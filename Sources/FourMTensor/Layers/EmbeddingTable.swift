import Foundation

/// A `[rows, dim]` lookup table (a token embedding) held as fp32, or as the bf16 values a BF16
/// checkpoint stores.
///
/// A bf16 model keeps a BF16 file's tables as stored (half the bytes of floats, and exact: the
/// values are bf16 already); every other case keeps fp32 as before, so fp32 models and bf16
/// models read from F32 files look up exactly the floats they always did. Rows are widened to
/// fp32 when gathered.
package struct EmbeddingTable: Sendable {
    private enum Storage: Sendable {
        case fp32(Tensor<Float>)
        case bf16(BFloat16Matrix)
    }

    private let storage: Storage

    /// A table of floats.
    package init(_ table: Tensor<Float>) {
        precondition(table.rank == 2, "EmbeddingTable: [rows, dim] expected, got \(table.shape)")
        storage = .fp32(table)
    }

    /// A table of bf16 values (shared, not copied: e.g. a tied logits head's weight).
    package init(bfloat16 table: BFloat16Matrix) {
        storage = .bf16(table)
    }

    /// Loads `key` `shape` (`[rows, dim]`): as stored bf16 bits when the source computes in
    /// bf16 and stores the tensor as BF16 (exact), otherwise as floats.
    /// - Throws: the source's `WeightError`s (`.missingTensor`, `.shapeMismatch`, …).
    package init(_ source: some TensorSource, key: String, shape: [Int]) throws(WeightError) {
        if source.precision.holdsBFloat16Weights, source.dtype(of: key) == .bf16 {
            storage = .bf16(try source.bfloat16Matrix(key, shape: shape))
        } else {
            let table = try source.tensor(key, shape: shape)
            guard table.rank == 2 else { throw .shapeMismatch(file: source.name, key: key, expected: [-1, -1], actual: shape) }
            storage = .fp32(table)
        }
    }

    /// Rows.
    package var rows: Int {
        switch storage {
        case let .fp32(table): return table.shape[0]
        case let .bf16(matrix): return matrix.rows
        }
    }

    /// Row width.
    package var dim: Int {
        switch storage {
        case let .fp32(table): return table.shape[1]
        case let .bf16(matrix): return matrix.columns
        }
    }

    /// True when the table holds bf16 values.
    package var isBFloat16: Bool {
        if case .bf16 = storage { return true }
        return false
    }

    /// The bf16 matrix of a bf16 table (to tell a shared one), nil in fp32.
    package var bfloat16Matrix: BFloat16Matrix? {
        if case let .bf16(matrix) = storage { return matrix }
        return nil
    }

    /// Bytes the table holds.
    package var byteCount: Int {
        switch storage {
        case let .fp32(table): return table.count * 4
        case let .bf16(matrix): return matrix.rows * matrix.columns * 2
        }
    }

    /// The whole table as floats (the table itself in fp32; a widened copy in bf16).
    package var floats: Tensor<Float> {
        switch storage {
        case let .fp32(table): return table
        case let .bf16(matrix): return matrix.widened()
        }
    }

    /// Rows picked by `indices` (any shape), −1 picks a zero row: `indices.shape + [dim]`.
    /// Indices must be below ``rows`` (callers validate token ids).
    package func gatherRows(_ indices: Tensor<Int32>) -> Tensor<Float> {
        switch storage {
        case let .fp32(table):
            return table.gatherRows(indices)
        case let .bf16(matrix):
            let (rows, dim) = (matrix.rows, matrix.columns)
            return Tensor(shape: indices.shape + [dim]) { out in
                indices.withUnsafeBufferPointer { idx in
                    precondition(idx.allSatisfy { Int($0) < rows }, "gatherRows: index out of range for \(rows) rows")
                    for (i, id) in idx.enumerated() {
                        let row = Int(id)
                        for j in 0..<dim { out[i * dim + j] = row < 0 ? 0 : floatFromBFloat16Bits(matrix.storage[row * dim + j]) }
                    }
                }
            }
        }
    }
}

extension ComputePrecision {
    /// True when weights loaded in this precision are held as bf16: where bf16 runs
    /// (``resolved`` is bf16), or, for a ``bf16`` request on a CPU without bf16 products, when
    /// the process was started with `FOURM_BF16_WEIGHTS_ANY_CPU=1`. In that second case the
    /// weights take half the memory but every product widens its bf16 weight to fp32 and runs
    /// in fp32 (slower; results are those of the bf16-rounded weights with fp32 arithmetic),
    /// and a model still reports ``resolved`` (fp32). Meant for memory measurements of big
    /// models on such machines (`fourm-bench --size XL`).
    package var holdsBFloat16Weights: Bool {
        resolved == .bf16 || (self == .bf16 && Self.bfloat16WeightsOnAnyCPU)
    }

    /// `FOURM_BF16_WEIGHTS_ANY_CPU=1` in the environment at first use.
    private static let bfloat16WeightsOnAnyCPU: Bool = ProcessInfo.processInfo.environment["FOURM_BF16_WEIGHTS_ANY_CPU"] == "1"
}
