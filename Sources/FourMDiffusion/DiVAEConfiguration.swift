import FourMTensor
/// The decoder-side configuration of a DiVAE tokenizer checkpoint, read from the safetensors
/// `__metadata__` (spec/tokenizers.md 1.1–1.3 and 5).
///
/// Missing keys take the reference constructor defaults of spec 1.3 (note that the DiVAE
/// defaults — `scheduler: ddpm`, `beta_schedule: squaredcos_cap_v2`, `prediction_type:
/// v_prediction` — differ from the released values, which the released files all state).
public struct DiVAEConfiguration: Sendable, Equatable {
    /// `image_size` (default 224).
    public var imageSize: Int
    /// `image_size_dec`, defaulting to `imageSize`: the decoder's training resolution.
    public var decoderImageSize: Int
    /// `n_channels`: channels of the decoded image (3 rgb/normal, 1 depth/edge).
    public var channels: Int
    /// `patch_size` of the encoder: output pixels per token side (the output is
    /// `patchSize · h × patchSize · w` for an `h × w` token grid, spec 11.8).
    public var patchSize: Int
    /// `latent_dim`: channels of the condition (codebook vectors).
    public var latentDim: Int
    /// `dec_type`: the decoder preset name (see ``DiffusionPresets``).
    public var decoderType: String
    /// `num_train_timesteps` (default 1000).
    public var trainTimesteps: Int
    /// `scheduler`: `ddpm` (default) or `ddim`.
    public var scheduler: SchedulerKind
    /// `beta_schedule`.
    public var betaSchedule: BetaSchedule
    /// `prediction_type`.
    public var predictionType: PredictionType
    /// `clip_sample` (default false).
    public var clipSample: Bool
    /// `thresholding` (default true).
    public var thresholding: Bool
    /// `conditioning`: `concat` (default). Only the UViT reads it; the patched UNet always
    /// concatenates.
    public var conditioning: String
    /// `zero_terminal_snr` (default true).
    public var zeroTerminalSNR: Bool

    /// Reads the configuration from header metadata.
    /// - Parameters:
    ///   - metadata: the `__metadata__` strings (Python `str()` of each value).
    ///   - file: the file name for error messages.
    /// - Throws: `.invalidValue` for a value of the wrong type, `.unsupported` for a
    ///   `dec_type` that is no diffusion decoder or an unknown `scheduler`, `beta_schedule` or
    ///   `prediction_type`.
    public init(metadata: [String: String], file: String) throws(DiffusionError) {
        // The DiVAE constructor takes no `None` for these keys: an explicit `None` is an error.
        var m = CheckpointMetadata(metadata, file: file)
        let schedulerName: String, betaName: String, predictionName: String
        do throws(MetadataError) {
            imageSize = try m.int("image_size", default: 224, allowNone: false)
            decoderImageSize = try m.optionalInt("image_size_dec") ?? imageSize
            channels = try m.int("n_channels", default: 3, allowNone: false)
            patchSize = try m.int("patch_size", default: 16, allowNone: false)
            latentDim = try m.int("latent_dim", default: 32, allowNone: false)
            decoderType = try m.string("dec_type", default: "unet_patched", allowNone: false)
            trainTimesteps = try m.int("num_train_timesteps", default: 1000, allowNone: false)
            schedulerName = try m.string("scheduler", default: "ddpm", allowNone: false)
            betaName = try m.string("beta_schedule", default: "squaredcos_cap_v2", allowNone: false)
            predictionName = try m.string("prediction_type", default: "v_prediction", allowNone: false)
            clipSample = try m.bool("clip_sample", default: false, allowNone: false)
            thresholding = try m.bool("thresholding", default: true, allowNone: false)
            conditioning = try m.string("conditioning", default: "concat", allowNone: false)
            zeroTerminalSNR = try m.bool("zero_terminal_snr", default: true, allowNone: false)
        } catch {
            throw .invalidValue(file: error.file, key: error.key, expected: error.expected, actual: error.actual)
        }

        for (key, value) in [("image_size", imageSize), ("n_channels", channels), ("patch_size", patchSize), ("latent_dim", latentDim)]
        where value < 1 {
            throw .invalidValue(file: file, key: key, expected: "a positive integer", actual: String(value))
        }
        // Bounded so the channel and patch products of the decoder cannot overflow.
        for (key, value, limit) in [
            ("image_size", imageSize, InputLimits.maximumImageSide), ("patch_size", patchSize, InputLimits.maximumImageSide),
            ("n_channels", channels, InputLimits.maximumLayerWidth), ("latent_dim", latentDim, InputLimits.maximumLayerWidth),
        ] where value > limit {
            throw .invalidValue(file: file, key: key, expected: "at most \(limit) (InputLimits)", actual: String(value))
        }
        guard trainTimesteps >= 2 else {
            throw .invalidValue(file: file, key: "num_train_timesteps", expected: "an integer ≥ 2", actual: String(trainTimesteps))
        }
        guard decoderType.contains("unet_") || decoderType.contains("uvit_") else {
            throw .unsupported(file: file, key: "dec_type", value: decoderType)
        }
        guard let kind = SchedulerKind(rawValue: schedulerName) else {
            throw .unsupported(file: file, key: "scheduler", value: schedulerName)
        }
        guard let schedule = BetaSchedule(configValue: betaName) else {
            throw .unsupported(file: file, key: "beta_schedule", value: betaName)
        }
        guard let prediction = PredictionType(rawValue: predictionName) else {
            throw .unsupported(file: file, key: "prediction_type", value: predictionName)
        }
        scheduler = kind
        betaSchedule = schedule
        predictionType = prediction
    }

    /// The scheduler the checkpoint configures (the reference's `DiVAE.noise_scheduler`).
    public var defaultScheduler: NoiseScheduler {
        NoiseScheduler(
            kind: scheduler, trainTimesteps: trainTimesteps, betaSchedule: betaSchedule, predictionType: predictionType,
            thresholding: thresholding, clipSample: clipSample, zeroTerminalSNR: zeroTerminalSNR)
    }
}
