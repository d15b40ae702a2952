import Foundation
import FourM
import FourMSynth

/// Runs the demo-world evaluation through the `Pipeline` (Documentation/Quality.md): for
/// batches of held-out scenes, rgb → depth, normal, semseg, caption, det (one chained rgb2all
/// run), caption → rgb re-segmented by rgb → semseg, and caption → det. Every call's seed
/// derives from ``EvalSettings/seed`` and the batch index, so runs are reproducible.
///
/// ```swift
/// let runner = try EvalRunner(bundle: try ModelBundle.demo(), settings: EvalSettings(count: 8))
/// let baselines = try runner.baselines()
/// let (scenes, predictions) = try runner.predict()
/// let table = try EvalTable(scenes: scenes, predictions: predictions, baseline: baselines, seed: runner.settings.seed)
/// print(table.markdown)
/// ```
public struct EvalRunner: Sendable {
    /// The run's settings.
    public let settings: EvalSettings
    /// The pipeline every task runs through (text conditions end with `[EOS]`).
    public let pipeline: Pipeline
    /// The modalities the tasks use, resolved against the model.
    public let modalities: EvalModalities
    /// The schedules of the four model calls.
    package let presets: EvalPresets

    /// Loads the bundle's model in ``EvalSettings/precision`` and resolves the tasks' modalities.
    /// - Throws: `.pipeline` for a bundle that does not load, `.unsupportedModel` for a model
    ///   without the inputs and outputs the tasks need.
    public init(bundle: ModelBundle, settings: EvalSettings) throws(EvalError) {
        let model: FourMModel
        do { model = try FourMModel(path: bundle.model.path, precision: settings.precision, modalities: bundle.modalities) } catch { throw .pipeline(.model(error)) }
        let m = try EvalModalities(model)
        var pipeline: Pipeline
        do { pipeline = try Pipeline(bundle: bundle, outputs: m.outputs, model: model) } catch { throw .pipeline(error) }
        // Documentation/Quality.md was measured with text + [EOS] captions; keep it reproducible.
        pipeline.textConditioning = .endOfSequence
        self.settings = settings
        self.pipeline = pipeline
        modalities = m
        presets = try EvalPresets(
            model: model, modalities: m, rgbScheme: settings.rgbScheme, rgbSteps: settings.rgbSteps, rgbTemperature: settings.rgbTemperature,
            rgbGuidance: settings.rgbGuidance)
    }

    /// The scenes' configuration: the model's RGB input size.
    public var configuration: SynthConfiguration { SynthConfiguration(width: modalities.side, height: modalities.side) }

    /// Trivial baselines from ``EvalSettings/baselineScenes`` scenes of the training world.
    /// - Throws: `.synth` when the world cannot be built at the model's size.
    public func baselines() throws(EvalError) -> EvalBaselines {
        let training: SyntheticWorld
        do { training = try SyntheticWorld(seed: EvalSettings.trainingSeed, configuration: configuration) } catch { throw .synth(error) }
        return EvalBaselines(world: training, scenes: settings.baselineScenes)
    }

    /// Renders ``EvalSettings/count`` held-out scenes and runs every task on them, batch by
    /// batch; `progress` gets the number of scenes done after each batch.
    /// - Throws: `.synth`, `.pipeline`, `.image`, `.metrics`, `.output` for a decoded output
    ///   of the wrong shape.
    public func predict(progress: (Int) -> Void = { _ in }) throws(EvalError) -> (scenes: [SynthScene], predictions: [EvalPrediction]) {
        let heldOut: SyntheticWorld
        do { heldOut = try SyntheticWorld(seed: settings.seed, configuration: configuration) } catch { throw .synth(error) }
        var predictions: [EvalPrediction] = []
        predictions.reserveCapacity(settings.count)
        var scenes: [SynthScene] = []
        scenes.reserveCapacity(settings.count)
        for (b, start) in stride(from: 0, to: settings.count, by: max(settings.batch, 1)).enumerated() {
            let chunk = (start..<min(start + max(settings.batch, 1), settings.count)).map { heldOut.scene(at: $0) }
            predictions += try evaluate(chunk, batchIndex: b)
            scenes += chunk
            progress(scenes.count)
        }
        return (scenes, predictions)
    }

    /// Runs every task on one batch of scenes.
    /// - Throws: `.pipeline`, `.image`, `.metrics`, `.output`.
    package func evaluate(_ scenes: [SynthScene], batchIndex: Int) throws(EvalError) -> [EvalPrediction] {
        do { return try evaluateBatch(scenes, batchIndex: batchIndex) } catch let error as FourMError { throw .pipeline(error) } catch let error as EvalError {
            throw error
        } catch let error as ImageError { throw .image(error) } catch let error as SynthMetricsError { throw .metrics(error) } catch {
            throw .unsupportedModel(reason: "\(error)")
        }
    }

