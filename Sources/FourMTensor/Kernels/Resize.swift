import Foundation

// MARK: - Resizing (spec/tokenizers.md 3.3: PyTorch interpolate, align_corners=False)

/// PyTorch's cubic convolution weights for fraction `t` (A = −0.75), for samples i−1…i+2.
@inline(__always)
func cubicWeights(_ t: Float) -> (Float, Float, Float, Float) {
    let a: Float = -0.75
    func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
    func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
    return (far(t + 1), near(t), near(1 - t), far(2 - t))
}

/// Bicubic resize of planes: x `[planes, inH, inW]` → out `[planes, outH, outW]`, separable
/// (height first), source index `scale·(o+0.5)−0.5` unclamped, samples clamped to the edge.
package func bicubicResizeKernel(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, planes: Int,
    inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int
) {
    func taps(_ n: Int, _ m: Int) -> [(index: (Int, Int, Int, Int), weight: (Float, Float, Float, Float))] {
        let scale = Float(n) / Float(m)
        return (0..<m).map { o in
            let real = scale * (Float(o) + 0.5) - 0.5
            let i = Int(real.rounded(.down))
            let w = cubicWeights(real - Float(i))
            func c(_ k: Int) -> Int { min(max(k, 0), n - 1) }
            return ((c(i - 1), c(i), c(i + 1), c(i + 2)), w)
        }
    }
    let rowTaps = taps(inHeight, outHeight), colTaps = taps(inWidth, outWidth)
    var temp = [Float](repeating: 0, count: outHeight * inWidth)
    for p in 0..<planes {
        let src = x + p * inHeight * inWidth
        for (o, tap) in rowTaps.enumerated() {
            for col in 0..<inWidth {
                temp[o * inWidth + col] = tap.weight.0 * src[tap.index.0 * inWidth + col] + tap.weight.1 * src[tap.index.1 * inWidth + col]
                    + tap.weight.2 * src[tap.index.2 * inWidth + col] + tap.weight.3 * src[tap.index.3 * inWidth + col]
            }
        }
        let dst = out + p * outHeight * outWidth
        for r in 0..<outHeight {
            for (o, tap) in colTaps.enumerated() {
                let row = r * inWidth
                dst[r * outWidth + o] = tap.weight.0 * temp[row + tap.index.0] + tap.weight.1 * temp[row + tap.index.1]
                    + tap.weight.2 * temp[row + tap.index.2] + tap.weight.3 * temp[row + tap.index.3]
            }
        }
    }
}

/// Direct (non-separable, Double) twin of ``bicubicResizeKernel``.
package func bicubicResizeReference(_ x: [Float], planes: Int, inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int) -> [Float] {
    func weightsAndIndices(_ o: Int, _ n: Int, _ m: Int) -> [(Int, Double)] {
        let real = Double(n) / Double(m) * (Double(o) + 0.5) - 0.5
        let i = Int(real.rounded(.down))
        let t = real - Double(i)
        let a = -0.75
        func kernel(_ s: Double) -> Double {
            let x = abs(s)
            if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
            return 0
        }
        return (-1...2).map { k in (min(max(i + k, 0), n - 1), kernel(t - Double(k))) }
    }
    var out = [Float](repeating: 0, count: planes * outHeight * outWidth)
    for p in 0..<planes {
        for r in 0..<outHeight {
            for c in 0..<outWidth {
                var acc = 0.0
                for (ri, rw) in weightsAndIndices(r, inHeight, outHeight) {
                    for (ci, cw) in weightsAndIndices(c, inWidth, outWidth) {
                        acc += rw * cw * Double(x[(p * inHeight + ri) * inWidth + ci])
                    }
                }
                out[(p * outHeight + r) * outWidth + c] = Float(acc)
            }
        }
    }
    return out
}

extension Tensor where Scalar == Float {
    /// Bicubic resize of the last two axes (PyTorch `interpolate(mode="bicubic",
    /// align_corners=False)`, no antialiasing). Identity when the size is unchanged.
    public func resizedBicubic(height: Int, width: Int) -> Tensor<Float> {
        precondition(rank >= 2, "resizedBicubic needs at least 2 axes, got \(shape)")
        let (inH, inW) = (shape[rank - 2], shape[rank - 1])
        if inH == height && inW == width { return self }
        let planes = count / max(inH * inW, 1)
        var outShape = shape
        outShape[rank - 2] = height
        outShape[rank - 1] = width
        return Tensor(shape: outShape) { out in
            withUnsafeBufferPointer { src in
                bicubicResizeKernel(src.baseAddress!, out.baseAddress!, planes: planes, inHeight: inH, inWidth: inW, outHeight: height, outWidth: width)
            }
        }
    }

    /// Nearest resize of the last two axes, PyTorch legacy rule `src = floor(dst·n/m)`.
    public func resizedNearest(height: Int, width: Int) -> Tensor<Float> {
        precondition(rank >= 2, "resizedNearest needs at least 2 axes, got \(shape)")
        let (inH, inW) = (shape[rank - 2], shape[rank - 1])
        let planes = count / max(inH * inW, 1)
        var outShape = shape
        outShape[rank - 2] = height
        outShape[rank - 1] = width
        let rowScale = Float(inH) / Float(height), colScale = Float(inW) / Float(width)
        let rows = (0..<height).map { min(Int((Float($0) * rowScale).rounded(.down)), inH - 1) }
        let cols = (0..<width).map { min(Int((Float($0) * colScale).rounded(.down)), inW - 1) }
        return Tensor(shape: outShape) { out in
            withUnsafeBufferPointer { src in
                for p in 0..<planes {
                    for r in 0..<height {
                        for c in 0..<width {
                            out[(p * height + r) * width + c] = src[(p * inH + rows[r]) * inW + cols[c]]
                        }
                    }
                }
            }
        }
    }
}
