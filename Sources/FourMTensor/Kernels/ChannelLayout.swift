import Foundation

// MARK: - Channel-major layout helpers for NCHW feature maps (spec/tokenizers.md 5.5, 5.6)

/// x[b, c, s] += bias[c] over x: `[B, C, S]`, bias: `[C]`.
package func addChannelBiasKernel(
    _ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int
) {
    for b in 0..<batch {
        for c in 0..<channels {
            let row = x + (b * channels + c) * spatial
            let v = bias[c]
            for i in 0..<spatial { row[i] += v }
        }
    }
}

/// Plain twin of ``addChannelBiasKernel``.
package func addChannelBiasReference(_ x: [Float], _ bias: [Float], batch: Int, channels: Int, spatial: Int) -> [Float] {
    var out = x
    for i in 0..<x.count { out[i] = x[i] + bias[(i / spatial) % channels] }
    return out
}

/// Space-to-depth ("patchify", einops `b c (nh ph) (nw pw) -> b (c ph pw) nh nw`).
/// x: `[B, C, nh·P, nw·P]` → out: `[B, C·P·P, nh, nw]`, channel index `c·P² + py·P + px`.
package func patchifyKernel(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, batch: Int, channels: Int, height: Int,
    width: Int, patch: Int
) {
    let (nh, nw) = (height / patch, width / patch)
    for b in 0..<batch {
        for c in 0..<channels {
            let plane = x + (b * channels + c) * height * width
            for py in 0..<patch {
                for px in 0..<patch {
                    let dst = out + ((b * channels + c) * patch * patch + py * patch + px) * nh * nw
                    for i in 0..<nh {
                        let src = plane + (i * patch + py) * width + px
                        let row = dst + i * nw
                        for j in 0..<nw { row[j] = src[j * patch] }
                    }
                }
            }
        }
    }
}

/// Depth-to-space, the inverse of ``patchifyKernel``.
/// x: `[B, C·P·P, nh, nw]` → out: `[B, C, nh·P, nw·P]`.
package func unpatchifyKernel(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, batch: Int, channels: Int, height: Int,
    width: Int, patch: Int
) {
    let (nh, nw) = (height / patch, width / patch)
    for b in 0..<batch {
        for c in 0..<channels {
            let plane = out + (b * channels + c) * height * width
            for py in 0..<patch {
                for px in 0..<patch {
                    let src = x + ((b * channels + c) * patch * patch + py * patch + px) * nh * nw
                    for i in 0..<nh {
                        let dst = plane + (i * patch + py) * width + px
                        let row = src + i * nw
                        for j in 0..<nw { dst[j * patch] = row[j] }
                    }
                }
            }
        }
    }
}

/// Element-by-element twin of ``patchifyKernel`` (`inverse` true: of ``unpatchifyKernel``).
package func patchifyReference(
    _ x: [Float], batch: Int, channels: Int, height: Int, width: Int, patch: Int, inverse: Bool = false
) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    let (nh, nw) = (height / patch, width / patch)
    for b in 0..<batch {
        for c in 0..<channels {
            for y in 0..<height {
                for xx in 0..<width {
                    let image = ((b * channels + c) * height + y) * width + xx
                    let patched = (((b * channels + c) * patch * patch + (y % patch) * patch + xx % patch) * nh + y / patch) * nw + xx / patch
                    if inverse { out[image] = x[patched] } else { out[patched] = x[image] }
                }
            }
        }
    }
    return out
}

/// Swaps the last two axes: x: `[B, R, C]` → out: `[B, C, R]` (NCHW ↔ token sequences);
/// the blocked transpose of ``batchedTransposeKernel(_:_:batch:rows:cols:)``.
package func transposeLastTwoKernel(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, batch: Int, rows: Int, cols: Int
) {
    batchedTransposeKernel(x, out, batch: batch, rows: rows, cols: cols)
}

/// Index-formula twin of ``transposeLastTwoKernel``.
package func transposeLastTwoReference(_ x: [Float], batch: Int, rows: Int, cols: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for i in 0..<x.count {
        let (b, r, c) = (i / (rows * cols), (i / cols) % rows, i % cols)
        out[(b * cols + c) * rows + r] = x[i]
    }
    return out
}

// MARK: - adaLN modulation (spec/tokenizers.md 5.6 transformer mid block)

