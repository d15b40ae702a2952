/// Compact copies of some `Linear` weights, looked up by the layer's weight, for few-row
/// products (autoregressive decoding streams every decoder weight once per token, so a token
/// costs about the bytes it reads: int8 weights read a quarter of fp32's).
///
/// A table is made once per model (`FourMModel.withCompactDecoderWeights`) and is active only
/// inside ``CompactWeights/withTable(_:_:)`` (the sequence decoder's steps); elsewhere, and for
/// layers it does not hold, `Linear` runs as before.
package final class CompactWeightTable: @unchecked Sendable {
    /// Identifies a weight: its first element's address and its shape (the model that owns the
    /// table keeps those weights alive and unchanged, so the address is stable).
    package struct Key: Hashable, Sendable {
        let address: UInt
        let rows: Int
        let columns: Int
    }

    package let format: CompactWeightFormat
    /// The most rows a product may have to use the compact weights (default 4).
    package let maximumRows: Int
    /// Never mutated after `init` (the `@unchecked Sendable` invariant).
    private let matrices: [Key: CompactMatrix]

    /// Compact copies of `layers` in `format` (a layer listed twice is converted once).
    package init(_ layers: [Linear], format: CompactWeightFormat, maximumRows: Int = 4) {
        var matrices: [Key: CompactMatrix] = [:]
        for layer in layers {
            let key = layer.compactKey
            if matrices[key] == nil { matrices[key] = CompactMatrix(layer.weight, format: format) }
        }
        self.matrices = matrices
        self.format = format
        self.maximumRows = maximumRows
    }

    /// The same matrices with another row limit (tests use `Int.max` to run whole passes on them).
    package init(_ other: CompactWeightTable, maximumRows: Int) {
        matrices = other.matrices
        format = other.format
        self.maximumRows = maximumRows
    }

    /// The compact copy of `layer`'s weight, if the table holds one.
    package func matrix(for layer: Linear) -> CompactMatrix? { matrices[layer.compactKey] }

    /// The number of weights held.
    package var count: Int { matrices.count }

    /// Bytes of all compact weights.
    package var byteCount: Int { matrices.values.reduce(0) { $0 + $1.byteCount } }
}

/// The compact-weight table active on the current task or thread.
package enum CompactWeights {
    @TaskLocal static var active: CompactWeightTable?

    /// Runs `body` with `table` active: few-row `Linear` products whose weight the table holds
    /// stream its compact copy.
    package static func withTable<R>(_ table: CompactWeightTable?, _ body: () throws -> R) rethrows -> R {
        guard let table else { return try body() }
        return try $active.withValue(table, operation: body)
    }
}

extension Linear {
    /// The key of this layer's weight in a ``CompactWeightTable``.
    var compactKey: CompactWeightTable.Key {
        CompactWeightTable.Key(address: weightAddress, rows: outputs, columns: inputs)
    }

    /// `x · Wᵀ + b` over the compact copy of the weight when a ``CompactWeightTable`` is active,
    /// holds this layer, and `x` has at most its row limit; nil otherwise (the caller computes
    /// as usual).
    package func smallRowProduct(_ x: Tensor<Float>) -> Tensor<Float>? {
        guard let table = CompactWeights.active else { return nil }
        let k = inputs, n = outputs
        guard x.shape.last == k, k > 0 else { return nil }
        let rows = x.count / k
        guard rows <= table.maximumRows, let matrix = table.matrix(for: self) else { return nil }
        return linearProduct(x, inputs: k, outputs: n, bias: bias) { src, rows, pb, dst in
            compactLinear(src, rows: rows, matrix: matrix, bias: pb, out: dst)
            return true
        }
    }
}
