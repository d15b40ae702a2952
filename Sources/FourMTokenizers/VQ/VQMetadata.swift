import Foundation

/// One `__metadata__` value of a tokenizer checkpoint, parsed as a YAML scalar
/// (spec/tokenizers.md 1.1).
///
/// The reference writes every config value with Python's `str()` and reads it back with YAML
/// after replacing `None` by `null`. Tokenizer configs only need scalars; anything else (lists
/// such as `ignore_keys`) stays a string, as the reference keeps a raw string on a YAML error.
enum VQMetadataValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)

    /// Parses one metadata string.
    init(parsing raw: String) {
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        switch text {
        case "", "~", "null", "Null", "NULL", "None":
            self = .null
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON":
            self = .bool(true)
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF":
            self = .bool(false)
        default:
            let cleaned = text.replacingOccurrences(of: "_", with: "")
            if let integer = Int(cleaned) {
                self = .int(integer)
            } else if cleaned.contains(where: \.isNumber), !cleaned.contains(":"), let number = Double(cleaned) {
                self = .double(number)
            } else if text.count >= 2, let first = text.first, first == "'" || first == "\"", text.last == first {
                self = .string(String(text.dropFirst().dropLast()))
            } else {
                self = .string(text)
            }
        }
    }

    /// A Python-like rendering for error messages.
    var rendered: String {
        switch self {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return "'\(s)'"
        }
    }
}

/// Typed access to a checkpoint's `__metadata__`, with the constructor defaults of the
/// reference for missing keys (spec/tokenizers.md 1.3). Every failure names the file and key.
struct VQMetadata: Sendable {
    let file: String
    let values: [String: VQMetadataValue]

    init(file: String, metadata: [String: String]) {
        self.file = file
        values = metadata.mapValues { VQMetadataValue(parsing: $0) }
    }

    func contains(_ key: String) -> Bool { values[key] != nil }

    private func invalid(_ key: String, _ expected: String) -> VQTokenizerError {
        .invalidConfiguration(file: file, key: key, expected: expected, actual: values[key]?.rendered ?? "missing")
    }

    /// An integer, or nil when missing or `None`; `expected` words the error.
    func optionalInt(_ key: String, expected: String = "an integer") throws(VQTokenizerError) -> Int? {
        switch values[key] {
        case nil, .null?: return nil
        case .int(let i)?: return i
        case .double(let d)? where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: throw invalid(key, expected)
        }
    }

    /// A positive integer; a missing key or `None` gives `fallback`.
    func positiveInt(_ key: String, default fallback: Int) throws(VQTokenizerError) -> Int {
        let value = try optionalInt(key, expected: "a positive integer") ?? fallback
        guard value > 0 else { throw invalid(key, "a positive integer") }
        return value
    }

    /// A positive integer that must be present.
    func requiredPositiveInt(_ key: String) throws(VQTokenizerError) -> Int {
        guard let value = try optionalInt(key, expected: "a positive integer"), value > 0 else {
            throw invalid(key, "a positive integer")
        }
        return value
    }

    /// A positive integer or nil when missing or `None`.
    func optionalPositiveInt(_ key: String) throws(VQTokenizerError) -> Int? {
        guard let value = try optionalInt(key, expected: "a positive integer or None") else { return nil }
        guard value > 0 else { throw invalid(key, "a positive integer or None") }
        return value
    }

    /// A boolean; a missing key or `None` gives `fallback`.
    func bool(_ key: String, default fallback: Bool) throws(VQTokenizerError) -> Bool {
        switch values[key] {
        case nil, .null?: return fallback
        case .bool(let b)?: return b
        default: throw invalid(key, "True or False")
        }
    }

    /// A string; a missing key or `None` gives `fallback`.
    func string(_ key: String, default fallback: String) throws(VQTokenizerError) -> String {
        switch values[key] {
        case nil, .null?: return fallback
        case .string(let s)?: return s
        default: throw invalid(key, "a string")
        }
    }
}
