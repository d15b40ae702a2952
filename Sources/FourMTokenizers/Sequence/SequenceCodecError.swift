/// Errors raised while turning a value into a 4M sequence string or sequence ids.
///
/// Parsing never throws: malformed generated sequences are reported as
/// ``SequenceParseIssue``s instead (spec/tokenizers.md sections 8.3–8.8). Encoding throws
/// when a value cannot be written with the tokens of the 4M vocabulary (a coordinate outside
/// the image, an unknown class name, an id outside a codebook) or when the sequence would not
/// fit the modality (spec/tokenizers.md section 7.4).
public enum SequenceCodecError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A field of the value lies outside what the modality's serialisation can express.
    /// `field` names it the way a caller wrote it (`boxes[2].xmin`, `colors[0].red`).
    case invalidValue(modality: String, field: String, value: String, expected: String)
    /// A detection class name is not one of the 80 COCO class tokens of the vocabulary
    /// (spec/tokenizers.md section 7.2).
    case unknownClassName(field: String, name: String)
    /// The ids (including the `[EOS]` when appended) exceed the modality's maximum length
    /// (spec/tokenizers.md section 7.4).
    case sequenceTooLong(modality: String, length: Int, maximum: Int)
    /// The tokenizer has no id for a special token the sequence needs (e.g. `[EOS]`).
    case missingSpecialToken(String)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case .invalidValue(let modality, let field, let value, let expected):
            return "\(modality): '\(field)' is \(value), expected \(expected)"
        case .unknownClassName(let field, let name):
            return "det: '\(field)' is \(name.debugDescription), expected one of the 80 COCO "
                + "class names of the vocabulary (see COCODetectionClasses.names)"
        case .sequenceTooLong(let modality, let length, let maximum):
            return "\(modality): sequence has \(length) ids, the modality holds at most \(maximum)"
        case .missingSpecialToken(let token):
            return "tokenizer has no id for the special token \(token)"
        }
    }
}
