import FourMDiffusion
import FourMModels
import FourMSampling
import FourMTensor
import FourMTokenizers

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
///
/// Loading is in `Pipeline+Loading.swift`, user values → conditions in
/// `Pipeline+Conditioning.swift`, generation in `Pipeline+Generation.swift`, presets in
/// `SchedulePreset.swift` and decoded outputs in ``PipelineResult``.
public struct Pipeline: Sendable {
    /// The 4M model.
    public let model: FourMModel
    /// The WordPiece tokenizer of every sequence modality.
    public let textTokenizer: WordPieceTokenizer?
    /// Image-like tokenizers by modality, whatever their architecture (ViT VQ-VAE, MLP,
    /// diffusion UNet or UViT; see ``ImageTokenizer/kind``), as ``ImageTokenizerFactory`` loaded them.
    public let imageTokenizers: [Modality: any ImageTokenizer]
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


    /// The seed a run uses: the caller's, or a fresh one drawn once so that the run and the
    /// decoding of its outputs share it (``PipelineResult/seed``).
    static func baseSeed(_ seed: UInt64?) -> UInt64 { seed ?? UInt64.random(in: 0...UInt64.max) }

    /// Decodes image-like tokens `[B, N]` with the modality's tokenizer: `[B, C, H, W]`.
    /// Diffusion tokenizers run ``diffusionSteps`` denoising steps from noise drawn with `seed`
    /// (``PipelineResult`` passes ``PipelineResult/diffusionSeed(for:)``).
    /// - Parameters:
    ///   - modality: an image-like output of the model.
    ///   - tokens: `[B, N]` ids, `B` ≥ 1 and `N` the modality's token count.
    ///   - seed: the seed of a diffusion decoder's starting noise.
    /// - Returns: the decoded values.
    /// - Throws: `.unknownModality` for a modality the model does not have,
    ///   `.missingTokenizers` when the bundle has no tokenizer for it, `.tokenShape` for ids
    ///   of another shape, `.tokenOutOfRange` for an id outside the vocabulary, and the
    ///   tokenizer's `.imageTokenizer` / `.diffusion` errors.
    public func decode(_ modality: Modality, tokens: Tensor<Int32>, seed: UInt64 = 0) throws(FourMError) -> Tensor<Float> {
        guard let info = model.configuration.info(modality) else {
            throw .unknownModality(name: modality.rawValue, role: "output", available: model.outputModalities.map(\.rawValue))
        }
        guard let tokenizer = imageTokenizers[modality] else {
            throw .missingTokenizers(bundle: bundleName, modalities: [modality.rawValue])
        }
        let ids = try Self.tokenizerLayout(tokens, modality: modality, info: info, codebookCount: tokenizer.codebookCount)
        return try tokenizer.detokenize(ids, diffusionSteps: diffusionSteps, seed: seed)
    }

    /// Checks ids `[B, N]` against the modality (rank, `B` ≥ 1, `N` = token count, every id in
    /// the vocabulary) and lays them out as its tokenizer takes them: `[B, heads]` for
    /// Memcodes tokenizers (one id per head), `[B, h, w]` otherwise.
    static func tokenizerLayout(_ tokens: Tensor<Int32>, modality: Modality, info: ModalityInfo, codebookCount: Int) throws(FourMError) -> Tensor<Int32> {
        let expected = [tokens.rank == 2 ? max(tokens.shape[0], 1) : 1, info.tokenCount]
        guard tokens.rank == 2, tokens.shape[0] >= 1, tokens.shape[1] == info.tokenCount else {
            throw .tokenShape(modality: modality.rawValue, expected: expected, actual: tokens.shape)
        }
        if let position = tokens.scalars.firstIndex(where: { $0 < 0 || Int($0) >= info.vocabularySize }) {
            throw .tokenOutOfRange(modality: modality.rawValue, id: tokens.scalars[position], position: position, vocabularySize: info.vocabularySize)
        }
        if codebookCount > 1 { return tokens }
        guard info.gridSize > 0, info.gridSize.multipliedReportingOverflow(by: info.gridSize) == (info.tokenCount, false) else {
            throw .tokenShape(modality: modality.rawValue, expected: [tokens.shape[0], info.gridSize, info.gridSize], actual: tokens.shape)
        }
        return tokens.reshaped([tokens.shape[0], info.gridSize, info.gridSize])
    }
}
