import Foundation
import FourM
import FourMSynth

// MARK: - Baselines

/// Trivial predictions built from training-world scenes only.
public struct EvalBaselines: Sendable {
    /// How many training scenes they were built from.
    public let scenes: Int
    /// Per-pixel mean of the standardised depth.
    public let depth: [Float]
    /// Per-pixel mean of the true normals, `[H, W, 3]`.
    public let normals: [Float]
    /// Per-pixel majority class.
    public let labels: [UInt8]
    /// One box of the most frequent class at the mean true box.
    public let box: DetectedBox
    /// The most frequent object count, each object with the most frequent shape, colour and size.
    public let caption: String

    /// Builds the baselines from the first `count` scenes of `world`.
    public init(world: SyntheticWorld, scenes count: Int) {
        let pixels = world.configuration.width * world.configuration.height
        var depthSum = [Double](repeating: 0, count: pixels)
        var normalSum = [Double](repeating: 0, count: pixels * 3)
        var classCounts = [Int](repeating: 0, count: pixels * SynthMetrics.classCount)
        var objectCounts = [Int](repeating: 0, count: 5)
        var shapes = [SynthShape: Int](), colors = [SynthColor: Int](), sizes = [SynthSize: Int]()
        var boxClasses = [String: Int]()
        var boxSum = [Double](repeating: 0, count: 4)
        var boxCount = 0
        for index in 0..<max(count, 0) {
            let scene = world.scene(at: index)
            for (p, d) in SynthMetrics.standardizedDepth(scene.depth).enumerated() { depthSum[p] += Double(d) }
            for (k, n) in scene.normals.enumerated() { normalSum[k] += Double(n) }
            for (p, label) in scene.semanticSegmentation.enumerated() where Int(label) < SynthMetrics.classCount {
                classCounts[p * SynthMetrics.classCount + Int(label)] += 1
            }
            objectCounts[min(scene.objects.count, 4)] += 1
            for object in scene.objects {
                shapes[object.shape, default: 0] += 1
                colors[object.color, default: 0] += 1
                sizes[object.size, default: 0] += 1
            }
            for box in scene.boxes {
                boxClasses[box.className, default: 0] += 1
                for (k, v) in [box.xmin, box.ymin, box.xmax, box.ymax].enumerated() { boxSum[k] += v }
                boxCount += 1
            }
        }
        scenes = count
        depth = depthSum.map { Float($0 / Double(max(count, 1))) }
        normals = normalSum.map { Float($0 / Double(max(count, 1))) }
        labels = (0..<pixels).map { p in
            let counts = classCounts[(p * SynthMetrics.classCount)..<((p + 1) * SynthMetrics.classCount)]
            let best = counts.max() ?? 0
            return UInt8(counts.firstIndex(of: best).map { $0 - p * SynthMetrics.classCount } ?? 0)
        }
        // Ties go to the first in vocabulary order (or to fewer objects).
        func mode<T: Hashable>(_ counts: [T: Int], _ order: [T]) -> T? {
            var best: (value: T, count: Int)? = nil
            for value in order where (counts[value] ?? 0) > (best?.count ?? 0) { best = (value, counts[value] ?? 0) }
            return best?.value
        }
        let shape = mode(shapes, SynthShape.allCases) ?? .sphere
        let color = mode(colors, SynthColor.allCases) ?? .red
        let size = mode(sizes, SynthSize.allCases) ?? .small
        let objectCount = mode(Dictionary(uniqueKeysWithValues: objectCounts.enumerated().map { ($0.offset, $0.element) }), Array(objectCounts.indices)) ?? 1
        let boxClass = mode(boxClasses, SynthShape.allCases.map(\.rawValue)) ?? SynthShape.sphere.rawValue
        let mean = boxSum.map { $0 / Double(max(boxCount, 1)) }
        box = DetectedBox(xmin: mean[0], ymin: mean[1], xmax: mean[2], ymax: mean[3], className: boxClass)
        caption = Self.caption(Array(repeating: "a \(size.rawValue) \(color.rawValue) \(shape.rawValue)", count: objectCount))
    }

