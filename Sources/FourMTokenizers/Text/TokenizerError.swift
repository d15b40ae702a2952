/// Errors raised while loading a tokenizer file or while turning ids back into text.
///
/// Every loader case names the file and the JSON key path (`model.vocab`,
/// `added_tokens[3].content`, `normalizer.type`) together with the value that was found, so a
/// message points at the exact spot to fix. The enum is shared by all tokenizers of the
/// `FourMTokenizers` target; its cases are kept general on purpose.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file could not be read from disk.
    case unreadable(file: String, reason: String)
    /// The file is not well-formed JSON (or not UTF-8); `reason` says where parsing stopped.
    case invalidJSON(file: String, reason: String)
    /// A required key is absent.
    case missingKey(file: String, key: String)
    /// A key holds a value of the wrong type or an impossible value.
    case invalidValue(file: String, key: String, expected: String, actual: String)
    /// A value is understood but this implementation does not support it (another model
    /// type, a post-processor, truncation, …). Rejected at load, never at first use.
    case unsupported(file: String, key: String, value: String)
    /// A token id lies outside `0..<vocabularySize` or names no token.
    case idOutOfRange(id: Int32, vocabularySize: Int)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read tokenizer file: \(reason)"
        case .invalidJSON(let file, let reason):
            return "\(file): invalid JSON: \(reason)"
        case .missingKey(let file, let key):
            return "\(file): missing required key '\(key)'"
        case .invalidValue(let file, let key, let expected, let actual):
            return "\(file): key '\(key)' is \(actual), expected \(expected)"
        case .unsupported(let file, let key, let value):
            return "\(file): key '\(key)' = \(value) is not supported"
        case .idOutOfRange(let id, let vocabularySize):
            return "token id \(id) is outside the vocabulary (valid ids: 0..<\(vocabularySize))"
        }
    }
}
