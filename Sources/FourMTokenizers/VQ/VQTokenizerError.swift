import FourMTensor

/// Errors raised while loading or running a VQ image tokenizer (``VQImageTokenizer``) or one of
/// its parts.
///
/// Loader cases name the file and the metadata key or tensor; run-time cases name the argument
/// with the expected and the actual shape or value, so every message says where, what, and
/// expected versus got.
public enum VQTokenizerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Reading the checkpoint or taking its tensors failed: unreadable file, missing tensor,
    /// a tensor whose shape disagrees with the configuration, tensors left unused, ….
    case weights(WeightError)
    /// A metadata value has the wrong type or an impossible value (a non-integer `latent_dim`,
    /// an `image_size` that is not a multiple of `patch_size`, …).
    case invalidConfiguration(file: String, key: String, expected: String, actual: String)
    /// A configuration value is understood but not implemented here (an unknown `quant_type`,
    /// `enc_type` or `dec_type`, a diffusion decoder). Rejected at load, never at first use.
    case unsupported(file: String, key: String, value: String, hint: String)
    /// A tensor handed to the tokenizer does not fit: wrong rank, channel count, image side or
    /// dtype convention. `argument` names the parameter.
    case invalidInput(argument: String, expected: String, actual: String)
    /// A token id lies outside `0..<codebookSize`.
    case idOutOfRange(id: Int32, codebookSize: Int)
    /// A semantic-segmentation label lies outside `0..<labelCount` (`n_labels`).
    case labelOutOfRange(label: Int32, labelCount: Int)

    /// One line: where, what, expected versus actual, and a hint when the fix is known.
    public var description: String {
        switch self {
        case .weights(let error):
            return error.description
        case let .invalidConfiguration(file, key, expected, actual):
            return "\(file): metadata '\(key)' is \(actual), expected \(expected)"
        case let .unsupported(file, key, value, hint):
            return "\(file): metadata '\(key)' = '\(value)' is not supported" + (hint.isEmpty ? "" : "; \(hint)")
        case let .invalidInput(argument, expected, actual):
            return "\(argument): got \(actual), expected \(expected)"
        case let .idOutOfRange(id, codebookSize):
            return "token id \(id) is outside the codebook (valid ids: 0..<\(codebookSize))"
        case let .labelOutOfRange(label, labelCount):
            return "label \(label) is outside the label range 0..<\(labelCount) (n_labels)"
        }
    }
}
