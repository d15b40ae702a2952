import Foundation
import FourMDiffusion
import FourMModels
import FourMSampling
import FourMTensor
import FourMTokenizers

/// A value a user hands to the ``Pipeline`` for one modality.
public enum PipelineInput: Sendable {
    /// A photo for `rgb@N` (resized, centre-cropped and ImageNet-normalised), or a picture for
    /// `tok_rgb`, `tok_normal`, `tok_depth` or an edge modality, encoded through its tokenizer
    /// (VQ-VAE or DiVAE) with the reference's preprocessing (``Pipeline/tokenizerValues(_:image:)``).
    case image(Image)
    /// Text for a sequence modality. `caption` and `det` are conditioned as the reference demo
    /// does (``Pipeline/textConditioning``, default `custom_text`); other sequences get `[EOS]`.
    case text(String)
    /// Ready token ids of one row (image tokens row-major, or sequence ids).
    case tokens([Int32])
    /// Precomputed pixels or feature maps `[1, C, H, W]` for a modality's input (`rgb@N`
    /// pixels already normalised) or its tokenizer.
    case tensor(Tensor<Float>)
    /// Bounding boxes for `det` (serialised as `v0=… v1=… v2=… v3=… class`, spec/tokenizers.md 8.4).
    case boxes([DetectedBox])
    /// A semantic label map `[H, W]` of the segmentation tokenizer's class ids (0 = void).
    case labels(Tensor<Int32>)
}

/// Generation settings as the reference's recipes give them (spec/generation.md 5, 6.4).
public struct SchedulePreset: Sendable {
    /// Per-target settings.
    public var targets: [TargetSettings]
    /// Top-k / top-p of every step.
    public var filter: SamplingFilter
    /// Whether finished non-autoregressive targets join the guidance conditions.
    public var growConditioning: Bool

    /// Creates a preset.
    public init(targets: [TargetSettings], filter: SamplingFilter = SamplingFilter(topP: 0.8), growConditioning: Bool = true) {
        self.targets = targets
        self.filter = filter
        self.growConditioning = growConditioning
    }

    /// The reference's chained order of outputs (demo sampler `DEFAULT_ORDER`).
    public static let defaultOrder: [String] = [
        "tok_clip", "tok_dinov2", "tok_imagebind", "tok_depth", "tok_normal", "tok_semseg", "tok_canny_edge", "tok_sam_edge", "tok_rgb",
        "caption", "det", "human_poses", "sam_instance", "color_palette", "metadata",
    ]

