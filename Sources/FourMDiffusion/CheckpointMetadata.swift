import Foundation

/// One scalar value of a checkpoint header's `__metadata__` (spec/tokenizers.md 1.1).
///
/// The reference writes every config value with Python's `str()` and reads it back as YAML
/// after replacing `None` by `null`, keeping the raw string when YAML fails. The DiVAE keys are
/// all scalars, so this parser resolves plain YAML 1.1 scalars only: null, booleans, integers,
/// floats (YAML 1.1 needs a `.` or an exponent with a sign, but a plain `1e-05` is accepted
/// as a number here because no key we read wants such a string) and everything else as a
/// string (e.g. `shifted_cosine:0.5`, `unet_patched`).
enum MetadataScalar: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)

    /// Resolves one metadata string.
    static func parse(_ text: String) -> MetadataScalar {
        let raw = text.trimmingCharacters(in: .whitespaces)
        switch raw {
        case "", "~", "null", "Null", "NULL", "None": return .null
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return .bool(true)
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return .bool(false)
        default: break
        }
        if raw.count >= 2, let first = raw.first, first == "'" || first == "\"", raw.last == first {
            return .string(String(raw.dropFirst().dropLast()))
        }
        let cleaned = raw.replacingOccurrences(of: "_", with: "")
        if let value = Int(cleaned) { return .int(value) }
        let numeric = cleaned.allSatisfy { "0123456789+-.eE".contains($0) } && cleaned.contains(where: \.isNumber)
        if numeric, let value = Double(cleaned) { return .double(value) }
        switch cleaned.lowercased() {
        case ".inf", "+.inf": return .double(.infinity)
        case "-.inf": return .double(-.infinity)
        case ".nan": return .double(.nan)
        default: return .string(raw)
        }
    }

    /// The value as the reference would print it (for error messages).
    var text: String {
        switch self {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return "'\(s)'"
        }
    }
}

/// Typed access to a checkpoint's `__metadata__`, with the reference constructor defaults for
/// missing keys (spec/tokenizers.md 1.3) and errors naming the file and key.
struct CheckpointMetadata {
    let file: String
    let values: [String: MetadataScalar]

    init(_ metadata: [String: String], file: String) {
        self.file = file
        values = metadata.mapValues(MetadataScalar.parse)
    }

    /// An integer; `fallback` when the key is absent (an explicit `None` is an error).
    func int(_ key: String, default fallback: Int) throws(DiffusionError) -> Int {
        if values[key] == nil { return fallback }
        guard let value = try optionalInt(key) else {
            throw .invalidValue(file: file, key: key, expected: "an integer", actual: "None")
        }
        return value
    }

    /// An integer, or nil when absent or `None`.
    func optionalInt(_ key: String) throws(DiffusionError) -> Int? {
        switch values[key] {
        case nil, .null?: return nil
        case .int(let v)?: return v
        case .double(let d)? where d == d.rounded() && abs(d) < 1e15: return Int(d)
        case let other?: throw .invalidValue(file: file, key: key, expected: "an integer", actual: other.text)
        }
    }

    /// A boolean; `fallback` when the key is absent (an explicit `None` is an error).
    func bool(_ key: String, default fallback: Bool) throws(DiffusionError) -> Bool {
        switch values[key] {
        case nil: return fallback
        case .bool(let b)?: return b
        case let other?: throw .invalidValue(file: file, key: key, expected: "True or False", actual: other.text)
        }
    }

    /// A string; `fallback` when the key is absent (an explicit `None` is an error).
    func string(_ key: String, default fallback: String) throws(DiffusionError) -> String {
        switch values[key] {
        case nil: return fallback
        case .string(let s)?: return s
        case let other?: throw .invalidValue(file: file, key: key, expected: "a string", actual: other.text)
        }
    }
}
