import Foundation

// MARK: - 8-bit pixel kernels for image I/O, preprocessing and rendering
//
// Images are 8-bit, row-major, channels interleaved (`[H, W, C]`); tensors are planar Float
// (`[C, H, W]`). These loops back `FourMTokenizers.Image` and the renderers of spec/tokenizers.md
// section 9. Each is a single pass with no branches worth a twin, except where noted.

/// Pillow's `L24` luma: `(19595·R + 38470·G + 7471·B + 0x8000) >> 16` (Convert.c `rgb2l`).
@inline(__always)
package func pilLuma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
    UInt8(truncatingIfNeeded: (Int(r) * 19595 + Int(g) * 38470 + Int(b) * 7471 + 0x8000) >> 16)
}

/// Channel conversion with Pillow's `convert` semantics: src `[N, from]` → dst `[N, to]`, with
/// `from, to ∈ {1, 3, 4}`. Gray → colour replicates; colour → gray uses ``pilLuma`` (alpha is
/// ignored, as Pillow's `RGBA → L` does); dropping alpha discards it (no compositing, as
/// `RGBA → RGB`); adding alpha writes 255.
package func convertChannelsKernel(
    _ src: UnsafePointer<UInt8>, from: Int, _ dst: UnsafeMutablePointer<UInt8>, to: Int, pixels: Int
) {
    for i in 0..<pixels {
        let s = src + i * from
        let d = dst + i * to
        switch (from, to) {
        case (1, _):
            for c in 0..<min(to, 3) { d[c] = s[0] }
            if to == 4 { d[3] = 255 }
        case (_, 1):
            d[0] = pilLuma(s[0], s[1], s[2])
        default:
            d[0] = s[0]
            d[1] = s[1]
            d[2] = s[2]
            if to == 4 { d[3] = from == 4 ? s[3] : 255 }
        }
    }
}

/// CMYK → RGB as Pillow decodes a CMYK JPEG and converts it with `convert("RGB")`:
/// src `[N, 4]` → dst `[N, 3]`. `inverted` is true for files with an Adobe APP14 marker, whose
/// samples store `255 − ink` (Pillow's raw mode `CMYK;I`). Per channel:
/// `nk = 255 − k; out = clip(nk − muldiv255(c, nk))`, `muldiv255(a, b) = ((t >> 8) + t) >> 8`
/// with `t = a·b + 128` (Convert.c `cmyk2rgb`).
package func cmykToRGBKernel(
    _ src: UnsafePointer<UInt8>, inverted: Bool, _ dst: UnsafeMutablePointer<UInt8>, pixels: Int
) {
    @inline(__always) func ink(_ v: UInt8) -> Int { inverted ? 255 - Int(v) : Int(v) }
    for i in 0..<pixels {
        let s = src + i * 4
        let d = dst + i * 3
        let nk = 255 - ink(s[3])
        for c in 0..<3 {
            let t = ink(s[c]) * nk + 128
            let v = nk - (((t >> 8) + t) >> 8)
            d[c] = UInt8(min(max(v, 0), 255))
        }
    }
}

/// Copies a window of an interleaved image: src `[H, srcWidth, C]` from column `x`, row `y` →
/// dst `[height, width, C]`. The caller guarantees the window lies inside src.
package func cropKernel(
    _ src: UnsafePointer<UInt8>, srcWidth: Int, channels: Int, x: Int, y: Int,
    _ dst: UnsafeMutablePointer<UInt8>, width: Int, height: Int
) {
    let rowBytes = width * channels
    for r in 0..<height {
        (dst + r * rowBytes).update(
            from: src + ((y + r) * srcWidth + x) * channels, count: rowBytes)
    }
}

/// 8-bit interleaved → normalised planar Float, torchvision's `to_tensor` + `normalize`:
/// src `[N, C]` → dst `[C, N]`, `dst[c, i] = (Float(src[i, c]) / 255 − mean[c]) / std[c]`
/// evaluated in Float exactly in that order (so results equal PyTorch's bit for bit).
package func normalizeToPlanarKernel(
    _ src: UnsafePointer<UInt8>, channels: Int, pixels: Int, mean: [Float], std: [Float],
    _ dst: UnsafeMutablePointer<Float>
) {
    precondition(mean.count >= channels && std.count >= channels, "one mean and std per channel")
    for c in 0..<channels {
        let m = mean[c]
        let s = std[c]
        let plane = dst + c * pixels
        for i in 0..<pixels {
            plane[i] = (Float(src[i * channels + c]) / 255 - m) / s
        }
    }
}