    /// FourM's earlier RGB → all preset, kept as a named variant: like ``rgbToAll(_:excluding:)``
    /// but det at τ 0.7, every sequence given the model's maximum slots, and the global
    /// embedding outputs (`tok_dinov2_global`, …) included.
    public static func rgbToAllFourM(_ model: FourMModel, excluding inputs: [Modality] = []) -> SchedulePreset {
        let temperatures: [String: Double] = ["caption": 0.3, "det": 0.7, "human_poses": 0.1, "sam_instance": 0.01, "color_palette": 0.1, "metadata": 0.1]
        var targets: [TargetSettings] = []
        for m in orderedOutputs(model, excluding: inputs) {
            guard let info = model.configuration.info(m) else { continue }
            if info.kind == .sequence {
                targets.append(TargetSettings(m, scheme: .autoregressive, tokens: info.tokenCount, temperature: temperatures[m.baseName] ?? 0.3))
            } else if m.baseName != "tok_rgb" {
                targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: 1, tokenSchedule: .linear, temperature: 0.01, guidance: .scale(2)))
            }
        }
        return SchedulePreset(targets: targets)
    }

    /// FourM's earlier caption → images preset, kept as a named variant: only the image-like
    /// outputs (global embeddings included, no sequences), CLIP first (ROAR 50 steps, τ 5
    /// onex:0.5:0.5, guidance 3), then depth/normal/semseg (8 steps, τ 3), RGB (25 steps, τ 3),
    /// DINOv2/ImageBind (at most 8 steps, τ 0.01), guidance 2.
    public static func captionToImages(_ model: FourMModel, excluding inputs: [Modality] = []) -> SchedulePreset {
        var targets: [TargetSettings] = []
        for m in orderedOutputs(model, excluding: inputs) {
            guard let info = model.configuration.info(m), info.kind == .imageTokens else { continue }
            let onex = TemperatureSchedule.onex(minimum: 0.5, power: 0.5)
            switch m.baseName {
            case "tok_clip": targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: 50, temperature: 5, temperatureSchedule: onex, guidance: .scale(3)))
            case "tok_rgb": targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: 25, temperature: 3, temperatureSchedule: onex, guidance: .scale(2)))
            case "tok_dinov2", "tok_imagebind", "tok_dinov2_global", "tok_imagebind_global":
                targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: min(8, info.tokenCount), temperature: 0.01, guidance: .scale(2)))
            default: targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: 8, temperature: 3, temperatureSchedule: onex, guidance: .scale(2)))
            }
        }
        return SchedulePreset(targets: targets)
    }

    /// Caption → CLIP → RGB (`run_generation`'s `T2CR_roar49-25_cfg3_t6-0.5`).
    public static func captionToCLIPToRGB(resolution: Int = 224) -> SchedulePreset {
        let clip = Modality(rawValue: "tok_clip@\(resolution)"), rgb = Modality(rawValue: "tok_rgb@\(resolution)")
        let tokens = (resolution / 16) * (resolution / 16)
        return SchedulePreset(
            targets: [TargetSettings(clip, scheme: .roar, tokens: tokens, steps: 49, temperature: 6, temperatureSchedule: .onex(minimum: 0.5, power: 0.5), guidance: .scale(3)),
                      TargetSettings(rgb, scheme: .roar, tokens: tokens, steps: 25, temperature: 0.5, guidance: .scale(3))],
            filter: SamplingFilter(topP: 0.9))
    }

    static func orderedOutputs(_ model: FourMModel, excluding inputs: [Modality]) -> [Modality] {
        let outputs = model.outputModalities.filter { !inputs.contains($0) }
        let ranked = outputs.sorted { a, b in
            (defaultOrder.firstIndex(of: a.baseName) ?? 99, a.rawValue) < (defaultOrder.firstIndex(of: b.baseName) ?? 99, b.rawValue)
        }
        return ranked
    }
}

/// What a ``Pipeline`` run produced: the final modality dictionary plus decoders for it.
public struct PipelineResult: Sendable {
    /// Every modality after generation (conditions and targets).
    public let dictionary: ModalityDictionary
    /// What each step did.
    public let steps: [StepReport]
    let pipeline: Pipeline

    /// The token ids of a modality `[B, L]`: for sequences only the content positions of row 0
    /// onward (padding removed per row in ``text(_:row:)``).
    public func tokens(_ modality: Modality) -> Tensor<Int32>? { dictionary[modality]?.tokens }

    /// The text of a sequence modality for one batch row (special tokens kept, as 4M's
    /// `decode_text` does; `[PAD]` and `[EOS]` tails removed).
    /// - Throws: `.tokenizer` when there is no text tokenizer or an id is out of range.
    public func text(_ modality: Modality, row: Int = 0) throws(FourMError) -> String? {
        guard let state = dictionary[modality], let tokens = state.tokens, row < state.batchSize else { return nil }
        guard let tokenizer = pipeline.textTokenizer else { throw .missingTokenizers(bundle: pipeline.bundleName, modalities: [modality.rawValue]) }
        let length = state.length
        let ids = (0..<length).filter { !state.inputMask[row, $0] }.map { tokens[row, $0] }.prefix { $0 != SpecialTokens.eos }
        do { return try tokenizer.decode(Array(ids), skipSpecialTokens: false) } catch { throw .tokenizer(error) }
    }

    /// The decoded values of an image-like modality through its tokenizer: `[B, C, H, W]`
    /// (RGB/normals in [-1, 1], depth standardised, semseg class logits, feature maps, or
    /// `[B, C, 1, 1]` global embeddings).
    /// - Throws: `.missingTokenizers`, `.imageTokenizer` for ids the tokenizer rejects.
    public func decodedValues(_ modality: Modality) throws(FourMError) -> Tensor<Float>? {
        guard let tokens = tokens(modality) else { return nil }
        return try pipeline.decode(modality, tokens: tokens)
    }
}

