import Foundation

/// One token of ``WordPieceTokenizer/encodeDetailed(_:)``.
///
/// Mirrors what Hugging Face `Encoding` reports per token (spec/tokenizers.md section 7.3):
/// the id, the token string and the character offsets into the input.
public struct TextToken: Sendable, Equatable, Hashable {
    /// The token id.
    public var id: Int32
    /// The token text: the vocabulary entry (`"##ing"`), `[UNK]`, or an added token's text
    /// as matched (normalized for the class-name tokens, so `"dining table"`).
    public var token: String
    /// The span of the input this token covers, in Unicode scalars (what the Python binding
    /// calls char offsets).
    public var offsets: Range<Int>

    /// Creates a token record.
    /// - Parameters:
    ///   - id: The token id.
    ///   - token: The token text.
    ///   - offsets: The covered input span, in Unicode scalars.
    public init(id: Int32, token: String, offsets: Range<Int>) {
        self.id = id
        self.token = token
        self.offsets = offsets
    }
}

/// The WordPiece text tokenizer of 4M, read from a Hugging Face `tokenizer.json`.
///
/// Reproduces the `tokenizers` library (version 0.23) for the pipeline of
/// spec/tokenizers.md section 7: added tokens matched on the raw text, `BertNormalizer`,
/// normalized added tokens (the COCO class names), `BertPreTokenizer`, the `WordPiece` model
/// and the `WordPiece` decoder. There is no post-processor, so ``encode(_:)`` never adds
/// `[SOS]`/`[EOS]`; 4M appends `[EOS]` (id 3) itself (spec/generation.md section 0.2).
///
/// ```swift
/// let url = URL(filePath: "text_tokenizer_4m_wordpiece_30k.json")
/// let tokenizer = try WordPieceTokenizer(contentsOf: url)
/// let ids = tokenizer.encode("a cat on a mat [S_1]")  // [4321, 4224, …, 5]
/// let text = try tokenizer.decode(ids, skipSpecialTokens: false)
/// let eos = tokenizer.id(of: "[EOS]")  // 3
/// ```
public struct WordPieceTokenizer: Sendable {
    let model: WordPieceModel
    let normalizer: BertNormalizer?
    let usesBertPreTokenizer: Bool
    let decoder: WordPieceDecoder?
    /// Added tokens with `normalized: false`, matched on the raw input.
    let rawAddedTokens: AddedTokenSplitter
    /// Added tokens with `normalized: true`, matched on normalized text.
    let normalizedAddedTokens: AddedTokenSplitter
    /// Token text per id as `id_to_token` gives it (added tokens take precedence, in
    /// normalized form when normalized); nil for ids without a token.
    let tokensById: [String?]
    /// Token text per id of the WordPiece vocabulary alone (what `Encoding.tokens` shows).
    let modelTokensById: [String?]
    /// Whether an id's token text is the content of a `special` added token.
    let specialById: [Bool]
    /// Exact (scalar for scalar) token → id for added tokens, checked before the vocabulary.
    let addedTokenIds: ScalarTrie

    // MARK: - Vocabulary

    /// The size of the id space: one more than the largest id of the vocabulary or the
    /// added tokens (30 000 for the 4M tokenizer, matching `get_vocab_size(True)`).
    public var vocabularySize: Int { tokensById.count }

    /// The id of `token`, looked up scalar for scalar (added tokens first, then the WordPiece
    /// vocabulary), like `Tokenizer.token_to_id`.
    /// - Parameter token: The exact token text, e.g. `"[EOS]"`, `"##s"`, `"dining table"`.
    /// - Returns: The id, or nil when the token is not in the vocabulary.
    public func id(of token: String) -> Int32? {
        addedTokenIds.value(of: token.unicodeScalars)
            ?? model.vocabulary.value(of: token.unicodeScalars)
    }

    /// The token text of `id`, like `Tokenizer.id_to_token`.
    /// - Parameter id: A token id.
    /// - Returns: The token text, or nil when `id` names no token.
    public func token(of id: Int32) -> String? {
        guard id >= 0, Int(id) < tokensById.count else { return nil }
        return tokensById[Int(id)]
    }

    // MARK: - Encoding

