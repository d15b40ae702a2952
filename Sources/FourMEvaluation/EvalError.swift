import FourM
import FourMSynth

/// Errors of an evaluation run, wrapping the error of the layer it came from.
public enum EvalError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Loading the bundle or a model call through the `Pipeline`.
    case pipeline(FourMError)
    /// The synthetic world (its configuration).
    case synth(SynthError)
    /// A metric (predictions that do not match the scenes).
    case metrics(SynthMetricsError)
    /// Rendering an example image.
    case image(ImageError)
    /// The bundle's model cannot be evaluated (it lacks an input or output the tasks need).
    case unsupportedModel(reason: String)
    /// A decoded output has the wrong shape.
    case output(modality: String, expected: String, actual: String)
    /// A report or example file could not be written.
    case file(path: String, reason: String)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case .pipeline(let e): return e.description
        case .synth(let e): return e.description
        case .metrics(let e): return e.description
        case .image(let e): return e.description
        case .unsupportedModel(let reason): return reason
        case let .output(modality, expected, actual): return "\(modality): \(actual), expected \(expected)"
        case let .file(path, reason): return "\(path): \(reason)"
        }
    }
}
