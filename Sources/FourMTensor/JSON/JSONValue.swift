import Foundation

/// A parsed JSON value that keeps every string exactly as written and object members in file
/// order.
///
/// Why not `JSONSerialization` / `JSONDecoder`: both build Swift dictionaries keyed by
/// `String`, and Swift string equality is canonical equivalence, so two vocabulary entries
/// such as `"é"` (U+00E9) and `"e\u{301}"` would silently collapse into one. The Hugging Face
/// loader (serde_json) keeps them apart, and so does this reader. It also lets every error
/// name the exact key path.
package enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// The number literal as written (RFC 8259 grammar already checked).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in file order; duplicate keys are kept (lookups take the last, as serde_json
    /// maps do).
    case object([(key: String, value: JSONValue)])

    /// A short description for error messages: the type and, for scalars, the value.
    package var summary: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return "number \(n)"
        case .string(let s):
            let shown =
                s.unicodeScalars.count > 40
                ? String(String.UnicodeScalarView(s.unicodeScalars.prefix(40))) + "…" : s
            return "string \"\(shown)\""
        case .array(let a): return "an array of \(a.count) elements"
        case .object(let o): return "an object with \(o.count) keys"
        }
    }

    /// The member named `key` of an object (scalar-exact comparison; last one wins), or nil.
    package func member(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members.reversed()
        where member.key.unicodeScalars.elementsEqual(key.unicodeScalars) {
            return member.value
        }
        return nil
    }

    /// The value as an integer if it is an integer literal that fits `Int`.
    package var integer: Int? {
        guard case .number(let literal) = self else { return nil }
        return Int(literal)
    }
}

/// Where and why a JSON document does not parse: `reason` and the 0-based byte `offset`.
package struct JSONSyntaxError: Error, Equatable, Sendable {
    /// What is wrong (`unexpected character ','`, `the text is not valid UTF-8`).
    package let reason: String
    /// Byte offset of the problem from the start of the parsed bytes.
    package let offset: Int
    /// `reason at byte offset`, shifted by `base` (for JSON embedded in a larger file).
    package func message(offsetBy base: Int = 0) -> String { "\(reason) at byte \(offset + base)" }
}

/// A strict RFC 8259 reader over UTF-8 bytes, with a nesting limit. Shared by the
/// safetensors header reader and the tokenizer.json loader, so one parser is fuzzed.
package struct JSONParser {
    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0
    /// serde_json's default recursion limit; deeper documents are rejected, not recursed into.
    private static let maximumDepth = 128

    /// Parses a whole document.
    /// - Throws: `JSONSyntaxError` naming the byte offset of the first problem.
    package static func parse(_ data: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        let bytes = [UInt8](data)
        // Validate the UTF-8 once for the whole file: decoding with replacement changes the
        // bytes exactly when they are invalid. Every string slice cut at ASCII quotes is then
        // valid on its own.
        guard String(decoding: bytes, as: UTF8.self).utf8.elementsEqual(bytes) else {
            throw JSONSyntaxError(reason: "the text is not valid UTF-8", offset: firstInvalidUTF8Offset(bytes))
        }
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        if parser.position != bytes.count {
            throw parser.failure("unexpected \(parser.describeCurrent()) after the top-level value")
        }
        return value
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The offset of the first byte that does not start a valid UTF-8 sequence.
    private static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput, .error: return offset
            }
        }
    }

    private func failure(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(reason: reason, offset: position)
    }

    private func describeCurrent() -> String {
        guard position < bytes.count else { return "end of file" }
        let b = bytes[position]
        if b >= 0x21 && b < 0x7F { return "character '\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(String(b, radix: 16))"
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard position < bytes.count else {
            throw failure("unexpected end of file, expected a value")
        }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected \(describeCurrent()), expected a value")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        let matches = literal.withUTF8Buffer { expected in
            position + count <= bytes.count
                && bytes[position..<position + count].elementsEqual(expected)
        }
        guard matches else { throw failure("invalid literal, expected '\(literal)'") }
        position += count
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw failure("nesting deeper than \(Self.maximumDepth) levels")
        }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        position += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw failure("unexpected \(describeCurrent()), expected a string key")
            }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                throw failure("unexpected \(describeCurrent()), expected ':'")
            }
            position += 1
            skipWhitespace()
            let value = try parseValue()
            members.append((key, value))
            skipWhitespace()
            guard position < bytes.count else {
                throw failure("unexpected end of file inside an object")
            }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if bytes[position] == UInt8(ascii: "}") {
                position += 1
                depth -= 1
                return .object(members)
            }
            throw failure("unexpected \(describeCurrent()), expected ',' or '}'")
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else {
                throw failure("unexpected end of file inside an array")
            }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
                continue
            }
            if bytes[position] == UInt8(ascii: "]") {
                position += 1
                depth -= 1
                return .array(elements)
            }
            throw failure("unexpected \(describeCurrent()), expected ',' or ']'")
        }
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = position
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else {
            throw failure("invalid number")
        }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else {
                throw failure("invalid number")
            }
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count
            && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E"))
        {
            position += 1
            if position < bytes.count
                && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-"))
            {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else {
                throw failure("invalid number")
            }
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        return .number(String(decoding: bytes[start..<position], as: UTF8.self))
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[position]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw failure("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// Parses a string starting at the opening quote. Strings without escapes are cut out of
    /// the (already validated) buffer in one piece.
    private mutating func parseString() throws(JSONSyntaxError) -> String {
        position += 1  // opening quote
        let start = position
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: bytes[start..<position], as: UTF8.self)
                position += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw failure("unescaped control character in a string") }
            position += 1
        }
        // Slow path: escapes present.
        var scalars = String.UnicodeScalarView()
        scalars.append(
            contentsOf: String(decoding: bytes[start..<position], as: UTF8.self).unicodeScalars)
        var runStart = position
        func flush(_ end: Int) {
            if end > runStart {
                scalars.append(
                    contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self)
                        .unicodeScalars)
            }
        }
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                flush(position)
                position += 1
                return String(scalars)
            }
            if b < 0x20 { throw failure("unescaped control character in a string") }
            if b != UInt8(ascii: "\\") {
                position += 1
                continue
            }
            flush(position)
            position += 1
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800..<0xDC00).contains(code) {
                    guard position + 2 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u")
                    else { throw failure("unpaired surrogate in \\u escape") }
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else {
                        throw failure("unpaired surrogate in \\u escape")
                    }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(code) {
                    throw failure("unpaired surrogate in \\u escape")
                }
                guard let scalar = Unicode.Scalar(code) else { throw failure("invalid \\u escape") }
                scalars.append(scalar)
            default:
                position -= 1
                throw failure("invalid escape sequence")
            }
            runStart = position
        }
        throw failure("unterminated string")
    }
}