extension PipelineResult {
    /// A picture of an image-like output, decoded by its tokenizer and rendered as the
    /// reference shows it (spec/tokenizers.md 9): RGB, surface normals, a depth colormap,
    /// edges, or a segmentation palette. Nil for modalities without a picture (features,
    /// sequences) or not in the result.
    /// - Throws: `.missingTokenizers`, `.imageTokenizer`, `.image`.
    public func image(_ modality: Modality, row: Int = 0) throws(FourMError) -> Image? {
        let render: (Tensor<Float>) throws(ImageError) -> Image
        switch modality.baseName {
        case "tok_rgb": render = Visualization.rgb
        case "tok_normal": render = Visualization.surfaceNormals
        case "tok_depth": render = Visualization.depth
        case "tok_canny_edge", "tok_sam_edge": render = Visualization.edges
        case "tok_semseg":
            if pipeline.semanticClassNames == COCOSemanticClasses.names {
                render = Visualization.semanticSegmentation(logits:)
            } else {
                render = { (logits: Tensor<Float>) throws(ImageError) -> Image in
                    // One colour per class the tokenizer predicts, named or not.
                    let classes = logits.shape.count >= 3 ? logits.shape[logits.shape.count - 3] : 0
                    let colors = (0..<max(classes, pipeline.semanticClassNames.count)).map { Pipeline.distinctColors[$0 % Pipeline.distinctColors.count] }
                    return try Visualization.semanticSegmentation(labels: try Visualization.semanticSegmentationLabels(logits: logits), colors: colors)
                }
            }
        default: return nil
        }
        guard let values = try decodedValues(modality), row < values.shape[0] else { return nil }
        do { return try render(values.slice(row..<(row + 1))) } catch { throw .image(error) }
    }
}

extension PipelineResult {
    /// The boxes of a `det` sequence (one batch row), parsed with ``DetectionCodec``; what
    /// could not be parsed is reported in `issues`, never dropped silently.
    /// - Throws: `.missingTokenizers` without a text tokenizer.
    public func boxes(_ modality: Modality = .det, row: Int = 0) throws(FourMError) -> SequenceDecoding<[DetectedBox]>? {
        guard let state = dictionary[modality], let tokens = state.tokens, row < state.batchSize else { return nil }
        guard let tokenizer = pipeline.textTokenizer else { throw .missingTokenizers(bundle: pipeline.bundleName, modalities: [modality.rawValue]) }
        let ids = (0..<state.length).filter { !state.inputMask[row, $0] }.map { tokens[row, $0] }
        return DetectionCodec().decode(ids: ids, using: tokenizer)
    }
}

extension PipelineResult {
    /// A semantic segmentation output as a class map `[H, W]` (argmax of the tokenizer's class
    /// logits) with the class name of every label present (``Pipeline/semanticClassNames``).
    /// - Parameters:
    ///   - modality: the semseg modality; nil picks the result's only `tok_semseg@N`.
    ///   - row: the batch row.
    /// - Throws: `.missingTokenizers`, `.imageTokenizer`, `.image`.
    public func segmentation(_ modality: Modality? = nil, row: Int = 0) throws(FourMError) -> (labels: Tensor<Int32>, classNames: [Int32: String])? {
        guard let modality = modality ?? dictionary.modalities.first(where: { $0.baseName == "tok_semseg" }) else { return nil }
        guard let values = try decodedValues(modality), row < values.shape[0] else { return nil }
        let labels: Tensor<Int32>
        do {
            let map = try Visualization.semanticSegmentationLabels(logits: values.slice(row..<(row + 1)))
            labels = map.reshaped(Array(map.shape.dropFirst()))
        } catch { throw .image(error) }
        var names: [Int32: String] = [:]
        let known = pipeline.semanticClassNames
        for label in Set(labels.scalars) where Int(label) < known.count { names[label] = known[Int(label)] }
        return (labels, names)
    }

    /// A global embedding output (`tok_dinov2_global`, `tok_imagebind_global`) decoded to its
    /// feature vector.
    /// - Throws: `.missingTokenizers`, `.imageTokenizer`.
    public func embedding(_ modality: Modality = .tokDINOv2Global, row: Int = 0) throws(FourMError) -> [Float]? {
        guard let values = try decodedValues(modality), row < values.shape[0] else { return nil }
        return values.slice(row..<(row + 1)).scalars
    }
}

