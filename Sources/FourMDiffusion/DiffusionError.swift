import FourMTensor

/// Errors raised while loading or running a DiVAE diffusion decoder.
///
/// Every case names where the problem is (file, config key, argument) and what was expected
/// versus what was found.
public enum DiffusionError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Reading or matching the checkpoint's tensors failed.
    case weights(WeightError)
    /// A config value (checkpoint `__metadata__`) has the wrong type or an impossible value.
    case invalidValue(file: String, key: String, expected: String, actual: String)
    /// A config value is understood but not supported by this port (spec/tokenizers.md 1.3, 5).
    case unsupported(file: String, key: String, value: String)
    /// `dec_type` names a decoder preset that is neither released nor passed in (see ``DiffusionPresets``).
    case unknownPreset(file: String, key: String, name: String, known: [String])
    /// A preset description (for ``DiffusionPresets/decoderPreset(name:description:)``) is malformed.
    case invalidPreset(name: String, key: String, reason: String)
    /// A tensor argument has the wrong shape.
    case shapeMismatch(argument: String, expected: String, actual: [Int])
    /// The number of denoising steps is outside `1...num_train_timesteps`.
    case invalidStepCount(requested: Int, maximum: Int)
    /// A DDPM step with `t > 0` needs variance noise and none was given.
    case missingVarianceNoise(timestep: Int)
    /// Decoding was cancelled between two denoising steps.
    case cancelled(completedSteps: Int, totalSteps: Int)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case .weights(let error):
            return error.description
        case let .invalidValue(file, key, expected, actual):
            return "\(file): config key '\(key)' is \(actual), expected \(expected)"
        case let .unsupported(file, key, value):
            return "\(file): config key '\(key)' = \(value) is not supported"
        case let .unknownPreset(file, key, name, known):
            return "\(file): config key '\(key)' names unknown decoder preset '\(name)' (known: \(known.joined(separator: ", "))); pass its description in the presets (a bundle's diffusion_presets)"
        case let .invalidPreset(name, key, reason):
            return "decoder preset '\(name)': '\(key)' \(reason)"
        case let .shapeMismatch(argument, expected, actual):
            return "\(argument) has shape \(actual), expected \(expected)"
        case let .invalidStepCount(requested, maximum):
            return "\(requested) denoising steps requested, expected 1...\(maximum)"
        case let .missingVarianceNoise(timestep):
            return "DDPM step at t = \(timestep) needs variance noise, none given"
        case let .cancelled(completed, total):
            return "decoding cancelled after \(completed) of \(total) steps"
        }
    }
}
