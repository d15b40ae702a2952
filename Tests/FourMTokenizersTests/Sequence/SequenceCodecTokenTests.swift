import FourMTestSupport
import FourMTokenizers
import Testing

/// Token classification shared by every codec (spec/tokenizers.md section 7.2 for the
/// special tokens; section 7.3 for what the tokenizer accepts as a value token).
@Suite struct SequenceCodecTokenTests {
    typealias Kind = SequenceToken.Kind

    static let words: [(String, Kind)] = [
        ("v0=0", .value(family: 0, value: 0)),
        ("v1=12", .value(family: 1, value: 12)),
        ("v3=999", .value(family: 3, value: 999)),
        ("v0=1000", .invalid(.valueOutOfRange(value: 1000, valid: 0...999))),
        ("v0=99999999999999999999", .invalid(.malformedValueToken)),
        ("v4=5", .invalid(.malformedValueToken)),
        ("v0=-1", .invalid(.malformedValueToken)),
        ("v0=012", .invalid(.malformedValueToken)),
        ("V0=12", .invalid(.malformedValueToken)),
        ("v0=", .invalid(.malformedValueToken)),
        ("v0=12a", .invalid(.malformedValueToken)),
        ("v0=１２", .invalid(.malformedValueToken)),
        ("=", .invalid(.malformedValueToken)),
        ("[PAD]", .padding),
        ("[EOS]", .endOfSequence),
        ("[SOS]", .startOfSequence),
        ("[UNK]", .unknown),
        ("[S_0]", .sentinel(0)),
        ("[S_199]", .sentinel(199)),
        ("[S_200]", .word("[s_200]")),
        ("[S_01]", .word("[s_01]")),
        ("[s_1]", .word("[s_1]")),
        ("Person", .word("person")),
        ("|", .word("|")),
    ]

    @Test(arguments: words)
    func classifiesWords(text: String, kind: Kind) {
        let tokens = SequenceToken.tokens(inText: text)
        #expect(tokens == [SequenceToken(position: 0, text: text, kind: kind)])
    }

    @Test func splitsOnAnyWhitespaceAndCountsWords() {
        let tokens = SequenceToken.tokens(inText: "  v0=1\tperson\n\nv1=2 \u{00A0}[EOS] ")
        #expect(tokens.map(\.position) == [0, 1, 2, 3])
        #expect(tokens.map(\.text) == ["v0=1", "person", "v1=2", "[EOS]"])
        #expect(SequenceToken.tokens(inText: "").isEmpty)
        #expect(SequenceToken.tokens(inText: " \n ").isEmpty)
    }

    @Test(.enabled(if: Fixtures.directory != nil))
    func classifiesIdsAndGluesWordPieces() throws {
        let tokenizer = try #require(try SequenceFixture.require()).tokenizer
        let hashS = try #require(tokenizer.id(of: "##s"))
        let ids: [Int32] = [216, 4253, hashS, 0, 99_999, -1, 4276, 216, hashS, 5, 3]
        let tokens = SequenceToken.tokens(ids: ids, using: tokenizer)
        #expect(tokens.map(\.position) == [0, 1, 3, 4, 5, 6, 7, 8, 9, 10])
        #expect(
            tokens.map(\.kind) == [
                .value(family: 0, value: 12), .word("persons"), .padding,
                .invalid(.invalidId(99_999)), .invalid(.invalidId(-1)), .word("traffic light"),
                .value(family: 0, value: 12), .word("##s"), .sentinel(1), .endOfSequence,
            ])
        #expect(tokens[1].text == "persons")
    }

    @Test func issueAndErrorMessagesAreOneLine() {
        let issue = SequenceParseIssue(
            position: 3, token: "v0=1000", reason: .valueOutOfRange(value: 1000, valid: 0...999))
        #expect(issue.description == "position 3 (\"v0=1000\"): value 1000 is outside 0...999")
        let error = SequenceCodecError.sequenceTooLong(modality: "det", length: 300, maximum: 256)
        #expect(error.description == "det: sequence has 300 ids, the modality holds at most 256")
        let reasons: [SequenceParseIssue.Reason] = [
            .invalidId(-1), .malformedValueToken, .unexpectedSpecialToken,
            .unexpectedToken(expected: "v0="), .incompleteGroup(expected: 4, found: 3),
            .missingClassName, .unknownClassName("x"), .unknownMetadataType(30),
            .duplicateEntry("pose"), .missingGroup("shape"), .invalidBox,
            .countMismatch(declared: 3, found: 2), .tokensAfterEnd(count: 2), .emptySequence,
        ]
        for reason in reasons {
            let text = SequenceParseIssue(position: 0, token: "t", reason: reason).description
            #expect(!text.contains("\n"), "\(text)")
        }
    }

    @Test func decodingOrdersIssuesByPosition() {
        let issues = [
            SequenceParseIssue(position: 5, token: "a", reason: .invalidBox),
            SequenceParseIssue(position: 1, token: "b", reason: .invalidBox),
            SequenceParseIssue(position: 5, token: "c", reason: .missingClassName),
        ]
        let decoding = SequenceDecoding(value: 0, issues: issues)
        #expect(decoding.issues.map(\.token) == ["b", "a", "c"])
        #expect(!decoding.isClean)
    }
}