    func evaluateBatch(_ scenes: [SynthScene], batchIndex: Int) throws -> [EvalPrediction] {
        let m = modalities, side = m.side
        // rgb → depth, normal, semseg, caption, det (chained, as rgb2all).
        let fromRGB = try pipeline.generate(batch: scenes.map { [m.rgb: .image($0.rgb)] }, preset: presets.fromRGB, seed: settings.callSeed(0, batchIndex))
        let depth = try decoded(fromRGB, m.depth, channels: 1, side: side, rows: scenes.count)
        let normals = try decoded(fromRGB, m.normal, channels: 3, side: side, rows: scenes.count)
        let semseg = try decoded(fromRGB, m.semseg, channels: nil, side: side, rows: scenes.count)
        // caption → rgb, then rgb → semseg on the generated image.
        let captions = scenes.map { [m.caption: PipelineInput.text($0.caption)] }
        let toRGB = try pipeline.generate(batch: captions, preset: presets.captionToRGB, seed: settings.callSeed(1, batchIndex))
        let generatedValues = try decoded(toRGB, m.tokRGB, channels: 3, side: side, rows: scenes.count)
        var generated: [Image] = []
        for row in scenes.indices {
            do { generated.append(try Visualization.rgb(generatedValues.slice(row..<(row + 1)))) } catch { throw FourMError.image(error) }
        }
        let resegmented = try pipeline.generate(batch: generated.map { [m.rgb: .image($0)] }, preset: presets.segmentation, seed: settings.callSeed(2, batchIndex))
        let generatedSemseg = try decoded(resegmented, m.semseg, channels: nil, side: side, rows: scenes.count)
        // caption → det.
        let toDet = try pipeline.generate(batch: captions, preset: presets.captionToDet, seed: settings.callSeed(3, batchIndex))

        var out: [EvalPrediction] = []
        for row in scenes.indices {
            let labels = try Self.labels(semseg.slice(row..<(row + 1)))
            let generatedLabels = try Self.labels(generatedSemseg.slice(row..<(row + 1)))
            out.append(
                EvalPrediction(
                    depth: depth.slice(row..<(row + 1)).scalars,
                    normals: Self.interleaved(normals.slice(row..<(row + 1)).scalars, pixels: side * side),
                    labels: labels,
                    caption: try fromRGB.text(m.caption, row: row) ?? "",
                    boxes: try fromRGB.boxes(m.det, row: row)?.value ?? [],
                    generated: generated[row],
                    generatedLabels: generatedLabels,
                    found: try SynthMetrics.imageObjects(rgb: generated[row], segmentation: generatedLabels),
                    captionBoxes: try toDet.boxes(m.det, row: row)?.value ?? []))
        }
        return out
    }

    /// A decoded image-like output `[B, C, side, side]`, its shape checked.
    func decoded(_ result: PipelineResult, _ modality: Modality, channels: Int?, side: Int, rows: Int) throws -> Tensor<Float> {
        guard let values = try result.decodedValues(modality) else {
            throw EvalError.unsupportedModel(reason: "\(modality.rawValue): the run produced no tokens for it")
        }
        let shape = values.shape
        guard shape.count == 4, shape[0] == rows, channels.map({ shape[1] == $0 }) ?? (shape[1] >= SynthMetrics.classCount),
            shape[2] == side, shape[3] == side
        else {
            throw EvalError.output(
                modality: modality.rawValue, expected: "[\(rows), \(channels.map(String.init) ?? "≥\(SynthMetrics.classCount)"), \(side), \(side)]",
                actual: "decodes to shape \(shape)")
        }
        return values
    }

    /// Argmax labels of `[1, C, H, W]` logits, as bytes.
    static func labels(_ logits: Tensor<Float>) throws -> [UInt8] {
        do { return try Visualization.semanticSegmentationLabels(logits: logits).scalars.map { UInt8(clamping: $0) } } catch {
            throw FourMError.image(error)
        }
    }

    /// Planar `[3, H, W]` values as interleaved `[H, W, 3]`.
    static func interleaved(_ planar: [Float], pixels: Int) -> [Float] {
        var out = [Float](repeating: 0, count: pixels * 3)
        for c in 0..<3 {
            for p in 0..<pixels where c * pixels + p < planar.count { out[p * 3 + c] = planar[c * pixels + p] }
        }
        return out
    }
}

