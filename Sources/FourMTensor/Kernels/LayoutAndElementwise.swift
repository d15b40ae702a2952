import Foundation

// MARK: - Layout and small element-wise kernels of the VQ tokenizers (spec/tokenizers.md 3–4)
//
// Named for what they do. The space-to-depth `patchifyKernel` of the diffusion decoders
// (ChannelLayout.swift) keeps patches as channels of a smaller map; `patchTokensKernel` here
// turns them into token rows for a matrix-product patch embedding.

/// tanh in place over `count` values (the ViT post-MLP activation, spec/tokenizers.md 3.4).
package func tanhKernel(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { x[i] = tanhf(x[i]) }
}

/// Double-precision twin of ``tanhKernel``.
package func tanhReference(_ x: [Float]) -> [Float] {
    x.map { Float(Foundation.tanh(Double($0))) }
}

/// x: [batch, rows, cols] → out: [batch, cols, rows] (NCHW ↔ channels-last token layouts).
package func batchedTransposeKernel<Scalar>(
    _ x: UnsafePointer<Scalar>, _ out: UnsafeMutablePointer<Scalar>, batch: Int, rows: Int, cols: Int
) {
    // Blocked so that both the reads and the writes stay within a few cache lines.
    let block = 32
    for b in 0..<batch {
        let src = x + b * rows * cols
        let dst = out + b * rows * cols
        var r0 = 0
        while r0 < rows {
            let r1 = min(r0 + block, rows)
            var c0 = 0
            while c0 < cols {
                let c1 = min(c0 + block, cols)
                for r in r0..<r1 {
                    for c in c0..<c1 { (dst + c * rows + r).initialize(to: src[r * cols + c]) }
                }
                c0 = c1
            }
            r0 = r1
        }
    }
}

/// Plain twin of ``batchedTransposeKernel``.
package func batchedTransposeReference<Scalar>(_ x: [Scalar], batch: Int, rows: Int, cols: Int) -> [Scalar] {
    var out = x
    for b in 0..<batch {
        for r in 0..<rows {
            for c in 0..<cols { out[(b * cols + c) * rows + r] = x[(b * rows + r) * cols + c] }
        }
    }
    return out
}

/// Cuts images into non-overlapping patches, the input of a `Conv2d(kernel = stride = P)`
/// computed as a matrix product (spec/tokenizers.md 3.4).
///
/// x: [B, C, H, W] → out: [B, (H/P)·(W/P), C·P·P]; patch (row, col) is token `row·(W/P) + col`
/// and inside a patch the channel index is `c·P·P + py·P + px` (the conv weight's order).
package func patchTokensKernel(
    _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
    batch: Int, channels: Int, height: Int, width: Int, patch: Int
) {
    let gridH = height / patch, gridW = width / patch
    let patchLength = channels * patch * patch
    for b in 0..<batch {
        for row in 0..<gridH {
            for col in 0..<gridW {
                let dst = out + ((b * gridH + row) * gridW + col) * patchLength
                for c in 0..<channels {
                    for py in 0..<patch {
                        let src = x + ((b * channels + c) * height + row * patch + py) * width + col * patch
                        (dst + (c * patch + py) * patch).initialize(from: src, count: patch)
                    }
                }
            }
        }
    }
}

/// Inverse layout of ``patchTokensKernel`` (the ViT decoder's unpatchify, spec/tokenizers.md 3.5).
///
/// y: [B, gridH·gridW, C·P·P] → out: [B, C, gridH·P, gridW·P] with
/// `out[b, c, row·P + py, col·P + px] = y[b, row·gridW + col, c·P·P + py·P + px]`.
package func unpatchTokensKernel(
    _ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
    batch: Int, channels: Int, gridHeight: Int, gridWidth: Int, patch: Int
) {
    let height = gridHeight * patch, width = gridWidth * patch
    let patchLength = channels * patch * patch
    for b in 0..<batch {
        for row in 0..<gridHeight {
            for col in 0..<gridWidth {
                let src = y + ((b * gridHeight + row) * gridWidth + col) * patchLength
                for c in 0..<channels {
                    for py in 0..<patch {
                        let dst = out + ((b * channels + c) * height + row * patch + py) * width + col * patch
                        dst.initialize(from: src + (c * patch + py) * patch, count: patch)
                    }
                }
            }
        }
    }
}

/// Plain index-formula twin of ``patchTokensKernel``.
package func patchTokensReference(_ x: [Float], batch: Int, channels: Int, height: Int, width: Int, patch: Int) -> [Float] {
    let gridH = height / patch, gridW = width / patch
    var out = [Float](repeating: 0, count: x.count)
    for b in 0..<batch {
        for c in 0..<channels {
            for h in 0..<height {
                for w in 0..<width {
                    let token = (h / patch) * gridW + w / patch
                    let inner = (c * patch + h % patch) * patch + w % patch
                    out[(b * gridH * gridW + token) * channels * patch * patch + inner] =
                        x[((b * channels + c) * height + h) * width + w]
                }
            }
        }
    }
    return out
}

