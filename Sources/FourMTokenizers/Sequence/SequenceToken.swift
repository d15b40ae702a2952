/// One token of a serialised 4M sequence, as the codecs of spec/tokenizers.md sections 8.3–8.8
/// see it: a value token `v0=n` … `v3=n`, a word (class name, keyword, punctuation), a special
/// token, or something that cannot be part of any sequence.
///
/// Build them from text with ``tokens(inText:)`` or from ids with ``tokens(ids:using:)``; both
/// classify tokens the same way, so a codec parses text and ids alike.
public struct SequenceToken: Sendable, Equatable, Hashable {
    /// What a token is (spec/generation.md section 0.2 for the special ids).
    public enum Kind: Sendable, Equatable, Hashable {
        /// A value token `v{family}={value}`: family 0…3, value 0…999 (ids 204 … 4203).
        case value(family: Int, value: Int)
        /// A word, lower-cased as the tokenizer's normalizer does: a class name
        /// (`traffic light` from one id, or `traffic` and `light` from text), a keyword such
        /// as `human` or `polygon`, punctuation.
        case word(String)
        /// `[PAD]` (id 0).
        case padding
        /// `[EOS]` (id 3).
        case endOfSequence
        /// `[SOS]` (id 2; never written by 4M).
        case startOfSequence
        /// `[UNK]` (id 1).
        case unknown
        /// A sentinel `[S_k]` (id 4 + k, k in 0…199).
        case sentinel(Int)
        /// A token no sequence may contain: an id outside the vocabulary, or a word with `=`
        /// that is not a value token of the vocabulary (`v0=1000`, `v4=5`).
        case invalid(SequenceParseIssue.Reason)
    }

    /// Index of the token in the input: id index (the first id of a glued WordPiece word) or
    /// word index for text.
    public var position: Int
    /// The token's text (the decoded token for ids, the word for text).
    public var text: String
    /// The classification.
    public var kind: Kind

    /// Creates a token.
    /// - Parameters:
    ///   - position: Index in the input.
    ///   - text: The token's text.
    ///   - kind: Its classification.
    public init(position: Int, text: String, kind: Kind) {
        self.position = position
        self.text = text
        self.kind = kind
    }

    /// Splits text on whitespace (like Python's `str.split()`, as the reference parsers do)
    /// and classifies every word.
    /// - Parameter text: A serialised sequence, e.g. `v0=12 v1=40 v2=300 v3=500 dining table`.
    /// - Returns: One token per word; `position` is the word index.
    public static func tokens(inText text: String) -> [SequenceToken] {
        text.split(whereSeparator: \.isWhitespace).enumerated().map { index, word in
            let word = String(word)
            return SequenceToken(position: index, text: word, kind: classify(word))
        }
    }

    /// Maps ids to their vocabulary tokens and classifies them. A WordPiece continuation
    /// (`##s`) is glued to the word before it, as the WordPiece decoder does
    /// (spec/tokenizers.md section 7.3, "Decoding").
    /// - Parameters:
    ///   - ids: Token ids, e.g. a generated target sequence.
    ///   - tokenizer: The 4M text tokenizer.
    /// - Returns: One token per id or glued word; `position` is the index of its first id. An
    ///   id without a token becomes ``Kind/invalid(_:)`` with
    ///   ``SequenceParseIssue/Reason/invalidId(_:)``.
    public static func tokens(ids: [Int32], using tokenizer: WordPieceTokenizer) -> [SequenceToken]
    {
        var tokens: [SequenceToken] = []
        tokens.reserveCapacity(ids.count)
        var previousIsWord = false
        for (index, id) in ids.enumerated() {
            guard let text = tokenizer.token(of: id) else {
                tokens.append(
                    SequenceToken(
                        position: index, text: "<id \(id)>", kind: .invalid(.invalidId(id))))
                previousIsWord = false
                continue
            }
            if text.hasPrefix("##"), text.count > 2, previousIsWord, let last = tokens.last,
                case .word(let word) = last.kind
            {
                let piece = String(text.dropFirst(2))
                tokens[tokens.count - 1].text = last.text + piece
                tokens[tokens.count - 1].kind = .word(word + piece.lowercased())
                continue
            }
            let kind = classify(text)
            tokens.append(SequenceToken(position: index, text: text, kind: kind))
            if case .word = kind { previousIsWord = true } else { previousIsWord = false }
        }
        return tokens
    }