/// The public face of FourM: a model, its tokenizers and the reference's schedules, turning
/// user values into generated values (ARCHITECTURE.md "Public API").
///
/// ```swift
/// let pipeline = try Pipeline(bundle: URL(fileURLWithPath: "models/4M-21_B"))
/// let result = try pipeline.generate(from: [.rgb224: .image(try Image(contentsOf: photo))],
///                                    preset: .rgbToAll(pipeline.model, excluding: [.rgb224]), seed: 42)
/// print(try result.text(.caption) ?? "")
/// let depth = try result.decodedValues(.tokDepth224)
/// ```
public struct Pipeline: Sendable {
    /// The 4M model.
    public let model: FourMModel
    /// The WordPiece tokenizer of every sequence modality.
    public let textTokenizer: WordPieceTokenizer?
    /// Image-like tokenizers by modality (ViT VQ-VAE and MLP ones).
    public let imageTokenizers: [Modality: VQImageTokenizer]
    /// Diffusion tokenizers by modality (RGB, depth, normals, edges).
    public let diffusionTokenizers: [Modality: DiVAE]
    /// Tokenizers of sequence outputs that carry image-tokenizer ids: the SAM-instance mask
    /// tokenizer (`sam_instance`) and the pose tokenizer (`human_poses`).
    public let sequenceTokenizers: [Modality: VQImageTokenizer]
    /// Denoising steps of diffusion decoding (DDIM, the released tokenizers' scheduler).
    public var diffusionSteps = 25
    /// How caption and det text conditions are built (default: the reference demo's `custom_text`).
    public var textConditioning: TextConditioning = .customText
    /// Semantic-segmentation class names by label: the bundle's, else the COCO panoptic ones.
    public let semanticClassNames: [String]
    let bundleName: String

    /// Colours for class lists other than COCO's: black background, then well-separated hues
    /// (red, green, blue, yellow, …), repeating after 12.
    static let distinctColors: [Image.Color] = [
        (0, 0, 0), (230, 25, 75), (60, 180, 75), (0, 130, 200), (255, 225, 25), (240, 50, 230),
        (70, 240, 240), (245, 130, 48), (145, 30, 180), (210, 245, 60), (250, 190, 212), (128, 128, 128),
    ].map { Image.Color(red: $0.0, green: $0.1, blue: $0.2) }

    /// Loads the demo model shipped with the package (``ModelBundle/demo()``): a small 4M
    /// trained on synthetic 64×64 scenes, so that FourM runs without a download.
    /// - Parameters:
    ///   - outputs: the modalities you intend to decode (default: all).
    ///   - precision: the arithmetic of the model's linear layers (default fp32, the parity
    ///     path); see ``ComputePrecision``.
    /// - Throws: `.bundle` when the package resources are missing, or a load error.
    public init(outputs: [Modality]? = nil, precision: ComputePrecision = .fp32) throws(FourMError) {
        try self.init(bundle: try ModelBundle.demo(), outputs: outputs, precision: precision)
    }

