import ArgumentParser
import Foundation
import FourM
import FourMHub

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate modalities from others with a 4M bundle and write them to a folder.",
        discussion: """
            Without --bundle or --model it runs the demo model shipped with FourM (64×64 synthetic scenes). \
            --model ORG/NAME loads a Hugging Face Hub model by id through the cache shared with Python \
            (HF_HUB_CACHE / HF_HOME), fetching only the tokenizers of the requested targets; HF_HUB_OFFLINE=1 \
            uses only the cache.
            Modalities take their 4M names (tok_depth@224, caption, …) or short names: \
            \(shortNames(ModalityTable.reference).joined(separator: ", ")).
            Inputs: rgb=photo.png (an image), depth=depth.png (a 16-bit gray depth PNG at the depth \
            tokenizer's size, larger = farther; robustly standardised first), caption="a dog" (text for any \
            sequence modality), tok_rgb@224=photo.png / normal=n.png / canny=edges.png (a picture encoded \
            by that modality's tokenizer, VQ-VAE or DiVAE), semseg=labels.png (a gray PNG of class ids), \
            NAME=ids.json (token ids: a JSON array or {"tokens": [...]}, as fourm writes them).
            Presets: rgb2all (the reference demo's DEFAULTS_RGB2X), caption2all (its DEFAULTS_X2RGB), \
            caption2clip2rgb; FourM's earlier variants rgb2all-fourm and caption2images.
            Outputs: PNG renders for RGB/depth/normal/edges/semseg, .txt and .json for text, \
            .json token ids for everything.
            """)

    enum Preset: String, ExpressibleByArgument, CaseIterable {
        case rgb2all, caption2all, caption2clip2rgb
        case rgb2allFourM = "rgb2all-fourm", caption2images
    }

    @Option(help: "Bundle folder (bundle.json, or the released file names). Default: the demo model shipped with FourM.")
    var bundle: String?

    @Option(name: .customLong("model"), help: "Hugging Face Hub model id (EPFL-VILAB/4M-21_B, or any repository with a bundle.json).")
    var modelID: String?

    @Option(help: "Branch, tag or commit of --model.")
    var revision: String = "main"

    @Option(help: "WordPiece tokenizer.json to use with --model instead of the repository's or the shipped reference vocabulary.")
    var textTokenizer: String?

    @Option(name: .customLong("input"), help: "A condition, NAME=VALUE (image path for rgb, text otherwise; a folder of images runs once per image into OUT/<image>/). Repeatable.")
    var inputs: [String] = []

    @Option(help: "Comma-separated targets (default: every output the preset covers).")
    var target: String?

    @Option(help: "Schedule preset.")
    var preset: Preset?

    @Option(help: "Output folder.")
    var out: String

    // `.unconditional`: `--steps -5` reaches validate() and gets a clear message instead of
    // ArgumentParser's "Missing value" (a leading '-' otherwise reads as an option).
    @Option(parsing: .unconditional, help: "Decoding steps for image-like targets (overrides the preset).")
    var steps: Int?

    @Option(parsing: .unconditional, help: "Temperature (overrides the preset).")
    var temperature: Double?

    @Option(parsing: .unconditional, help: "Classifier-free guidance scale (overrides the preset).")
    var guidance: Double?

    @Option(parsing: .unconditional, help: "Top-p (0 = off).")
    var topP: Double?

    @Option(parsing: .unconditional, help: "Seed (step i uses seed + i).")
    var seed: UInt64?

    @Option(help: "A super-resolution bundle (4M-7-SR style): after the base pass, generate the 448 twins of its outputs (seed + 1, as the demo).")
    var superResolution: String?

    @Option(parsing: .unconditional, help: "Also generate dense SAM instances with this many parallel rows (the reference's generate_sam_dense) and write sam_instance_dense.png / .json.")
    var samDense: Int?

    @Option(help: "A schedule file (JSON): per-target scheme, steps, tokens, temperature, schedules, guidance, plus top_p/top_k (replaces --preset).")
    var schedule: String?

    @Option(parsing: .unconditional, help: "Denoising steps of diffusion (DiVAE) decoding.")
    var diffusionSteps: Int?

    @Option(parsing: .unconditional, help: "Slots of every sequence target (caps the preset's; fewer = faster, shorter texts).")
    var sequenceTokens: Int?

    @Option(help: "Also write one composite PNG of every input and output to this file (the demo's plot_modalities).")
    var grid: String?

    @Option(help: "Arithmetic of the model's linear layers and of the diffusion decoders: fp32 (default, the parity path) or bf16 (oneDNN; falls back to fp32 on CPUs without AVX-512).")
    var precision: ComputePrecision = .fp32

    @Option(help: "Stream compact copies of the decoder weights in autoregressive steps (captions, boxes, metadata): bf16 or int8 (2 or 1 byte per weight instead of 4; faster, within ~1% of the logits). Default: off.")
    var decoderWeights: CompactWeightFormat?

    @Option(help: "Your SMPL model as .npz (Documentation/HumanPoseMeshes.md says how to make it from SMPL_NEUTRAL.pkl): also write human_poses_mesh.png, the poses' SMPL meshes over the input.")
    var smpl: String?

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one --input NAME=VALUE") }
        if bundle != nil && modelID != nil { throw ValidationError("give --bundle DIR or --model ID, not both") }
        if modelID == nil && textTokenizer != nil { throw ValidationError("--text-tokenizer goes with --model") }
        for input in inputs where !input.contains("=") { throw ValidationError("--input '\(input)' is not NAME=VALUE") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if let diffusionSteps, diffusionSteps < 1 { throw ValidationError("--diffusion-steps must be at least 1, got \(diffusionSteps)") }
        if let samDense, samDense < 1 { throw ValidationError("--sam-dense must be at least 1, got \(samDense)") }
        if let sequenceTokens, sequenceTokens < 2 { throw ValidationError("--sequence-tokens must be at least 2, got \(sequenceTokens)") }
        // Sampling computes in Float: 1e308 is a finite Double but an infinite Float.
        if let temperature, !Float(temperature).isFinite || temperature < 0 {
            throw ValidationError("--temperature must be a non-negative number of at most \(Float.greatestFiniteMagnitude), got \(temperature)")
        }
        if let guidance, !Float(guidance).isFinite {
            throw ValidationError("--guidance must be a finite number of magnitude at most \(Float.greatestFiniteMagnitude), got \(guidance)")
        }
        if let target {
            let names = target.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if names.contains(where: \.isEmpty) {
                throw ValidationError("--target '\(target)' has an empty modality name; give comma-separated names such as tok_depth@224,caption")
            }
        }
        if let topP, !(0...1).contains(topP) { throw ValidationError("--top-p must be in 0…1") }
    }

    func run() async throws {
        do {
            if let runs = try batchRuns() { try await runBatch(runs) } else { try await execute() }
        } catch let error as FourMError { throw CLIError(error.description) } catch let error as HubError { throw CLIError(error.description)
        } catch let error as CLIError { throw error } catch {
            // Foundation write errors: one line with the POSIX reason, not an NSError dump.
            throw CLIError("--out \(out): cannot write the outputs (\(posixReason(error)))")
        }
    }

    func execute() async throws {
        try prepareOutputFolder(out, option: "--out")
        if let grid { try prepareOutputFile(grid, option: "--grid") }
        let smplModel = try loadSMPLModel()
        let hub = HubClient()
        let downloads = DownloadProgressBar()
        let files: ModelBundle
        if let modelID {
            // The model and the text tokenizer first; the tokenizers once the targets are known.
            defer { downloads.finish() }
            files = try await hub.modelBundle(modelID, revision: revision, outputs: [], textTokenizer: textTokenizer.map { URL(fileURLWithPath: $0) }, progress: downloads.handler)
        } else {
            files = try bundle.map { path throws(FourMError) in try ModelBundle(directory: URL(fileURLWithPath: path)) } ?? ModelBundle.demo()
        }
        let model: FourMModel
        do {
            model = try FourMModel(path: files.model.path, precision: precision, modalities: files.modalities).withCompactDecoderWeights(decoderWeights)
        } catch { throw FourMError.model(error) }
        var conditions: [Modality: PipelineInput] = [:]
        var photo: Image? = nil
        var photoSize = 224
        for input in inputs {
            let parts = input.split(separator: "=", maxSplits: 1).map(String.init)
            let modality = try resolve(parts[0], in: model.inputModalities, role: "input", modalities: model.configuration.modalities)
            let value = parts.count > 1 ? parts[1] : ""
            if model.configuration.info(modality)?.kind == .pixels {
                let image: Image
                do { image = try Image(contentsOf: URL(fileURLWithPath: value)) } catch { throw FourMError.image(error) }
                conditions[modality] = .image(image)
                photo = image
                if let info = model.configuration.info(modality) { photoSize = info.gridSize * info.patchSize }
            } else if let parsed = try structuredInput(modality, value, spec: model.configuration.modalities.spec(for: modality)) {
                conditions[modality] = parsed
            } else if model.configuration.modalities.spec(for: modality)?.renderer == .depth {
                // A 16-bit (or 8-bit) gray depth PNG, larger = farther, at the tokenizer's size.
                let depth: Tensor<Float>
                do { depth = try DepthMap.readPNG(URL(fileURLWithPath: value)) } catch { throw FourMError.image(error) }
                conditions[modality] = .tensor(DepthMap.standardized(depth))
            } else {
                conditions[modality] = .text(value)
            }
        }
        let rgbGiven = conditions.keys.contains { model.configuration.info($0)?.kind == .pixels }
        var chosen: SchedulePreset
        switch preset ?? (rgbGiven ? .rgb2all : .caption2all) {
        case .rgb2all: chosen = .rgbToAll(model, excluding: Array(conditions.keys))
        case .caption2all: chosen = .captionToAll(model, excluding: Array(conditions.keys))
        case .caption2clip2rgb: chosen = .captionToCLIPToRGB()
        case .rgb2allFourM: chosen = .rgbToAllFourM(model, excluding: Array(conditions.keys))
        case .caption2images: chosen = .captionToImages(model, excluding: Array(conditions.keys))
        }
        if let schedule { chosen = try readSchedule(schedule, model: model) }
        if let target {
            let wanted = try target.split(separator: ",").map { try resolve(String($0).trimmingCharacters(in: .whitespaces), in: model.outputModalities, role: "target", modalities: model.configuration.modalities) }
            var targets: [TargetSettings] = []
            for m in wanted {
                if let existing = chosen.targets.first(where: { $0.modality == m }) {
                    targets.append(existing)
                } else if let info = model.configuration.info(m) {
                    targets.append(info.kind == .sequence
                        ? TargetSettings(m, scheme: .autoregressive, tokens: info.tokenCount, temperature: 0.3)
                        : TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: 1, temperature: 0.01, guidance: .scale(2)))
                }
            }
            chosen.targets = targets
        }
        for i in chosen.targets.indices {
            if let steps, chosen.targets[i].scheme != .autoregressive { chosen.targets[i].steps = min(steps, chosen.targets[i].tokens) }
            if let temperature { chosen.targets[i].temperature = temperature }
            if let guidance { chosen.targets[i].guidance = .scale(guidance) }
            if let sequenceTokens, chosen.targets[i].scheme == .autoregressive { chosen.targets[i].tokens = min(chosen.targets[i].tokens, sequenceTokens) }
        }
        if let topP { chosen.filter.topP = topP }
        // The bundle must decode every requested output; say which are missing up front.
        let needed = chosen.targets.map(\.modality)
        var decoders = files
        if let id = modelID {
            defer { downloads.finish() }
            decoders = try await hub.modelBundle(id, revision: revision, outputs: needed, textTokenizer: textTokenizer.map { URL(fileURLWithPath: $0) }, progress: downloads.handler)
        }
        var pipelineForTargets = try Pipeline(bundle: decoders, outputs: samDense == nil || needed.contains(.samInstance) ? needed : needed + [.samInstance], model: model,
                                              precision: precision)
        if let diffusionSteps { pipelineForTargets.diffusionSteps = diffusionSteps }
        let total = (try? chainedSchedule(conditions: Array(conditions.keys), targets: chosen.targets, growConditioning: chosen.growConditioning).count) ?? 0
        let bar = ProgressBar(total: total)
        let result = try pipelineForTargets.generate(from: conditions, preset: chosen, seed: seed) { report in
            bar.update(done: report.index + 1, label: report.step.target.rawValue)
        }
        bar.finish()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var written: [String] = []
        for m in needed {
            let name = m.rawValue.replacingOccurrences(of: "@", with: "_")
            if let tokens = result.tokens(m) {
                try writeJSON(["modality": m.rawValue, "shape": tokens.shape, "tokens": tokens.scalars.map(Int.init)], to: "\(name).tokens.json")
                written.append("\(name).tokens.json")
            }
            if model.configuration.info(m)?.kind == .sequence, let text = try result.text(m) {
                try (text + "\n").write(toFile: "\(out)/\(name).txt", atomically: true, encoding: .utf8)
                written.append("\(name).txt")
                if model.configuration.modalities.spec(for: m)?.renderer == .boxes, let parsed = try result.boxes(m) {
                    let boxes = parsed.value.map { ["xmin": $0.xmin, "ymin": $0.ymin, "xmax": $0.xmax, "ymax": $0.ymax, "class": $0.className] as [String: Any] }
                    let issues = parsed.issues.map { "\($0)" }
                    try writeJSON(["boxes": boxes, "issues": issues], to: "\(name).boxes.json")
                    written.append("\(name).boxes.json")
                    if let photo = photo {
                        let drawn: Image
                        do {
                            drawn = try Visualization.boxes(parsed.value.map { Visualization.Box(xmin: Float($0.xmin), ymin: Float($0.ymin), xmax: Float($0.xmax), ymax: Float($0.ymax), label: $0.className) },
                                                            on: try photo.preprocessed(size: max(photoSize, 256)))
                            try drawn.writePNG(to: URL(fileURLWithPath: "\(out)/\(name).png"))
                        } catch { throw FourMError.image(error) }
                        written.append("\(name).png")
                    }
                }
            } else if let image = try result.image(m) {
                do { try image.writePNG(to: URL(fileURLWithPath: "\(out)/\(name).png")) } catch { throw FourMError.image(error) }
                written.append("\(name).png")
            }
            written += try writeStructuredOutputs(m, result: result, name: name, photo: photo, modalities: model.configuration.modalities, smpl: smplModel)
        }
        if let samDense {
            let dense = try pipelineForTargets.generateSAMDense(from: conditions, batchSize: samDense, tokens: sequenceTokens, filter: chosen.filter, seed: seed)
            written += try writeStructuredOutputs(.samInstance, result: dense, name: "sam_instance_dense", photo: photo, modalities: model.configuration.modalities)
        }
        if let superResolution {
            written += try runSuperResolution(bundle: superResolution, base: result, filter: chosen.filter)
        }
        if let grid {
            let pictures = conditions.compactMap { (m, value) -> (Modality, Image)? in
                if case .image(let image) = value { return (m, image) } else { return nil }
            }
            do { try result.grid(inputs: Dictionary(uniqueKeysWithValues: pictures)).writePNG(to: URL(fileURLWithPath: grid)) } catch let error as ImageError { throw FourMError.image(error) }
            written.append(grid)
        }
        print("wrote \(written.count) files to \(out): \(written.joined(separator: ", "))")
    }

    func writeJSON(_ object: [String: Any], to name: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: "\(out)/\(name)"), options: .atomic)
    }

    /// Full 4M names, or short names matched against the model's modalities: a base name, then
    /// the `ModalitySpec.aliases` of `modalities` in table order, then `tok_NAME`.
    func resolve(_ name: String, in available: [Modality], role: String, modalities: ModalityTable = .reference) throws -> Modality {
        let direct = Modality(rawValue: name)
        if available.contains(direct) { return direct }
        // Inputs prefer the raw modality (rgb → rgb@224), targets the token one (rgb → tok_rgb@224):
        // the base name comes before the specs that take it as an alias.
        for base in modalities.baseNames(matching: name) {
            if let match = available.first(where: { $0.baseName == base }) { return match }
        }
        if let exact = available.first(where: { $0.baseName == name }) { return exact }
        if let tokens = available.first(where: { $0.baseName == "tok_\(name)" }) { return tokens }
        throw FourMError.unknownModality(name: name, role: role, available: available.map(\.rawValue))
    }

    /// The short names `--help` lists: each spec's first alias, else its base name, for every
    /// spec the command line can name (not encoder-only embeddings), in table order.
    static func shortNames(_ modalities: ModalityTable) -> [String] {
        var seen: Set<String> = []
        return modalities.specs.filter { $0.kind != .sequenceEmbedding }.map { $0.aliases.first ?? $0.name }.filter { seen.insert($0).inserted }
    }
}

/// A one-line progress bar on a terminal; plain lines otherwise.
final class ProgressBar {
    let total: Int
    let isTerminal = isatty(STDERR_FILENO) != 0
    init(total: Int) { self.total = max(total, 1) }

    func update(done: Int, label: String) {
        let width = 30
        let filled = width * done / total
        let line = "[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total) \(label)"
        FileHandle.standardError.write(Data((isTerminal ? "\r\(line)\u{1B}[K" : line + "\n").utf8))
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
