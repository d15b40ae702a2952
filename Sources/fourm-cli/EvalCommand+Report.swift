import Foundation
import FourM
import FourMSynth

// MARK: - Baselines

/// Trivial predictions built from training-world scenes only.
struct EvalBaselines {
    /// How many training scenes they were built from.
    let scenes: Int
    /// Per-pixel mean of the standardised depth.
    let depth: [Float]
    /// Per-pixel mean of the true normals, `[H, W, 3]`.
    let normals: [Float]
    /// Per-pixel majority class.
    let labels: [UInt8]
    /// One box of the most frequent class at the mean true box.
    let box: DetectedBox
    /// The most frequent object count, each object with the most frequent shape, colour and size.
    let caption: String

    init(world: SyntheticWorld, scenes count: Int) {
        let pixels = world.configuration.width * world.configuration.height
        var depthSum = [Double](repeating: 0, count: pixels)
        var normalSum = [Double](repeating: 0, count: pixels * 3)
        var classCounts = [Int](repeating: 0, count: pixels * SynthMetrics.classCount)
        var objectCounts = [Int](repeating: 0, count: 5)
        var shapes = [SynthShape: Int](), colors = [SynthColor: Int](), sizes = [SynthSize: Int]()
        var boxClasses = [String: Int]()
        var boxSum = [Double](repeating: 0, count: 4)
        var boxCount = 0
        for index in 0..<count {
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

    /// The world's caption grammar (``SynthScene/caption``) over object phrases.
    static func caption(_ phrases: [String]) -> String {
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
struct EvalRow {
    let task: String
    let metric: String
    let model: Double?
    let baseline: Double?
    let better: String
    let digits: Int
}

/// Every metric of a run, model against baseline.
struct EvalTable {
    var rows: [EvalRow] = []
    var notes: [String] = []
    /// The caption every scene gets from the baseline.
    let baselineCaption: String

    /// Scores the predictions and the baselines against the scenes.
    /// - Throws: ``SynthMetricsError`` when the predictions' shapes do not match the scenes'.
    init(scenes: [SynthScene], predictions: [EvalPrediction], baseline: EvalBaselines, seed: UInt64) throws(SynthMetricsError) {
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

    static func format(_ value: Double?, _ digits: Int) -> String {
        value.map { String(format: "%.\(digits)f", $0) } ?? "n/a"
    }

    /// The table in Markdown (also readable on a terminal).
    var markdown: String {
        var lines = ["| task | metric | model | baseline | better is |", "|---|---|---:|---:|---|"]
        for row in rows {
            lines.append("| \(row.task) | \(row.metric) | \(Self.format(row.model, row.digits)) | \(Self.format(row.baseline, row.digits)) | \(row.better) |")
        }
        return lines.joined(separator: "\n")
    }
}

// MARK: - Report and examples

extension EvalCommand {
    /// One example scene's image files, relative to the examples folder.
    struct ExampleFiles {
        let scene: SynthScene
        let prediction: EvalPrediction
        let maps: String
        let captionToRGB: String
    }

    /// Writes, per scene, a 2 × 4 grid (truth over model: rgb with boxes, depth, normals,
    /// semseg) and a 1 × 3 caption → rgb strip (real image, generated image, its segmentation).
    func writeExamples(scenes: [SynthScene], predictions: [EvalPrediction]) throws -> [ExampleFiles] {
        let folder = URL(fileURLWithPath: examples)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var files: [ExampleFiles] = []
        for (scene, prediction) in zip(scenes, predictions) {
            let side = scene.width, scale = 3
            let truth = [
                try boxed(scene.rgb, scene.boxes.map { DetectedBox(xmin: $0.xmin, ymin: $0.ymin, xmax: $0.xmax, ymax: $0.ymax, className: $0.className) }, scale: scale),
                try depthImage(SynthMetrics.standardizedDepth(scene.depth), side: side),
                try normalImage(scene.normals, side: side), try labelImage(scene.semanticSegmentation, side: side),
            ]
            let model = [
                try boxed(scene.rgb, prediction.boxes, scale: scale), try depthImage(prediction.depth, side: side),
                try normalImage(prediction.normals, side: side), try labelImage(prediction.labels, side: side),
            ]
            let maps = String(format: "scene_%06d.png", scene.index)
            let strip = String(format: "scene_%06d_caption2rgb.png", scene.index)
            try grid([truth, model], tile: side * scale).writePNG(to: folder.appendingPathComponent(maps))
            try grid([[scene.rgb, prediction.generated, try labelImage(prediction.generatedLabels, side: side)]], tile: side * scale)
                .writePNG(to: folder.appendingPathComponent(strip))
            files.append(ExampleFiles(scene: scene, prediction: prediction, maps: maps, captionToRGB: strip))
        }
        return files
    }

    func boxed(_ image: Image, _ boxes: [DetectedBox], scale: Int) throws(ImageError) -> Image {
        let large = try image.resizedNearest(width: image.width * scale, height: image.height * scale)
        return try Visualization.boxes(
            boxes.map { Visualization.Box(xmin: Float($0.xmin), ymin: Float($0.ymin), xmax: Float($0.xmax), ymax: Float($0.ymax), label: $0.className) }, on: large)
    }

    func depthImage(_ values: [Float], side: Int) throws(ImageError) -> Image {
        try Visualization.depth(Tensor(shape: [1, 1, side, side], scalars: values))
    }

    func normalImage(_ interleaved: [Float], side: Int) throws(ImageError) -> Image {
        let pixels = side * side
        var planar = [Float](repeating: 0, count: pixels * 3)
        for p in 0..<pixels { for c in 0..<3 { planar[c * pixels + p] = interleaved[p * 3 + c] } }
        return try Visualization.surfaceNormals(Tensor(shape: [1, 3, side, side], scalars: planar))
    }

    /// Label colours of the example maps: background black, sphere red, cube green,
    /// cylinder blue, cone yellow (anything else white).
    static let labelColors: [[UInt8]] = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200], [255, 225, 25]]

    func labelImage(_ labels: [UInt8], side: Int) throws(ImageError) -> Image {
        let pixels = labels.flatMap { Int($0) < Self.labelColors.count ? Self.labelColors[Int($0)] : [255, 255, 255] }
        return try Image(width: side, height: side, channels: 3, pixels: pixels)
    }

    /// Tiles (each scaled to `tile` pixels with nearest neighbours) on white with 4-pixel gaps.
    func grid(_ rows: [[Image]], tile: Int) throws(ImageError) -> Image {
        let gap = 4
        let columns = rows.map(\.count).max() ?? 0
        let width = columns * tile + (columns + 1) * gap, height = rows.count * tile + (rows.count + 1) * gap
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for (r, row) in rows.enumerated() {
            for (c, image) in row.enumerated() {
                let scaled = try image.rgb().resizedNearest(width: tile, height: tile)
                let x0 = gap + c * (tile + gap), y0 = gap + r * (tile + gap)
                for y in 0..<tile {
                    let source = y * tile * 3, target = ((y0 + y) * width + x0) * 3
                    pixels.replaceSubrange(target..<(target + tile * 3), with: scaled.pixels[source..<(source + tile * 3)])
                }
            }
        }
        return try Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// The Markdown report.
    func writeReport(table: EvalTable, examples files: [ExampleFiles], scenes: [SynthScene], wallTime: TimeInterval) throws {
        let date = ISO8601DateFormatter().string(from: Date())
        let side = scenes.first?.width ?? 0
        var text = """
            # Demo model quality

            <!-- Written by `fourm eval`; regenerate it with the command below instead of editing. -->

            The demo 4M model scored on \(scenes.count) held-out scenes of the synthetic world (seed \(seed); the model \
            was trained on seed \(Self.trainingSeed)), against trivial baselines built from \(baselineScenes) training scenes.

            \(table.markdown)

            \(table.notes.map { "- " + $0 }.joined(separator: "\n"))

            ## How this was measured

            ```sh
            \(command)
            ```

            - Date: \(date)
            - Bundle: \(bundle.map { "`\($0)`" } ?? "the demo model shipped with FourM (`Sources/FourM/Resources/DemoModel`)")
            - Scenes: \(scenes.count) held-out (world seed \(seed), \(side)×\(side)); baselines from \(baselineScenes) scenes of world seed \(Self.trainingSeed); \(batch) scenes per model call
            - Wall time: \(Int(wallTime.rounded())) s (\(ProcessInfo.processInfo.activeProcessorCount) cores, model load included)

            Every task runs through `Pipeline`, with seeds fixed per call and batch:

            - **rgb → depth, normal, semseg, caption, det**: one chained run with the `rgb2all` settings \
            (`SchedulePreset.rgbToAllFourM`: the maps ROAR in 1 step, τ 0.01, guidance 2, each conditioned on the maps before it; \
            then caption at τ 0.3 and det at τ 0.7, autoregressive).
            - **caption → rgb**: `tok_rgb` by \(rgbScheme == "maskgit" ? "MaskGIT" : "ROAR"), \(rgbSteps) cosine steps, constant τ \(rgbTemperature), \
            guidance \(rgbGuidance), decoded to an image; the same model then \
            segments that image (rgb → semseg, settings as above), and `SynthMetrics.imageObjects` reads one (shape, colour) per \
            segmented region.
            - **caption → det**: det alone from the caption, autoregressive, τ 0.7.

            Metrics (`SynthMetrics` in FourMSynth): depth RMSE on robustly standardised depth (sky clamped to 20, \
            spec/tokenizers.md 8.2); mean angle between normals over non-sky pixels; mIoU over background and the four shapes \
            with intersections and unions summed over the set; VOC all-point AP at IoU 0.5 (and 0.25 for caption → det) per class, boxes ranked in the order \
            generated; caption attributes compared position by position in left-to-right order (a missing object is wrong); \
            caption → rgb as the fraction of caption objects matched one-to-one by a found object of the same shape and colour \
            (or shape).

            Baselines: the per-pixel mean standardised depth and mean normal of the training scenes, their per-pixel majority \
            class, one box of the most frequent class at the mean true box, the caption "\(table.baselineCaption)" (most frequent \
            count, shape, colour and size), and for caption → rgb the real image of another held-out scene (segmented by the model).

            ## Examples

            Each grid shows the truth (top) and the model's output from the rgb input (bottom): the image with boxes, depth \
            (turbo, per-image range), normals and semantic classes (sphere red, cube green, cylinder blue, cone yellow). Each strip shows the real image, the image generated from \
            its caption, and the model's segmentation of the generated image.

            """
        for file in files {
            text += """

                ### Scene \(file.scene.index)

                - True caption: "\(file.scene.caption)"
                - Generated caption: "\(file.prediction.caption)"

                ![Scene \(file.scene.index): truth (top) and rgb → det, depth, normal, semseg (bottom)](\(link(file.maps)))

                ![Scene \(file.scene.index): real image, image generated from its caption, segmentation of the generated image](\(link(file.captionToRGB)))

                """
        }
        let url = URL(fileURLWithPath: report)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// An example file's path as the report links it: relative when the examples folder is
    /// inside the report's folder.
    func link(_ file: String) -> String {
        let folder = URL(fileURLWithPath: report).deletingLastPathComponent().standardizedFileURL.path
        let target = URL(fileURLWithPath: examples).appendingPathComponent(file).standardizedFileURL.path
        return target.hasPrefix(folder + "/") ? String(target.dropFirst(folder.count + 1)) : target
    }
}