/// Depthwise 2-D convolution, stride 1, zero padding `pad` on every side (ConvNeXt `dwconv`,
/// spec/tokenizers.md 3.5).
///
/// x: [B, C, H, W], weight: [C, k, k], bias: [C] or nil → out: [B, C, H + 2·pad − k + 1, …].
package func depthwiseConv2DKernel(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    _ out: UnsafeMutablePointer<Float>, batch: Int, channels: Int, height: Int, width: Int,
    kernel: Int, pad: Int
) {
    let outH = height + 2 * pad - kernel + 1, outW = width + 2 * pad - kernel + 1
    guard outH > 0, outW > 0 else { return }
    for b in 0..<batch {
        for c in 0..<channels {
            let src = x + (b * channels + c) * height * width
            let dst = out + (b * channels + c) * outH * outW
            let w = weight + c * kernel * kernel
            let start = bias?[c] ?? 0
            for i in 0..<(outH * outW) { dst[i] = start }
            // Accumulate one kernel tap at a time over the valid output rectangle, so the
            // inner loop runs over contiguous memory without bounds checks.
            for ky in 0..<kernel {
                let oy0 = max(0, pad - ky), oy1 = min(outH, height + pad - ky)
                if oy0 >= oy1 { continue }
                for kx in 0..<kernel {
                    let ox0 = max(0, pad - kx), ox1 = min(outW, width + pad - kx)
                    if ox0 >= ox1 { continue }
                    let tap = w[ky * kernel + kx]
                    for oy in oy0..<oy1 {
                        let srcOffset = (oy + ky - pad) * width + kx - pad  // ≥ 0 for ox ≥ ox0
                        let dstRow = dst + oy * outW
                        for ox in ox0..<ox1 { dstRow[ox] += tap * src[srcOffset + ox] }
                    }
                }
            }
        }
    }
}

/// Direct (Double, per output pixel) twin of ``depthwiseConv2DKernel``.
package func depthwiseConv2DReference(
    _ x: [Float], weight: [Float], bias: [Float]?, batch: Int, channels: Int, height: Int, width: Int,
    kernel: Int, pad: Int
) -> [Float] {
    let outH = height + 2 * pad - kernel + 1, outW = width + 2 * pad - kernel + 1
    var out = [Float](repeating: 0, count: batch * channels * max(outH, 0) * max(outW, 0))
    for b in 0..<batch {
        for c in 0..<channels {
            for oy in 0..<outH {
                for ox in 0..<outW {
                    var acc = Double(bias?[c] ?? 0)
                    for ky in 0..<kernel {
                        for kx in 0..<kernel {
                            let iy = oy + ky - pad, ix = ox + kx - pad
                            if iy < 0 || iy >= height || ix < 0 || ix >= width { continue }
                            acc += Double(weight[(c * kernel + ky) * kernel + kx])
                                * Double(x[((b * channels + c) * height + iy) * width + ix])
                        }
                    }
                    out[((b * channels + c) * outH + oy) * outW + ox] = Float(acc)
                }
            }
        }
    }
    return out
}

/// x: [outer, inner] += table: [inner] for every outer index (a position table added to every
/// batch element).
package func addRowBroadcastKernel(_ x: UnsafeMutablePointer<Float>, _ table: UnsafePointer<Float>, outer: Int, inner: Int) {
    for o in 0..<outer {
        let row = x + o * inner
        for i in 0..<inner { row[i] += table[i] }
    }
}

/// x: [rows, cols] *= scale: [cols] (ConvNeXt `gamma`, a per-channel layer scale).
package func scaleColumnsKernel(_ x: UnsafeMutablePointer<Float>, _ scale: UnsafePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows {
        let row = x + r * cols
        for c in 0..<cols { row[c] *= scale[c] }
    }
}

/// x: [B, C, plane] ← x·scale[c] + shift[c] (per-channel affine on NCHW, e.g. undoing an
/// ImageNet standardisation).
package func channelAffineKernel(
    _ x: UnsafeMutablePointer<Float>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
    batch: Int, channels: Int, plane: Int
) {
    for b in 0..<batch {
        for c in 0..<channels {
            let p = x + (b * channels + c) * plane
            let (s, t) = (scale[c], shift[c])
            for i in 0..<plane { p[i] = p[i] * s + t }
        }
    }
}

/// x[i] *= factor over `count` values.
package func scaleKernel(_ x: UnsafeMutablePointer<Float>, count: Int, factor: Float) {
    for i in 0..<count { x[i] *= factor }
}
