/// A problem found while parsing a serialised 4M sequence back into a value.
///
/// The codecs of spec/tokenizers.md sections 8.3–8.8 recover every well-formed part of a
/// generated sequence and report each token or group they could not use as one issue, so
/// nothing is dropped without a trace.
///
/// `position` counts tokens of the input the parser was given: for
/// ``SequenceCodec/decode(ids:using:)`` it is an index into the id array (a word split into
/// several WordPiece ids is reported at its first id); for ``SequenceCodec/decode(text:)`` it
/// is the index of the whitespace-separated word.
public struct SequenceParseIssue: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Why a token or group could not be used.
    public enum Reason: Sendable, Equatable, Hashable {
        /// An id that names no token of the vocabulary.
        case invalidId(Int32)
        /// A word that contains `=` but is not a value token `v0=n` … `v3=n` (for example
        /// `v4=5`, `v0=-1`, `v0=12a`, `v0=007`).
        case malformedValueToken
        /// A number outside what the token or field may hold (`v0=1000`, a colour channel of
        /// 300, a metadata bin the key cannot have).
        case valueOutOfRange(value: Int, valid: ClosedRange<Int>)
        /// `[SOS]` or `[UNK]`, or a sentinel `[S_k]` in a caption. (`[PAD]` and, in structured
        /// sequences, the span markers `[S_k]` are skipped silently; `[EOS]` ends the sequence.)
        case unexpectedSpecialToken
        /// A token that does not fit at this place; `expected` says what would have.
        case unexpectedToken(expected: String)
        /// A group with too few (or too many) elements, reported at the group's first token:
        /// a box with three coordinates, a pose group with five ids.
        case incompleteGroup(expected: Int, found: Int)
        /// A detection box whose four coordinates are not followed by a class name.
        case missingClassName
        /// A detection class name that is not one of the 80 COCO class tokens. The box is
        /// kept with this name.
        case unknownClassName(String)
        /// A metadata type id (`v1=n`) outside 0…20.
        case unknownMetadataType(Int)
        /// A second metadata entry for the same key, or a second group of the same kind in
        /// one human pose; the first one is kept.
        case duplicateEntry(String)
        /// A human pose without one of its `pose`, `global`, `camera`, `shape` groups.
        case missingGroup(String)
        /// A SAM instance box whose minimum is not below its maximum.
        case invalidBox
        /// A colour palette whose declared count (`v1=k`) differs from its colours.
        case countMismatch(declared: Int, found: Int)
        /// Tokens after the first `[EOS]` (padding not counted); they are ignored.
        case tokensAfterEnd(count: Int)
        /// A sequence with no content where the modality always writes some (`none` for human
        /// poses, at least one colour for a palette).
        case emptySequence
    }

    /// Index of the offending token (see the type's documentation for what is counted).
    public var position: Int
    /// The text of the token at ``position`` (the decoded token for ids), for messages.
    public var token: String
    /// What is wrong.
    public var reason: Reason

    /// Creates an issue.
    /// - Parameters:
    ///   - position: Index of the offending token.
    ///   - token: Its text.
    ///   - reason: What is wrong.
    public init(position: Int, token: String, reason: Reason) {
        self.position = position
        self.token = token
        self.reason = reason
    }

    /// One line: position, token and reason.
    public var description: String {
        let what: String
        switch reason {
        case .invalidId(let id): what = "id \(id) is not in the vocabulary"
        case .malformedValueToken: what = "not a value token v0=n … v3=n with n in 0...999"
        case .valueOutOfRange(let value, let valid):
            what = "value \(value) is outside \(valid.lowerBound)...\(valid.upperBound)"
        case .unexpectedSpecialToken: what = "special token not allowed here"
        case .unexpectedToken(let expected): what = "unexpected token, expected \(expected)"
        case .incompleteGroup(let expected, let found):
            what = "group has \(found) elements, expected \(expected)"
        case .missingClassName: what = "box has no class name"
        case .unknownClassName(let name):
            what = "\(name.debugDescription) is not a COCO class name"
        case .unknownMetadataType(let id): what = "metadata type \(id) is not in 0...20"
        case .duplicateEntry(let name): what = "second \(name) entry ignored"
        case .missingGroup(let name): what = "missing the \(name) group"
        case .invalidBox: what = "box minimum is not below its maximum"
        case .countMismatch(let declared, let found):
            what = "declares \(declared) entries but has \(found)"
        case .tokensAfterEnd(let count): what = "\(count) tokens after [EOS] ignored"
        case .emptySequence: what = "sequence is empty"
        }
        return "position \(position) (\(token.debugDescription)): \(what)"
    }
}

/// The result of parsing a sequence: the value recovered and everything that could not be
/// used (spec/tokenizers.md sections 8.3–8.8).
public struct SequenceDecoding<Value: Sendable>: Sendable {
    /// The value built from the well-formed parts of the sequence.
    public var value: Value
    /// Problems, ordered by position; empty for a well-formed sequence.
    public var issues: [SequenceParseIssue]

    /// Creates a result; `issues` are ordered by position (stable for equal positions).
    /// - Parameters:
    ///   - value: The recovered value.
    ///   - issues: The problems found, in any order.
    public init(value: Value, issues: [SequenceParseIssue]) {
        self.value = value
        self.issues = issues.enumerated()
            .sorted { ($0.element.position, $0.offset) < ($1.element.position, $1.offset) }
            .map(\.element)
    }

    /// True when the sequence parsed without any issue.
    public var isClean: Bool { issues.isEmpty }
}

extension SequenceDecoding: Equatable where Value: Equatable {}
