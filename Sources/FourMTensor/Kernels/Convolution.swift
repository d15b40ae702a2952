import CBLAS
import Foundation

// MARK: - 2-D convolution (spec/tokenizers.md conventions: NCHW, Conv2d.weight [O, C/groups, kh, kw],
// ConvTranspose2d.weight [C, O, kh, kw])

/// The geometry of one NCHW 2-D convolution with square stride and symmetric zero padding.
package struct ConvolutionGeometry: Sendable, Equatable {
    package var batch: Int
    package var inChannels: Int
    package var height: Int
    package var width: Int
    package var outChannels: Int
    package var kernelHeight: Int
    package var kernelWidth: Int
    package var stride: Int
    package var padding: Int
    package var groups: Int
    /// Upper bound of one im2col chunk in floats (tests lower it to exercise chunking).
    package var chunkFloats: Int

    package init(
        batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int, kernelHeight: Int,
        kernelWidth: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1, chunkFloats: Int = conv2dChunkFloats
    ) {
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "conv2d: channels \(inChannels)→\(outChannels) not divisible by groups \(groups)")
        precondition(stride >= 1 && padding >= 0 && kernelHeight >= 1 && kernelWidth >= 1, "conv2d: bad geometry")
        self.batch = batch
        self.inChannels = inChannels
        self.height = height
        self.width = width
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.chunkFloats = chunkFloats
    }

    /// Output rows: `(H + 2·pad − kh) / stride + 1`.
    package var outHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    /// Output columns: `(W + 2·pad − kw) / stride + 1`.
    package var outWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// True for a 1×1, stride-1, unpadded convolution (a plain matrix product, no im2col).
    package var isPointwise: Bool { kernelHeight == 1 && kernelWidth == 1 && stride == 1 && padding == 0 }
    /// Rows of the im2col matrix of one group: `C/groups · kh · kw`.
    package var patchLength: Int { inChannels / groups * kernelHeight * kernelWidth }

    /// Output rows per im2col chunk, so that one chunk holds at most ~`chunkFloats` floats.
    package var rowsPerChunk: Int {
        max(1, min(outHeight, chunkFloats / max(patchLength * outWidth, 1)))
    }

    /// Floats of scratch ``conv2dKernel`` needs (0 for pointwise convolutions).
    package var scratchCount: Int { isPointwise ? 0 : patchLength * rowsPerChunk * outWidth }
}

/// Upper bound of one im2col chunk in floats (16 MB): large enough that sgemm sees wide
/// panels (measured best among 1, 4, 16 and 128 MB on the 56×56 UNet convolutions), small
/// enough that a 448 decode does not stream a 100 MB matrix per convolution.
package let conv2dChunkFloats = 1 << 22

/// im2col of output rows `[rowStart, rowStart + rows)` of one group.
/// x: `[C_g, H, W]` → col: `[C_g·kh·kw, rows·outW]`, zero where the window leaves the image.
func im2colRows(
    _ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, channels: Int, g: ConvolutionGeometry,
    rowStart: Int, rows: Int
) {
    let (src, dst) = (SendableConstPointer(x), SendablePointer(col))
    let perChannel = g.kernelHeight * g.kernelWidth * rows * g.outWidth
    parallelChunks(channels, minimumPerChunk: max(1, (1 << 16) / max(perChannel, 1))) { range in
        for c in range { im2colChannel(src.base, dst.base, channel: c, g: g, rowStart: rowStart, rows: rows) }
    }
}

