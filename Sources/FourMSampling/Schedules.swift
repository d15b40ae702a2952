import Foundation
import FourMModels

/// How a target is decoded (spec/generation.md 3).
public enum GenerationScheme: String, Sendable, CaseIterable {
    /// Parallel decoding, committing the most confident tokens each step (image-like targets).
    case maskGIT = "maskgit"
    /// Random-order autoregression: a random subset of positions each step (image-like).
    case roar
    /// Token by token (sequence targets).
    case autoregressive
}

/// How many tokens each step commits (spec/generation.md 2.2).
public enum TokenSchedule: String, Sendable, CaseIterable {
    /// Cosine: few tokens first and last, many in the middle.
    case cosine
    /// Equal chunks, larger ones first; zero steps dropped.
    case linear

    /// The token counts for `steps` steps over `tokens` tokens, exactly as the reference
    /// computes them (cosine's last entry may be ≤ 0 for small totals; `buildChainedSchedule(conditions:targets:growConditioning:)`
    /// rejects negative counts).
    public func counts(steps: Int, tokens: Int) -> [Int] {
        guard steps > 0 else { return [] }
        switch self {
        case .cosine:
            let s = (0...steps).map { i in 0.0 + 0.5 * 1.0 * (1.0 + cos(Double.pi * Double(i) / Double(steps))) }
            var counts = (0..<(steps - 1)).map { i in Int((Double(tokens) * (s[i] - s[i + 1])).rounded(.toNearestOrEven)) }
            counts.append(tokens - counts.reduce(0, +))
            return counts
        case .linear:
            var p = (0..<steps).map { k in Int((Double(k) * (Double(tokens) / Double(steps))).rounded(.down)) }
            p.append(tokens)
            let d = (0..<steps).map { p[$0 + 1] - p[$0] }.sorted(by: >)
            return Array(d.prefix { $0 > 0 })
        }
    }
}

/// How the temperature evolves over a target's steps (spec/generation.md 2.3).
public enum TemperatureSchedule: Sendable, Equatable, CustomStringConvertible {
    /// The same temperature every step.
    case constant
    /// Linear decay with the tokens still to decode.
    case linear
    /// `onex:{min}:{power}`: a `x^-power` curve from the maximum down to `min`.
    case onex(minimum: Double, power: Double)

    /// Parses `constant`, `linear` or `onex:{min}:{power}`.
    /// - Throws: `.unknownName` for anything else.
    public init(parsing text: String) throws(GenerationError) {
        switch text {
        case "constant": self = .constant
        case "linear": self = .linear
        default:
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "onex", let minimum = Double(parts[1]), let power = Double(parts[2]) else {
                throw .unknownName(setting: "temperature schedule", value: text, known: ["constant", "linear", "onex:{min}:{power}"])
            }
            self = .onex(minimum: minimum, power: power)
        }
    }

    /// The schedule's name as the reference spells it.
    public var description: String {
        switch self {
        case .constant: return "constant"
        case .linear: return "linear"
        case let .onex(minimum, power): return "onex:\(minimum):\(power)"
        }
    }

    /// One temperature per step of the token schedule `counts`, starting from `temperature`.
    public func temperatures(_ temperature: Double, counts: [Int]) -> [Double] {
        let total = Double(counts.reduce(0, +))
        var cumulative: [Double] = []
        var running = 0.0
        for c in counts {
            running += Double(c)
            cumulative.append(running)
        }
        switch self {
        case .constant:
            return Array(repeating: temperature, count: counts.count)
        case .linear:
            return counts.indices.map { i in
                max(1e-9, i == 0 ? temperature : temperature * (total - cumulative[i - 1]) / total)
            }
        case let .onex(minimum, power):
            let tokens = Int(total)
            let x = (0..<tokens).map { j in tokens == 1 ? 1.0 : (j == tokens - 1 ? 100.0 : 1.0 + Double(j) * (99.0 / Double(tokens - 1))) }
            var y = x.map { pow($0, -power) }
            let low = y.min() ?? 0
            y = y.map { $0 - low }
            let high = y.max() ?? 0
            y = y.map { $0 / high }
            return counts.indices.map { i in max(1e-9, minimum + (temperature - minimum) * (1 - cumulative[i] / total) * y[i]) }
        }
    }
}

/// A guidance weight: one scale for classifier-free guidance, or one weight per condition
/// for multi-condition guidance (spec/generation.md 4).
public enum GuidanceScale: Sendable, Equatable {
    /// `uncond + s·(cond − uncond)`; 1 means no guidance.
    case scale(Double)
    /// `uncond + Σ w_k·(cond_k − uncond)`.
    case weights([Double])
}

/// One step of a generation schedule (spec/generation.md 2.1).
public struct GenerationStep: Sendable, Equatable {
    /// The modality decoded in this step.
    public var target: Modality
    /// How it is decoded.
    public var scheme: GenerationScheme
    /// Tokens committed in this step (nil for autoregressive steps).
    public var tokenCount: Int?
    /// Sampling temperature (|τ| ≤ 1e-10 is greedy).
    public var temperature: Double
    /// Guidance.
    public var guidance: GuidanceScale
    /// Conditions dropped in the unconditional pass.
    public var guidanceConditions: [Modality]

