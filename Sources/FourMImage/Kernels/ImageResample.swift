import Foundation

// MARK: - PIL-compatible 8-bit resampling (spec/model.md 7.1 step 1 and 6.13)
//
// Pillow's `Image.resize(size, Image.BICUBIC)` (libImaging/Resample.c) is a separable
// convolution: horizontal pass first (only over the source rows the vertical pass will read),
// then vertical, with an 8-bit image in between. The filter is the cubic convolution kernel with
// a = −0.5 and support 2, stretched by the downscale factor (that stretch is the antialiasing).
// Coefficients are computed in Double, normalised to sum 1, then rounded to fixed point with
// 22 fractional bits; accumulation is integer with a +0.5 rounding bias, clipped to 0…255.
// Reproducing each of these steps makes the output bit-identical to Pillow's (versions up to 12,
// which always run the horizontal pass first; Pillow 13 chooses the order by a cost estimate).

/// Fractional bits of Pillow's fixed-point coefficients (`PRECISION_BITS = 32 − 8 − 2`).
private let pilPrecisionBits = 22

/// Pillow's bicubic filter (`bicubic_filter`, a = −0.5), support 2.
@inline(__always)
private func pilBicubicFilter(_ value: Double) -> Double {
    let a = -0.5
    let x = value < 0 ? -value : value
    if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
    if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
    return 0
}

/// Pillow's `clip8`: fixed-point accumulator → 8-bit value.
@inline(__always)
private func pilClip8(_ value: Int) -> UInt8 {
    if value >= (1 << pilPrecisionBits) << 8 { return 255 }
    if value <= 0 { return 0 }
    return UInt8(truncatingIfNeeded: value >> pilPrecisionBits)
}

/// Rounds a Double coefficient to Pillow's fixed point (`normalize_coeffs_8bpc`).
@inline(__always)
private func pilFixedPoint(_ value: Double) -> Int32 {
    let scaled = value * Double(1 << pilPrecisionBits)
    return Int32(value < 0 ? (-0.5 + scaled) : (0.5 + scaled))  // C cast: truncation toward zero
}

/// Resampling taps of one axis, as Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`
/// compute them for an input span `[0, inputSize)` and `outputSize` outputs.
package struct PILResampleTaps: Sendable, Equatable {
    /// Maximum number of taps per output (`ksize`).
    package let kernelSize: Int
    /// `[outputSize]` first input index read by each output (`xmin`).
    package let first: [Int]
    /// `[outputSize]` number of inputs read by each output (`xmax − xmin`).
    package let count: [Int]
    /// `[outputSize, kernelSize]` fixed-point coefficients (22 fractional bits), zero past `count`.
    package let coefficients: [Int32]

    /// Computes the bicubic taps for resizing an axis of `inputSize` samples to `outputSize`.
    package init(bicubicFrom inputSize: Int, to outputSize: Int) {
        precondition(inputSize > 0 && outputSize > 0, "resample sizes must be positive")
        let support = 2.0
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let scaledSupport = support * filterScale
        let kernelSize = Int(scaledSupport.rounded(.up)) * 2 + 1
        var first = [Int](repeating: 0, count: outputSize)
        var count = [Int](repeating: 0, count: outputSize)
        var coefficients = [Int32](repeating: 0, count: outputSize * kernelSize)
        var weights = [Double](repeating: 0, count: kernelSize)
        let inverseFilterScale = 1.0 / filterScale
        for o in 0..<outputSize {
            let center = (Double(o) + 0.5) * scale
            let low = max(Int(center - scaledSupport + 0.5), 0)
            let high = min(Int(center + scaledSupport + 0.5), inputSize)
            let n = min(max(high - low, 0), kernelSize)
            var total = 0.0
            for x in 0..<n {
                let w = pilBicubicFilter((Double(x + low) - center + 0.5) * inverseFilterScale)
                weights[x] = w
                total += w
            }
            for x in 0..<n {
                let w = total != 0 ? weights[x] / total : weights[x]
                coefficients[o * kernelSize + x] = pilFixedPoint(w)
            }
            first[o] = low
            count[o] = n
        }
        self.kernelSize = kernelSize
        self.first = first
        self.count = count
        self.coefficients = coefficients
    }
}

