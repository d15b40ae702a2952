import Foundation
import FourMImage
import FourMTokenizers

/// Quality metrics for models trained on the synthetic world, each a pure function of
/// predictions and ground truth over a whole evaluation set.
///
/// Dense maps are row-major like ``SynthScene``'s: depth and labels `[H, W]`, normals
/// `[H, W, 3]` with interleaved components. Every function accumulates over the set first and
/// averages once (pooled over pixels, objects or detections), so a set of one scene gives
/// that scene's score. Arrays whose lengths do not fit together throw a
/// ``SynthMetricsError`` naming the argument, the expected and the actual length.
///
/// ```swift
/// let scene = try SyntheticWorld(seed: 2).scene(at: 0)
/// let truth = SynthMetrics.standardizedDepth(scene.depth)
/// let rmse = try SynthMetrics.depthRMSE(predicted: [predictedDepth], target: [truth])
/// let miou = try SynthMetrics.meanIoU(predicted: [labels], target: [scene.semanticSegmentation])
/// let captions = try SynthMetrics.captionAccuracy(predicted: [generated], target: [scene.caption])
/// ```
public enum SynthMetrics {
    /// The depth, in world units, that the sky and anything farther are clamped to before
    /// standardisation: the synthetic ground's far limit, as in training.
    public static let depthFar: Float = 20

    /// The number of semantic classes: background plus the four ``SynthShape`` classes.
    public static var classCount: Int { SynthShape.classNames.count }

    // MARK: - Depth

    /// Robustly standardises a depth map the way the depth tokenizer's training targets were
    /// (spec/tokenizers.md 8.2, with the sky and far depths clamped to ``depthFar``).
    ///
    /// Non-finite values (the sky's `inf`) and values above ``depthFar`` become ``depthFar``.
    /// The values are sorted, indices `floor(0.1·n) ..< floor(0.9·n)` are kept, and with their
    /// mean `μ` and unbiased variance `σ²` every value maps to `(d − μ) / sqrt(σ² + 1e-6)`.
    /// With fewer than two kept values all values are used; a single value maps to 0. The
    /// standardisation itself is `DepthMap.standardizedValues` of FourMTokenizers.
    /// - Parameter depth: z-depth in world units, any length (e.g. ``SynthScene/depth``).
    /// - Returns: the standardised map, same length and order.
    public static func standardizedDepth(_ depth: [Float]) -> [Float] {
        DepthMap.standardizedValues(depth.map { $0.isFinite ? min($0, depthFar) : depthFar })
    }

    /// Root-mean-square error between predicted and true maps, pooled over every pixel of
    /// every scene: `sqrt(Σ (p − t)² / N)`.
    ///
    /// Use it on standardised depth (``standardizedDepth(_:)`` for the truth, the depth
    /// tokenizer's decoded values for the prediction).
    /// - Parameters:
    ///   - predicted: one map per scene.
    ///   - target: one map per scene, each as long as its prediction.
    /// - Returns: the RMSE, or nil when there are no pixels.
    /// - Throws: ``SynthMetricsError/lengthMismatch(metric:argument:item:expected:actual:)``
    ///   when `predicted` and `target` hold different numbers of maps, or a scene's two maps
    ///   differ in length.
    public static func depthRMSE(predicted: [[Float]], target: [[Float]]) throws(SynthMetricsError) -> Double? {
        try checkSceneCount(metric: "depthRMSE", predicted: predicted.count, target: target.count)
        var sum = 0.0
        var count = 0
        for (item, (p, t)) in zip(predicted, target).enumerated() {
            try checkMapLength(metric: "depthRMSE", item: item, predicted: p.count, target: t.count)
            for (a, b) in zip(p, t) {
                let d = Double(a) - Double(b)
                sum += d * d
            }
            count += p.count
        }
        return count > 0 ? (sum / Double(count)).squareRoot() : nil
    }

    // MARK: - Surface normals