/// The `kh·kw` rows of channel `c` of ``im2colRows``.
private func im2colChannel(
    _ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, channel c: Int, g: ConvolutionGeometry, rowStart: Int, rows: Int
) {
    let (h, w, kh, kw, s, p) = (g.height, g.width, g.kernelHeight, g.kernelWidth, g.stride, g.padding)
    let ow = g.outWidth
    let n = rows * ow
    let plane = x + c * h * w
    for ky in 0..<kh {
        for kx in 0..<kw {
            let dst = col + ((c * kh + ky) * kw + kx) * n
            // Valid output columns: 0 ≤ ox·s − p + kx < w.
            let first = kx >= p ? 0 : (p - kx + s - 1) / s
            let lastExclusive = min(ow, w + p - kx > 0 ? (w + p - kx + s - 1) / s : 0)
            for r in 0..<rows {
                let row = dst + r * ow
                let iy = (rowStart + r) * s - p + ky
                if iy < 0 || iy >= h || first >= lastExclusive {
                    row.initialize(repeating: 0, count: ow)
                    continue
                }
                if first > 0 { row.initialize(repeating: 0, count: first) }
                let src = plane + iy * w - p + kx
                if s == 1 {
                    (row + first).initialize(from: src + first, count: lastExclusive - first)
                } else {
                    for ox in first..<lastExclusive { row[ox] = src[ox * s] }
                }
                if lastExclusive < ow { (row + lastExclusive).initialize(repeating: 0, count: ow - lastExclusive) }
            }
        }
    }
}

/// NCHW convolution as im2col + sgemm, chunked over output rows.
///
/// x: `[B, C, H, W]`, weight: `[O, C/groups, kh, kw]`, bias: `[O]` or nil,
/// out: `[B, O, outH, outW]`; `scratch` holds ``ConvolutionGeometry/scratchCount`` floats
/// (may be nil for pointwise convolutions). Pointwise convolutions multiply in place.
package func conv2dKernel(
    _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
    _ out: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry, scratch: UnsafeMutablePointer<Float>?
) {
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    let (oh, ow) = (g.outHeight, g.outWidth)
    let spatial = oh * ow
    let k = g.patchLength
    let chunk = g.rowsPerChunk
    for b in 0..<g.batch {
        for group in 0..<g.groups {
            let xg = x + (b * g.inChannels + group * cg) * g.height * g.width
            let wg = weight + group * og * k
            let yg = out + (b * g.outChannels + group * og) * spatial
            if g.isPointwise {
                gemm(wg, xg, yg, m: og, n: spatial, k: cg, lda: cg, ldb: spatial, ldc: spatial, transposeB: false)
                continue
            }
            guard let scratch else { preconditionFailure("conv2dKernel: scratch is required for \(g)") }
            var row = 0
            while row < oh {
                let rows = min(chunk, oh - row)
                im2colRows(xg, scratch, channels: cg, g: g, rowStart: row, rows: rows)
                gemm(wg, scratch, yg + row * ow, m: og, n: rows * ow, k: k, lda: k, ldb: rows * ow, ldc: spatial,
                     transposeB: false)
                row += rows
            }
        }
        if let bias {
            addChannelBiasKernel(out + b * g.outChannels * spatial, bias, batch: 1, channels: g.outChannels, spatial: spatial)
        }
    }
}

/// Direct six-loop twin of ``conv2dKernel`` (Double accumulation).
package func conv2dReference(_ x: [Float], _ weight: [Float], _ bias: [Float]?, geometry g: ConvolutionGeometry) -> [Float] {
    let cg = g.inChannels / g.groups, og = g.outChannels / g.groups
    let (oh, ow) = (g.outHeight, g.outWidth)
    var out = [Float](repeating: 0, count: g.batch * g.outChannels * oh * ow)
    for b in 0..<g.batch {
        for o in 0..<g.outChannels {
            let group = o / og
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var acc = Double(bias?[o] ?? 0)
                    for c in 0..<cg {
                        for ky in 0..<g.kernelHeight {
                            for kx in 0..<g.kernelWidth {
                                let iy = oy * g.stride - g.padding + ky
                                let ix = ox * g.stride - g.padding + kx
                                if iy < 0 || iy >= g.height || ix < 0 || ix >= g.width { continue }
                                let xv = x[((b * g.inChannels + group * cg + c) * g.height + iy) * g.width + ix]
                                let wv = weight[((o * cg + c) * g.kernelHeight + ky) * g.kernelWidth + kx]
                                acc += Double(xv) * Double(wv)
                            }
                        }
                    }
                    out[((b * g.outChannels + o) * oh + oy) * ow + ox] = Float(acc)
                }
            }
        }
    }
    return out
}