    /// Classifies one token text.
    static func classify(_ text: String) -> Kind {
        switch text {
        case "[PAD]": return .padding
        case "[EOS]": return .endOfSequence
        case "[SOS]": return .startOfSequence
        case "[UNK]": return .unknown
        default: break
        }
        let scalars = Array(text.unicodeScalars)
        if scalars.count >= 5, scalars.first == "[", scalars.last == "]",
            text.hasPrefix("[S_"),
            let k = canonicalNumber(scalars[3..<(scalars.count - 1)]), k <= 199
        {
            return .sentinel(k)
        }
        if scalars.contains("=") {
            guard scalars.count >= 4, scalars[0] == "v", scalars[2] == "=",
                ("0"..."3").contains(scalars[1]),
                let value = canonicalNumber(scalars[3...])
            else { return .invalid(.malformedValueToken) }
            let family = Int(scalars[1].value) - 48
            guard value <= 999 else {
                return .invalid(.valueOutOfRange(value: value, valid: 0...999))
            }
            return .value(family: family, value: value)
        }
        return .word(text.lowercased())
    }

    /// The value of an ASCII decimal without sign or leading zeros (`0`, `12`; not `012`),
    /// or nil. At most 18 digits, so the result cannot overflow.
    private static func canonicalNumber(_ digits: ArraySlice<Unicode.Scalar>) -> Int? {
        guard let first = digits.first, digits.count <= 18 else { return nil }
        if first == "0" && digits.count > 1 { return nil }
        var value = 0
        for scalar in digits {
            guard ("0"..."9").contains(scalar) else { return nil }
            value = value * 10 + Int(scalar.value) - 48
        }
        return value
    }
}

// MARK: - Content filtering shared by the structured codecs

/// The tokens a structured codec parses, after the handling every 4M sequence shares
/// (spec/tokenizers.md sections 7.4 and 8.4–8.8): parsing stops at the first `[EOS]`, `[PAD]`
/// is skipped (the reference strips both before parsing), and sentinels `[S_k]` are skipped
/// too: they are the span markers of a span-masking target (`[S_1] box [S_2] box [EOS]`), which
/// the reference's `merge_span_masking` replaces by the spans they mark, so a target-style
/// string parses like its merged text. `[SOS]`, `[UNK]` and invalid tokens are reported and
/// skipped.
struct SequenceContent {
    var tokens: [SequenceToken] = []
    var issues: [SequenceParseIssue] = []

    init(_ all: [SequenceToken]) {
        for (index, token) in all.enumerated() {
            switch token.kind {
            case .endOfSequence:
                let rest = all[(index + 1)...].filter { $0.kind != .padding }
                if let first = rest.first {
                    issues.append(first.issue(.tokensAfterEnd(count: rest.count)))
                }
                return
            case .padding, .sentinel:
                continue
            case .startOfSequence, .unknown:
                issues.append(token.issue(.unexpectedSpecialToken))
            case .invalid(let reason):
                issues.append(token.issue(reason))
            case .value, .word:
                tokens.append(token)
            }
        }
    }
}

extension SequenceToken {
    /// An issue about this token.
    func issue(_ reason: SequenceParseIssue.Reason) -> SequenceParseIssue {
        SequenceParseIssue(position: position, token: text, reason: reason)
    }

    /// The value when this is a value token of `family`.
    func value(family wanted: Int) -> Int? {
        if case .value(let family, let value) = kind, family == wanted { return value }
        return nil
    }

    /// The word when this is a word token.
    var word: String? {
        if case .word(let word) = kind { return word }
        return nil
    }

    /// True for value tokens of any family.
    var isValue: Bool {
        if case .value = kind { return true }
        return false
    }
}

// MARK: - Reference rounding

/// Python's `round(x)` on a float (round half to even, as the reference serialisers use,
/// spec/tokenizers.md sections 8.4, 8.7), returned as an integer when it lies in `valid`.
/// - Returns: nil for NaN, infinities and results outside `valid`.
func roundHalfToEven(_ x: Double, in valid: ClosedRange<Int>) -> Int? {
    guard x.isFinite else { return nil }
    let rounded = x.rounded(.toNearestOrEven)
    guard rounded >= Double(valid.lowerBound), rounded <= Double(valid.upperBound) else {
        return nil
    }
    return Int(rounded)
}