    /// Mean angle, in degrees, between predicted and true surface normals, pooled over the
    /// pixels of every scene where the true normal is not zero.
    ///
    /// Both vectors are normalised first; pixels where either is shorter than `1e-3` (the
    /// sky, whose true normal is `(0, 0, 0)`) are skipped.
    /// - Parameters:
    ///   - predicted: one `[H, W, 3]` map per scene, components interleaved.
    ///   - target: one `[H, W, 3]` map per scene (``SynthScene/normals``).
    /// - Returns: the mean angular error in degrees, or nil when no pixel counts.
    /// - Throws: ``SynthMetricsError/lengthMismatch(metric:argument:item:expected:actual:)``
    ///   when `predicted` and `target` hold different numbers of maps, or a scene's two maps
    ///   differ in length;
    ///   ``SynthMetricsError/lengthNotMultiple(metric:argument:item:factor:actual:)`` when a
    ///   true map's length is not a multiple of 3.
    public static func normalAngularError(predicted: [[Float]], target: [[Float]]) throws(SynthMetricsError) -> Double? {
        try checkSceneCount(metric: "normalAngularError", predicted: predicted.count, target: target.count)
        var sum = 0.0
        var count = 0
        for (item, (p, t)) in zip(predicted, target).enumerated() {
            guard t.count % 3 == 0 else {
                throw .lengthNotMultiple(metric: "normalAngularError", argument: "target", item: item, factor: 3, actual: t.count)
            }
            try checkMapLength(metric: "normalAngularError", item: item, predicted: p.count, target: t.count)
            for i in stride(from: 0, to: p.count, by: 3) {
                let a = SIMD3<Double>(Double(p[i]), Double(p[i + 1]), Double(p[i + 2]))
                let b = SIMD3<Double>(Double(t[i]), Double(t[i + 1]), Double(t[i + 2]))
                let la = (a * a).sum().squareRoot(), lb = (b * b).sum().squareRoot()
                guard la >= 1e-3, lb >= 1e-3 else { continue }
                let cosine = min(1, max(-1, (a * b).sum() / (la * lb)))
                sum += acos(cosine) * 180 / Double.pi
                count += 1
            }
        }
        return count > 0 ? sum / Double(count) : nil
    }

    // MARK: - Semantic segmentation

    /// Mean intersection-over-union over the ``classCount`` semantic classes, accumulated over
    /// the whole set: per class, intersections and unions are summed across scenes, and the
    /// mean is taken over the classes whose summed union is not zero.
    /// - Parameters:
    ///   - predicted: one `[H, W]` label map per scene; labels outside `0..<classCount` count
    ///     as wrong everywhere.
    ///   - target: one `[H, W]` label map per scene (``SynthScene/semanticSegmentation``).
    /// - Returns: the IoU of each class with a non-zero union, keyed by
    ///   ``SynthShape/classNames``, and their mean.
    /// - Throws: ``SynthMetricsError/lengthMismatch(metric:argument:item:expected:actual:)``
    ///   when `predicted` and `target` hold different numbers of maps, or a scene's two maps
    ///   differ in length.
    public static func meanIoU(predicted: [[UInt8]], target: [[UInt8]]) throws(SynthMetricsError) -> SynthClassScores {
        try checkSceneCount(metric: "meanIoU", predicted: predicted.count, target: target.count)
        let classes = classCount
        var intersection = [Int](repeating: 0, count: classes)
        var union = [Int](repeating: 0, count: classes)
        for (item, (p, t)) in zip(predicted, target).enumerated() {
            try checkMapLength(metric: "meanIoU", item: item, predicted: p.count, target: t.count)
            for (a, b) in zip(p, t) {
                let predictedClass = Int(a), trueClass = Int(b)
                if predictedClass == trueClass {
                    if trueClass < classes {
                        intersection[trueClass] += 1
                        union[trueClass] += 1
                    }
                } else {
                    if predictedClass < classes { union[predictedClass] += 1 }
                    if trueClass < classes { union[trueClass] += 1 }
                }
            }
        }
        var scores: [String: Double] = [:]
        for c in 0..<classes where union[c] > 0 {
            scores[SynthShape.classNames[c]] = Double(intersection[c]) / Double(union[c])
        }
        return SynthClassScores(perClass: scores)
    }

    // MARK: - Input checks

    /// Throws unless there is one prediction per target.
    static func checkSceneCount(metric: String, predicted: Int, target: Int) throws(SynthMetricsError) {
        guard predicted == target else {
            throw .lengthMismatch(metric: metric, argument: "predicted", item: nil, expected: target, actual: predicted)
        }
    }

    /// Throws unless scene `item`'s predicted map is as long as its true map.
    static func checkMapLength(metric: String, item: Int, predicted: Int, target: Int) throws(SynthMetricsError) {
        guard predicted == target else {
            throw .lengthMismatch(metric: metric, argument: "predicted", item: item, expected: target, actual: predicted)
        }
    }
}
