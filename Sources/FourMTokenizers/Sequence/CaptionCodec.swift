/// The `caption` modality: plain text through the WordPiece tokenizer (spec/tokenizers.md
/// sections 7.4 and 8.3).
///
/// ``encode(_:)`` leaves the caption as written; the tokenizer lower-cases it and strips
/// accents when it is turned into ids. Decoding ids gives the tokenizer's decode (normalized:
/// `"A Man."` comes back as `"a man."`) with `[EOS]`, what follows it, and `[PAD]` removed,
/// as the reference's caption decode does. A caption used as a complete condition gets
/// `[EOS]` appended: ``SequenceCodec/ids(for:using:appendingEOS:)`` with `appendingEOS: true`
/// (spec/generation.md section 1.3).
///
/// ```swift
/// let codec = CaptionCodec()
/// let ids = try codec.ids(for: "A red bus", using: tokenizer, appendingEOS: true)
/// let caption = codec.decode(ids: ids, using: tokenizer).value  // "a red bus"
/// ```
public struct CaptionCodec: SequenceCodec {
    /// `"caption"`.
    public static let modality = "caption"
    /// 256 ids (spec/tokenizers.md section 7.4).
    public var maximumLength: Int { 256 }

    /// Creates a codec.
    public init() {}

    /// The caption text, unchanged (the tokenizer normalizes it when it makes ids).
    /// Special tokens written in it (`[S_1]`, `v0=12`) become those tokens.
    /// - Parameter caption: The caption.
    /// - Returns: The same text.
    public func encode(_ caption: String) -> String { caption }

    /// The caption as 4M sees it: `decode(encode(caption))` through the tokenizer, i.e.
    /// lower-cased, accents stripped, punctuation split as the WordPiece decoder joins it.
    /// - Parameters:
    ///   - caption: The caption.
    ///   - tokenizer: The 4M text tokenizer.
    /// - Returns: The normalized caption.
    public func normalized(_ caption: String, using tokenizer: WordPieceTokenizer) -> String {
        decode(ids: tokenizer.encode(caption), using: tokenizer).value
    }

    /// Joins the words of a caption given as text (spec/tokenizers.md section 8.3): words
    /// are kept as written (joined by single spaces), `[PAD]` is dropped, the first `[EOS]`
    /// ends the caption, and `[SOS]`, sentinels and invalid ids are dropped and reported.
    /// `[UNK]` is kept: it is what the tokenizer makes of characters outside its vocabulary.
    /// - Parameter tokens: The caption's tokens.
    /// - Returns: The caption and the issues found.
    public func decode(_ tokens: [SequenceToken]) -> SequenceDecoding<String> {
        let (kept, issues) = Self.filter(tokens)
        return SequenceDecoding(value: kept.map(\.text).joined(separator: " "), issues: issues)
    }

    /// Decodes caption ids with the tokenizer (`skipSpecialTokens: false`, as 4M does), after
    /// the filtering of ``decode(_:)``: stops at the first `[EOS]`, drops `[PAD]`, drops and
    /// reports `[SOS]`, sentinels and ids outside the vocabulary.
    /// - Parameters:
    ///   - ids: Caption ids, e.g. a generated target.
    ///   - tokenizer: The 4M text tokenizer.
    /// - Returns: The caption and the issues found; issue positions are id indices.
    public func decode(ids: [Int32], using tokenizer: WordPieceTokenizer) -> SequenceDecoding<
        String
    > {
        let tokens = ids.enumerated().map { index, id -> SequenceToken in
            guard let text = tokenizer.token(of: id) else {
                return SequenceToken(
                    position: index, text: "<id \(id)>", kind: .invalid(.invalidId(id)))
            }
            return SequenceToken(position: index, text: text, kind: SequenceToken.classify(text))
        }
        var (kept, issues) = Self.filter(tokens)
        let keptIds = kept.map { ids[$0.position] }
        do {
            return SequenceDecoding(
                value: try tokenizer.decode(keptIds, skipSpecialTokens: false), issues: issues)
        } catch {
            // Not expected: ids without a token were filtered out above.
            if case .idOutOfRange(let id, _) = error,
                let position = ids.firstIndex(of: id)
            {
                issues.append(
                    SequenceParseIssue(
                        position: position, token: "<id \(id)>", reason: .invalidId(id)))
            }
            return SequenceDecoding(value: "", issues: issues)
        }
    }

    /// Shared filtering: stop at `[EOS]`, skip `[PAD]`, report `[SOS]`, sentinels and
    /// invalid ids; keep everything else (a caption may contain any word).
    private static func filter(_ tokens: [SequenceToken]) -> ([SequenceToken], [SequenceParseIssue])
    {
        var kept: [SequenceToken] = []
        var issues: [SequenceParseIssue] = []
        for (index, token) in tokens.enumerated() {
            switch token.kind {
            case .endOfSequence:
                let rest = tokens[(index + 1)...].filter { $0.kind != .padding }
                if let first = rest.first {
                    issues.append(first.issue(.tokensAfterEnd(count: rest.count)))
                }
                return (kept, issues)
            case .padding:
                continue
            case .startOfSequence, .sentinel:
                issues.append(token.issue(.unexpectedSpecialToken))
            case .invalid(.invalidId(let id)):
                issues.append(token.issue(.invalidId(id)))
            case .invalid, .value, .word, .unknown:
                kept.append(token)
            }
        }
        return (kept, issues)
    }
}