// MARK: - Transposed convolution with kernel = stride (non-overlapping "unpatchify")

/// `ConvTranspose2d` whose kernel equals its stride and has no padding (spec/tokenizers.md
/// 5.6 `conv_out`): `out[b, o, s·i+p, s·j+q] = bias[o] + Σ_c x[b, c, i, j]·W[c, o, p, q]`.
///
/// x: `[B, C, H, W]`, weight: `[C, O, s, s]`, bias: `[O]` or nil, out: `[B, O, s·H, s·W]`;
/// `scratch` holds `O·s·s·H·W` floats (the product Wᵀ·x before it is scattered).
package func convTranspose2dPatchKernel(
    _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
    _ out: UnsafeMutablePointer<Float>, batch: Int, inChannels: Int, height: Int, width: Int,
    outChannels: Int, stride s: Int, scratch: UnsafeMutablePointer<Float>
) {
    let spatial = height * width
    let rows = outChannels * s * s
    for b in 0..<batch {
        // scratch[(o, p, q), (i, j)] = Σ_c W[c, (o, p, q)] · x[c, (i, j)]
        ComputePolicy.withBLAS {
            cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, Int32(rows), Int32(spatial), Int32(inChannels), 1,
                weight, Int32(rows), x + b * inChannels * spatial, Int32(spatial), 0, scratch, Int32(spatial))
        }
        let ob = out + b * outChannels * spatial * s * s
        let outWidth = width * s
        for o in 0..<outChannels {
            let shift = bias?[o] ?? 0
            for p in 0..<s {
                for q in 0..<s {
                    let src = scratch + ((o * s + p) * s + q) * spatial
                    let plane = ob + o * spatial * s * s
                    for i in 0..<height {
                        let dst = plane + (i * s + p) * outWidth + q
                        let srcRow = src + i * width
                        for j in 0..<width { dst[j * s] = srcRow[j] + shift }
                    }
                }
            }
        }
    }
}

/// Direct twin of ``convTranspose2dPatchKernel`` (Double accumulation).
package func convTranspose2dPatchReference(
    _ x: [Float], _ weight: [Float], _ bias: [Float]?, batch: Int, inChannels: Int, height: Int, width: Int,
    outChannels: Int, stride s: Int
) -> [Float] {
    var out = [Float](repeating: 0, count: batch * outChannels * height * s * width * s)
    for b in 0..<batch {
        for o in 0..<outChannels {
            for y in 0..<(height * s) {
                for xo in 0..<(width * s) {
                    let (i, p, j, q) = (y / s, y % s, xo / s, xo % s)
                    var acc = Double(bias?[o] ?? 0)
                    for c in 0..<inChannels {
                        acc += Double(x[((b * inChannels + c) * height + i) * width + j])
                            * Double(weight[((c * outChannels + o) * s + p) * s + q])
                    }
                    out[((b * outChannels + o) * height * s + y) * width * s + xo] = Float(acc)
                }
            }
        }
    }
    return out
}

// MARK: - Tensor-level operations

/// Reusable scratch memory for convolutions of one forward pass (grows, never shrinks).
///
/// A reference type because it is mutable scratch: use one per task, never share it.
package final class ConvolutionScratch {
    private var storage: UnsafeMutablePointer<Float>
    private var capacity: Int

    package init() {
        storage = .allocate(capacity: 1)
        capacity = 1
    }

    deinit { storage.deallocate() }

    /// A buffer of at least `count` floats, valid until the next call.
    package func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            storage.deallocate()
            storage = .allocate(capacity: count)
            capacity = count
        }
        return storage
    }
}

/// How ``conv2d(_:weight:bias:stride:padding:groups:scratch:algorithm:)`` computes.
package enum ConvolutionAlgorithm: Sendable {
    /// The measured-fastest path: im2col + sgemm (see ``winogradApplies(_:)`` for why not Winograd).
    case automatic
    /// Always im2col + sgemm (pointwise convolutions skip the im2col).
    case im2col
    /// Winograd F(2×2, 3×3); only for 3×3, stride 1, padding 1, one group.
    case winograd
}

