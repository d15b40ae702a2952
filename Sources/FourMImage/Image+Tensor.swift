import FourMTensor

// MARK: - Pixels → model tensors (spec/model.md 7.1 step 1; spec/tokenizers.md 6.1, 8.1)

/// Per-channel mean and standard deviation applied after scaling 8-bit values to `[0, 1]`:
/// `x = (v/255 − mean) / std`, torchvision's `to_tensor` + `normalize` (spec/tokenizers.md 8.1).
public struct PixelNormalization: Sendable, Equatable {
    /// Mean per channel (R, G, B).
    public let mean: [Float]
    /// Standard deviation per channel (R, G, B), each non-zero.
    public let std: [Float]

    /// Creates a normalisation from three means and three standard deviations.
    /// - Parameters:
    ///   - mean: R, G, B means.
    ///   - std: R, G, B standard deviations (non-zero).
    public init(mean: (Float, Float, Float), std: (Float, Float, Float)) {
        self.mean = [mean.0, mean.1, mean.2]
        self.std = [std.0, std.1, std.2]
    }

    /// ImageNet statistics, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225): the 4M pixel
    /// input `rgb@224` and the CLIP/DINOv2 teachers (spec/tokenizers.md 8.1).
    public static let imageNet = PixelNormalization(
        mean: (0.485, 0.456, 0.406), std: (0.229, 0.224, 0.225))

    /// Mean = std = 0.5, mapping `[0, 255]` to `[−1, 1]`: the RGB tokenizer and surface normals
    /// (spec/tokenizers.md 6.1, 6.3).
    public static let symmetric = PixelNormalization(mean: (0.5, 0.5, 0.5), std: (0.5, 0.5, 0.5))
}

extension Image {
    /// The model's view of a photo before normalisation: converted to RGB, centre-cropped to
    /// the short side (torchvision's rule), resized to `size × size` with Pillow's bicubic
    /// filter (spec/model.md 7.1 step 1).
    /// - Parameter size: output side, ≥ 1 (224 for `rgb@224`, 448 for `rgb@448`).
    /// - Returns: a `size × size` RGB image.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` for a bad size.
    public func preprocessed(size: Int = 224) throws(ImageError) -> Image {
        try rgb().centerCroppedToSquare().resized(width: size, height: size)
    }

    /// The `[1, 3, size, size]` float tensor 4M and its tokenizers take: ``preprocessed(size:)``
    /// then `(v/255 − mean)/std` per channel, computed in Float in PyTorch's order.
    ///
    /// ```swift
    /// let rgb224 = try photo.normalizedTensor(size: 224)                            // rgb@224
    /// let signed = try photo.normalizedTensor(size: 224, normalization: .symmetric)  // [−1, 1]
    /// ```
    /// - Parameters:
    ///   - size: output side, ≥ 1.
    ///   - normalization: ``PixelNormalization/imageNet`` for `rgb@224` (the default),
    ///     ``PixelNormalization/symmetric`` for the RGB tokenizer's `[−1, 1]` convention.
    /// - Returns: `[1, 3, size, size]`, channels R, G, B.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` for a bad size.
    public func normalizedTensor(size: Int = 224, normalization: PixelNormalization = .imageNet)
        throws(ImageError) -> Tensor<Float>
    {
        try Self.batchTensor([self], size: size, normalization: normalization)
    }

    /// The planar tensor of this image as it is (no crop, no resize), RGB-converted and
    /// normalised: `[1, 3, height, width]`.
    /// - Parameter normalization: the per-channel statistics; ImageNet by default.
    /// - Returns: `[1, 3, height, width]`.
    public func planarTensor(normalization: PixelNormalization = .imageNet) -> Tensor<Float> {
        let image = rgb()
        let count = image.width * image.height
        return image.pixels.withUnsafeBufferPointer { src in
            Tensor<Float>(shape: [1, 3, image.height, image.width]) { dst in
                normalizeToPlanarKernel(
                    src.baseAddress!, channels: 3, pixels: count,
                    mean: normalization.mean, std: normalization.std, dst.baseAddress!)
            }
        }
    }

    /// Several photos as one batch: each goes through ``normalizedTensor(size:normalization:)``.
    /// - Parameters:
    ///   - images: one or more images of any sizes and channel counts.
    ///   - size: output side, ≥ 1.
    ///   - normalization: ImageNet by default; ``PixelNormalization/symmetric`` for `[−1, 1]`.
    /// - Returns: `[images.count, 3, size, size]`.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` for an empty batch
    ///   or a bad size.
    public static func batchTensor(
        _ images: [Image], size: Int = 224, normalization: PixelNormalization = .imageNet
    ) throws(ImageError) -> Tensor<Float> {
        guard !images.isEmpty else {
            throw .invalidArgument(
                argument: "images", expected: "at least one image", actual: "0 images")
        }
        try checkSize(size, size)
        var prepared: [Image] = []
        prepared.reserveCapacity(images.count)
        for image in images { prepared.append(try image.preprocessed(size: size)) }
        let plane = size * size
        return Tensor<Float>(shape: [images.count, 3, size, size]) { dst in
            for (b, image) in prepared.enumerated() {
                image.pixels.withUnsafeBufferPointer { src in
                    normalizeToPlanarKernel(
                        src.baseAddress!, channels: 3, pixels: plane,
                        mean: normalization.mean, std: normalization.std,
                        dst.baseAddress! + b * 3 * plane)
                }
            }
        }
    }
}
