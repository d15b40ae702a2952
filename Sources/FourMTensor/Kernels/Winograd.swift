import Foundation

// MARK: - Winograd F(2×2, 3×3) convolution (stride 1, padding 1, groups 1)
//
// Lavin & Gray 2016: Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A per 2×2 output tile, which turns a 3×3
// convolution into 16 matrix products of [O, C]·[C, tiles], 2.25× fewer multiplications than
// im2col. It computes PyTorch's cross-correlation exactly in real arithmetic; in float32 the
// transforms add a few ulps (the tests compare against the direct Double twin).
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//   G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//   Aᵀ = [1 1 1 0; 0 1 −1 −1]

/// Whether the Winograd path applies to a geometry: 3×3, stride 1, padding 1, one group.
///
/// ``conv2d(_:weight:bias:stride:padding:groups:scratch:algorithm:)`` uses it only when asked
/// (`.winograd`): measured on the 224 UNet, the per-call weight transform (16·O·C floats
/// written per convolution) ate the 2.25× saving in multiplications — single-threaded 2.09 s
/// (im2col) versus 2.10–2.22 s per step — so `.automatic` stays on im2col. Transforming the
/// weights once at load would remove that cost at 16/9 the weight memory.
package func winogradApplies(_ g: ConvolutionGeometry) -> Bool {
    g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 1 && g.padding == 1 && g.groups == 1
}

/// Tiles needed along a side of `n` outputs.
@inline(__always) func winogradTiles(_ n: Int) -> Int { (n + 1) / 2 }

/// Tile rows per chunk so that the transformed input and product of one chunk stay near
/// `chunkFloats` floats.
func winogradTileRowsPerChunk(_ g: ConvolutionGeometry) -> Int {
    let tilesW = winogradTiles(g.width), tilesH = winogradTiles(g.height)
    return max(1, min(tilesH, g.chunkFloats / max(16 * (g.inChannels + g.outChannels) * tilesW, 1)))
}

/// Floats of scratch ``winogradConv3x3Kernel`` needs: the transformed weights `[16, O, C]`, the
/// transformed input `[16, C, tiles]` and the products `[16, O, tiles]` of one chunk.
package func winogradScratchCount(_ g: ConvolutionGeometry) -> Int {
    let tiles = winogradTileRowsPerChunk(g) * winogradTiles(g.width)
    return 16 * (g.outChannels * g.inChannels + (g.inChannels + g.outChannels) * tiles)
}

/// 3×3 convolution, stride 1, padding 1, via Winograd F(2×2, 3×3).
///
/// x: `[B, C, H, W]`, weight: `[O, C, 3, 3]`, bias: `[O]` or nil, out: `[B, O, H, W]`;
/// `scratch` holds ``winogradScratchCount(_:)`` floats. Chunked over rows of output tiles.
package func winogradConv3x3Kernel(
    _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
    _ out: UnsafeMutablePointer<Float>, geometry g: ConvolutionGeometry, scratch: UnsafeMutablePointer<Float>
) {
    let (c, o, h, w) = (g.inChannels, g.outChannels, g.height, g.width)
    let tilesW = winogradTiles(w), tilesH = winogradTiles(h)
    let rowsPerChunk = winogradTileRowsPerChunk(g)
    let u = scratch
    let v = scratch + 16 * o * c
    let m = v + 16 * c * rowsPerChunk * tilesW
    winogradWeightTransform(weight, u, outChannels: o, inChannels: c)
    for b in 0..<g.batch {
        let xb = x + b * c * h * w
        let yb = out + b * o * h * w
        var row = 0
        while row < tilesH {
            let rows = min(rowsPerChunk, tilesH - row)
            let tiles = rows * tilesW
            winogradInputTransform(xb, v, channels: c, height: h, width: w, tileRow: row, tileRows: rows)
            for xi in 0..<16 {
                gemm(u + xi * o * c, v + xi * c * tiles, m + xi * o * tiles, m: o, n: tiles, k: c, lda: c, ldb: tiles, ldc: tiles,
                     transposeB: false)
            }
            winogradOutputTransform(m, bias, yb, channels: o, height: h, width: w, tileRow: row, tileRows: rows)
            row += rows
        }
    }
}

/// U[ξ][o][c] = (G g Gᵀ)[ξ] for every 3×3 filter g = weight[o, c].
func winogradWeightTransform(_ weight: UnsafePointer<Float>, _ u: UnsafeMutablePointer<Float>, outChannels o: Int, inChannels c: Int) {
    let (src, dst) = (SendableConstPointer(weight), SendablePointer(u))
    let planes = o * c
    parallelChunks(planes, minimumPerChunk: 4096) { range in
        for p in range {
            let g = src.base + p * 9
            // G·g: four rows of three (columns of g combined).
            let g0 = SIMD4<Float>(g[0], g[1], g[2], 0), g1 = SIMD4<Float>(g[3], g[4], g[5], 0), g2 = SIMD4<Float>(g[6], g[7], g[8], 0)
            func store(_ r: Int, _ row: SIMD4<Float>) {
                let (a, b, e) = (row[0], row[1], row[2])
                dst.base[(r * 4 + 0) * planes + p] = a
                dst.base[(r * 4 + 1) * planes + p] = (a + b + e) * 0.5
                dst.base[(r * 4 + 2) * planes + p] = (a - b + e) * 0.5
                dst.base[(r * 4 + 3) * planes + p] = e
            }
            store(0, g0)
            store(1, (g0 + g1 + g2) * 0.5)
            store(2, (g0 - g1 + g2) * 0.5)
            store(3, g2)
        }
    }
}

