import FourMModels
import FourMSampling

/// One entry of a reference demo defaults table: the generation settings of every domain its
/// key names (`demo_4M_sampler.py`, `DEFAULTS_RGB2X` / `DEFAULTS_X2RGB` / `DEFAULTS_SR`;
/// spec/generation.md 2.1 for what each field means).
public struct DemoTargetDefaults: Sendable, Equatable {
    /// Tokens of the target (`tokens_per_target`): image tokens, or sequence slots.
    public var tokens: Int
    /// The decoding scheme (`autoregression_scheme`).
    public var scheme: GenerationScheme
    /// Decoding steps (`decoding_steps`; nil for autoregressive targets).
    public var steps: Int?
    /// Token-count schedule (`token_decoding_schedule`; nil for autoregressive targets).
    public var tokenSchedule: TokenSchedule?
    /// Starting temperature (`temp`).
    public var temperature: Double
    /// Temperature schedule (`temp_schedule`).
    public var temperatureSchedule: TemperatureSchedule
    /// Classifier-free guidance scale (`cfg_scale`; the demo's `cfg_schedule` is always constant).
    public var guidance: Double

    /// Creates an entry.
    public init(tokens: Int, scheme: GenerationScheme, steps: Int?, tokenSchedule: TokenSchedule?, temperature: Double,
                temperatureSchedule: TemperatureSchedule = .constant, guidance: Double) {
        self.tokens = tokens
        self.scheme = scheme
        self.steps = steps
        self.tokenSchedule = tokenSchedule
        self.temperature = temperature
        self.temperatureSchedule = temperatureSchedule
        self.guidance = guidance
    }

    /// The settings of `modality` as a chained-schedule target (autoregressive targets get
    /// one nominal step, which the chained-schedule builder ignores).
    public func target(_ modality: Modality) -> TargetSettings {
        TargetSettings(modality, scheme: scheme, tokens: tokens, steps: steps ?? 1, tokenSchedule: tokenSchedule ?? .linear,
                       temperature: temperature, temperatureSchedule: temperatureSchedule, guidance: .scale(guidance))
    }
}

/// A reference demo defaults table: keys are `/`-joined domain lists, looked up with the
/// demo's `get_value` rule (the first key whose string **contains** the domain name wins).
public struct DemoDefaultsTable: Sendable, Equatable {
    /// One key of the table and its settings.
    public struct Entry: Sendable, Equatable {
        /// The `/`-joined domains, spelled as the reference does (`"caption/det"`).
        public var domains: String
        /// Their settings.
        public var defaults: DemoTargetDefaults
    }

    /// The reference's name of the table (`DEFAULTS_RGB2X`, …).
    public let name: String
    /// The keys in the reference's order (the lookup takes the first match).
    public let entries: [Entry]

    /// The settings of `domain`: the first entry whose key string contains `domain` as a
    /// substring (the demo's `get_value`), or nil when no key does.
    public func defaults(for domain: Modality) -> DemoTargetDefaults? {
        entries.first { $0.domains.contains(domain.rawValue) }?.defaults
    }

    private static func roar(_ tokens: Int, steps: Int, temperature: Double, schedule: TemperatureSchedule = .constant, guidance: Double) -> DemoTargetDefaults {
        DemoTargetDefaults(tokens: tokens, scheme: .roar, steps: steps, tokenSchedule: .linear, temperature: temperature, temperatureSchedule: schedule, guidance: guidance)
    }

    private static func sequence(_ tokens: Int, temperature: Double) -> DemoTargetDefaults {
        DemoTargetDefaults(tokens: tokens, scheme: .autoregressive, steps: nil, tokenSchedule: nil, temperature: temperature, guidance: 1)
    }

    private static let sequences: [Entry] = [
        Entry(domains: "caption/det", defaults: sequence(256, temperature: 0.3)),
        Entry(domains: "human_poses", defaults: sequence(275, temperature: 0.1)),
        Entry(domains: "sam_instance", defaults: sequence(256, temperature: 0.01)),
        Entry(domains: "color_palette", defaults: sequence(23, temperature: 0.1)),
        Entry(domains: "metadata", defaults: sequence(40, temperature: 0.1)),
    ]

    private static let onex = TemperatureSchedule.onex(minimum: 0.5, power: 0.5)

    /// `DEFAULTS_RGB2X`, used when RGB (pixels or tokens) is a condition: every image target in
    /// one guided ROAR step at τ 0.01, guidance 2; sequences autoregressive.
    public static let rgbToX = DemoDefaultsTable(name: "DEFAULTS_RGB2X", entries: [
        Entry(domains: "tok_clip@224/tok_depth@224/tok_normal@224/tok_semseg@224/tok_canny_edge@224/tok_sam_edge@224",
              defaults: roar(196, steps: 1, temperature: 0.01, guidance: 2)),
        Entry(domains: "tok_dinov2@224/tok_imagebind@224", defaults: roar(256, steps: 1, temperature: 0.01, guidance: 2)),
    ] + sequences)

    /// `DEFAULTS_X2RGB`, used otherwise: CLIP in 50 ROAR steps (τ 5, onex:0.5:0.5, guidance 3),
    /// DINOv2 / ImageBind in 8 (τ 0.01), the other maps in 8 and RGB in 25 (τ 3, onex), guidance 2.
    public static let xToRGB = DemoDefaultsTable(name: "DEFAULTS_X2RGB", entries: [
        Entry(domains: "tok_clip@224", defaults: roar(196, steps: 50, temperature: 5, schedule: onex, guidance: 3)),
        Entry(domains: "tok_dinov2@224/tok_imagebind@224", defaults: roar(256, steps: 8, temperature: 0.01, guidance: 2)),
        Entry(domains: "tok_depth@224/tok_normal@224/tok_semseg@224/tok_canny_edge@224/tok_sam_edge@224",
              defaults: roar(196, steps: 8, temperature: 3, schedule: onex, guidance: 2)),
        Entry(domains: "tok_rgb@224", defaults: roar(196, steps: 25, temperature: 3, schedule: onex, guidance: 2)),
    ] + sequences)

    /// `DEFAULTS_SR`: every 448 target by MaskGIT in 8 cosine steps, τ 1, guidance 2.
    public static let superResolution = DemoDefaultsTable(name: "DEFAULTS_SR", entries: [
        Entry(domains: "tok_clip@448/tok_depth@448/tok_normal@448/tok_semseg@448/tok_rgb@448",
              defaults: DemoTargetDefaults(tokens: 784, scheme: .maskGIT, steps: 8, tokenSchedule: .cosine, temperature: 1, guidance: 2)),
    ])
}