/// x[n, d] = x[n, d]·(1 + scale[d]) + shift[d] in place over x: `[N, D]` (the reference's
/// `modulate`: `(1 + scale)` is rounded first, then the product, then the sum).
package func modulateKernel(
    _ x: UnsafeMutablePointer<Float>, shift: UnsafePointer<Float>, scale: UnsafePointer<Float>, rows: Int, dim: Int
) {
    for r in 0..<rows {
        let row = x + r * dim
        for d in 0..<dim { row[d] = row[d] * (1 + scale[d]) + shift[d] }
    }
}

/// Double twin of ``modulateKernel``.
package func modulateReference(_ x: [Float], shift: [Float], scale: [Float], rows: Int, dim: Int) -> [Float] {
    (0..<x.count).map { i in Float(Double(x[i]) * (1 + Double(scale[i % dim])) + Double(shift[i % dim])) }
}

/// x[n, d] += gate[d]·y[n, d] over x, y: `[N, D]` (adaLN-Zero gated residual).
package func gatedResidualKernel(
    _ x: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, _ y: UnsafePointer<Float>, rows: Int, dim: Int
) {
    for r in 0..<rows {
        let row = x + r * dim
        let update = y + r * dim
        for d in 0..<dim { row[d] += gate[d] * update[d] }
    }
}

/// Double twin of ``gatedResidualKernel``.
package func gatedResidualReference(_ x: [Float], gate: [Float], _ y: [Float], rows: Int, dim: Int) -> [Float] {
    (0..<x.count).map { i in Float(Double(x[i]) + Double(gate[i % dim]) * Double(y[i])) }
}

// MARK: - Scalar-coefficient combinations (spec/tokenizers.md 5.3–5.4 scheduler steps)

/// out[i] = p·u[i] + q·v[i], each product rounded before the sum (PyTorch's order for
/// `p * u + q * v` on float32 tensors). `out` may alias `u` or `v`.
package func scaledSumKernel(
    _ u: UnsafePointer<Float>, _ p: Float, _ v: UnsafePointer<Float>, _ q: Float, _ out: UnsafeMutablePointer<Float>,
    count: Int
) {
    for i in 0..<count {
        let a = p * u[i]
        let b = q * v[i]
        out[i] = a + b
    }
}

/// out[i] = (u[i] − p·v[i]) / q (PyTorch's order for `(u - p * v) / q`). `out` may alias.
package func scaledDifferenceQuotientKernel(
    _ u: UnsafePointer<Float>, _ p: Float, _ v: UnsafePointer<Float>, _ q: Float, _ out: UnsafeMutablePointer<Float>,
    count: Int
) {
    for i in 0..<count {
        let a = p * v[i]
        out[i] = (u[i] - a) / q
    }
}

/// Clamps in place to `[low, high]` (NaN stays NaN, as `torch.clamp`).
package func clampKernel(_ x: UnsafeMutablePointer<Float>, low: Float, high: Float, count: Int) {
    for i in 0..<count {
        let v = x[i]
        x[i] = v < low ? low : (v > high ? high : v)
    }
}

/// Double twins of the three kernels above: `p·u + q·v`, `(u − p·v)/q`, clamp.
package func scaledSumReference(_ u: [Float], _ p: Float, _ v: [Float], _ q: Float) -> [Float] {
    zip(u, v).map { Float(Double(p) * Double($0) + Double(q) * Double($1)) }
}

/// Double twin of ``scaledDifferenceQuotientKernel``.
package func scaledDifferenceQuotientReference(_ u: [Float], _ p: Float, _ v: [Float], _ q: Float) -> [Float] {
    zip(u, v).map { Float((Double($0) - Double(p) * Double($1)) / Double(q)) }
}

/// Plain twin of ``clampKernel``.
package func clampReference(_ x: [Float], low: Float, high: Float) -> [Float] {
    x.map { $0.isNaN ? $0 : Swift.min(Swift.max($0, low), high) }
}

// MARK: - Tensor-level wrappers

