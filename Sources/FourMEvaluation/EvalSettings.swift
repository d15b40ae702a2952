import FourM
import FourMSampling
import FourMTensor

/// The settings of an evaluation run (`fourm eval`'s options): which held-out scenes, how
/// they are batched, and the caption → rgb schedule.
public struct EvalSettings: Sendable, Equatable {
    /// The world seed the demo model was trained on; evaluating on it would measure memorisation.
    public static let trainingSeed: UInt64 = 1

    /// Held-out scenes to evaluate.
    public var count: Int
    /// World seed of the held-out scenes (not ``trainingSeed``).
    public var seed: UInt64
    /// Training-world scenes the trivial baselines are built from.
    public var baselineScenes: Int
    /// Scenes per model call (results depend on it).
    public var batch: Int
    /// caption → rgb: the decoding scheme of `tok_rgb` (MaskGIT or ROAR).
    public var rgbScheme: GenerationScheme
    /// caption → rgb: decoding steps (capped at the token count).
    public var rgbSteps: Int
    /// caption → rgb: sampling temperature (constant).
    public var rgbTemperature: Double
    /// caption → rgb: classifier-free guidance scale.
    public var rgbGuidance: Double
    /// Arithmetic of the model's linear layers.
    public var precision: ComputePrecision

    /// Creates settings; the defaults are those `Documentation/Quality.md` was measured with.
    public init(count: Int = 500, seed: UInt64 = 2, baselineScenes: Int = 200, batch: Int = 8, rgbScheme: GenerationScheme = .roar, rgbSteps: Int = 16,
                rgbTemperature: Double = 1, rgbGuidance: Double = 3, precision: ComputePrecision = .fp32) {
        self.count = count
        self.seed = seed
        self.baselineScenes = baselineScenes
        self.batch = batch
        self.rgbScheme = rgbScheme
        self.rgbSteps = rgbSteps
        self.rgbTemperature = rgbTemperature
        self.rgbGuidance = rgbGuidance
        self.precision = precision
    }

    /// The seed of one model call: distinct per call kind and batch, fixed by ``seed``.
    public func callSeed(_ call: UInt64, _ batchIndex: Int) -> UInt64 {
        seed &* 1_000_003 &+ UInt64(batchIndex) &* 8 &+ call
    }
}
