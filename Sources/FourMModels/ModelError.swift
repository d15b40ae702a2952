import FourMTensor

/// Errors raised when a model is asked to work on states that do not fit it.
public enum ModelError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The state of a modality has the wrong content type or shape.
    case invalidState(modality: String, field: String, expected: String, actual: String)
    /// A token id lies outside the modality's vocabulary.
    case tokenOutOfRange(modality: String, id: Int32, vocabularySize: Int)
    /// The modality has no encoder / decoder in this model.
    case notInModel(modality: String, role: String, available: [String])
    /// Batch sizes of the states disagree.
    case batchMismatch(modality: String, expected: Int, actual: Int)
    /// The rows of a batch have different numbers of targets for one modality.
    case unequalTargetCounts(modality: String, counts: [Int])
    /// A sequence has more valid positions than the position table holds.
    case tooManyPositions(modality: String, count: Int, limit: Int)
    /// A requested position lies outside the modality.
    case positionOutOfRange(modality: String, position: Int, length: Int)
    /// The model file or its configuration could not be used.
    case weights(WeightError)
    /// The configuration is invalid.
    case configuration(ConfigurationError)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case let .invalidState(m, field, expected, actual):
            return "\(m): \(field) is \(actual), expected \(expected)"
        case let .tokenOutOfRange(m, id, vocab):
            return "\(m): token id \(id) outside the vocabulary of \(vocab)"
        case let .notInModel(m, role, available):
            return "\(m): the model has no \(role) for this modality (it has: \(available.joined(separator: ", ")))"
        case let .batchMismatch(m, expected, actual):
            return "\(m): batch size \(actual), expected \(expected) like the other modalities"
        case let .unequalTargetCounts(m, counts):
            return "\(m): batch rows have different target counts \(counts); all rows must match"
        case let .tooManyPositions(m, count, limit):
            return "\(m): \(count) valid positions, the position table has \(limit)"
        case let .positionOutOfRange(m, position, length):
            return "\(m): position \(position) outside 0..<\(length)"
        case let .weights(error): return error.description
        case let .configuration(error): return error.description
        }
    }
}
