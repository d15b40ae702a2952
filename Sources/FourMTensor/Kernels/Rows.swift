import Foundation

// MARK: - Row gathers and position tables

/// out[i] = table[index[i]] for rows of width `dim`; a negative index writes zeros.
/// Indices must be < rows of `table` (callers validate user ids first).
package func gatherRowsKernel(
    _ table: UnsafePointer<Float>, _ index: UnsafePointer<Int32>, _ out: UnsafeMutablePointer<Float>,
    count: Int, dim: Int
) {
    for i in 0..<count {
        let row = Int(index[i])
        if row < 0 {
            (out + i * dim).initialize(repeating: 0, count: dim)
        } else {
            (out + i * dim).initialize(from: table + row * dim, count: dim)
        }
    }
}

extension Tensor where Scalar == Float {
    /// Rows of a `[rows, dim]` table picked by `indices` (any shape); −1 picks a zero row.
    /// - Returns: `indices.shape + [dim]`.
    public func gatherRows(_ indices: Tensor<Int32>) -> Tensor<Float> {
        precondition(rank == 2, "gatherRows needs a [rows, dim] table, got \(shape)")
        let dim = shape[1], rows = shape[0]
        return Tensor(shape: indices.shape + [dim]) { out in
            withUnsafeBufferPointer { table in
                indices.withUnsafeBufferPointer { idx in
                    precondition(idx.allSatisfy { Int($0) < rows }, "gatherRows: index out of range for \(rows) rows")
                    gatherRowsKernel(table.baseAddress!, idx.baseAddress!, out.baseAddress!, count: idx.count, dim: dim)
                }
            }
        }
    }
}

/// The 2-D sin-cos position table of spec/model.md 3.2.2 / tokenizers.md 3.2, computed in
/// float32 like the reference: `[grid·grid, dim]`, row-major over (row, col), blocks
/// sin(row·ω), cos(row·ω), sin(col·ω), cos(col·ω), each dim/4 wide.
public func sinCosTable2D(gridHeight: Int, gridWidth: Int, dim: Int, temperature: Float = 10000) -> Tensor<Float> {
    precondition(dim % 4 == 0, "2-D sin-cos tables need dim divisible by 4, got \(dim)")
    let p = dim / 4
    let omega = (0..<p).map { i -> Float in 1 / powf(temperature, Float(i) / Float(p)) }
    return Tensor(shape: [gridHeight * gridWidth, dim]) { out in
        for r in 0..<gridHeight {
            for c in 0..<gridWidth {
                let row = out.baseAddress! + (r * gridWidth + c) * dim
                for i in 0..<p {
                    let a = Float(r) * omega[i], b = Float(c) * omega[i]
                    row[i] = sinf(a)
                    row[p + i] = cosf(a)
                    row[2 * p + i] = sinf(b)
                    row[3 * p + i] = cosf(b)
                }
            }
        }
    }
}

/// The 1-D sin-cos table of spec/model.md 3.2.3: `[rows, dim]`, blocks sin(n·ω), cos(n·ω).
public func sinCosTable1D(rows: Int, dim: Int, temperature: Float = 10000) -> Tensor<Float> {
    precondition(dim % 2 == 0, "1-D sin-cos tables need an even dim, got \(dim)")
    let p = dim / 2
    let omega = (0..<p).map { i -> Float in 1 / powf(temperature, Float(i) / Float(p)) }
    return Tensor(shape: [rows, dim]) { out in
        for n in 0..<rows {
            let row = out.baseAddress! + n * dim
            for i in 0..<p {
                let a = Float(n) * omega[i]
                row[i] = sinf(a)
                row[p + i] = cosf(a)
            }
        }
    }
}
