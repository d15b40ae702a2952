import ArgumentParser
import Foundation
import FourM
import FourMSynth

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a demo-world bundle on held-out synthetic scenes against trivial baselines and write a report.",
        discussion: """
            Renders --count scenes of the synthetic world with --seed (never the training seed 1) and runs, \
            through the Pipeline: rgb → depth, normal, semseg, caption, det (one chained rgb2all run, ROAR 1 step \
            for the maps, autoregressive sequences); caption → rgb (--rgb-scheme, --rgb-steps, --rgb-temperature, --rgb-guidance; default ROAR 16 steps, τ 1, guidance 3), \
            re-segmented with rgb → semseg; caption → det. Trivial baselines come from --baseline-scenes scenes \
            of the training world (seed 1). Prints the table, writes --report (Markdown) and example PNGs into \
            --examples. Runs are reproducible: every call's seed derives from --seed and the batch index.
            """)

    /// The world seed the demo model was trained on; evaluating on it would measure memorisation.
    static let trainingSeed: UInt64 = 1

    @Option(help: "Bundle folder (bundle.json, or the released file names). Default: the demo model shipped with FourM.")
    var bundle: String?

    @Option(help: "Held-out scenes to evaluate (2...100000).")
    var count: Int = 500

    @Option(help: "World seed of the held-out scenes (the training seed 1 is refused).")
    var seed: UInt64 = 2

    @Option(help: "Markdown report to write.")
    var report: String = "Documentation/Quality.md"

    @Option(help: "Folder for the example PNGs the report shows.")
    var examples: String = "Documentation/Quality"

    @Option(help: "Training-world (seed 1) scenes the trivial baselines are built from (1...100000).")
    var baselineScenes: Int = 200

    @Option(help: "Scenes per model call (results depend on it, so it is part of the command).")
    var batch: Int = 8

    @Option(help: "How many scenes get example images (0...count).")
    var exampleCount: Int = 4

    @Option(help: "caption → rgb: decoding scheme of tok_rgb (maskgit or roar).")
    var rgbScheme: String = "roar"

    @Option(help: "caption → rgb: decoding steps (1...tokens).")
    var rgbSteps: Int = 16

    @Option(help: "caption → rgb: sampling temperature (constant).")
    var rgbTemperature: Double = 1

    @Option(help: "caption → rgb: classifier-free guidance scale.")
    var rgbGuidance: Double = 3

    @Option(help: "Arithmetic of the model's linear layers: fp32 (default, the parity path) or bf16 (oneDNN; falls back to fp32 on CPUs without AVX-512).")
    var precision: ComputePrecision = .fp32

    func validate() throws {
        guard seed != Self.trainingSeed else {
            throw ValidationError("--seed 1 is the training world; evaluate on held-out scenes (any other seed, default 2)")
        }
        guard (2...100_000).contains(count) else { throw ValidationError("--count: got \(count), expected 2...100000") }
        guard (1...100_000).contains(baselineScenes) else {
            throw ValidationError("--baseline-scenes: got \(baselineScenes), expected 1...100000")
        }
        guard (1...256).contains(batch) else { throw ValidationError("--batch: got \(batch), expected 1...256") }
        guard (0...count).contains(exampleCount) else { throw ValidationError("--example-count: got \(exampleCount), expected 0...\(count)") }
        guard !report.isEmpty, !examples.isEmpty else { throw ValidationError("--report and --examples must be non-empty paths") }
        guard ["maskgit", "roar"].contains(rgbScheme) else { throw ValidationError("--rgb-scheme: got '\(rgbScheme)', expected maskgit or roar") }
        guard rgbSteps >= 1 else { throw ValidationError("--rgb-steps: got \(rgbSteps), expected at least 1") }
        guard rgbTemperature.isFinite, rgbTemperature >= 0 else { throw ValidationError("--rgb-temperature: got \(rgbTemperature), expected a non-negative number") }
        guard rgbGuidance.isFinite else { throw ValidationError("--rgb-guidance: got \(rgbGuidance), expected a finite number") }
    }

    func run() async throws {
        do { try execute() } catch let error as FourMError { throw CLIError(error.description) } catch let error as SynthError {
            throw CLIError(error.description)
        } catch let error as ImageError { throw CLIError(error.description) } catch let error as SynthMetricsError {
            throw CLIError(error.description)
        }
    }

    // MARK: - The run

    func execute() throws {
        let started = Date()
        // Outputs are checked before the (long) evaluation runs.
        try prepareOutputFolder(examples, option: "--examples")
        try prepareOutputFolder(URL(fileURLWithPath: report).deletingLastPathComponent().path, option: "--report")
        let files = try bundle.map { path throws(FourMError) in try ModelBundle(directory: URL(fileURLWithPath: path)) } ?? ModelBundle.demo()
        let model: FourMModel
        do { model = try FourMModel(path: files.model.path, precision: precision) } catch { throw FourMError.model(error) }
        let m = try EvalModalities(model)
        var pipeline = try Pipeline(bundle: files, outputs: m.outputs, model: model)
        // Documentation/Quality.md was measured with text + [EOS] captions; keep it reproducible.
        pipeline.textConditioning = .endOfSequence
        let side = m.side
        note("loaded \(files.model.path) (\(side)×\(side) images) in \(seconds(since: started))")

        let configuration = SynthConfiguration(width: side, height: side)
        let training = try SyntheticWorld(seed: Self.trainingSeed, configuration: configuration)
        let heldOut = try SyntheticWorld(seed: seed, configuration: configuration)
        let baseline = EvalBaselines(world: training, scenes: baselineScenes)
        note("built baselines from \(baselineScenes) training scenes (seed \(Self.trainingSeed))")

        let presets = try EvalPresets(
            model: model, modalities: m, rgbScheme: rgbScheme == "maskgit" ? .maskGIT : .roar, rgbSteps: rgbSteps,
            rgbTemperature: rgbTemperature, rgbGuidance: rgbGuidance)
        var predictions: [EvalPrediction] = []
        predictions.reserveCapacity(count)
        var scenes: [SynthScene] = []
        scenes.reserveCapacity(count)
        let loopStarted = Date()
        for (b, start) in stride(from: 0, to: count, by: batch).enumerated() {
            let chunk = (start..<min(start + batch, count)).map { heldOut.scene(at: $0) }
            predictions += try evaluate(chunk, batchIndex: b, pipeline: pipeline, modalities: m, presets: presets)
            scenes += chunk
            let done = scenes.count
            let elapsed = Date().timeIntervalSince(loopStarted)
            let left = elapsed / Double(done) * Double(count - done)
            note("eval: \(done)/\(count) scenes, \(Int(elapsed.rounded())) s elapsed, ~\(Int(left.rounded())) s left")
        }

        let table = try EvalTable(scenes: scenes, predictions: predictions, baseline: baseline, seed: seed)
        let wallTime = Date().timeIntervalSince(started)
        print(table.markdown)
        let examplePaths = try writeExamples(scenes: Array(scenes.prefix(exampleCount)), predictions: Array(predictions.prefix(exampleCount)))
        try writeReport(table: table, examples: examplePaths, scenes: scenes, wallTime: wallTime)
        note("wrote \(report) and \(examplePaths.count) example scenes to \(examples) (\(Int(wallTime.rounded())) s)")
    }

    /// Runs every task on one batch of scenes.
    func evaluate(_ scenes: [SynthScene], batchIndex: Int, pipeline: Pipeline, modalities m: EvalModalities, presets: EvalPresets) throws -> [EvalPrediction] {
        let side = m.side
        // rgb → depth, normal, semseg, caption, det (chained, as rgb2all).
        let fromRGB = try pipeline.generate(batch: scenes.map { [m.rgb: .image($0.rgb)] }, preset: presets.fromRGB, seed: callSeed(0, batchIndex))
        let depth = try decoded(fromRGB, m.depth, channels: 1, side: side, rows: scenes.count)
        let normals = try decoded(fromRGB, m.normal, channels: 3, side: side, rows: scenes.count)
        let semseg = try decoded(fromRGB, m.semseg, channels: nil, side: side, rows: scenes.count)
        // caption → rgb, then rgb → semseg on the generated image.
        let captions = scenes.map { [m.caption: PipelineInput.text($0.caption)] }
        let toRGB = try pipeline.generate(batch: captions, preset: presets.captionToRGB, seed: callSeed(1, batchIndex))
        let generatedValues = try decoded(toRGB, m.tokRGB, channels: 3, side: side, rows: scenes.count)
        var generated: [Image] = []
        for row in scenes.indices {
            do { generated.append(try Visualization.rgb(generatedValues.slice(row..<(row + 1)))) } catch { throw FourMError.image(error) }
        }
        let resegmented = try pipeline.generate(batch: generated.map { [m.rgb: .image($0)] }, preset: presets.segmentation, seed: callSeed(2, batchIndex))
        let generatedSemseg = try decoded(resegmented, m.semseg, channels: nil, side: side, rows: scenes.count)
        // caption → det.
        let toDet = try pipeline.generate(batch: captions, preset: presets.captionToDet, seed: callSeed(3, batchIndex))

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

    /// The seed of one model call: distinct per call kind and batch, fixed by `--seed`.
    func callSeed(_ call: UInt64, _ batchIndex: Int) -> UInt64 {
        seed &* 1_000_003 &+ UInt64(batchIndex) &* 8 &+ call
    }

    /// A decoded image-like output `[B, C, side, side]`, its shape checked.
    func decoded(_ result: PipelineResult, _ modality: Modality, channels: Int?, side: Int, rows: Int) throws -> Tensor<Float> {
        guard let values = try result.decodedValues(modality) else {
            throw CLIError("\(modality.rawValue): the run produced no tokens for it")
        }
        let shape = values.shape
        guard shape.count == 4, shape[0] == rows, channels.map({ shape[1] == $0 }) ?? (shape[1] >= SynthMetrics.classCount),
            shape[2] == side, shape[3] == side
        else {
            throw CLIError("\(modality.rawValue): decodes to shape \(shape), expected [\(rows), \(channels.map(String.init) ?? "≥\(SynthMetrics.classCount)"), \(side), \(side)]")
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
            for p in 0..<pixels { out[p * 3 + c] = planar[c * pixels + p] }
        }
        return out
    }

    /// The command that regenerates the report, every option spelled out.
    var command: String {
        let arguments = (bundle.map { ["--bundle", $0] } ?? []) + [
            "--count", "\(count)", "--seed", "\(seed)", "--baseline-scenes", "\(baselineScenes)",
            "--batch", "\(batch)", "--example-count", "\(exampleCount)", "--rgb-scheme", rgbScheme, "--rgb-steps", "\(rgbSteps)",
            "--rgb-temperature", "\(rgbTemperature)", "--rgb-guidance", "\(rgbGuidance)", "--report", report, "--examples", examples,
        ] + (precision == .fp32 ? [] : ["--precision", precision.rawValue])
        return "swift run -c release fourm eval " + arguments.map(Self.shellQuoted).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=@:,+".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    func seconds(since date: Date) -> String {
        String(format: "%.1f s", Date().timeIntervalSince(date))
    }
}