    /// The world's caption grammar (`SynthScene.caption`) over object phrases.
    package static func caption(_ phrases: [String]) -> String {
        switch phrases.count {
        case 0: return "an empty ground"
        case 1: return phrases[0]
        case 2: return "\(phrases[0]) left of \(phrases[1])"
        default: return phrases.dropLast().joined(separator: ", ") + " and \(phrases[phrases.count - 1]) from left to right"
        }
    }
}

// MARK: - The table

/// One row of the report table.
public struct EvalRow: Sendable, Equatable {
    /// The task (`rgb → depth`).
    public let task: String
    /// The metric's name.
    public let metric: String
    /// The model's score (nil: undefined on these scenes).
    public let model: Double?
    /// The baseline's score.
    public let baseline: Double?
    /// `lower` or `higher`.
    public let better: String
    /// Decimal digits shown.
    public let digits: Int
}

/// Every metric of a run, model against baseline.
public struct EvalTable: Sendable {
    /// The table rows.
    public var rows: [EvalRow] = []
    /// Notes under the table (per-class scores, the caption → rgb ceiling).
    public var notes: [String] = []
    /// The caption every scene gets from the baseline.
    public let baselineCaption: String

    /// Scores the predictions and the baselines against the scenes.
    /// - Throws: `SynthMetricsError` when the predictions' shapes do not match the scenes'.
    public init(scenes: [SynthScene], predictions: [EvalPrediction], baseline: EvalBaselines, seed: UInt64) throws(SynthMetricsError) {
        let n = scenes.count
        baselineCaption = baseline.caption
        let truthDepth = scenes.map { SynthMetrics.standardizedDepth($0.depth) }
        let truthNormals = scenes.map(\.normals)
        let truthLabels = scenes.map(\.semanticSegmentation)
        let truthBoxes = scenes.map(\.boxes)
        let captions = scenes.map(\.caption)

        rows.append(
            EvalRow(
                task: "rgb → depth", metric: "RMSE, standardised depth",
                model: try SynthMetrics.depthRMSE(predicted: predictions.map(\.depth), target: truthDepth),
                baseline: try SynthMetrics.depthRMSE(predicted: Array(repeating: baseline.depth, count: n), target: truthDepth),
                better: "lower", digits: 3))
        rows.append(
            EvalRow(
                task: "rgb → normal", metric: "mean angular error (°)",
                model: try SynthMetrics.normalAngularError(predicted: predictions.map(\.normals), target: truthNormals),
                baseline: try SynthMetrics.normalAngularError(predicted: Array(repeating: baseline.normals, count: n), target: truthNormals),
                better: "lower", digits: 1))
        let iou = try SynthMetrics.meanIoU(predicted: predictions.map(\.labels), target: truthLabels)
        rows.append(
            EvalRow(
                task: "rgb → semseg", metric: "mIoU (5 classes)", model: iou.mean,
                baseline: try SynthMetrics.meanIoU(predicted: Array(repeating: baseline.labels, count: n), target: truthLabels).mean,
                better: "higher", digits: 3))
        let baselineBoxes = Array(repeating: [baseline.box], count: n)
        let detection = try SynthMetrics.detectionMAP(predicted: predictions.map(\.boxes), target: truthBoxes)
        let baselineDetection = try SynthMetrics.detectionMAP(predicted: baselineBoxes, target: truthBoxes)
        rows.append(EvalRow(task: "rgb → det", metric: "mAP@0.5", model: detection.mean, baseline: baselineDetection.mean, better: "higher", digits: 3))
        let text = try SynthMetrics.captionAccuracy(predicted: predictions.map(\.caption), target: captions)
        let baselineText = try SynthMetrics.captionAccuracy(predicted: Array(repeating: baseline.caption, count: n), target: captions)
        rows.append(EvalRow(task: "rgb → caption", metric: "object count accuracy", model: text.count, baseline: baselineText.count, better: "higher", digits: 3))
        rows.append(EvalRow(task: "rgb → caption", metric: "shape accuracy (per object)", model: text.shape, baseline: baselineText.shape, better: "higher", digits: 3))
        rows.append(EvalRow(task: "rgb → caption", metric: "colour accuracy (per object)", model: text.color, baseline: baselineText.color, better: "higher", digits: 3))
        rows.append(EvalRow(task: "rgb → caption", metric: "size accuracy (per object)", model: text.size, baseline: baselineText.size, better: "higher", digits: 3))

        // The consistency baseline: the real image of another held-out scene (a seeded
        // derangement), segmented by the model, against this scene's caption.
        var rng = SeededGenerator(seed: seed ^ 0x0BA5_E11E)
        let others = (0..<n).map { i in (i + 1 + Int(rng.next() % UInt64(max(n - 1, 1)))) % n }
        let consistency = try SynthMetrics.captionConsistency(captions: captions, found: predictions.map(\.found))
        let shuffled = try SynthMetrics.captionConsistency(
            captions: captions,
            found: others.map { i throws(SynthMetricsError) in
                try SynthMetrics.imageObjects(rgb: scenes[i].rgb, segmentation: predictions[i].labels)
            })
        let ceiling = try SynthMetrics.captionConsistency(
            captions: captions,
            found: scenes.map { scene throws(SynthMetricsError) in
                try SynthMetrics.imageObjects(rgb: scene.rgb, segmentation: scene.semanticSegmentation)
            })
        rows.append(
            EvalRow(
                task: "caption → rgb", metric: "caption objects shown (shape + colour)", model: consistency.shapeAndColor,
                baseline: shuffled.shapeAndColor, better: "higher", digits: 3))
        rows.append(
            EvalRow(task: "caption → rgb", metric: "caption objects shown (shape)", model: consistency.shape, baseline: shuffled.shape, better: "higher", digits: 3))
        let captionDetection = try SynthMetrics.detectionMAP(predicted: predictions.map(\.captionBoxes), target: truthBoxes)
        rows.append(EvalRow(task: "caption → det", metric: "mAP@0.5", model: captionDetection.mean, baseline: baselineDetection.mean, better: "higher", digits: 3))
        // A caption fixes classes, order and sizes but not exact positions: a looser overlap
        // measures whether the boxes land in the right region.
        let looseCaption = try SynthMetrics.detectionMAP(predicted: predictions.map(\.captionBoxes), target: truthBoxes, iouThreshold: 0.25)
        let looseBaseline = try SynthMetrics.detectionMAP(predicted: baselineBoxes, target: truthBoxes, iouThreshold: 0.25)
        rows.append(EvalRow(task: "caption → det", metric: "mAP@0.25", model: looseCaption.mean, baseline: looseBaseline.mean, better: "higher", digits: 3))

        func perClass(_ scores: SynthClassScores) -> String {
            SynthShape.classNames.compactMap { name in scores.perClass[name].map { "\(name) \(String(format: "%.3f", $0))" } }.joined(separator: ", ")
        }
        notes.append("rgb → semseg IoU per class: \(perClass(iou)).")
        notes.append("rgb → det AP per class: \(perClass(detection)); caption → det: \(perClass(captionDetection)).")
        notes.append(
            "caption → rgb ceiling: the same reader on each scene's real image with its exact labels finds "
                + "\(Self.format(ceiling.shapeAndColor, 3)) of the caption objects by shape + colour and \(Self.format(ceiling.shape, 3)) by shape "
                + "(objects under 12 visible pixels and touching objects of one shape are missed).")
    }

    /// A score with `digits` decimals, or `n/a`.
    package static func format(_ value: Double?, _ digits: Int) -> String {
        value.map { String(format: "%.\(digits)f", $0) } ?? "n/a"
    }

    /// The table in Markdown (also readable on a terminal).
    public var markdown: String {
        var lines = ["| task | metric | model | baseline | better is |", "|---|---|---:|---:|---|"]
        for row in rows {
            lines.append("| \(row.task) | \(row.metric) | \(Self.format(row.model, row.digits)) | \(Self.format(row.baseline, row.digits)) | \(row.better) |")
        }
        return lines.joined(separator: "\n")
    }
}
