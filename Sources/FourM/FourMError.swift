import FourMDiffusion
import FourMModels
import FourMRetrieval
import FourMSampling
import FourMTensor
import FourMTokenizers

/// Every error the ``Pipeline`` and bundles raise, wrapping the error of the layer it came from.
public enum FourMError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Reading or validating a weights file.
    case weights(WeightError)
    /// A model configuration.
    case configuration(ConfigurationError)
    /// A model call.
    case model(ModelError)
    /// The text tokenizer.
    case tokenizer(TokenizerError)
    /// An image tokenizer.
    case imageTokenizer(VQTokenizerError)
    /// A diffusion (DiVAE) tokenizer.
    case diffusion(DiVAEError)
    /// Generation and schedules.
    case generation(GenerationError)
    /// Retrieval.
    case retrieval(RetrievalError)
    /// Images.
    case image(ImageError)
    /// The bundle folder or its `bundle.json`.
    case bundle(path: String, reason: String)
    /// Modalities the model can output but the bundle cannot decode.
    case missingTokenizers(bundle: String, modalities: [String])
    /// A modality name that is not in the model.
    case unknownModality(name: String, role: String, available: [String])
    /// An input value that does not fit its modality.
    case invalidInput(modality: String, expected: String, actual: String)
    /// Token ids handed to a decoder whose shape is not the modality's: `expected` and
    /// `actual` are shapes (`[B, N]` with `N` the model's token count).
    case tokenShape(modality: String, expected: [Int], actual: [Int])
    /// A token id outside the modality's vocabulary `0..<vocabularySize`, at flat `position`.
    case tokenOutOfRange(modality: String, id: Int32, position: Int, vocabularySize: Int)
    /// A batch row outside `0..<batchSize` of a result.
    case rowOutOfRange(modality: String, row: Int, batchSize: Int)
    /// The text tokenizer lacks a special token a modality's codec needs, or gives it an id
    /// other than the one the sampler writes (`SpecialTokens`, the reference vocabulary's).
    case specialToken(modality: String, token: String, expected: String, actual: String)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case .weights(let e): return e.description
        case .configuration(let e): return e.description
        case .model(let e): return e.description
        case .tokenizer(let e): return e.description
        case .imageTokenizer(let e): return e.description
        case .diffusion(let e): return e.description
        case .generation(let e): return e.description
        case .retrieval(let e): return e.description
        case .image(let e): return e.description
        case let .bundle(path, reason): return "\(path): \(reason)"
        case let .missingTokenizers(bundle, modalities):
            return "\(bundle): no tokenizer to decode \(modalities.joined(separator: ", ")) (add it to bundle.json or choose other outputs)"
        case let .unknownModality(name, role, available):
            return "unknown \(role) modality '\(name)' (this model has: \(available.joined(separator: ", ")))"
        case let .invalidInput(modality, expected, actual):
            return "\(modality): input is \(actual), expected \(expected)"
        case let .tokenShape(modality, expected, actual):
            return "\(modality): token ids have shape \(actual), expected \(expected)"
        case let .tokenOutOfRange(modality, id, position, vocabularySize):
            return "\(modality): token id \(id) at position \(position) is outside the vocabulary 0..<\(vocabularySize)"
        case let .rowOutOfRange(modality, row, batchSize):
            return "\(modality): row \(row) is outside the batch 0..<\(batchSize)"
        case let .specialToken(modality, token, expected, actual):
            return "\(modality): the text tokenizer's \(token) is \(actual), expected \(expected)"
        }
    }
}
