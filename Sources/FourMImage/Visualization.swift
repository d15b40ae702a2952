import FourMTensor

// MARK: - Turning decoded values into images a person can read (spec/tokenizers.md 9)

/// Renderers for decoded 4M outputs, following what the reference's `plotting_utils` shows
/// (spec/tokenizers.md 9). Each takes the decoder's tensor, checks its shape, and returns an
/// 8-bit ``Image``; a leading batch axis of 1 is accepted everywhere (slice larger batches
/// with `tensor.slice(i..<i+1)` first).
///
/// ```swift
/// let depthImage = try Visualization.depth(decodedDepth)            // turbo colours
/// let labels = try Visualization.semanticSegmentation(logits: logits)
/// let legend = try Visualization.semanticSegmentationLegend(labels: argmaxLabels)
/// try Visualization.boxes(boxes, on: photo).writePNG(to: URL(filePath: "det.png"))
/// ```
public enum Visualization {
    /// Decoded RGB `[3, H, W]` or `[1, 3, H, W]`, values ~[−1, 1], as an RGB image:
    /// `clamp(0.5·x + 0.5, 0, 1)` per channel, then `round(255·v)` (spec/tokenizers.md 6.1, 9).
    /// - Parameter values: the decoder output.
    /// - Returns: a `W × H` RGB image.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape.
    public static func rgb(_ values: Tensor<Float>) throws(ImageError) -> Image {
        try signedUnit(values, channels: 3, argument: "rgb")
    }

    /// Decoded surface normals `[3, H, W]` or `[1, 3, H, W]` in ~[−1, 1] (x, y, z), shown as RGB
    /// with `clamp(0.5·x + 0.5, 0, 1)` (spec/tokenizers.md 6.3, 9): the colour encoding of the
    /// normal PNGs the tokenizer was trained on.
    /// - Parameter values: the decoder output.
    /// - Returns: a `W × H` RGB image.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape.
    public static func surfaceNormals(_ values: Tensor<Float>) throws(ImageError) -> Image {
        try signedUnit(values, channels: 3, argument: "surfaceNormals")
    }

    /// Decoded edges `[H, W]`, `[1, H, W]` or `[1, 1, H, W]` in ~[−1, 1], as a gray image:
    /// `clamp(0.5·(x + 1), 0, 1)`, edges white on black (spec/tokenizers.md 6.4, 9).
    /// - Parameter values: the decoder output.
    /// - Returns: a `W × H` one-channel image.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape.
    public static func edges(_ values: Tensor<Float>) throws(ImageError) -> Image {
        try signedUnit(values, channels: 1, argument: "edges")
    }

    /// Decoded depth `[H, W]`, `[1, H, W]` or `[1, 1, H, W]` (standardised relative depth, any
    /// range) coloured with matplotlib's **turbo** colormap, the reference's choice
    /// (spec/tokenizers.md 9): per image `n = (d − min)/(max − min)`, colour =
    /// `turbo[min(floor(256·n), 255)]`. Small values are dark blue, large ones dark red. A
    /// constant map (where the reference divides by zero) and non-finite values take
    /// `turbo[0]`; non-finite values are left out of min and max.
    /// - Parameter values: the decoder output.
    /// - Returns: a `W × H` RGB image.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape.
    public static func depth(_ values: Tensor<Float>) throws(ImageError) -> Image {
        let (_, height, width) = try planes(values.shape, channels: 1, argument: "depth")
        let count = width * height
        let pixels = values.withUnsafeBufferPointer { src in
            let range = finiteRangeKernel(src) ?? (0, 0)
            return TurboColormap.lookupTable.withUnsafeBufferPointer { lut in
                [UInt8](unsafeUninitializedCapacity: count * 3) { dst, n in
                    colormapKernel(
                        src, low: range.min, high: range.max, lut: lut.baseAddress!,
                        dst.baseAddress!)
                    n = count * 3
                }
            }
        }
        return Image(unchecked: width, height, 3, pixels)
    }

    // MARK: Shared helpers

    /// `[C, H, W]` from `[C, H, W]`, `[1, C, H, W]`, and for `C = 1` also `[H, W]`.
    static func planes(_ shape: [Int], channels: Int, argument: String) throws(ImageError)
        -> (channels: Int, height: Int, width: Int)
    {
        var dims = shape
        if dims.count == 4, dims[0] == 1 { dims.removeFirst() }
        if channels == 1, dims.count == 2 { dims.insert(1, at: 0) }
        let expected =
            channels == 1
            ? "[H, W], [1, H, W] or [1, 1, H, W]" : "[\(channels), H, W] or [1, \(channels), H, W]"
        guard dims.count == 3, dims[0] == channels, dims[1] >= 1, dims[2] >= 1,
            dims[1] <= Image.maximumPixelCount, dims[2] <= Image.maximumPixelCount,
            dims[1] * dims[2] <= Image.maximumPixelCount
        else {
            throw .invalidTensor(
                argument: argument,
                expected: expected + " with 1 <= H·W <= \(Image.maximumPixelCount)",
                actual: "shape \(shape)")
        }
        return (dims[0], dims[1], dims[2])
    }

    static func signedUnit(_ values: Tensor<Float>, channels: Int, argument: String)
        throws(ImageError) -> Image
    {
        let (c, height, width) = try planes(values.shape, channels: channels, argument: argument)
        let count = width * height
        let pixels = values.withUnsafeBufferPointer { src in
            [UInt8](unsafeUninitializedCapacity: count * c) { dst, n in
                planarToPixelsKernel(
                    src.baseAddress!, channels: c, pixels: count, scale: 0.5, offset: 0.5,
                    dst.baseAddress!)
                n = count * c
            }
        }
        return Image(unchecked: width, height, c, pixels)
    }
}
