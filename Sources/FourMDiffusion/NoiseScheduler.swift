import FourMTensor

/// What the denoising network predicts (config key `prediction_type`, spec/tokenizers.md 5.3).
public enum PredictionType: String, Sendable, Equatable, CaseIterable {
    /// The clean sample x₀ (all released DiVAE tokenizers).
    case sample
    /// The noise ε.
    case epsilon
    /// The velocity v = √ᾱ·ε − √(1−ᾱ)·x₀.
    case vPrediction = "v_prediction"
}

/// How `S` inference timesteps are laid out over the `T` training timesteps (spec 5.3).
public enum TimestepSpacing: String, Sendable, Equatable, CaseIterable {
    /// `round(arange(T, 0, −T÷S)) − 1`: starts at T−1; one extra step when S does not divide T.
    case trailing
    /// `arange(S)·(T÷S)` reversed: ends at 0.
    case leading
    /// `round(linspace(T, 1, S)) − 1`.
    case linspace
}

/// Which sampler steps the chain (config key `scheduler`).
public enum SchedulerKind: String, Sendable, Equatable, CaseIterable {
    /// Deterministic DDIM with η = 0 (the released default), spec/tokenizers.md 5.3.
    case ddim
    /// Ancestral DDPM with `fixed_small` variance and leading spacing, spec/tokenizers.md 5.4.
    case ddpm
}

/// The result of one scheduler step.
public struct SchedulerStepOutput: Sendable {
    /// x₀ predicted from the model output, after thresholding / clipping.
    public let predOriginalSample: Tensor<Float>
    /// x at the previous timestep (the next step's input).
    public let prevSample: Tensor<Float>
}

/// A DDIM or DDPM scheduler over a fixed noise schedule, reproducing ml-4m's
/// `DDIMScheduler` / `DDPMScheduler` in float32 (spec/tokenizers.md 5.2–5.4).
///
/// ```swift
/// let scheduler = NoiseScheduler(kind: .ddim, betaSchedule: .linear, predictionType: .sample,
///                                thresholding: true)
/// let ts = try scheduler.timesteps(steps: 25)          // [999, 959, …, 39]
/// let out = try scheduler.step(modelOutput: m, timestep: ts[0], sample: x, steps: 25)
/// ```
public struct NoiseScheduler: Sendable, Equatable {
    /// DDIM or DDPM.
    public let kind: SchedulerKind
    /// T, `num_train_timesteps`.
    public let trainTimesteps: Int
    /// The noise schedule.
    public let betaSchedule: BetaSchedule
    /// What the model predicts.
    public let predictionType: PredictionType
    /// Dynamic thresholding; with the reference's `sample_max_value = 1` it is exactly a clamp of
    /// x₀ to [−1, 1] (spec 5.3 note).
    public let thresholding: Bool
    /// Clamp x₀ to [−1, 1] (only consulted when `thresholding` is false).
    public let clipSample: Bool
    /// Whether the betas were rescaled to zero terminal SNR (ignored by shifted cosine).
    public let zeroTerminalSNR: Bool
    /// ᾱ_t, t = 0..<T.
    public let alphasCumprod: [Float]

    /// Builds a scheduler and computes its ᾱ table.
    /// - Parameters:
    ///   - kind: DDIM (η = 0, `set_alpha_to_one`, `steps_offset` 0) or DDPM (`fixed_small`).
    ///   - trainTimesteps: T (at least 2; traps otherwise).
    ///   - betaSchedule: the noise schedule.
    ///   - predictionType: what the model predicts.
    ///   - thresholding: clamp x₀ to [−1, 1] (dynamic thresholding with max value 1).
    ///   - clipSample: clamp x₀ to [−1, 1] when not thresholding.
    ///   - zeroTerminalSNR: rescale betas so that ᾱ_{T−1} = 0.
    public init(
        kind: SchedulerKind, trainTimesteps: Int = 1000, betaSchedule: BetaSchedule, predictionType: PredictionType,
        thresholding: Bool, clipSample: Bool = false, zeroTerminalSNR: Bool = true
    ) {
        self.kind = kind
        self.trainTimesteps = trainTimesteps
        self.betaSchedule = betaSchedule
        self.predictionType = predictionType
        self.thresholding = thresholding
        self.clipSample = clipSample
        self.zeroTerminalSNR = zeroTerminalSNR
        alphasCumprod = betaSchedule.alphasCumprod(trainTimesteps: trainTimesteps, zeroTerminalSNR: zeroTerminalSNR)
    }

    /// The timesteps visited for `steps` requested steps, in order (spec/tokenizers.md 5.3).
    ///
    /// DDPM ignores `spacing` and always uses leading spacing (as the reference does). Trailing
    /// spacing yields `ceil(T / (T ÷ steps))` timesteps: one more than requested when `steps`
    /// does not divide T (S = 3 → [999, 666, 333, 0]).
    /// - Parameters:
    ///   - steps: requested steps, `1...T`.
    ///   - spacing: the DDIM layout (default `.trailing`, what DiVAE decoding uses).
    /// - Returns: the timesteps, descending.
    /// - Throws: `.invalidStepCount` outside `1...T`.
    public func timesteps(steps: Int, spacing: TimestepSpacing = .trailing) throws(DiffusionError) -> [Int] {
        guard steps >= 1 && steps <= trainTimesteps else {
            throw .invalidStepCount(requested: steps, maximum: trainTimesteps)
        }
        let ratio = trainTimesteps / steps
        switch kind == .ddpm ? .leading : spacing {
        case .leading:
            return (0..<steps).reversed().map { $0 * ratio }
        case .trailing:
            return Array(stride(from: trainTimesteps, to: 0, by: -ratio)).map { $0 - 1 }
        case .linspace:
            if steps == 1 { return [trainTimesteps - 1] }
            let step = Double(1 - trainTimesteps) / Double(steps - 1)
            return (0..<steps).map { i in
                let value = i == steps - 1 ? 1 : Double(i) * step + Double(trainTimesteps)
                return Int(value.rounded(.toNearestOrEven)) - 1
            }
        }
    }

