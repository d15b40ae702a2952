// The public surface of `import FourM`, spelled out: every type a user needs, re-exported by
// name from the target that defines it (STYLE.md 1).

import FourMDiffusion
import FourMImage
import FourMModels
import FourMRetrieval
import FourMSampling
import FourMTensor
import FourMTokenizers

/// An n-dimensional array of `Float`, `Int32` or `Bool` (from `FourMTensor`).
public typealias Tensor = FourMTensor.Tensor
/// Scalars a ``Tensor`` holds.
public typealias TensorScalar = FourMTensor.TensorScalar
/// A seedable random number generator.
public typealias SeededGenerator = FourMTensor.SeededGenerator
/// Thread settings.
public typealias ComputeOptions = FourMTensor.ComputeOptions
/// The arithmetic of a model's linear layers: fp32 (default) or bf16 through oneDNN.
public typealias ComputePrecision = FourMTensor.ComputePrecision
/// How compact decoder weights are stored for autoregressive decoding: bf16 or int8.
public typealias CompactWeightFormat = FourMTensor.CompactWeightFormat
/// A strictly validated safetensors file.
public typealias SafeTensorsFile = FourMTensor.SafeTensorsFile
/// Upper bounds on every size FourM reads from outside (`FourMTensor.InputLimits`).
public typealias InputLimits = FourMTensor.InputLimits
/// Writes safetensors files.
public typealias SafeTensorsWriter = FourMTensor.SafeTensorsWriter
/// Errors of weight files.
public typealias WeightError = FourMTensor.WeightError

/// A 4M domain name.
public typealias Modality = FourMModels.Modality
/// Registry information of a modality.
public typealias ModalityInfo = FourMModels.ModalityInfo
/// The representation of a modality.
public typealias ModalityKind = FourMModels.ModalityKind
/// One modality's tokens and masks.
public typealias ModalityState = FourMModels.ModalityState
/// Everything FourM knows about one domain (sizes, tokenizer, renderer, defaults, CLI names).
public typealias ModalitySpec = FourMModels.ModalitySpec
/// The table of modality specs (`ModalityTable.reference` plus any added entries).
public typealias ModalityTable = FourMModels.ModalityTable
/// How a modality's tokens are laid out.
public typealias ModalityLayout = FourMModels.ModalityLayout
/// Which tokenizer decodes a modality.
public typealias ModalityTokenizerKind = FourMModels.ModalityTokenizerKind
/// How a decoded modality is drawn.
public typealias ModalityRenderer = FourMModels.ModalityRenderer
/// The codec of a sequence modality.
public typealias SequenceCodecKind = FourMModels.SequenceCodecKind
/// A recipe's settings of one target, in the table.
public typealias TargetDefaults = FourMModels.TargetDefaults
/// The default recipes a modality has settings for.
public typealias GenerationRecipe = FourMModels.GenerationRecipe
/// The ordered input of the model.
public typealias ModalityDictionary = FourMModels.ModalityDictionary
/// The 4M encoder-decoder.
public typealias FourMModel = FourMModels.FourMModel
/// The model configuration.
public typealias FourMConfiguration = FourMModels.FourMConfiguration
/// Incremental decoding of a sequence target.
public typealias SequenceDecoder = FourMModels.SequenceDecoder
/// Errors of model calls.
public typealias ModelError = FourMModels.ModelError

/// How a target is decoded.
public typealias GenerationScheme = FourMSampling.GenerationScheme
/// One schedule step.
public typealias GenerationStep = FourMSampling.GenerationStep
/// Per-target schedule settings.
public typealias TargetSettings = FourMSampling.TargetSettings
/// Token-count schedules.
public typealias TokenSchedule = FourMSampling.TokenSchedule
/// Temperature schedules.
public typealias TemperatureSchedule = FourMSampling.TemperatureSchedule
/// Guidance scale or weights.
public typealias GuidanceScale = FourMSampling.GuidanceScale
/// Top-k / top-p.
public typealias SamplingFilter = FourMSampling.SamplingFilter
/// Options of a generation call.
public typealias GenerationOptions = FourMSampling.GenerationOptions
/// What one step did.
public typealias StepReport = FourMSampling.StepReport
/// A step-by-step generation.
public typealias GenerationRun = FourMSampling.GenerationRun
/// What generation needs from a model.
public typealias TokenPredictor = FourMSampling.TokenPredictor
/// Errors of schedules and generation.
public typealias GenerationError = FourMSampling.GenerationError

/// The WordPiece text tokenizer.
public typealias WordPieceTokenizer = FourMTokenizers.WordPieceTokenizer
/// Errors of the text tokenizer.
public typealias TokenizerError = FourMTokenizers.TokenizerError
/// ViT VQ-VAE and MLP image tokenizers.
public typealias VQImageTokenizer = FourMTokenizers.VQImageTokenizer
/// Hyper-parameters of a ViT tokenizer preset.
public typealias VQViTPreset = FourMTokenizers.VQViTPreset
/// Errors of image tokenizers.
public typealias VQTokenizerError = FourMTokenizers.VQTokenizerError
/// An 8-bit image.
public typealias Image = FourMImage.Image
/// A detected box of a `det` sequence.
public typealias DetectedBox = FourMTokenizers.DetectedBox
/// The `det` sequence codec.
public typealias DetectionCodec = FourMTokenizers.DetectionCodec
/// A decoded sequence value plus what could not be parsed.
public typealias SequenceDecoding = FourMTokenizers.SequenceDecoding
/// Names and colours of the COCO panoptic classes of the semseg tokenizer.
public typealias COCOSemanticClasses = FourMImage.COCOSemanticClasses
/// Renderers of decoded outputs.
public typealias Visualization = FourMImage.Visualization
/// Depth maps for the depth tokenizer: 16-bit PNG reading/writing and robust standardisation.
public typealias DepthMap = FourMImage.DepthMap
/// Errors of image files.
public typealias ImageError = FourMImage.ImageError
/// An axis-aligned box on an image, the corners every labelled box type shares.
public typealias ImageBox = FourMImage.ImageBox
/// A labelled value placed by an ``ImageBox`` (``DetectedBox``, a synthetic scene's object).
public typealias BoxedValue = FourMImage.BoxedValue

