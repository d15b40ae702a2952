import FourMModels
import FourMTensor

/// Settings shared by every step of one generation call.
public struct GenerationOptions: Sendable {
    /// Top-k / top-p, applied to every step (spec/generation.md 2.5).
    public var filter: SamplingFilter
    /// Base seed; step i uses `seed + i` (nil: one unseeded stream).
    public var seed: UInt64?
    /// Run the conditional and unconditional passes of a guided step as one batched model call
    /// (equal results, less overhead). Turn off to run them one after the other.
    public var batchGuidancePasses: Bool
    /// Keep the logits and draws of every step in the ``StepReport``s (for inspection/tests).
    public var recordDetails: Bool
    /// Reproduce two quirks of the reference's multi-condition guidance (the same seed at every
    /// step; ROAR committing into the condition dictionaries with inverted masks). Off by
    /// default: FourM uses `seed + step` and commits like MaskGIT (spec/generation.md 4.3).
    public var referenceMultiGuidanceQuirks: Bool

    /// Creates options.
    public init(filter: SamplingFilter = SamplingFilter(), seed: UInt64? = nil, batchGuidancePasses: Bool = true,
                recordDetails: Bool = false, referenceMultiGuidanceQuirks: Bool = false) {
        self.filter = filter
        self.seed = seed
        self.batchGuidancePasses = batchGuidancePasses
        self.recordDetails = recordDetails
        self.referenceMultiGuidanceQuirks = referenceMultiGuidanceQuirks
    }
}

/// What one step did.
public struct StepReport: Sendable {
    /// The step's index in the schedule.
    public var index: Int
    /// The step.
    public var step: GenerationStep
    /// Per row, the positions decoded this step in decoder order (image-like targets).
    public var candidatePositions: [[Int]] = []
    /// Per row, the positions committed this step.
    public var committedPositions: [[Int]] = []
    /// Per row, the generated sequence (start token first) of an autoregressive step.
    public var generatedSequence: [[Int32]] = []
    /// Recorded with `recordDetails`: final (guided) logits `[R, V]`, rows b-major; for
    /// autoregressive steps one row per (b, iteration), b-major.
    public var logits: Tensor<Float>? = nil
    /// Recorded with `recordDetails`: per candidate (b-major), the sampled id and its probability.
    public var samples: [Int32] = []
    /// Probabilities of ``samples``.
    public var probabilities: [Float] = []
    /// Recorded with `recordDetails`: conditional and unconditional logits of guided steps.
    public var passLogits: [Tensor<Float>] = []
}