    /// ᾱ at `t`, or 1 for t < 0 (`set_alpha_to_one` / DDPM's `one`).
    func alphaCumprod(_ t: Int) -> Float { t >= 0 ? alphasCumprod[t] : 1 }

    /// x₀ and ε implied by a model output (spec/tokenizers.md 5.3), before thresholding.
    func predictions(modelOutput m: Tensor<Float>, sample x: Tensor<Float>, alpha: Float)
        -> (x0: Tensor<Float>, epsilon: Tensor<Float>)
    {
        let sa = alpha.squareRoot(), sb = (1 - alpha).squareRoot()
        switch predictionType {
        case .sample:
            return (m, scaledDifferenceQuotient(x, sa, m, sb))
        case .epsilon:
            return (scaledDifferenceQuotient(x, sb, m, sa), m)
        case .vPrediction:
            return (scaledSum(x, sa, m, -sb), scaledSum(m, sa, x, sb))
        }
    }

    /// Thresholding (a clamp to [−1, 1], spec 5.3 note) or clipping, as configured.
    func clipped(_ x0: Tensor<Float>) -> Tensor<Float> {
        thresholding || clipSample ? x0.clamped(low: -1, high: 1) : x0
    }

    /// One denoising step from `timestep` to `timestep − T ÷ steps` (spec/tokenizers.md 5.3–5.4).
    /// - Parameters:
    ///   - modelOutput: the network output at `timestep`, shape of `sample`.
    ///   - t: the current timestep (one of ``timesteps(steps:spacing:)``).
    ///   - sample: x_t.
    ///   - steps: the number of steps *requested* (sets the stride T ÷ steps).
    ///   - varianceNoise: N(0, I) noise of `sample`'s shape for DDPM steps with t > 0 (unused by DDIM).
    /// - Returns: the thresholded x₀ and x_{t−stride}.
    /// - Throws: `.shapeMismatch` when shapes differ, `.missingVarianceNoise` for a DDPM step
    ///   with t > 0 and no noise, `.invalidStepCount` for a bad `steps`.
    public func step(
        modelOutput: Tensor<Float>, timestep t: Int, sample: Tensor<Float>, steps: Int,
        varianceNoise: Tensor<Float>? = nil
    ) throws(DiffusionError) -> SchedulerStepOutput {
        guard steps >= 1 && steps <= trainTimesteps else {
            throw .invalidStepCount(requested: steps, maximum: trainTimesteps)
        }
        guard t >= 0 && t < trainTimesteps else {
            throw .shapeMismatch(argument: "timestep \(t)", expected: "0..<\(trainTimesteps)", actual: [])
        }
        guard modelOutput.shape == sample.shape else {
            throw .shapeMismatch(argument: "modelOutput", expected: "\(sample.shape) (the sample's shape)", actual: modelOutput.shape)
        }
        let previous = t - trainTimesteps / steps
        let alpha = alphasCumprod[t], alphaPrev = alphaCumprod(previous)
        let (rawX0, epsilon) = predictions(modelOutput: modelOutput, sample: sample, alpha: alpha)
        let x0 = clipped(rawX0)
        switch kind {
        case .ddim:
            // η = 0: x_prev = √ᾱ_prev·x₀ + √(1 − ᾱ_prev − 0)·ε (ε from the unclipped x₀).
            let direction = (1 - alphaPrev - 0).squareRoot()
            return SchedulerStepOutput(predOriginalSample: x0, prevSample: scaledSum(x0, alphaPrev.squareRoot(), epsilon, direction))
        case .ddpm:
            let beta = 1 - alpha, betaPrev = 1 - alphaPrev
            let currentAlpha = alpha / alphaPrev
            let currentBeta = 1 - currentAlpha
            let x0Coefficient = (alphaPrev.squareRoot() * currentBeta) / beta
            let sampleCoefficient = currentAlpha.squareRoot() * betaPrev / beta
            let mean = scaledSum(x0, x0Coefficient, sample, sampleCoefficient)
            guard t > 0 else { return SchedulerStepOutput(predOriginalSample: x0, prevSample: mean) }
            guard let noise = varianceNoise else { throw .missingVarianceNoise(timestep: t) }
            guard noise.shape == sample.shape else {
                throw .shapeMismatch(argument: "varianceNoise", expected: "\(sample.shape) (the sample's shape)", actual: noise.shape)
            }
            let variance = max((1 - alphaPrev) / (1 - alpha) * currentBeta, 1e-20)
            return SchedulerStepOutput(predOriginalSample: x0, prevSample: scaledSum(mean, 1, noise, variance.squareRoot()))
        }
    }

    /// Whether the step at `timestep` draws variance noise (DDPM with t > 0).
    public func needsVarianceNoise(at timestep: Int) -> Bool { kind == .ddpm && timestep > 0 }
}