/// Horizontal pass: rows `firstRow ..< firstRow + rows` of src `[inHeight, inWidth, C]` →
/// dst `[rows, outWidth, C]`, with `taps` built for `inWidth → outWidth`.
package func pilResampleHorizontalKernel(
    _ src: UnsafePointer<UInt8>, inWidth: Int, firstRow: Int, rows: Int, channels: Int,
    _ dst: UnsafeMutablePointer<UInt8>, outWidth: Int, taps: PILResampleTaps
) {
    let half = 1 << (pilPrecisionBits - 1)
    taps.coefficients.withUnsafeBufferPointer { k in
        for r in 0..<rows {
            let srcRow = src + (firstRow + r) * inWidth * channels
            let dstRow = dst + r * outWidth * channels
            for o in 0..<outWidth {
                let low = taps.first[o]
                let n = taps.count[o]
                let kk = k.baseAddress! + o * taps.kernelSize
                for c in 0..<channels {
                    var sum = half
                    var p = srcRow + low * channels + c
                    for x in 0..<n {
                        sum += Int(p.pointee) * Int(kk[x])
                        p += channels
                    }
                    dstRow[o * channels + c] = pilClip8(sum)
                }
            }
        }
    }
}

/// Vertical pass: src `[inRows, width, C]` → dst `[outHeight, width, C]`; output row `o` reads
/// src rows `taps.first[o] − rowOffset ..< + taps.count[o]`.
package func pilResampleVerticalKernel(
    _ src: UnsafePointer<UInt8>, width: Int, channels: Int, rowOffset: Int,
    _ dst: UnsafeMutablePointer<UInt8>, outHeight: Int, taps: PILResampleTaps
) {
    let half = 1 << (pilPrecisionBits - 1)
    let rowLength = width * channels
    var sums = [Int](repeating: 0, count: rowLength)
    taps.coefficients.withUnsafeBufferPointer { k in
        sums.withUnsafeMutableBufferPointer { acc in
            for o in 0..<outHeight {
                let low = taps.first[o] - rowOffset
                let n = taps.count[o]
                let kk = k.baseAddress! + o * taps.kernelSize
                for i in 0..<rowLength { acc[i] = half }
                for y in 0..<n {
                    let weight = Int(kk[y])
                    let row = src + (low + y) * rowLength
                    for i in 0..<rowLength { acc[i] += Int(row[i]) * weight }
                }
                let dstRow = dst + o * rowLength
                for i in 0..<rowLength { dstRow[i] = pilClip8(acc[i]) }
            }
        }
    }
}

/// PIL-bicubic resize of an 8-bit interleaved image: src `[inHeight, inWidth, C]` →
/// `[outHeight, outWidth, C]`, bit-identical to Pillow's `Image.resize(…, BICUBIC)` on "L" and
/// "RGB" images (an alpha channel is resampled like any other channel; Pillow premultiplies it).
package func pilBicubicResizeKernel(
    _ src: UnsafeBufferPointer<UInt8>, inWidth: Int, inHeight: Int, channels: Int,
    outWidth: Int, outHeight: Int
) -> [UInt8] {
    precondition(src.count == inWidth * inHeight * channels, "pixel count does not match the size")
    let needHorizontal = outWidth != inWidth
    let needVertical = outHeight != inHeight
    let horizontal = PILResampleTaps(bicubicFrom: inWidth, to: outWidth)
    let vertical = PILResampleTaps(bicubicFrom: inHeight, to: outHeight)
    guard let base = src.baseAddress else { return [] }
    // Rows the vertical pass reads (Pillow resamples only those horizontally).
    let firstRow = needVertical ? vertical.first[0] : 0
    let lastRow =
        needVertical ? vertical.first[outHeight - 1] + vertical.count[outHeight - 1] : inHeight
    var stage = [UInt8]()
    var stageOffset = 0
    if needHorizontal {
        let stageRows = lastRow - firstRow
        stageOffset = firstRow
        stage = [UInt8](unsafeUninitializedCapacity: stageRows * outWidth * channels) { out, n in
            pilResampleHorizontalKernel(
                base, inWidth: inWidth, firstRow: firstRow, rows: stageRows, channels: channels,
                out.baseAddress!, outWidth: outWidth, taps: horizontal)
            n = stageRows * outWidth * channels
        }
    } else {
        stage = Array(src)
    }
    guard needVertical else { return stage }
    let width = needHorizontal ? outWidth : inWidth
    return stage.withUnsafeBufferPointer { staged in
        [UInt8](unsafeUninitializedCapacity: outHeight * width * channels) { out, n in
            pilResampleVerticalKernel(
                staged.baseAddress!, width: width, channels: channels, rowOffset: stageOffset,
                out.baseAddress!, outHeight: outHeight, taps: vertical)
            n = outHeight * width * channels
        }
    }
}