/// NCHW 2-D convolution (PyTorch `nn.Conv2d` with zero padding).
/// - Parameters:
///   - x: `[B, C, H, W]`.
///   - weight: `[O, C/groups, kh, kw]`.
///   - bias: `[O]` or nil.
///   - scratch: reusable im2col memory; a fresh one is made when nil.
///   - algorithm: the computation (tests pin one; the default picks the faster).
/// - Returns: `[B, O, (H + 2p − kh)/s + 1, (W + 2p − kw)/s + 1]`.
package func conv2d(
    _ x: Tensor<Float>, weight: Tensor<Float>, bias: Tensor<Float>?, stride: Int = 1, padding: Int = 0,
    groups: Int = 1, scratch: ConvolutionScratch? = nil, algorithm: ConvolutionAlgorithm = .automatic
) -> Tensor<Float> {
    precondition(x.rank == 4 && weight.rank == 4, "conv2d: input \(x.shape) / weight \(weight.shape) must be 4-D")
    precondition(weight.shape[1] * groups == x.shape[1], "conv2d: weight \(weight.shape) does not fit input \(x.shape)")
    let g = ConvolutionGeometry(
        batch: x.shape[0], inChannels: x.shape[1], height: x.shape[2], width: x.shape[3],
        outChannels: weight.shape[0], kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
        stride: stride, padding: padding, groups: groups)
    precondition(g.outHeight >= 1 && g.outWidth >= 1, "conv2d: input \(x.shape) smaller than kernel \(weight.shape)")
    let work = scratch ?? ConvolutionScratch()
    let winograd = algorithm == .winograd
    precondition(!winograd || winogradApplies(g), "conv2d: the Winograd path needs a 3×3, stride-1, padding-1, ungrouped convolution")
    let count = winograd ? winogradScratchCount(g) : g.scratchCount
    let buffer = count > 0 ? work.buffer(count) : nil
    return Tensor(shape: [g.batch, g.outChannels, g.outHeight, g.outWidth]) { out in
        x.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { pw in
                withOptionalPointer(bias) { pb in
                    if winograd, let buffer {
                        winogradConv3x3Kernel(px.baseAddress!, pw.baseAddress!, pb, out.baseAddress!, geometry: g, scratch: buffer)
                    } else {
                        conv2dKernel(px.baseAddress!, pw.baseAddress!, pb, out.baseAddress!, geometry: g, scratch: buffer)
                    }
                }
            }
        }
    }
}

/// `ConvTranspose2d` with kernel = stride and no padding (a learned "unpatchify").
/// - Parameters:
///   - x: `[B, C, H, W]`.
///   - weight: `[C, O, s, s]`.
///   - bias: `[O]` or nil.
/// - Returns: `[B, O, s·H, s·W]`.
package func convTranspose2dPatch(
    _ x: Tensor<Float>, weight: Tensor<Float>, bias: Tensor<Float>?, scratch: ConvolutionScratch? = nil
) -> Tensor<Float> {
    precondition(x.rank == 4 && weight.rank == 4 && weight.shape[0] == x.shape[1] && weight.shape[2] == weight.shape[3],
                 "convTranspose2dPatch: input \(x.shape) / weight \(weight.shape) do not fit")
    let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, s) = (weight.shape[1], weight.shape[2])
    let work = scratch ?? ConvolutionScratch()
    let buffer = work.buffer(max(o * s * s * h * w, 1))
    return Tensor(shape: [b, o, h * s, w * s]) { out in
        x.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { pw in
                withOptionalPointer(bias) { pb in
                    convTranspose2dPatchKernel(px.baseAddress!, pw.baseAddress!, pb, out.baseAddress!, batch: b,
                                               inChannels: c, height: h, width: w, outChannels: o, stride: s, scratch: buffer)
                }
            }
        }
    }
}