    /// Creates a step.
    public init(target: Modality, scheme: GenerationScheme, tokenCount: Int?, temperature: Double, guidance: GuidanceScale = .scale(1), guidanceConditions: [Modality] = []) {
        self.target = target
        self.scheme = scheme
        self.tokenCount = tokenCount
        self.temperature = temperature
        self.guidance = guidance
        self.guidanceConditions = guidanceConditions
    }
}

/// The settings of one target of a chained schedule.
public struct TargetSettings: Sendable, Equatable {
    /// The modality to generate.
    public var modality: Modality
    /// The decoding scheme.
    public var scheme: GenerationScheme
    /// Total tokens of the target (image-like: its token count).
    public var tokens: Int
    /// Decoding steps (ignored for autoregressive targets).
    public var steps: Int
    /// Token-count schedule (MaskGIT only; ROAR always uses linear, as the reference).
    public var tokenSchedule: TokenSchedule
    /// Starting temperature.
    public var temperature: Double
    /// Temperature schedule.
    public var temperatureSchedule: TemperatureSchedule
    /// Guidance (scale or per-condition weights).
    public var guidance: GuidanceScale

    /// Creates target settings; defaults follow the reference's RGB→X recipe.
    public init(_ modality: Modality, scheme: GenerationScheme, tokens: Int, steps: Int = 1, tokenSchedule: TokenSchedule = .cosine,
                temperature: Double = 1, temperatureSchedule: TemperatureSchedule = .constant, guidance: GuidanceScale = .scale(1)) {
        self.modality = modality
        self.scheme = scheme
        self.tokens = tokens
        self.steps = steps
        self.tokenSchedule = tokenSchedule
        self.temperature = temperature
        self.temperatureSchedule = temperatureSchedule
        self.guidance = guidance
    }
}

/// Builds the flat step list of a chained generation (spec/generation.md 2.1): each target's
/// steps in order; guidance conditions are a snapshot of `conditions` plus, with
/// `growConditioning`, every earlier non-autoregressive target.
/// - Throws: `.invalidSetting` for negative or non-finite values, a negative token count in
///   the schedule, more steps than the reference can compute (onex with one token), or
///   weights that are empty.
package func buildChainedSchedule(conditions: [Modality], targets: [TargetSettings], growConditioning: Bool) throws(GenerationError) -> [GenerationStep] {
    var condition = conditions
    var steps: [GenerationStep] = []
    for t in targets {
        let name = t.modality.rawValue
        // Sampling and guidance compute in Float: 1e308 is a finite Double but an infinite
        // Float, so the check is on the converted value.
        let floatRange = "within the Float range (magnitude at most \(Float.greatestFiniteMagnitude))"
        guard Float(t.temperature).isFinite else {
            throw .invalidSetting(target: name, setting: "temperature", expected: t.temperature.isFinite ? "a number \(floatRange)" : "a finite number", actual: "\(t.temperature)")
        }
        switch t.guidance {
        case .scale(let s):
            guard Float(s).isFinite else {
                throw .invalidSetting(target: name, setting: "guidance", expected: s.isFinite ? "a scale \(floatRange)" : "a finite scale", actual: "\(s)")
            }
        case .weights(let w):
            guard !w.isEmpty, w.allSatisfy({ Float($0).isFinite }) else { throw .invalidSetting(target: name, setting: "guidance weights", expected: "one or more finite weights \(floatRange)", actual: "\(w)") }
        }
        if t.scheme == .autoregressive {
            steps.append(GenerationStep(target: t.modality, scheme: .autoregressive, tokenCount: nil, temperature: t.temperature, guidance: t.guidance, guidanceConditions: condition))
            continue  // reference quirk kept: autoregressive targets never join the conditions
        }
        guard t.steps > 0 else { throw .invalidSetting(target: name, setting: "steps", expected: "a positive number", actual: "\(t.steps)") }
        guard t.tokens > 0 else { throw .invalidSetting(target: name, setting: "tokens", expected: "a positive number", actual: "\(t.tokens)") }
        let counts = (t.scheme == .maskGIT ? t.tokenSchedule : .linear).counts(steps: t.steps, tokens: t.tokens)
        if let negative = counts.first(where: { $0 < 0 }) {
            throw .invalidSetting(target: name, setting: "\(t.tokenSchedule) token schedule", expected: "no negative counts (use fewer steps or the linear schedule)", actual: "\(counts) (has \(negative))")
        }
        if case let .onex(minimum, power) = t.temperatureSchedule {
            guard minimum.isFinite, power.isFinite, power != 0, t.tokens > 1 else {
                throw .invalidSetting(target: name, setting: "temperature schedule", expected: "onex with a non-zero power over more than one token", actual: "\(t.temperatureSchedule) over \(t.tokens) tokens")
            }
        }
        let temperatures = t.temperatureSchedule.temperatures(t.temperature, counts: counts)
        for (count, temperature) in zip(counts, temperatures) {
            steps.append(GenerationStep(target: t.modality, scheme: t.scheme, tokenCount: count, temperature: temperature, guidance: t.guidance, guidanceConditions: condition))
        }
        if growConditioning { condition.append(t.modality) }
    }
    return steps
}
