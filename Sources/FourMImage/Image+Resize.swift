import FourMTensor

// MARK: - Resizing (spec/model.md 7.1 step 1 and 6.13)

extension Image {
    /// Resized with Pillow's bicubic filter, bit-identical to `Image.resize((w, h), BICUBIC)`
    /// for gray and RGB images.
    ///
    /// Pillow's semantics, reproduced step by step: separable (horizontal pass first), cubic
    /// kernel with a = −0.5, support widened by the downscale factor (antialiasing), taps
    /// normalised and rounded to 22-bit fixed point, 8-bit rounding and clipping after each
    /// pass. Pillow up to 12 always runs the horizontal pass first, and so does this; Pillow 13
    /// picks the order by a cost estimate and can then differ by a few levels. Deviation: an
    /// alpha channel is resampled like a colour channel, whereas Pillow
    /// premultiplies RGBA before resizing; 4M inputs are converted to RGB first, so this only
    /// affects callers resizing RGBA themselves.
    /// - Parameters:
    ///   - newWidth: output width, ≥ 1.
    ///   - newHeight: output height, ≥ 1.
    /// - Returns: the resized image with the same channels.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` for a size below 1
    ///   or above ``maximumPixelCount``.
    public func resized(width newWidth: Int, height newHeight: Int) throws(ImageError) -> Image {
        try Self.checkSize(newWidth, newHeight)
        if newWidth == width, newHeight == height { return self }
        let out = pixels.withUnsafeBufferPointer { src in
            pilBicubicResizeKernel(
                src, inWidth: width, inHeight: height, channels: channels,
                outWidth: newWidth, outHeight: newHeight)
        }
        return Image(unchecked: newWidth, newHeight, channels, out)
    }

    /// Resized with Pillow's nearest-neighbour sampler (`Image.resize(…, NEAREST)`): output
    /// pixel `o` copies input `floor(s·(o + 0.5))`, `s = in/out`. Use it for label maps, which
    /// must never be interpolated (spec/tokenizers.md 6.5, 8.1).
    /// - Parameters:
    ///   - newWidth: output width, ≥ 1.
    ///   - newHeight: output height, ≥ 1.
    /// - Returns: the resized image with the same channels.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` for a size below 1
    ///   or above ``maximumPixelCount``.
    public func resizedNearest(width newWidth: Int, height newHeight: Int) throws(ImageError)
        -> Image
    {
        try Self.checkSize(newWidth, newHeight)
        if newWidth == width, newHeight == height { return self }
        let count = newWidth * newHeight * channels
        let out = pixels.withUnsafeBufferPointer { src in
            [UInt8](unsafeUninitializedCapacity: count) { dst, n in
                pilNearestResizeKernel(
                    src.baseAddress!, inWidth: width, inHeight: height, channels: channels,
                    dst.baseAddress!, outWidth: newWidth, outHeight: newHeight)
                n = count
            }
        }
        return Image(unchecked: newWidth, newHeight, channels, out)
    }

    static func checkSize(_ width: Int, _ height: Int) throws(ImageError) {
        guard width >= 1, height >= 1, width <= maximumPixelCount, height <= maximumPixelCount,
            width * height <= maximumPixelCount
        else {
            throw .invalidArgument(
                argument: "size", expected: "1 <= width·height <= \(maximumPixelCount)",
                actual: "\(width)x\(height)")
        }
    }
}