    /// Loads the model and the tokenizers of a bundle.
    /// - Parameters:
    ///   - bundle: where the files are.
    ///   - outputs: the modalities you intend to decode (default: every output of the model);
    ///     each must have a tokenizer in the bundle.
    ///   - preloaded: the bundle's model when the caller already loaded it (it is not loaded
    ///     again, and keeps the precision it was loaded with).
    ///   - precision: the arithmetic of the model's linear layers when it is loaded here
    ///     (default fp32, the parity path); see ``ComputePrecision``. Tokenizers stay fp32.
    /// - Throws: `.missingTokenizers` naming every output the bundle cannot decode, or the
    ///   error of the file that failed to load.
    public init(bundle: ModelBundle, outputs: [Modality]? = nil, model preloaded: FourMModel? = nil, precision: ComputePrecision = .fp32) throws(FourMError) {
        if let preloaded {
            model = preloaded
        } else {
            do { model = try FourMModel(path: bundle.model.path, precision: precision) } catch {
                switch error {
                case .weights(let e): throw .weights(e)
                case .configuration(let e): throw .configuration(e)
                default: throw .model(error)
                }
            }
        }
        let wanted = outputs ?? model.outputModalities
        for m in wanted where !model.outputModalities.contains(m) {
            throw .unknownModality(name: m.rawValue, role: "output", available: model.outputModalities.map(\.rawValue))
        }
        let missing = bundle.missingDecoders(for: wanted, imageSize: model.configuration.imageSize)
        if !missing.isEmpty { throw .missingTokenizers(bundle: bundle.directory.path, modalities: missing.map(\.rawValue)) }
        if let url = bundle.textTokenizer {
            do { textTokenizer = try WordPieceTokenizer(contentsOf: url) } catch { throw .tokenizer(error) }
        } else {
            textTokenizer = nil
        }
        var tokenizers: [Modality: VQImageTokenizer] = [:]
        var diffusion: [Modality: DiVAE] = [:]
        for (m, url) in bundle.tokenizers where model.configuration.info(m)?.kind == .imageTokens {
            let file: SafeTensorsFile
            do { file = try SafeTensorsFile(path: url.path) } catch { throw .weights(error) }
            let isDiffusion = file.metadata["beta_schedule"] != nil || (file.metadata["dec_type"].map { $0.contains("unet_") || $0.contains("uvit_") } ?? false)
            let codes: Int
            if isDiffusion {
                do { diffusion[m] = try DiVAE(file: file, presets: bundle.tokenizerPresets) } catch { throw .diffusion(error) }
                codes = diffusion[m]?.codebookSize ?? 0
            } else {
                do { tokenizers[m] = try VQImageTokenizer(file: file, presets: bundle.tokenizerPresets) } catch { throw .imageTokenizer(error) }
                codes = tokenizers[m]?.codebookSize ?? 0
            }
            if let vocabulary = model.configuration.info(m)?.vocabularySize, codes != vocabulary {
                throw .bundle(path: url.path, reason: "tokenizer has \(codes) codes, the model's \(m.rawValue) vocabulary has \(vocabulary)")
            }
        }
        var sequence: [Modality: VQImageTokenizer] = [:]
        for m in [Modality.samInstance, .humanPoses] where wanted.contains(m) {
            guard let url = bundle.tokenizers[m] else { continue }
            do { sequence[m] = try VQImageTokenizer(path: url.path, presets: bundle.tokenizerPresets) } catch { throw .imageTokenizer(error) }
        }
        imageTokenizers = tokenizers
        diffusionTokenizers = diffusion
        sequenceTokenizers = sequence
        semanticClassNames = bundle.semanticClassNames ?? COCOSemanticClasses.names
        bundleName = bundle.directory.path
    }

    /// Loads the bundle in `directory` (see ``ModelBundle``), its model in `precision`
    /// (default fp32; see ``ComputePrecision``).
    public init(bundle directory: URL, outputs: [Modality]? = nil, precision: ComputePrecision = .fp32) throws(FourMError) {
        try self.init(bundle: try ModelBundle(directory: directory), outputs: outputs, precision: precision)
    }

