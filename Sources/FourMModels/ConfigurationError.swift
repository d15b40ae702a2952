import FourMTensor
/// Errors in a model configuration (checkpoint `__metadata__` or `config.json`).
public enum ConfigurationError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A required key is absent.
    case missingKey(file: String, key: String)
    /// A key's value has the wrong type or an impossible value.
    case invalidValue(file: String, key: String, expected: String, actual: String)
    /// A value is understood but not supported (an activation, register tokens).
    case unsupported(file: String, key: String, value: String)
    /// A domain list names a modality that is not a 4M domain.
    case unknownModality(file: String, key: String, name: String)
    /// The config file could not be read or parsed.
    case unreadable(file: String, reason: String)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case let .missingKey(file, key):
            return "\(file): config is missing required key '\(key)'"
        case let .invalidValue(file, key, expected, actual):
            return "\(file): config key '\(key)' is \(actual), expected \(expected)"
        case let .unsupported(file, key, value):
            return "\(file): config key '\(key)' = \(value) is not supported"
        case let .unknownModality(file, key, name):
            return "\(file): '\(key)' names unknown modality '\(name)' (known: e.g. \(ModalityRegistry.knownNames.prefix(6).joined(separator: ", ")), …)"
        case let .unreadable(file, reason):
            return "\(file): cannot read config: \(reason)"
        }
    }
}
