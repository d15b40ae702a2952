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

        /// Creates an entry.
        public init(domains: String, defaults: DemoTargetDefaults) {
            self.domains = domains
            self.defaults = defaults
        }
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

    /// The table of `recipe` built from `modalities`: every domain with settings for the
    /// recipe, in the table's chained order at the recipe's resolution, domains with equal
    /// settings joined into one `/`-separated key (which gives the reference's keys, e.g.
    /// `"caption/det"`, for `ModalityTable.reference`).
    public init(_ recipe: GenerationRecipe, modalities: ModalityTable = .reference) {
        let resolution = recipe == .superResolution ? modalities.superResolution : modalities.baseResolution
        var entries: [Entry] = []
        for m in modalities.defaultOrder(recipe) {
            guard let spec = modalities.spec(for: m), let d = spec.defaults[recipe], let tokens = spec.targetTokens(recipe, resolution: resolution) else { continue }
            let defaults = DemoTargetDefaults(d, tokens: tokens)
            if let i = entries.firstIndex(where: { $0.defaults == defaults }) {
                entries[i].domains += "/" + m.rawValue
            } else {
                entries.append(Entry(domains: m.rawValue, defaults: defaults))
            }
        }
        self.init(name: recipe.rawValue, entries: entries)
    }

    /// A table with explicit entries (the lookup takes the first key containing the domain).
    public init(name: String, entries: [Entry]) {
        self.name = name
        self.entries = entries
    }

    /// `DEFAULTS_RGB2X`, used when RGB (pixels or tokens) is a condition: every image target in
    /// one guided ROAR step at τ 0.01, guidance 2; sequences autoregressive (the
    /// `GenerationRecipe.rgbToX` settings of `ModalityTable.reference`).
    public static let rgbToX = DemoDefaultsTable(.rgbToX)

    /// `DEFAULTS_X2RGB`, used otherwise: CLIP in 50 ROAR steps (τ 5, onex:0.5:0.5, guidance 3),
    /// DINOv2 / ImageBind in 8 (τ 0.01), the other maps in 8 and RGB in 25 (τ 3, onex), guidance 2
    /// (the `GenerationRecipe.xToRGB` settings of `ModalityTable.reference`).
    public static let xToRGB = DemoDefaultsTable(.xToRGB)

    /// `DEFAULTS_SR`: every 448 target by MaskGIT in 8 cosine steps, τ 1, guidance 2 (the
    /// `GenerationRecipe.superResolution` settings of `ModalityTable.reference`).
    public static let superResolution = DemoDefaultsTable(.superResolution)
}

extension DemoTargetDefaults {
    /// The table's settings `d` for a target of `tokens` tokens.
    public init(_ d: TargetDefaults, tokens: Int) {
        self.init(tokens: tokens, scheme: GenerationScheme(d.scheme), steps: d.steps, tokenSchedule: d.tokenSchedule.map(TokenSchedule.init),
                  temperature: d.temperature, temperatureSchedule: TemperatureSchedule(d.temperatureSchedule), guidance: d.guidance)
    }
}

extension GenerationScheme {
    /// The sampler's scheme for a table's scheme.
    public init(_ scheme: TargetDefaults.Scheme) {
        switch scheme {
        case .maskGIT: self = .maskGIT
        case .roar: self = .roar
        case .autoregressive: self = .autoregressive
        }
    }
}

extension TokenSchedule {
    /// The sampler's token schedule for a table's.
    public init(_ schedule: TargetDefaults.TokenSchedule) {
        switch schedule {
        case .cosine: self = .cosine
        case .linear: self = .linear
        }
    }
}

extension TemperatureSchedule {
    /// The sampler's temperature schedule for a table's.
    public init(_ schedule: TargetDefaults.TemperatureSchedule) {
        switch schedule {
        case .constant: self = .constant
        case .linear: self = .linear
        case .onex(let minimum, let power): self = .onex(minimum: minimum, power: power)
        }
    }
}

extension TargetSettings {
    /// A target of `modality` with `tokens` tokens and a table's settings `d` (steps default to
    /// 1 and the token schedule to the sampler's default where the table gives none, as
    /// `TargetSettings`'s own initialiser does).
    public init(_ modality: Modality, tokens: Int, defaults d: TargetDefaults) {
        self.init(modality, scheme: GenerationScheme(d.scheme), tokens: tokens, steps: d.steps ?? 1,
                  tokenSchedule: d.tokenSchedule.map(TokenSchedule.init) ?? .cosine, temperature: d.temperature,
                  temperatureSchedule: TemperatureSchedule(d.temperatureSchedule), guidance: .scale(d.guidance))
    }
}