    /// Turns user values into the modality states of a full condition (spec/generation.md 1.3).
    /// - Throws: `.unknownModality`, `.invalidInput`, `.image`, `.imageTokenizer`.
    public func condition(_ modality: Modality, _ input: PipelineInput) throws(FourMError) -> ModalityState {
        guard model.inputModalities.contains(modality), let info = model.configuration.info(modality) else {
            throw .unknownModality(name: modality.rawValue, role: "input", available: model.inputModalities.map(\.rawValue))
        }
        switch (info.kind, input) {
        case (.pixels, .image(let image)):
            let side = info.gridSize * info.patchSize
            do { return ModalityState(pixels: try image.normalizedTensor(size: side), patchSize: info.patchSize) } catch { throw .image(error) }
        case (.pixels, .tensor(let pixels)):
            guard pixels.shape == [1, info.channels, info.gridSize * info.patchSize, info.gridSize * info.patchSize] else {
                throw .invalidInput(modality: modality.rawValue, expected: "pixels [1, \(info.channels), \(info.gridSize * info.patchSize), \(info.gridSize * info.patchSize)]", actual: "\(pixels.shape)")
            }
            return ModalityState(pixels: pixels, patchSize: info.patchSize)
        case (.sequence, .text(let text)):
            guard let tokenizer = textTokenizer else { throw .missingTokenizers(bundle: bundleName, modalities: [modality.rawValue]) }
            let ids = tokenizer.encode(text)
            guard !ids.isEmpty else { throw .invalidInput(modality: modality.rawValue, expected: "non-empty text", actual: "empty text") }
            guard ids.count < ModalityInfo.sequencePositionRows else {
                throw .invalidInput(modality: modality.rawValue, expected: "at most \(ModalityInfo.sequencePositionRows - 1) tokens", actual: "\(ids.count) tokens")
            }
            if textConditioning == .customText, modality == .caption || modality == .det {
                return .textCondition(ids, targetLength: DemoSetup.customTextTargetLength)
            }
            return .sequenceCondition([ids])
        case (.sequence, .boxes(let boxes)):
            let text: String
            do { text = try DetectionCodec().encode(boxes) } catch { throw .invalidInput(modality: modality.rawValue, expected: "encodable boxes", actual: error.description) }
            return try condition(modality, .text(text))
        case (.sequence, .tokens(let ids)):
            guard !ids.isEmpty, ids.allSatisfy({ $0 >= 0 && Int($0) < info.vocabularySize }) else {
                throw .invalidInput(modality: modality.rawValue, expected: "non-empty ids in 0..<\(info.vocabularySize)", actual: "\(ids.count) ids")
            }
            return .sequenceCondition([ids])
        case (.imageTokens, .tokens(let ids)):
            guard ids.count == info.tokenCount, ids.allSatisfy({ $0 >= 0 && Int($0) < info.vocabularySize }) else {
                throw .invalidInput(modality: modality.rawValue, expected: "\(info.tokenCount) ids in 0..<\(info.vocabularySize)", actual: "\(ids.count) ids")
            }
            return ModalityState(tokens: Tensor(shape: [1, ids.count], scalars: ids))
        case (.imageTokens, .tensor(let values)):
            return ModalityState(tokens: try tokenize(modality, values: values))
        case (.imageTokens, .image(let image)):
            return ModalityState(tokens: try tokenize(modality, values: try tokenizerValues(modality, image: image)))
        case (.imageTokens, .labels(let labels)):
            return ModalityState(tokens: try tokenize(modality, labels: labels))
        default:
            throw .invalidInput(modality: modality.rawValue, expected: "a value for a \(info.kind) modality", actual: "\(input)")
        }
    }

    /// Generates `preset`'s targets from `inputs`.
    /// - Parameters:
    ///   - inputs: conditions by modality.
    ///   - preset: targets and sampling settings (targets already given as inputs are skipped).
    ///   - seed: base seed (step i uses `seed + i`); nil draws a fresh stream.
    ///   - progress: called after every step.
    /// - Throws: `FourMError` for unknown modalities, inputs that do not fit, schedules that do
    ///   not fit the model, or cancellation (`.generation(.cancelled)`).
    public func generate(from inputs: [Modality: PipelineInput], preset: SchedulePreset, seed: UInt64? = nil,
                         progress: ((StepReport) -> Void)? = nil) throws(FourMError) -> PipelineResult {
        try generate(batch: [inputs], preset: preset, seed: seed, progress: progress)
    }