/// Planar Float → 8-bit interleaved for viewing: src `[C, N]` → dst `[N, C]`,
/// `v = clamp(scale·x + offset, 0, 1)`, `dst = round(255·v)`; NaN becomes 0.
package func planarToPixelsKernel(
    _ src: UnsafePointer<Float>, channels: Int, pixels: Int, scale: Float, offset: Float,
    _ dst: UnsafeMutablePointer<UInt8>
) {
    for c in 0..<channels {
        let plane = src + c * pixels
        for i in 0..<pixels {
            let v = scale * plane[i] + offset
            let clamped: Float = v.isNaN ? 0 : min(max(v, 0), 1)
            dst[i * channels + c] = UInt8((clamped * 255).rounded())
        }
    }
}

/// Minimum and maximum of the finite values (NaN and ±∞ are skipped); `nil` if there are none.
package func finiteRangeKernel(_ src: UnsafeBufferPointer<Float>) -> (min: Float, max: Float)? {
    var low = Float.infinity
    var high = -Float.infinity
    for v in src where v.isFinite {
        if v < low { low = v }
        if v > high { high = v }
    }
    return low <= high ? (low, high) : nil
}

/// Colormap lookup after min-max normalisation: src `[N]` → dst `[N, 3]` from lut `[256, 3]`,
/// `n = (x − low)/(high − low)` (0 when `high == low`), index `min(floor(256·n), 255)` clamped
/// at 0 (matplotlib's `Colormap.__call__` on floats). Non-finite values map to index 0.
package func colormapKernel(
    _ src: UnsafeBufferPointer<Float>, low: Float, high: Float, lut: UnsafePointer<UInt8>,
    _ dst: UnsafeMutablePointer<UInt8>
) {
    let span = high - low
    for (i, v) in src.enumerated() {
        var index = 0
        if v.isFinite && span > 0 {
            let n = (v - low) / span
            index = min(max(Int((n * 256).rounded(.down)), 0), 255)
        }
        let entry = lut + index * 3
        dst[i * 3] = entry[0]
        dst[i * 3 + 1] = entry[1]
        dst[i * 3 + 2] = entry[2]
    }
}

/// Argmax over channels: src `[C, N]` → dst `[N]` (ties → lowest channel; NaN never wins).
package func channelArgmaxKernel(
    _ src: UnsafePointer<Float>, channels: Int, pixels: Int, _ dst: UnsafeMutablePointer<Int32>
) {
    for i in 0..<pixels {
        var best = 0
        var bestValue = src[i]
        for c in 1..<max(channels, 1) {
            let v = src[c * pixels + i]
            if v > bestValue || (bestValue.isNaN && !v.isNaN) {
                best = c
                bestValue = v
            }
        }
        dst[i] = Int32(best)
    }
}

/// Palette lookup: labels `[N]` (each in `0..<paletteCount`, checked by the caller) → dst
/// `[N, 3]` from palette `[paletteCount, 3]`.
package func paletteKernel(
    _ labels: UnsafeBufferPointer<Int32>, palette: UnsafePointer<UInt8>,
    _ dst: UnsafeMutablePointer<UInt8>
) {
    for (i, label) in labels.enumerated() {
        let entry = palette + Int(label) * 3
        dst[i * 3] = entry[0]
        dst[i * 3 + 1] = entry[1]
        dst[i * 3 + 2] = entry[2]
    }
}

/// Fills the rectangle `[x0, x1) × [y0, y1)` (clipped to the image) of dst `[height, width, C]`
/// with `color` (`C` values).
package func fillRectangleKernel(
    _ dst: UnsafeMutablePointer<UInt8>, width: Int, height: Int, channels: Int,
    x0: Int, y0: Int, x1: Int, y1: Int, color: [UInt8]
) {
    let left = max(x0, 0)
    let right = min(x1, width)
    let top = max(y0, 0)
    let bottom = min(y1, height)
    guard left < right, top < bottom, color.count >= channels else { return }
    for y in top..<bottom {
        let row = dst + (y * width) * channels
        for x in left..<right {
            for c in 0..<channels { row[x * channels + c] = color[c] }
        }
    }
}

/// Histogram of integer labels: labels `[N]` → counts `[classes]`. Returns the first label
/// outside `0..<classes` instead, if any (nothing is counted then).
package func labelCountsKernel(
    _ labels: UnsafeBufferPointer<Int32>, classes: Int
) -> Result<[Int], LabelOutOfRange> {
    var counts = [Int](repeating: 0, count: classes)
    for (i, label) in labels.enumerated() {
        guard label >= 0, Int(label) < classes else {
            return .failure(LabelOutOfRange(index: i, label: label))
        }
        counts[Int(label)] += 1
    }
    return .success(counts)
}

/// The first out-of-range label found by ``labelCountsKernel(_:classes:)``.
package struct LabelOutOfRange: Error, Equatable {
    /// Flat position of the label.
    package let index: Int
    /// The label value.
    package let label: Int32
}
