/// The WordPiece decoder of Hugging Face `tokenizers`: joins tokens back into text.
///
/// Follows spec/tokenizers.md section 7.3 ("Decoding"): the first token is kept as is; every
/// later token that starts with `prefix` loses it and is glued to the previous one, every
/// other later token gets one leading space. With `cleanup`, each token (after that rule)
/// then goes through the fixed replacement list of `cleanup` in the Rust source
/// (`" ."→"."`, `" ?"→"?"`, …). Replacements work on UTF-8 bytes, like Rust's `str::replace`.
struct WordPieceDecoder: Sendable, Equatable {
    var prefix = "##"
    var cleanup = true

    /// The replacement table, applied in this order to every token.
    private static let cleanupRules: [(from: [UInt8], to: [UInt8])] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
        (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ].map { (Array($0.0.utf8), Array($0.1.utf8)) }

    /// Joins `tokens` (already filtered for special tokens).
    func decode(_ tokens: [String]) -> String {
        let prefixBytes = Array(prefix.utf8)
        var output: [UInt8] = []
        var piece: [UInt8] = []
        for (i, token) in tokens.enumerated() {
            piece.removeAll(keepingCapacity: true)
            let bytes = token.utf8
            if i != 0 {
                if !prefixBytes.isEmpty && bytes.starts(with: prefixBytes) {
                    piece.append(contentsOf: bytes.dropFirst(prefixBytes.count))
                } else if prefixBytes.isEmpty {
                    // `replacen("", "", 1)` leaves the token unchanged.
                    piece.append(contentsOf: bytes)
                } else {
                    piece.append(UInt8(ascii: " "))
                    piece.append(contentsOf: bytes)
                }
            } else {
                piece.append(contentsOf: bytes)
            }
            if cleanup && Self.mayNeedCleanup(piece) {
                for rule in Self.cleanupRules {
                    piece = Self.replacing(rule.from, with: rule.to, in: piece)
                }
            }
            output.append(contentsOf: piece)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// False when no rule can match: every pattern starts with a space followed by one of
    /// `. ? ! , ' n d`. (Skipping is exact: a replacement only happens where a pattern
    /// matches, and the first rule to fire needs such a pair in the input.)
    @inline(__always)
    private static func mayNeedCleanup(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == UInt8(ascii: " ") {
                switch bytes[i + 1] {
                case UInt8(ascii: "."), UInt8(ascii: "?"), UInt8(ascii: "!"), UInt8(ascii: ","),
                    UInt8(ascii: "'"),
                    UInt8(ascii: "n"), UInt8(ascii: "d"):
                    return true
                default: break
                }
            }
            i += 1
        }
        return false
    }

    /// All non-overlapping occurrences of `pattern` replaced, scanning left to right.
    private static func replacing(_ pattern: [UInt8], with replacement: [UInt8], in bytes: [UInt8])
        -> [UInt8]
    {
        guard bytes.count >= pattern.count, let first = pattern.first else { return bytes }
        var result: [UInt8] = []
        var i = 0
        var changed = false
        while i < bytes.count {
            if bytes[i] == first && i + pattern.count <= bytes.count
                && bytes[i..<i + pattern.count].elementsEqual(pattern)
            {
                if !changed {
                    result.reserveCapacity(bytes.count)
                    result.append(contentsOf: bytes[0..<i])
                    changed = true
                }
                result.append(contentsOf: replacement)
                i += pattern.count
            } else {
                if changed { result.append(bytes[i]) }
                i += 1
            }
        }
        return changed ? result : bytes
    }
}
