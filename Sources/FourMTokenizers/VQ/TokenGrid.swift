import FourMTensor

/// A feature map kept channels-last: `tokens` `[B, height·width, C]`, tokens row-major over the
/// grid. The VQ stages run on this layout (every 1×1 convolution is then one `linear`); the
/// public API converts to and from PyTorch's NCHW at its edges.
package struct TokenGrid: Sendable {
    /// `[B, height·width, C]`.
    package var tokens: Tensor<Float>
    package var height: Int
    package var width: Int

    package init(tokens: Tensor<Float>, height: Int, width: Int) {
        precondition(tokens.rank == 3 && tokens.shape[1] == height * width, "TokenGrid: \(tokens.shape) is not [B, \(height)·\(width), C]")
        self.tokens = tokens
        self.height = height
        self.width = width
    }

    /// From an NCHW map `[B, C, H, W]`.
    package init(nchw: Tensor<Float>) {
        precondition(nchw.rank == 4, "TokenGrid(nchw:) needs [B, C, H, W], got \(nchw.shape)")
        let (b, c, h, w) = (nchw.shape[0], nchw.shape[1], nchw.shape[2], nchw.shape[3])
        self.init(tokens: vqSwapLastTwo(nchw.reshaped([b, c, h * w])), height: h, width: w)
    }

    package var batch: Int { tokens.shape[0] }
    package var channels: Int { tokens.shape[2] }

    /// The same map as NCHW `[B, C, H, W]`.
    package var nchw: Tensor<Float> {
        vqSwapLastTwo(tokens).reshaped([batch, channels, height, width])
    }

    /// A grid with new token features of the same geometry.
    package func with(tokens newTokens: Tensor<Float>) -> TokenGrid {
        TokenGrid(tokens: newTokens, height: height, width: width)
    }
}

/// `[batch, rows, cols]` → `[batch, cols, rows]`.
package func vqSwapLastTwo<Scalar: TensorScalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
    precondition(x.rank == 3, "vqSwapLastTwo needs [batch, rows, cols], got \(x.shape)")
    let (b, r, c) = (x.shape[0], x.shape[1], x.shape[2])
    return Tensor(shape: [b, c, r]) { out in
        x.withUnsafeBufferPointer { src in
            guard let s = src.baseAddress, let o = out.baseAddress else { return }
            batchedTransposeKernel(s, o, batch: b, rows: r, cols: c)
        }
    }
}

/// Applies `kernel` to a copy of `x` (element-wise in-place kernels).
func vqMap(_ x: Tensor<Float>, _ kernel: (UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor<Float> {
    var y = x
    y.withUnsafeMutableBufferPointer { buffer in
        if let base = buffer.baseAddress { kernel(base, buffer.count) }
    }
    return y
}

/// `x` `[..., D]` times `scale` `[D]` per column.
func vqScaleColumns(_ x: Tensor<Float>, _ scale: Tensor<Float>) -> Tensor<Float> {
    let cols = scale.count
    precondition(x.shape.last == cols, "vqScaleColumns: \(x.shape) does not end in \(cols)")
    var y = x
    y.withUnsafeMutableBufferPointer { buffer in
        scale.withUnsafeBufferPointer { s in
            guard let base = buffer.baseAddress, let sb = s.baseAddress else { return }
            scaleColumnsKernel(base, sb, rows: buffer.count / max(cols, 1), cols: cols)
        }
    }
    return y
}

/// `x` `[B, rest...]` plus `table` (same element count as one batch element) for every batch.
func vqAddToEachBatch(_ x: Tensor<Float>, _ table: Tensor<Float>) -> Tensor<Float> {
    let inner = table.count
    precondition(x.count == x.shape[0] * inner, "vqAddToEachBatch: \(x.shape) vs table \(table.shape)")
    var y = x
    y.withUnsafeMutableBufferPointer { buffer in
        table.withUnsafeBufferPointer { t in
            guard let base = buffer.baseAddress, let tb = t.baseAddress else { return }
            addRowBroadcastKernel(base, tb, outer: x.shape[0], inner: inner)
        }
    }
    return y
}

/// A 1×1 `Conv2d` weight `[out, in, 1, 1]` + bias, applied per token as a `Linear`.
/// - Throws: `WeightError` for a missing tensor or a shape that disagrees with `inputs`/`outputs`.
func vqPointwiseConv(_ store: WeightStore, _ prefix: String, inputs: Int, outputs: Int) throws(WeightError) -> Linear {
    let weight = try store.tensor("\(prefix).weight", shape: [outputs, inputs, 1, 1])
    let bias = try store.tensor("\(prefix).bias", shape: [outputs])
    return Linear(weight: weight.reshaped([outputs, inputs]), bias: bias)
}

/// Joins a module prefix and a key the way PyTorch state-dict keys are joined.
func vqKey(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : "\(prefix).\(name)"
}
