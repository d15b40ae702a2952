import FourMImage
import FourMTensor

/// The reference demo's picture of a feature map (CLIP, DINOv2, ImageBind:
/// `plotting_utils.pca_visualize`): a 3-component PCA over the `H·W` feature vectors of one
/// image, its projection as an `[H, W, 3]` map, min-max normalised with **one** minimum and
/// maximum over all three channels.
///
/// The reference uses scikit-learn, whose automatic solver is randomized (and unseeded) at
/// the released feature sizes; this is the exact PCA that solver approximates, with
/// scikit-learn's sign convention (each component's largest-|·| entry positive).
///
/// ```swift
/// let features = try tokenizer.decode(ids: ids)          // [B, C, H, W]
/// let pca = try FeatureMapPCA(features: features, row: 0)
/// try pca.image().writePNG(to: URL(fileURLWithPath: "clip_pca.png"))
/// ```
public struct FeatureMapPCA: Sendable {
    /// Mean feature `[C]`.
    public var mean: [Float]
    /// Components `[3, C]`, row k = component k.
    public var components: Tensor<Float>
    /// Variance explained by each component (`s² / (n − 1)`).
    public var explainedVariance: [Float]
    /// `(x − mean)·componentsᵀ` as `[H, W, 3]`.
    public var projection: Tensor<Float>
    /// The projection min-max normalised over all channels to [0, 1], `[H, W, 3]`.
    public var rendered: Tensor<Float>

    /// Runs the PCA of one image of a feature map.
    /// - Parameters:
    ///   - features: `[B, C, H, W]`.
    ///   - row: the batch row.
    /// - Throws: `.invalidInput` when the map is not rank 4, the row is out of range, or it has
    ///   fewer than 3 channels or positions.
    public init(features: Tensor<Float>, row: Int = 0) throws(VQTokenizerError) {
        guard features.rank == 4, row >= 0, row < features.shape[0] else {
            throw .invalidInput(argument: "features", expected: "[B, C, H, W] with row \(row) < B", actual: "\(features.shape)")
        }
        let (c, h, w) = (features.shape[1], features.shape[2], features.shape[3])
        guard c >= 3, h * w >= 3 else {
            throw .invalidInput(argument: "features", expected: "at least 3 channels and 3 positions", actual: "\(features.shape)")
        }
        let n = h * w
        let all = features.scalars
        // [C, H·W] → rows [H·W, C] in (h, w) order.
        var rows = [Float](repeating: 0, count: n * c)
        for ch in 0..<c { for p in 0..<n { rows[p * c + ch] = all[((row * c) + ch) * n + p] } }
        let pca = rows.withUnsafeBufferPointer { principalComponents($0, count: n, width: c, components: 3) }
        mean = pca.mean
        components = Tensor(shape: [3, c], scalars: pca.components)
        explainedVariance = pca.variances
        projection = Tensor(shape: [h, w, 3], scalars: pca.projection)
        let low = pca.projection.min() ?? 0, high = pca.projection.max() ?? 0
        let range = high - low
        rendered = Tensor(shape: [h, w, 3], scalars: pca.projection.map { range > 0 ? ($0 - low) / range : 0 })
    }

    /// The rendered map as an RGB image (`round(255·value)`), one pixel per feature position,
    /// scaled up by `scale` with nearest-neighbour (as the reference plots feature maps).
    /// - Throws: `.invalidPixels` from `Image` when the map is empty.
    public func image(scale: Int = 1) throws(ImageError) -> Image {
        let (h, w) = (rendered.shape[0], rendered.shape[1])
        let s = max(scale, 1)
        let values = rendered.scalars
        var pixels = [UInt8](repeating: 0, count: h * s * w * s * 3)
        for y in 0..<(h * s) {
            for x in 0..<(w * s) {
                for k in 0..<3 {
                    let v = values[((y / s) * w + x / s) * 3 + k]
                    pixels[(y * w * s + x) * 3 + k] = UInt8(max(0, min(255, (v * 255).rounded())))
                }
            }
        }
        return try Image(width: w * s, height: h * s, channels: 3, pixels: pixels)
    }
}