/// A diffusion (DiVAE) tokenizer: ViT encoder + diffusion decoder.
public typealias DiVAE = FourMDiffusion.DiVAE
/// Errors of diffusion tokenizers.
public typealias DiVAEError = FourMDiffusion.DiVAEError
/// A diffusion decoder's preset (UNet or UViT widths and depths), as a bundle's
/// `diffusion_presets` names them; see ``ModelBundle/diffusionPresets``.
public typealias DecoderPreset = FourMDiffusion.DecoderPreset
/// An exact nearest-neighbour index.
public typealias EmbeddingIndex = FourMRetrieval.EmbeddingIndex
/// Errors of retrieval.
public typealias RetrievalError = FourMRetrieval.RetrievalError
/// Predicts a global embedding (DINOv2, ImageBind, …) from any conditions.
public typealias EmbeddingPredictor = FourMRetrieval.EmbeddingPredictor
/// Retrieval by predicted global embeddings: a gallery and its queries.
public typealias RetrievalEngine = FourMRetrieval.RetrievalEngine

/// Builds a chained schedule (spec/generation.md 2.1).
/// - Parameters:
///   - conditions: the modalities given as inputs (guided conditions of the first target).
///   - targets: one entry per target, in decoding order.
///   - growConditioning: finished non-autoregressive targets join the guided conditions.
/// - Returns: the flat list of steps.
/// - Throws: `GenerationError.invalidSetting` / `.unknownName` naming the setting.
public func chainedSchedule(conditions: [Modality], targets: [TargetSettings], growConditioning: Bool) throws(GenerationError) -> [GenerationStep] {
    try buildChainedSchedule(conditions: conditions, targets: targets, growConditioning: growConditioning)
}

/// Runs a schedule on a model and returns the final dictionary (spec/generation.md 3.4).
/// - Parameters:
///   - model: the model (or any `TokenPredictor`).
///   - dictionary: conditions and empty targets.
///   - schedule: the steps.
///   - options: filter, seed and guidance batching.
///   - progress: called after every step.
/// - Returns: the dictionary with every target generated.
/// - Throws: `GenerationError` for steps that do not fit or cancellation.
public func runSchedule(_ model: any TokenPredictor, dictionary: ModalityDictionary, schedule: [GenerationStep], options: GenerationOptions = GenerationOptions(),
                        progress: ((StepReport) -> Void)? = nil) throws(GenerationError) -> ModalityDictionary {
    try FourMSampling.generate(model, dictionary: dictionary, schedule: schedule, options: options, progress: progress)
}

/// Multi-condition guidance (spec/generation.md 4.3).
/// - Parameters:
///   - model: the model (or any `TokenPredictor`).
///   - unconditional: every modality with its conditions hidden, plus the empty targets.
///   - conditions: one dictionary per condition.
///   - schedule: image-like steps whose guidance is `.weights`.
///   - options: filter, seed and the reference-quirk switch.
///   - progress: called after every step.
/// - Returns: the unconditional dictionary with every target generated.
/// - Throws: `GenerationError`.
public func runMultiGuided(_ model: any TokenPredictor, unconditional: ModalityDictionary, conditions: [ModalityDictionary], schedule: [GenerationStep],
                           options: GenerationOptions = GenerationOptions(), progress: ((StepReport) -> Void)? = nil) throws(GenerationError) -> ModalityDictionary {
    try generateMultiGuided(model, unconditional: unconditional, conditions: conditions, schedule: schedule, options: options, progress: progress)
}

// MARK: - The demo's output decoders (FourMTokenizers)

/// The reference demo's SAM-instance decoding: boxes, masks, merged groups, instance map.
public typealias SAMInstanceMap = FourMTokenizers.SAMInstanceMap
/// One SAM instance read from a generated `sam_instance` text.
public typealias SAMInstanceBox = FourMTokenizers.SAMInstanceBox
/// One painted group of near-identical SAM instances.
public typealias SAMInstanceGroup = FourMTokenizers.SAMInstanceGroup
/// One person's SMPL parameters and decoded body pose from a `human_poses` text.
public typealias HumanPoseParameters = FourMTokenizers.HumanPoseParameters
/// The reference demo's 3-component PCA picture of a feature map.
public typealias FeatureMapPCA = FourMTokenizers.FeatureMapPCA
/// One metadata entry (key and bin) of a `metadata` output.
public typealias MetadataEntry = FourMTokenizers.MetadataEntry
/// A metadata key (`v1=` value) with its name and binning.
public typealias MetadataKey = FourMTokenizers.MetadataKey
/// One colour of a `color_palette` output.
public typealias PaletteColor = FourMTokenizers.PaletteColor
/// Turns colour palettes into `color_palette` text and back.
public typealias ColorPaletteCodec = FourMTokenizers.ColorPaletteCodec
/// Turns metadata entries into `metadata` text and back.
public typealias MetadataCodec = FourMTokenizers.MetadataCodec