    /// Encodes `text` to token ids (spec/tokenizers.md section 7.3). No special tokens are
    /// added.
    /// - Parameter text: Any string; special tokens written in it (`[S_1]`, `v0=12`, …) are
    ///   matched as single tokens when they stand as separate words.
    /// - Returns: The ids, in order.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        encode(text) { id, _, _ in ids.append(id) }
        return ids
    }

    /// Encodes `text` and reports, per token, the id, the token text and the span of the
    /// input it covers (what `Encoding.ids`, `.tokens` and `.offsets` hold in Python).
    /// - Parameter text: Any string.
    /// - Returns: One ``TextToken`` per id of ``encode(_:)``.
    public func encodeDetailed(_ text: String) -> [TextToken] {
        var tokens: [TextToken] = []
        encode(text) { id, added, offsets in
            let tokenText: String
            if let added {
                tokenText = AlignedText.string(added.scalars[added.range])
            } else if id == model.unknownId {
                tokenText = model.unknownToken
            } else {
                tokenText = modelTokensById[Int(id)] ?? model.unknownToken
            }
            tokens.append(TextToken(id: id, token: tokenText, offsets: offsets))
        }
        return tokens
    }

    /// Where an added token was matched: the matched span (raw or normalized scalars), which
    /// is the token text Rust reports (it includes whitespace taken by `lstrip`/`rstrip`).
    private struct AddedMatch {
        var scalars: [Unicode.Scalar]
        var range: Range<Int>
    }

    /// The pipeline. `emit` receives the id, the match for added tokens (nil for WordPiece
    /// tokens) and the original span in Unicode scalars.
    private func encode(_ text: String, emit: (Int32, AddedMatch?, Range<Int>) -> Void) {
        let original = Array(text.unicodeScalars)
        var wordPieces: [(id: Int32, range: Range<Int>)] = []
        var pieces: [Range<Int>] = []
        // Step 1: added tokens on the raw text.
        for segment in rawAddedTokens.split(original, in: 0..<original.count) {
            if let index = segment.token {
                emit(
                    rawAddedTokens.tokens[index].token.id,
                    AddedMatch(scalars: original, range: segment.range), segment.range)
                continue
            }
            // Step 2: normalize the plain segment.
            let raw = AlignedText(
                original: original[segment.range], offset: segment.range.lowerBound)
            let normalized = normalizer?.normalize(raw) ?? raw
            // Step 3: normalized added tokens.
            for part in normalizedAddedTokens.split(normalized.scalars, in: 0..<normalized.count) {
                if let index = part.token {
                    emit(
                        normalizedAddedTokens.tokens[index].token.id,
                        AddedMatch(scalars: normalized.scalars, range: part.range),
                        normalized.originalRange(of: part.range))
                    continue
                }
                // Step 4: pre-tokenize; step 5: WordPiece.
                pieces.removeAll(keepingCapacity: true)
                if usesBertPreTokenizer {
                    BertPreTokenizer.split(normalized.scalars, in: part.range, into: &pieces)
                } else {
                    pieces.append(part.range)
                }
                for piece in pieces {
                    wordPieces.removeAll(keepingCapacity: true)
                    model.tokenize(normalized.scalars, piece: piece, into: &wordPieces)
                    for wordPiece in wordPieces {
                        emit(wordPiece.id, nil, normalized.originalRange(of: wordPiece.range))
                    }
                }
            }
        }
    }

    // MARK: - Stages, for tests and tools

    /// The normalizer output for `text` (identity when the file has no normalizer), as
    /// `tokenizer.normalizer.normalize_str` returns it. Added tokens are not treated
    /// specially here.
    package func normalize(_ text: String) -> String {
        let raw = AlignedText(original: text.unicodeScalars, offset: 0)
        return (normalizer?.normalize(raw) ?? raw).string
    }

    /// The pre-tokenizer split of `text` (the whole text when the file has none), as
    /// `tokenizer.pre_tokenizer.pre_tokenize_str` returns it, without offsets.
    package func preTokenize(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [Range<Int>] = []
        if usesBertPreTokenizer {
            BertPreTokenizer.split(scalars, in: 0..<scalars.count, into: &pieces)
        } else if !scalars.isEmpty {
            pieces.append(0..<scalars.count)
        }
        return pieces.map { AlignedText.string(scalars[$0]) }
    }

    // MARK: - Decoding

    /// Turns ids back into text (spec/tokenizers.md section 7.3, "Decoding").
    ///
    /// 4M always decodes with `skipSpecialTokens: false`: with `true`, every added token is
    /// dropped, which includes the sentinels, the `v0=…` coordinate tokens and the 80 class
    /// names (`person`, `dining table`).
    /// - Parameters:
    ///   - ids: Token ids.
    ///   - skipSpecialTokens: Drop tokens whose text is a special added token (the library
    ///     default of Python's `decode` is `true`; 4M passes `false`).
    /// - Returns: The text.
    /// - Throws: `TokenizerError.idOutOfRange` for an id that names no token. (The Rust
    ///   library silently skips such ids.)
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) throws(TokenizerError) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard id >= 0, Int(id) < tokensById.count, let text = tokensById[Int(id)] else {
                throw .idOutOfRange(id: id, vocabularySize: tokensById.count)
            }
            if skipSpecialTokens && specialById[Int(id)] { continue }
            tokens.append(text)
        }
        if let decoder { return decoder.decode(tokens) }
        return tokens.joined(separator: " ")
    }
}
