/// A value of a checkpoint header's `__metadata__` after parsing (spec/model.md 1.2).
///
/// The reference writes each config value with Python's `str()` and reads it back with
/// PyYAML's `safe_load` after replacing `None` with `null`. This parser accepts that subset:
/// flow lists and mappings, quoted and plain strings, YAML 1.1 booleans, integers, floats
/// (PyYAML needs a `.` in a float, so `1e-06` stays a string there; we accept it as a number
/// because the keys that read floats treat integers and floats alike) and null.
public enum ConfigValue: Sendable, Equatable, CustomStringConvertible {
    /// A string.
    case string(String)
    /// An integer.
    case int(Int)
    /// A floating-point number.
    case double(Double)
    /// A boolean.
    case bool(Bool)
    /// `None` / `null`.
    case null
    /// A list.
    case list([ConfigValue])
    /// A mapping (keys in file order).
    case mapping([(String, ConfigValue)])

    /// Equality of two values (mappings compare in order).
    public static func == (lhs: ConfigValue, rhs: ConfigValue) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case (.null, .null): return true
        case let (.list(a), .list(b)): return a == b
        case let (.mapping(a), .mapping(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value as Python's `repr` prints it (strings quoted), for error messages:
    /// `'SiLU'`, `768`, `True`, `None`, `['a', 'b']`.
    public var repr: String {
        switch self {
        case .string(let s): return "'\(s)'"
        case .list(let items): return "[" + items.map(\.repr).joined(separator: ", ") + "]"
        case .mapping(let pairs): return "{" + pairs.map { "'\($0.0)': \($0.1.repr)" }.joined(separator: ", ") + "}"
        default: return description
        }
    }

    /// A compact, Python-like rendering.
    public var description: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "True" : "False"
        case .null: return "None"
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .mapping(let pairs): return "{" + pairs.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
        }
    }

    /// Parses one metadata string. Never fails: text that is not a recognised structure is a
    /// plain string (as the reference keeps the raw string on a YAML error). Strings longer
    /// than 10 000 characters are kept verbatim.
    public static func parse(_ text: String) -> ConfigValue {
        if text.count > 10_000 { return .string(text) }
        var parser = Parser(Array(text.unicodeScalars))
        parser.skipSpace()
        if let value = parser.value(topLevel: true) {
            parser.skipSpace()
            if parser.atEnd { return value }
        }
        return scalar(text.trimmingSpaces)
    }

    /// Resolves a plain (unquoted) scalar the way PyYAML's resolver does, plus `None`.
    static func scalar(_ raw: String) -> ConfigValue {
        switch raw {
        case "", "~", "null", "Null", "NULL", "None": return .null
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return .bool(true)
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return .bool(false)
        default: break
        }
        let cleaned = raw.replacingUnderscores
        if let i = Int(cleaned) { return .int(i) }
        if cleaned.contains(where: { $0.isNumber }), !cleaned.contains(":"), let d = Double(cleaned),
            d.isFinite || cleaned.lowercased().contains("inf")
        {
            return .double(d)
        }
        switch raw {
        case ".inf", ".Inf", ".INF", "+.inf": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: return .string(raw)
        }
    }

    // MARK: accessors

    /// The value as a string (strings only).
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The value as an integer (integers, and floats with no fractional part).
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }
    /// The value as a number (integers and floats).
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    /// The value as a boolean.
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    /// The value as a list of strings (every element a string).
    public var stringList: [String]? {
        guard case .list(let items) = self else { return nil }
        var out: [String] = []
        for item in items {
            guard let s = item.stringValue else { return nil }
            out.append(s)
        }
        return out
    }
}

private struct Parser {
    let chars: [Unicode.Scalar]
    var index = 0

    init(_ chars: [Unicode.Scalar]) { self.chars = chars }

    var atEnd: Bool { index >= chars.count }
    var current: Unicode.Scalar? { atEnd ? nil : chars[index] }

    mutating func skipSpace() {
        while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { index += 1 }
    }

    /// A flow collection or a quoted string; plain scalars inside flow collections stop at
    /// `,` `]` `}` (and `:` followed by a space in mappings).
    mutating func value(topLevel: Bool) -> ConfigValue? {
        skipSpace()
        guard let c = current else { return nil }
        switch c {
        case "[": return list()
        case "{": return mapping()
        case "'", "\"": return quoted()
        default:
            if topLevel { return nil }  // top-level plain scalars go through `scalar` as a whole
            return plain(inMapping: false)
        }
    }

    mutating func list() -> ConfigValue? {
        index += 1
        var items: [ConfigValue] = []
        skipSpace()
        if current == "]" {
            index += 1
            return .list(items)
        }
        while true {
            guard let item = value(topLevel: false) else { return nil }
            items.append(item)
            skipSpace()
            guard let c = current else { return nil }
            index += 1
            if c == "]" { return .list(items) }
            if c != "," { return nil }
            skipSpace()
            if current == "]" {
                index += 1
                return .list(items)
            }
        }
    }

    mutating func mapping() -> ConfigValue? {
        index += 1
        var pairs: [(String, ConfigValue)] = []
        skipSpace()
        if current == "}" {
            index += 1
            return .mapping(pairs)
        }
        while true {
            skipSpace()
            let key: ConfigValue?
            if current == "'" || current == "\"" { key = quoted() } else { key = plain(inMapping: true) }
            guard let key else { return nil }
            skipSpace()
            guard current == ":" else { return nil }
            index += 1
            guard let item = value(topLevel: false) else { return nil }
            pairs.append((key.description, item))
            skipSpace()
            guard let c = current else { return nil }
            index += 1
            if c == "}" { return .mapping(pairs) }
            if c != "," { return nil }
        }
    }

    mutating func quoted() -> ConfigValue? {
        guard let quote = current else { return nil }
        index += 1
        var out = String.UnicodeScalarView()
        while let c = current {
            index += 1
            if c == quote {
                if quote == "'" && current == "'" {  // '' escapes a quote in single-quoted YAML
                    out.append("'")
                    index += 1
                    continue
                }
                return .string(String(out))
            }
            if quote == "\"" && c == "\\", let next = current {
                index += 1
                switch next {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(next)
                }
                continue
            }
            out.append(c)
        }
        return nil
    }

    mutating func plain(inMapping: Bool) -> ConfigValue? {
        var out = String.UnicodeScalarView()
        while let c = current {
            if c == "," || c == "]" || c == "}" { break }
            if inMapping && c == ":" { break }
            if c == ":" && index + 1 < chars.count && (chars[index + 1] == " ") { break }
            out.append(c)
            index += 1
        }
        let text = String(out).trimmingSpaces
        return ConfigValue.scalar(text)
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let f = scalars.first, f == " " || f == "\t" || f == "\n" || f == "\r" { scalars.removeFirst() }
        while let l = scalars.last, l == " " || l == "\t" || l == "\n" || l == "\r" { scalars.removeLast() }
        return String(scalars)
    }

    var replacingUnderscores: String {
        contains("_") && first.map({ $0.isNumber || $0 == "-" || $0 == "+" }) == true ? filter { $0 != "_" } : self
    }
}