    /// Generates for several inputs at once, one batch row each (row `i` of every result
    /// accessor is input `i`). Every row must give the same modalities; sequence conditions of
    /// different lengths are padded.
    /// - Throws: `.invalidInput` when rows give different modalities, plus the errors of
    ///   ``generate(from:preset:seed:progress:)``.
    public func generate(batch: [[Modality: PipelineInput]], preset: SchedulePreset, seed: UInt64? = nil,
                         progress: ((StepReport) -> Void)? = nil) throws(FourMError) -> PipelineResult {
        guard let first = batch.first else { throw .invalidInput(modality: "batch", expected: "at least one input", actual: "none") }
        let conditions = first.keys.sorted()
        var dictionary = ModalityDictionary()
        for m in conditions {
            var rows: [ModalityState] = []
            for (i, inputs) in batch.enumerated() {
                guard let value = inputs[m], Set(inputs.keys) == Set(first.keys) else {
                    throw .invalidInput(modality: m.rawValue, expected: "the same modalities in every batch row (\(conditions.map(\.rawValue)))", actual: "row \(i): \(inputs.keys.map(\.rawValue).sorted())")
                }
                rows.append(try condition(m, value))
            }
            dictionary[m] = Self.stack(rows)
        }
        let inputs = first
        let batchSize = batch.count
        let targets = preset.targets.filter { inputs[$0.modality] == nil }
        for t in targets {
            guard model.outputModalities.contains(t.modality), let info = model.configuration.info(t.modality) else {
                throw .unknownModality(name: t.modality.rawValue, role: "target", available: model.outputModalities.map(\.rawValue))
            }
            if info.kind == .sequence {
                dictionary[t.modality] = .emptySequenceTarget(batch: batchSize, tokens: min(t.tokens, info.tokenCount))
            } else {
                guard t.tokens == info.tokenCount else {
                    throw .invalidInput(modality: t.modality.rawValue, expected: "a schedule over \(info.tokenCount) tokens", actual: "\(t.tokens)")
                }
                dictionary[t.modality] = .emptyImageTarget(batch: batchSize, tokens: info.tokenCount)
            }
        }
        let schedule: [GenerationStep]
        do { schedule = try buildChainedSchedule(conditions: conditions, targets: targets, growConditioning: preset.growConditioning) } catch { throw .generation(error) }
        var reports: [StepReport] = []
        let result: ModalityDictionary
        do {
            result = try FourMSampling.generate(model, dictionary: dictionary, schedule: schedule, options: GenerationOptions(filter: preset.filter, seed: seed),
                                                randomness: SeededRandomness(fallbackSeed: seed ?? UInt64.random(in: 0...UInt64.max))) { report in
                reports.append(report)
                progress?(report)
            }
        } catch { throw .generation(error) }
        return PipelineResult(dictionary: result, steps: reports, pipeline: self)
    }

    /// Stacks one-row states; shorter rows (sequences) are padded with `[PAD]`, hidden from the
    /// encoder and not targets.
    static func stack(_ rows: [ModalityState]) -> ModalityState {
        if rows.count == 1 { return rows[0] }
        let length = rows.map(\.length).max() ?? 0
        let padded = rows.map { row -> ModalityState in
            guard row.length < length, let tokens = row.tokens else { return row }
            let extra = length - row.length
            return ModalityState(
                content: .tokens(Tensor(shape: [1, length], scalars: tokens.scalars + [Int32](repeating: SpecialTokens.pad, count: extra))),
                inputMask: Tensor(shape: [1, length], scalars: row.inputMask.scalars + [Bool](repeating: true, count: extra)),
                targetMask: Tensor(shape: [1, length], scalars: row.targetMask.scalars + [Bool](repeating: true, count: extra)),
                decoderAttentionMask: Tensor(zeros: [1, length]))
        }
        var out = ModalityState.concatenated(padded)
        out.decoderAttentionMask = Tensor(zeros: out.inputMask.shape)
        return out
    }

    /// Decodes image-like tokens `[B, N]` with the modality's tokenizer: `[B, C, H, W]`.
    /// Diffusion tokenizers run ``diffusionSteps`` denoising steps from noise drawn with `seed`.
    public func decode(_ modality: Modality, tokens: Tensor<Int32>, seed: UInt64 = 0) throws(FourMError) -> Tensor<Float> {
        guard let info = model.configuration.info(modality) else { throw .missingTokenizers(bundle: bundleName, modalities: [modality.rawValue]) }
        if let divae = diffusionTokenizers[modality] {
            var rng = SeededGenerator(seed: seed)
            do { return try divae.decode(ids: tokens.reshaped([tokens.shape[0], info.gridSize, info.gridSize]), steps: diffusionSteps, rng: &rng) } catch {
                throw .diffusion(error)
            }
        }
        guard let tokenizer = imageTokenizers[modality] else {
            throw .missingTokenizers(bundle: bundleName, modalities: [modality.rawValue])
        }
        // Memcodes tokenizers (global embeddings, poses) take one id per head, `[B, heads]`;
        // the others a token grid `[B, h, w]`.
        let ids = tokenizer.codebookCount > 1 ? tokens : tokens.reshaped([tokens.shape[0], info.gridSize, info.gridSize])
        do { return try tokenizer.decode(ids: ids) } catch { throw .imageTokenizer(error) }
    }
}
