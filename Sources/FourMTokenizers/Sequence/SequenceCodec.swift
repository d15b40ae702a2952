/// A value ↔ text ↔ ids codec for one 4M sequence modality (spec/tokenizers.md sections 7.4
/// and 8.3–8.8).
///
/// `encode` writes a value the way the reference data transforms do;
/// ``ids(for:using:appendingEOS:)`` runs that text through the WordPiece tokenizer; `decode`
/// parses text or ids (for example a generated target) back into a value and reports every
/// part it could not use as a ``SequenceParseIssue`` instead of throwing.
///
/// ```swift
/// let tokenizer = try WordPieceTokenizer(contentsOf: tokenizerURL)
/// let codec = DetectionCodec()
/// let box = DetectedBox(xmin: 0.1, ymin: 0.2, xmax: 0.5, ymax: 0.8, className: "dog")
/// let ids = try codec.ids(for: [box], using: tokenizer, appendingEOS: true)
/// let parsed = codec.decode(ids: ids, using: tokenizer)  // parsed.value, parsed.issues
/// ```
public protocol SequenceCodec: Sendable {
    /// The value a sequence describes.
    associatedtype Value: Sendable

    /// The ml-4m domain name of the modality (`"det"`, `"metadata"`, …).
    static var modality: String { get }

    /// The modality's maximum sequence length in ids, `[EOS]` included (spec/tokenizers.md
    /// section 7.4).
    var maximumLength: Int { get }

    /// Writes `value` as the reference serialisation does.
    /// - Parameter value: The value.
    /// - Returns: The sequence text, without `[EOS]`.
    /// - Throws: ``SequenceCodecError/invalidValue(modality:field:value:expected:)`` or
    ///   ``SequenceCodecError/unknownClassName(field:name:)`` for values the vocabulary
    ///   cannot express.
    func encode(_ value: Value) throws(SequenceCodecError) -> String

    /// Parses classified tokens (from ``SequenceToken/tokens(inText:)`` or
    /// ``SequenceToken/tokens(ids:using:)``) into a value.
    /// - Parameter tokens: The sequence's tokens.
    /// - Returns: The recovered value and the issues found.
    func decode(_ tokens: [SequenceToken]) -> SequenceDecoding<Value>

    /// Parses ids, e.g. a generated target sequence (parsing stops at the first `[EOS]`;
    /// `[PAD]` is skipped).
    /// - Parameters:
    ///   - ids: Token ids.
    ///   - tokenizer: The 4M text tokenizer.
    /// - Returns: The recovered value and the issues found; issue positions are id indices.
    func decode(ids: [Int32], using tokenizer: WordPieceTokenizer) -> SequenceDecoding<Value>
}

extension SequenceCodec {
    /// Parses ids through ``SequenceToken/tokens(ids:using:)``.
    /// - Parameters:
    ///   - ids: Token ids.
    ///   - tokenizer: The 4M text tokenizer.
    /// - Returns: The recovered value and the issues found; issue positions are id indices.
    public func decode(ids: [Int32], using tokenizer: WordPieceTokenizer) -> SequenceDecoding<Value>
    {
        decode(SequenceToken.tokens(ids: ids, using: tokenizer))
    }

    /// Parses sequence text, e.g. the output of `decode(ids, skipSpecialTokens: false)`.
    /// - Parameter text: The text.
    /// - Returns: The recovered value and the issues found; issue positions are word indices.
    public func decode(text: String) -> SequenceDecoding<Value> {
        decode(SequenceToken.tokens(inText: text))
    }

    /// The ids of `value`: `tokenizer.encode(encode(value))`, plus `[EOS]` when asked (a
    /// training sequence or a complete condition, spec/tokenizers.md section 7.4 and
    /// spec/generation.md section 1.2).
    /// - Parameters:
    ///   - value: The value.
    ///   - tokenizer: The 4M text tokenizer.
    ///   - appendingEOS: Whether to append `[EOS]` (id 3).
    /// - Returns: The ids.
    /// - Throws: every error of ``encode(_:)``;
    ///   ``SequenceCodecError/missingSpecialToken(_:)`` when the tokenizer has no `[EOS]`;
    ///   ``SequenceCodecError/sequenceTooLong(modality:length:maximum:)`` when the ids exceed
    ///   ``maximumLength`` (the reference truncates silently; this port refuses).
    public func ids(
        for value: Value, using tokenizer: WordPieceTokenizer, appendingEOS: Bool
    ) throws(SequenceCodecError) -> [Int32] {
        var ids = tokenizer.encode(try encode(value))
        if appendingEOS {
            guard let eos = tokenizer.id(of: "[EOS]") else { throw .missingSpecialToken("[EOS]") }
            ids.append(eos)
        }
        guard ids.count <= maximumLength else {
            throw .sequenceTooLong(
                modality: Self.modality, length: ids.count, maximum: maximumLength)
        }
        return ids
    }
}
