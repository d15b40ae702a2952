import Foundation
import FourM
import FourMEvaluation
import FourMSynth
import Testing

/// The evaluation's scoring and report on truth-as-prediction, without a model.
@Suite struct EvalTableTests {
    let configuration = SynthConfiguration(width: 32, height: 32)

    /// Predictions equal to the scenes' truth.
    func perfect(_ scenes: [SynthScene]) throws -> [EvalPrediction] {
        try scenes.map { scene in
            let boxes = scene.boxes.map { DetectedBox(xmin: $0.xmin, ymin: $0.ymin, xmax: $0.xmax, ymax: $0.ymax, className: $0.className) }
            return EvalPrediction(
                depth: SynthMetrics.standardizedDepth(scene.depth), normals: scene.normals, labels: scene.semanticSegmentation, caption: scene.caption,
                boxes: boxes, generated: scene.rgb, generatedLabels: scene.semanticSegmentation,
                found: try SynthMetrics.imageObjects(rgb: scene.rgb, segmentation: scene.semanticSegmentation), captionBoxes: boxes)
        }
    }

    @Test func truthScoresAtLeastAsWellAsTheBaselines() throws {
        let world = try SyntheticWorld(seed: 2, configuration: configuration)
        let scenes = (0..<6).map { world.scene(at: $0) }
        let baselines = EvalBaselines(world: try SyntheticWorld(seed: EvalSettings.trainingSeed, configuration: configuration), scenes: 4)
        #expect(baselines.scenes == 4 && baselines.depth.count == 32 * 32 && baselines.labels.count == 32 * 32)
        let table = try EvalTable(scenes: scenes, predictions: try perfect(scenes), baseline: baselines, seed: 2)
        #expect(table.markdown.split(separator: "\n").count == table.rows.count + 2)
        #expect(table.markdown.hasPrefix("| task | metric | model | baseline | better is |"))
        for row in table.rows {
            guard let model = row.model, let baseline = row.baseline else { continue }
            #expect(row.better == "lower" ? model <= baseline : model >= baseline, "\(row.task) \(row.metric): \(model) vs \(baseline)")
        }
        let depth = try #require(table.rows.first { $0.task == "rgb → depth" }?.model)
        #expect(depth == 0)
        let captionCount = try #require(table.rows.first { $0.metric == "object count accuracy" }?.model)
        #expect(captionCount == 1)
    }

    @Test func mismatchedPredictionsThrow() throws {
        let world = try SyntheticWorld(seed: 3, configuration: configuration)
        let scenes = (0..<3).map { world.scene(at: $0) }
        let baselines = EvalBaselines(world: world, scenes: 2)
        #expect(throws: SynthMetricsError.self) { try EvalTable(scenes: scenes, predictions: Array(try perfect(scenes).prefix(2)), baseline: baselines, seed: 3) }
    }

    @Test func reportLinksExamplesRelativeToItsFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("eval-report-\(UUID())")
        let world = try SyntheticWorld(seed: 2, configuration: configuration)
        let scenes = [world.scene(at: 0)]
        let predictions = try perfect(scenes)
        let table = try EvalTable(scenes: scenes + [world.scene(at: 1)], predictions: predictions + (try perfect([world.scene(at: 1)])),
                                  baseline: EvalBaselines(world: world, scenes: 1), seed: 2)
        let settings = EvalSettings(count: 2, seed: 2, baselineScenes: 1, batch: 1)
        let report = EvalReport(settings: settings, reportPath: folder.appendingPathComponent("Quality.md").path,
                                examplesFolder: folder.appendingPathComponent("examples").path, command: "fourm eval --count 2", bundleName: nil)
        let files = try report.writeExamples(scenes: scenes, predictions: predictions)
        #expect(files.map(\.maps) == ["scene_000000.png"])
        try report.writeReport(table: table, examples: files, scenes: scenes, wallTime: 1)
        let text = try String(contentsOf: folder.appendingPathComponent("Quality.md"), encoding: .utf8)
        #expect(text.contains("](examples/scene_000000.png)") && text.contains("fourm eval --count 2") && text.contains("the demo model shipped with FourM"))
        #expect(settings.callSeed(1, 2) == 2 &* 1_000_003 &+ 2 &* 8 &+ 1)
    }
}

/// Caller-supplied values that do not fit throw instead of trapping.
@Suite struct EvalBadInputTests {
    @Test func shortPredictionsAndNegativeCountsDoNotTrap() throws {
        let configuration = SynthConfiguration(width: 16, height: 16)
        let world = try SyntheticWorld(seed: 2, configuration: configuration)
        let scene = world.scene(at: 0)
        #expect(EvalBaselines(world: world, scenes: -3).scenes == -3)
        var prediction = try EvalTableTests().perfect([scene])[0]
        prediction.normals.removeLast()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("eval-bad-\(UUID())")
        let report = EvalReport(settings: EvalSettings(), reportPath: folder.appendingPathComponent("Q.md").path,
                                examplesFolder: folder.appendingPathComponent("ex").path, command: "", bundleName: nil)
        #expect(throws: EvalError.self) { try report.writeExamples(scenes: [scene], predictions: [prediction]) }
    }
}