/// Plain twin of ``pilBicubicResizeKernel``: recomputes each output's taps on the spot (no
/// tables, no row window) and applies them pixel by pixel, horizontal then vertical, with the
/// same fixed-point arithmetic. Slow; for tests.
package func pilBicubicResizeReference(
    _ src: [UInt8], inWidth: Int, inHeight: Int, channels: Int, outWidth: Int, outHeight: Int
) -> [UInt8] {
    func taps(_ o: Int, _ inSize: Int, _ outSize: Int) -> [(index: Int, weight: Int)] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 2.0 * filterScale
        let center = (Double(o) + 0.5) * scale
        let low = max(Int(center - support + 0.5), 0)
        let high = min(Int(center + support + 0.5), inSize)
        guard high > low else { return [] }
        let inverseScale = 1.0 / filterScale
        let raw = (low..<high).map { pilBicubicFilter((Double($0) - center + 0.5) * inverseScale) }
        let total = raw.reduce(0, +)
        return zip(low..<high, raw).map { ($0, Int(pilFixedPoint(total != 0 ? $1 / total : $1))) }
    }
    func apply(_ values: [(Int, Int)], _ read: (Int) -> UInt8) -> UInt8 {
        var sum = 1 << (pilPrecisionBits - 1)
        for (i, w) in values { sum += Int(read(i)) * w }
        return pilClip8(sum)
    }
    var mid = src
    var midWidth = inWidth
    if outWidth != inWidth {
        mid = [UInt8](repeating: 0, count: inHeight * outWidth * channels)
        for x in 0..<outWidth {
            let t = taps(x, inWidth, outWidth)
            for y in 0..<inHeight {
                for c in 0..<channels {
                    mid[(y * outWidth + x) * channels + c] = apply(t) {
                        src[(y * inWidth + $0) * channels + c]
                    }
                }
            }
        }
        midWidth = outWidth
    }
    guard outHeight != inHeight else { return mid }
    var out = [UInt8](repeating: 0, count: outHeight * midWidth * channels)
    for y in 0..<outHeight {
        let t = taps(y, inHeight, outHeight)
        for x in 0..<midWidth {
            for c in 0..<channels {
                out[(y * midWidth + x) * channels + c] = apply(t) {
                    mid[($0 * midWidth + x) * channels + c]
                }
            }
        }
    }
    return out
}

/// PIL `NEAREST` resize: src `[inHeight, inWidth, C]` → dst `[outHeight, outWidth, C]`; output
/// `o` reads input `floor(s·0.5 + s·o)` with `s = in/out` (Pillow's affine nearest sampler).
/// Used for label maps, which must never be interpolated (spec/tokenizers.md 6.5).
package func pilNearestResizeKernel(
    _ src: UnsafePointer<UInt8>, inWidth: Int, inHeight: Int, channels: Int,
    _ dst: UnsafeMutablePointer<UInt8>, outWidth: Int, outHeight: Int
) {
    func index(_ o: Int, _ inSize: Int, _ outSize: Int) -> Int {
        let s = Double(inSize) / Double(outSize)
        return min(max(Int(s * 0.5 + s * Double(o)), 0), inSize - 1)
    }
    let columns = (0..<outWidth).map { index($0, inWidth, outWidth) }
    for y in 0..<outHeight {
        let row = src + index(y, inHeight, outHeight) * inWidth * channels
        let out = dst + y * outWidth * channels
        for x in 0..<outWidth {
            let from = row + columns[x] * channels
            for c in 0..<channels { out[x * channels + c] = from[c] }
        }
    }
}