/// The model's outputs for one held-out scene.
struct EvalPrediction {
    /// Standardised depth `[H, W]`.
    var depth: [Float]
    /// Normals `[H, W, 3]`.
    var normals: [Float]
    /// Semantic labels `[H, W]`.
    var labels: [UInt8]
    /// rgb → caption.
    var caption: String
    /// rgb → det.
    var boxes: [DetectedBox]
    /// caption → rgb.
    var generated: Image
    /// rgb → semseg of the generated image.
    var generatedLabels: [UInt8]
    /// The objects found in the generated image.
    var found: [SynthCaptionObject]
    /// caption → det.
    var captionBoxes: [DetectedBox]
}

/// The modalities `fourm eval` needs, resolved against the model.
struct EvalModalities {
    let rgb, depth, normal, semseg, tokRGB, caption, det: Modality
    /// The RGB input's side in pixels.
    let side: Int

    init(_ model: FourMModel) throws {
        let configuration = model.configuration
        guard let rgb = model.inputModalities.first(where: { $0.baseName == "rgb" && configuration.info($0)?.kind == .pixels }),
            let info = configuration.info(rgb)
        else {
            throw CLIError("the bundle's model takes no rgb@N pixel input (inputs: \(model.inputModalities.map(\.rawValue).joined(separator: ", ")))")
        }
        func output(_ base: String) throws -> Modality {
            guard let found = model.outputModalities.first(where: { $0.baseName == base }) else {
                throw CLIError("the bundle's model has no \(base) output; fourm eval needs tok_depth, tok_normal, tok_semseg, tok_rgb, caption and det (outputs: \(model.outputModalities.map(\.rawValue).joined(separator: ", ")))")
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
    var outputs: [Modality] { [depth, normal, semseg, tokRGB, caption, det] }
}

/// The schedules of the four model calls.
struct EvalPresets {
    /// rgb → depth, normal, semseg, caption, det with the rgb2all settings.
    let fromRGB: SchedulePreset
    /// rgb → semseg alone, same settings.
    let segmentation: SchedulePreset
    /// caption → tok_rgb with the command's scheme, steps (cosine), constant τ and guidance.
    let captionToRGB: SchedulePreset
    /// caption → det with the rgb2all det settings.
    let captionToDet: SchedulePreset

    init(model: FourMModel, modalities m: EvalModalities, rgbScheme: GenerationScheme, rgbSteps: Int, rgbTemperature: Double, rgbGuidance: Double) throws {
        let all = SchedulePreset.rgbToAllFourM(model, excluding: [m.rgb])
        func only(_ wanted: [Modality]) throws -> SchedulePreset {
            var preset = all
            preset.targets = all.targets.filter { wanted.contains($0.modality) }
            guard preset.targets.count == wanted.count else {
                throw CLIError("the rgb2all preset of this model lacks \(wanted.filter { w in !preset.targets.contains { $0.modality == w } }.map(\.rawValue))")
            }
            return preset
        }
        fromRGB = try only([m.depth, m.normal, m.semseg, m.caption, m.det])
        segmentation = try only([m.semseg])
        captionToDet = try only([m.det])
        guard let info = model.configuration.info(m.tokRGB) else { throw CLIError("\(m.tokRGB.rawValue): no registry information") }
        captionToRGB = SchedulePreset(targets: [
            TargetSettings(m.tokRGB, scheme: rgbScheme, tokens: info.tokenCount, steps: min(rgbSteps, info.tokenCount), tokenSchedule: .cosine,
                           temperature: rgbTemperature, guidance: .scale(rgbGuidance))
        ])
    }
}