/// The model's outputs for one held-out scene.
public struct EvalPrediction: Sendable {
    /// Standardised depth `[H, W]`.
    public var depth: [Float]
    /// Normals `[H, W, 3]`.
    public var normals: [Float]
    /// Semantic labels `[H, W]`.
    public var labels: [UInt8]
    /// rgb → caption.
    public var caption: String
    /// rgb → det.
    public var boxes: [DetectedBox]
    /// caption → rgb.
    public var generated: Image
    /// rgb → semseg of the generated image.
    public var generatedLabels: [UInt8]
    /// The objects found in the generated image.
    public var found: [SynthCaptionObject]
    /// caption → det.
    public var captionBoxes: [DetectedBox]

    /// Creates a prediction.
    package init(depth: [Float], normals: [Float], labels: [UInt8], caption: String, boxes: [DetectedBox], generated: Image, generatedLabels: [UInt8],
                found: [SynthCaptionObject], captionBoxes: [DetectedBox]) {
        self.depth = depth
        self.normals = normals
        self.labels = labels
        self.caption = caption
        self.boxes = boxes
        self.generated = generated
        self.generatedLabels = generatedLabels
        self.found = found
        self.captionBoxes = captionBoxes
    }
}

/// The modalities the evaluation needs, resolved against the model.
public struct EvalModalities: Sendable {
    /// The RGB pixel input and the outputs the tasks decode.
    public let rgb, depth, normal, semseg, tokRGB, caption, det: Modality
    /// The RGB input's side in pixels.
    public let side: Int

    /// Resolves the modalities by their base names.
    /// - Throws: `.unsupportedModel` naming what the model lacks.
    public init(_ model: FourMModel) throws(EvalError) {
        let configuration = model.configuration
        guard let rgb = model.inputModalities.first(where: { $0.baseName == "rgb" && configuration.info($0)?.kind == .pixels }),
            let info = configuration.info(rgb)
        else {
            throw .unsupportedModel(reason: "the bundle's model takes no rgb@N pixel input (inputs: \(model.inputModalities.map(\.rawValue).joined(separator: ", ")))")
        }
        func output(_ base: String) throws(EvalError) -> Modality {
            guard let found = model.outputModalities.first(where: { $0.baseName == base }) else {
                throw .unsupportedModel(
                    reason: "the bundle's model has no \(base) output; fourm eval needs tok_depth, tok_normal, tok_semseg, tok_rgb, caption and det (outputs: \(model.outputModalities.map(\.rawValue).joined(separator: ", ")))")
            }
            return found
        }
        self.rgb = rgb
        depth = try output("tok_depth")
        normal = try output("tok_normal")
        semseg = try output("tok_semseg")
        tokRGB = try output("tok_rgb")
        caption = try output("caption")
        det = try output("det")
        side = info.gridSize * info.patchSize
    }

    /// Every output the run decodes.
    public var outputs: [Modality] { [depth, normal, semseg, tokRGB, caption, det] }
}

/// The schedules of the four model calls.
package struct EvalPresets: Sendable {
    /// rgb → depth, normal, semseg, caption, det with the rgb2all settings.
    package let fromRGB: SchedulePreset
    /// rgb → semseg alone, same settings.
    package let segmentation: SchedulePreset
    /// caption → tok_rgb with the run's scheme, steps (cosine), constant τ and guidance.
    package let captionToRGB: SchedulePreset
    /// caption → det with the rgb2all det settings.
    package let captionToDet: SchedulePreset

    /// The presets of `model`: `SchedulePreset.rgbToAllFourM` cut to each call's targets, and
    /// caption → rgb from the given settings.
    /// - Throws: `.unsupportedModel` when the rgb2all preset lacks a target.
    package init(model: FourMModel, modalities m: EvalModalities, rgbScheme: GenerationScheme, rgbSteps: Int, rgbTemperature: Double, rgbGuidance: Double) throws(EvalError) {
        let all = SchedulePreset.rgbToAllFourM(model, excluding: [m.rgb])
        func only(_ wanted: [Modality]) throws(EvalError) -> SchedulePreset {
            var preset = all
            preset.targets = all.targets.filter { wanted.contains($0.modality) }
            guard preset.targets.count == wanted.count else {
                throw .unsupportedModel(reason: "the rgb2all preset of this model lacks \(wanted.filter { w in !preset.targets.contains { $0.modality == w } }.map(\.rawValue))")
            }
            return preset
        }
        fromRGB = try only([m.depth, m.normal, m.semseg, m.caption, m.det])
        segmentation = try only([m.semseg])
        captionToDet = try only([m.det])
        guard let info = model.configuration.info(m.tokRGB) else { throw .unsupportedModel(reason: "\(m.tokRGB.rawValue): no registry information") }
        captionToRGB = SchedulePreset(targets: [
            TargetSettings(m.tokRGB, scheme: rgbScheme, tokens: info.tokenCount, steps: min(rgbSteps, info.tokenCount), tokenSchedule: .cosine,
                           temperature: rgbTemperature, guidance: .scale(rgbGuidance))
        ])
    }
}
