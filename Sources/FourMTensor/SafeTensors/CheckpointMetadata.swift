/// A value of a checkpoint's `__metadata__` that does not fit what a reader asked for.
package struct MetadataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The checkpoint (or config file).
    package let file: String
    /// The metadata key.
    package let key: String
    /// What the reader wanted, in words ("an integer", "True or False").
    package let expected: String
    /// The value found, as Python prints it (`'three'`, `7`, `None`), or `missing`.
    package let actual: String

    /// An error naming the file, key, expected and actual value.
    package init(file: String, key: String, expected: String, actual: String) {
        self.file = file
        self.key = key
        self.expected = expected
        self.actual = actual
    }

    /// One line: where, what, expected versus actual.
    package var description: String { "\(file): config key '\(key)' is \(actual), expected \(expected)" }
}

/// Typed access to a checkpoint's `__metadata__` config (spec/model.md 1.2, spec/tokenizers.md
/// 1.1–1.3): the one reader behind the 4M model configuration, the VQ tokenizer configuration
/// and the DiVAE diffusion configuration.
///
/// The reference writes each config value with Python's `str()` and reads it back with
/// PyYAML after replacing `None` by `null`; ``ConfigValue/parse(_:)`` resolves that subset.
/// Getters take the reference constructor's default for an absent key, and every error names
/// the file and key with the expected and the actual value. The reader remembers the keys it
/// was asked for (``readKeys``), so a caller can list the keys it ignored.
package struct CheckpointMetadata: Sendable {
    /// The file the values come from, for error messages.
    package let file: String
    /// The parsed values by key.
    package let values: [String: ConfigValue]
    /// Every key a getter was asked for (present or not), plus ``markRead(_:)``'s.
    package private(set) var readKeys: Set<String> = []

    /// Parses header metadata strings: `None` becomes `null` everywhere, then each value is
    /// parsed as YAML (strings longer than 10 000 characters are kept verbatim).
    package init(_ metadata: [String: String], file: String) {
        var values: [String: ConfigValue] = [:]
        for (key, text) in metadata {
            values[key] = text.count > 10_000 ? .string(text) : ConfigValue.parse(text.replacingOccurrences(of: "None", with: "null"))
        }
        self.init(values: values, file: file)
    }

    /// Wraps values that are already typed (a `config.json`).
    package init(values: [String: ConfigValue], file: String) {
        self.file = file
        self.values = values
    }

    /// True when the key is present (even as `None`).
    package func contains(_ key: String) -> Bool { values[key] != nil }

    /// The value of `key`, nil when absent; `None` stays ``ConfigValue/null``.
    package subscript(key: String) -> ConfigValue? { values[key] }

    /// Counts keys as read without reading them (keys with no effect).
    package mutating func markRead(_ keys: some Sequence<String>) { readKeys.formUnion(keys) }

    /// The error for `key` holding something other than `expected`.
    package func mismatch(_ key: String, expected: String) -> MetadataError {
        MetadataError(file: file, key: key, expected: expected, actual: values[key]?.repr ?? "missing")
    }

    /// The value, nil when absent or `None`; with `allowNone` false an explicit `None` is an
    /// error (a key whose reference constructor cannot take `None`).
    private mutating func present(_ key: String, expected: String, allowNone: Bool) throws(MetadataError) -> ConfigValue? {
        readKeys.insert(key)
        switch values[key] {
        case nil: return nil
        case .null?: if allowNone { return nil } else { throw mismatch(key, expected: expected) }
        case let value?: return value
        }
    }

    /// An integer (a float with no fractional part counts), nil when absent or `None`;
    /// `expected` words the error.
    package mutating func optionalInt(_ key: String, expected: String = "an integer") throws(MetadataError) -> Int? {
        guard let value = try present(key, expected: expected, allowNone: true) else { return nil }
        guard let int = value.intValue else { throw mismatch(key, expected: expected) }
        return int
    }

    /// An integer; `fallback` when absent, or when `None` and `allowNone`.
    package mutating func int(_ key: String, default fallback: Int, allowNone: Bool = true) throws(MetadataError) -> Int {
        guard let value = try present(key, expected: "an integer", allowNone: allowNone) else { return fallback }
        guard let int = value.intValue else { throw mismatch(key, expected: "an integer") }
        return int
    }

    /// A positive integer; `fallback` when absent or `None`, and required when `fallback` is nil.
    package mutating func positiveInt(_ key: String, default fallback: Int?) throws(MetadataError) -> Int {
        guard let value = try optionalInt(key, expected: "a positive integer") ?? fallback, value > 0 else {
            throw mismatch(key, expected: "a positive integer")
        }
        return value
    }

    /// A positive integer, nil when absent or `None`.
    package mutating func optionalPositiveInt(_ key: String) throws(MetadataError) -> Int? {
        guard let value = try optionalInt(key, expected: "a positive integer or None") else { return nil }
        guard value > 0 else { throw mismatch(key, expected: "a positive integer or None") }
        return value
    }

    /// A number (integers and floats; a string Swift reads as a number too, as PyYAML leaves
    /// `1e-06` a string); `fallback` when absent or `None`.
    package mutating func double(_ key: String, default fallback: Double) throws(MetadataError) -> Double {
        guard let value = try present(key, expected: "a number", allowNone: true) else { return fallback }
        if let d = value.doubleValue { return d }
        if let s = value.stringValue, let d = Double(s) { return d }
        throw mismatch(key, expected: "a number")
    }

    /// A boolean; `fallback` when absent, or when `None` and `allowNone`.
    package mutating func bool(_ key: String, default fallback: Bool, allowNone: Bool = true) throws(MetadataError) -> Bool {
        guard let value = try present(key, expected: "True or False", allowNone: allowNone) else { return fallback }
        guard let b = value.boolValue else { throw mismatch(key, expected: "True or False") }
        return b
    }

    /// A string; `fallback` when absent, or when `None` and `allowNone`.
    package mutating func string(_ key: String, default fallback: String, allowNone: Bool = true) throws(MetadataError) -> String {
        guard let value = try present(key, expected: "a string", allowNone: allowNone) else { return fallback }
        guard let s = value.stringValue else { throw mismatch(key, expected: "a string") }
        return s
    }

    /// A list of strings, nil when absent or `None`; `expected` words the error.
    package mutating func stringList(_ key: String, expected: String = "a list of strings") throws(MetadataError) -> [String]? {
        guard let value = try present(key, expected: expected, allowNone: true) else { return nil }
        guard let list = value.stringList else { throw mismatch(key, expected: expected) }
        return list
    }

    /// A list of integers, nil when absent or `None`.
    package mutating func intList(_ key: String) throws(MetadataError) -> [Int]? {
        guard let value = try present(key, expected: "a list of integers", allowNone: true) else { return nil }
        guard case .list(let items) = value else { throw mismatch(key, expected: "a list of integers") }
        var out: [Int] = []
        for item in items {
            guard let int = item.intValue else { throw mismatch(key, expected: "a list of integers") }
            out.append(int)
        }
        return out
    }
}
