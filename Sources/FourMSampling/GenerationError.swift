import FourMModels

/// Errors of schedule building and generation.
public enum GenerationError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A schedule setting is invalid (names the target and the setting).
    case invalidSetting(target: String, setting: String, expected: String, actual: String)
    /// A schedule names something unknown (a scheme, a schedule kind).
    case unknownName(setting: String, value: String, known: [String])
    /// The dictionary does not hold what a step needs.
    case missingModality(modality: String, role: String)
    /// A step does not fit the target (scheme for a modality type, too many tokens).
    case stepDoesNotFit(step: Int, target: String, reason: String)
    /// The model rejected the states.
    case model(ModelError)
    /// Generation was cancelled between steps.
    case cancelled(afterStep: Int)
    /// A step produced NaN or infinite logits or probabilities (non-finite weights, or a
    /// guidance scale or temperature that overflows in Float). `what` says which values and
    /// where (`logits row 3`, `probability of row 0`).
    case nonFinite(step: Int, target: String, what: String)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case let .invalidSetting(target, setting, expected, actual):
            return "schedule for \(target): \(setting) is \(actual), expected \(expected)"
        case let .unknownName(setting, value, known):
            return "\(setting): unknown value '\(value)' (known: \(known.joined(separator: ", ")))"
        case let .missingModality(modality, role):
            return "\(modality): not in the modality dictionary (needed as \(role))"
        case let .stepDoesNotFit(step, target, reason):
            return "step \(step) (\(target)): \(reason)"
        case let .model(error):
            return error.description
        case let .cancelled(step):
            return "generation cancelled after step \(step)"
        case let .nonFinite(step, target, what):
            return "step \(step) (\(target)): \(what) is not finite (NaN or infinite); check the weights, guidance and temperature"
        }
    }
}