extension Tensor where Scalar == Float {
    /// Space-to-depth of the last two axes: `[B, C, nh·P, nw·P]` → `[B, C·P², nh, nw]`.
    package func patchified(_ patch: Int) -> Tensor<Float> {
        precondition(rank == 4 && shape[2] % patch == 0 && shape[3] % patch == 0, "patchified(\(patch)): bad shape \(shape)")
        let (b, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        return Tensor(shape: [b, c * patch * patch, h / patch, w / patch]) { out in
            withUnsafeBufferPointer { patchifyKernel($0.baseAddress!, out.baseAddress!, batch: b, channels: c, height: h, width: w, patch: patch) }
        }
    }

    /// Depth-to-space, the inverse of ``patchified(_:)``: `[B, C·P², nh, nw]` → `[B, C, nh·P, nw·P]`.
    package func unpatchified(_ patch: Int) -> Tensor<Float> {
        precondition(rank == 4 && shape[1] % (patch * patch) == 0, "unpatchified(\(patch)): bad shape \(shape)")
        let (b, c, h, w) = (shape[0], shape[1] / (patch * patch), shape[2] * patch, shape[3] * patch)
        return Tensor(shape: [b, c, h, w]) { out in
            withUnsafeBufferPointer { unpatchifyKernel($0.baseAddress!, out.baseAddress!, batch: b, channels: c, height: h, width: w, patch: patch) }
        }
    }

    /// `[B, R, C]` → `[B, C, R]`.
    package func transposedLastTwo() -> Tensor<Float> {
        precondition(rank == 3, "transposedLastTwo needs [B, R, C], got \(shape)")
        let (b, r, c) = (shape[0], shape[1], shape[2])
        return Tensor(shape: [b, c, r]) { out in
            withUnsafeBufferPointer { transposeLastTwoKernel($0.baseAddress!, out.baseAddress!, batch: b, rows: r, cols: c) }
        }
    }

    /// Concatenation along axis 1 of `[B, C_i, ...]` tensors whose other axes agree.
    package static func concatenatedChannels(_ parts: [Tensor<Float>]) -> Tensor<Float> {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.rank >= 2 && $0.shape[0] == parts[0].shape[0]
            && Array($0.shape.dropFirst(2)) == Array(parts[0].shape.dropFirst(2)) },
                     "concatenatedChannels: shapes \(parts.map(\.shape)) do not agree")
        let batch = parts[0].shape[0]
        let inner = parts[0].shape.dropFirst(2).reduce(1, *)
        let channels = parts.reduce(0) { $0 + $1.shape[1] }
        var outShape = parts[0].shape
        outShape[1] = channels
        return Tensor(shape: outShape) { out in
            var cursor = 0
            for b in 0..<batch {
                for part in parts {
                    let n = part.shape[1] * inner
                    part.withUnsafeBufferPointer { src in
                        (out.baseAddress! + cursor).initialize(from: src.baseAddress! + b * n, count: n)
                    }
                    cursor += n
                }
            }
        }
    }

    /// Adds `bias[c]` to every element of channel `c` of `[B, C, ...]`.
    package func addingChannelBias(_ bias: Tensor<Float>) -> Tensor<Float> {
        precondition(rank >= 2 && bias.count == shape[1], "addingChannelBias: bias \(bias.shape) does not fit \(shape)")
        var y = self
        let (b, c) = (shape[0], shape[1])
        let spatial = count / max(b * c, 1)
        y.withUnsafeMutableBufferPointer { py in
            bias.withUnsafeBufferPointer { addChannelBiasKernel(py.baseAddress!, $0.baseAddress!, batch: b, channels: c, spatial: spatial) }
        }
        return y
    }

    /// Element-wise clamp to `[low, high]`.
    package func clamped(low: Float, high: Float) -> Tensor<Float> {
        var y = self
        y.withUnsafeMutableBufferPointer { clampKernel($0.baseAddress!, low: low, high: high, count: $0.count) }
        return y
    }
}

/// `p·u + q·v` element-wise over equal shapes (scheduler algebra, products rounded first).
package func scaledSum(_ u: Tensor<Float>, _ p: Float, _ v: Tensor<Float>, _ q: Float) -> Tensor<Float> {
    precondition(u.shape == v.shape, "scaledSum: shapes \(u.shape) and \(v.shape) differ")
    return Tensor(shape: u.shape) { out in
        u.withUnsafeBufferPointer { pu in
            v.withUnsafeBufferPointer { pv in scaledSumKernel(pu.baseAddress!, p, pv.baseAddress!, q, out.baseAddress!, count: out.count) }
        }
    }
}

/// `(u − p·v) / q` element-wise over equal shapes.
package func scaledDifferenceQuotient(_ u: Tensor<Float>, _ p: Float, _ v: Tensor<Float>, _ q: Float) -> Tensor<Float> {
    precondition(u.shape == v.shape, "scaledDifferenceQuotient: shapes \(u.shape) and \(v.shape) differ")
    return Tensor(shape: u.shape) { out in
        u.withUnsafeBufferPointer { pu in
            v.withUnsafeBufferPointer { pv in
                scaledDifferenceQuotientKernel(pu.baseAddress!, p, pv.baseAddress!, q, out.baseAddress!, count: out.count)
            }
        }
    }
}
