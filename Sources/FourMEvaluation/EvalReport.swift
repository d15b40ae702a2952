import Foundation
import FourM
import FourMSynth
import FourMTensor

/// Writes an evaluation's Markdown report and its example images (Documentation/Quality.md).
public struct EvalReport: Sendable {
    /// The run's settings (named in the report).
    public var settings: EvalSettings
    /// Where the Markdown report goes.
    public var reportPath: String
    /// The folder of the example PNGs.
    public var examplesFolder: String
    /// The command that regenerates the report, shown in it.
    public var command: String
    /// The bundle folder as the user gave it; nil for the demo model shipped with FourM.
    public var bundleName: String?

    /// Creates a report writer.
    public init(settings: EvalSettings, reportPath: String, examplesFolder: String, command: String, bundleName: String?) {
        self.settings = settings
        self.reportPath = reportPath
        self.examplesFolder = examplesFolder
        self.command = command
        self.bundleName = bundleName
    }

    /// One example scene's image files, relative to the examples folder.
    public struct ExampleFiles: Sendable {
        /// The scene.
        public let scene: SynthScene
        /// The model's outputs for it.
        public let prediction: EvalPrediction
        /// The 2 × 4 grid of maps.
        public let maps: String
        /// The 1 × 3 caption → rgb strip.
        public let captionToRGB: String
    }

    /// Writes, per scene, a 2 × 4 grid (truth over model: rgb with boxes, depth, normals,
    /// semseg) and a 1 × 3 caption → rgb strip (real image, generated image, its segmentation).
    /// - Throws: `.output` for a prediction whose sizes do not match its scene, `.image` when a
    ///   picture cannot be rendered, `.file` when one cannot be written.
    public func writeExamples(scenes: [SynthScene], predictions: [EvalPrediction]) throws(EvalError) -> [ExampleFiles] {
        do { return try examples(scenes: scenes, predictions: predictions) } catch let error as EvalError { throw error } catch let error as ImageError {
            throw .image(error)
        } catch {
            throw .file(path: examplesFolder, reason: fileErrorReason(error))
        }
    }

    func examples(scenes: [SynthScene], predictions: [EvalPrediction]) throws -> [ExampleFiles] {
        let folder = URL(fileURLWithPath: examplesFolder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var files: [ExampleFiles] = []
        for (scene, prediction) in zip(scenes, predictions) {
            let side = scene.width, scale = 3
            // Predictions are plain values a caller may have changed: check their sizes.
            let pixels = scene.width * scene.height
            for (name, count, expected) in [
                ("depth", prediction.depth.count, pixels), ("normals", prediction.normals.count, pixels * 3), ("labels", prediction.labels.count, pixels),
                ("generatedLabels", prediction.generatedLabels.count, pixels),
            ] where count != expected || scene.width != scene.height {
                throw EvalError.output(modality: "scene \(scene.index) \(name)", expected: "\(expected) values of a square scene", actual: "\(count) values")
            }
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

    /// Writes the Markdown report: the table and its notes, how it was measured (``command``,
    /// the date, the wall time), and the example images.
    /// - Throws: `.file` when the report cannot be written.
    public func writeReport(table: EvalTable, examples files: [ExampleFiles], scenes: [SynthScene], wallTime: TimeInterval) throws(EvalError) {
        let date = ISO8601DateFormatter().string(from: Date())
        let side = scenes.first?.width ?? 0
        var text = """
            # Demo model quality

            <!-- Written by `fourm eval`; regenerate it with the command below instead of editing. -->

            The demo 4M model scored on \(scenes.count) held-out scenes of the synthetic world (seed \(settings.seed); the model \
            was trained on seed \(EvalSettings.trainingSeed)), against trivial baselines built from \(settings.baselineScenes) training scenes.

            \(table.markdown)

            \(table.notes.map { "- " + $0 }.joined(separator: "\n"))

            ## How this was measured

            ```sh
            \(command)
            ```

            - Date: \(date)
            - Bundle: \(bundleName.map { "`\($0)`" } ?? "the demo model shipped with FourM (`Sources/FourM/Resources/DemoModel`)")
            - Scenes: \(scenes.count) held-out (world seed \(settings.seed), \(side)×\(side)); baselines from \(settings.baselineScenes) scenes of world seed \(EvalSettings.trainingSeed); \(settings.batch) scenes per model call
            - Wall time: \(Int(wallTime.rounded())) s (\(ProcessInfo.processInfo.activeProcessorCount) cores, model load included)

            Every task runs through `Pipeline`, with seeds fixed per call and batch:

            - **rgb → depth, normal, semseg, caption, det**: one chained run with the `rgb2all` settings \
            (`SchedulePreset.rgbToAllFourM`: the maps ROAR in 1 step, τ 0.01, guidance 2, each conditioned on the maps before it; \
            then caption at τ 0.3 and det at τ 0.7, autoregressive).
            - **caption → rgb**: `tok_rgb` by \(settings.rgbScheme == .maskGIT ? "MaskGIT" : "ROAR"), \(settings.rgbSteps) cosine steps, constant τ \(settings.rgbTemperature), \
            guidance \(settings.rgbGuidance), decoded to an image; the same model then \
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
        let url = URL(fileURLWithPath: reportPath)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        } catch { throw .file(path: reportPath, reason: fileErrorReason(error)) }
    }

    /// An example file's path as the report links it: relative when the examples folder is
    /// inside the report's folder.
    func link(_ file: String) -> String {
        let folder = URL(fileURLWithPath: reportPath).deletingLastPathComponent().standardizedFileURL.path
        let target = URL(fileURLWithPath: examplesFolder).appendingPathComponent(file).standardizedFileURL.path
        return target.hasPrefix(folder + "/") ? String(target.dropFirst(folder.count + 1)) : target
    }
}