/// V[ξ][c][t] = (Bᵀ d B)[ξ] for the 4×4 input patch d of every tile t of tile rows
/// `[tileRow, tileRow + tileRows)` (zero outside the image).
func winogradInputTransform(
    _ x: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>, channels: Int, height h: Int, width w: Int, tileRow: Int, tileRows: Int
) {
    let tilesW = winogradTiles(w)
    let tiles = tileRows * tilesW
    let (src, dst) = (SendableConstPointer(x), SendablePointer(v))
    parallelChunks(channels, minimumPerChunk: max(1, 8192 / max(tiles, 1))) { range in
        for ch in range {
            let plane = src.base + ch * h * w
            let planeOut = dst.base + ch * tiles
            let stride = channels * tiles  // between ξ planes
            for ty in 0..<tileRows {
                let y0 = 2 * (tileRow + ty) - 1
                for tx in 0..<tilesW {
                    let x0 = 2 * tx - 1
                    var d = (SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>(), SIMD4<Float>())
                    if y0 >= 0 && y0 + 3 < h && x0 >= 0 && x0 + 3 < w {
                        let base = plane + y0 * w + x0
                        d.0 = SIMD4(base[0], base[1], base[2], base[3])
                        d.1 = SIMD4(base[w], base[w + 1], base[w + 2], base[w + 3])
                        d.2 = SIMD4(base[2 * w], base[2 * w + 1], base[2 * w + 2], base[2 * w + 3])
                        d.3 = SIMD4(base[3 * w], base[3 * w + 1], base[3 * w + 2], base[3 * w + 3])
                    } else {
                        func load(_ i: Int) -> SIMD4<Float> {
                            let y = y0 + i
                            guard y >= 0 && y < h else { return SIMD4() }
                            var row = SIMD4<Float>()
                            for j in 0..<4 where x0 + j >= 0 && x0 + j < w { row[j] = plane[y * w + x0 + j] }
                            return row
                        }
                        d = (load(0), load(1), load(2), load(3))
                    }
                    // Bᵀ·d (rows), then ·B (columns).
                    let rows = (d.0 - d.2, d.1 + d.2, d.2 - d.1, d.1 - d.3)
                    let out = planeOut + ty * tilesW + tx
                    func store(_ i: Int, _ r: SIMD4<Float>) {
                        out[(i * 4 + 0) * stride] = r[0] - r[2]
                        out[(i * 4 + 1) * stride] = r[1] + r[2]
                        out[(i * 4 + 2) * stride] = r[2] - r[1]
                        out[(i * 4 + 3) * stride] = r[1] - r[3]
                    }
                    store(0, rows.0)
                    store(1, rows.1)
                    store(2, rows.2)
                    store(3, rows.3)
                }
            }
        }
    }
}

/// Output tiles Aᵀ m A from the products M[ξ][o][t], cropped to the image, plus bias.
func winogradOutputTransform(
    _ m: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>, channels: Int, height h: Int,
    width w: Int, tileRow: Int, tileRows: Int
) {
    let tilesW = winogradTiles(w)
    let tiles = tileRows * tilesW
    let (src, dst) = (SendableConstPointer(m), SendablePointer(out))
    let shift = bias.map(SendableConstPointer.init)
    parallelChunks(channels, minimumPerChunk: max(1, 8192 / max(tiles, 1))) { range in
        for o in range {
            let beta = shift?.base[o] ?? 0
            let plane = dst.base + o * h * w
            for ty in 0..<tileRows {
                for tx in 0..<tilesW {
                    let tile = ty * tilesW + tx
                    func at(_ xi: Int) -> Float { src.base[(xi * channels + o) * tiles + tile] }
                    // Aᵀ·m (2×4), then ·A (2×2).
                    var s0 = (Float(0), Float(0), Float(0), Float(0)), s1 = s0
                    s0.0 = at(0) + at(4) + at(8)
                    s0.1 = at(1) + at(5) + at(9)
                    s0.2 = at(2) + at(6) + at(10)
                    s0.3 = at(3) + at(7) + at(11)
                    s1.0 = at(4) - at(8) - at(12)
                    s1.1 = at(5) - at(9) - at(13)
                    s1.2 = at(6) - at(10) - at(14)
                    s1.3 = at(7) - at(11) - at(15)
                    let y = 2 * (tileRow + ty), x = 2 * tx
                    plane[y * w + x] = s0.0 + s0.1 + s0.2 + beta
                    if x + 1 < w { plane[y * w + x + 1] = s0.1 - s0.2 - s0.3 + beta }
                    if y + 1 < h {
                        plane[(y + 1) * w + x] = s1.0 + s1.1 + s1.2 + beta
                        if x + 1 < w { plane[(y + 1) * w + x + 1] = s1.1 - s1.2 - s1.3 + beta }
                    }
                }
            }
        }
    }
}
