import FourMTestSupport
import FourMTokenizers
import Testing

/// `caption` sequences (spec/tokenizers.md sections 7.4 and 8.3).
@Suite struct SequenceCodecCaptionTests {
    typealias Issue = SequenceParseIssue

    static let texts: [(String, String, [Issue])] = [
        ("a cat on a mat", "a cat on a mat", []),
        ("a cat [EOS] [PAD] [PAD]", "a cat", []),
        (
            "a cat [EOS] on a mat", "a cat",
            [Issue(position: 3, token: "on", reason: .tokensAfterEnd(count: 3))]
        ),
        (
            "[S_1] A [SOS] Cat [UNK] v0=1000",
            "A Cat [UNK] v0=1000",
            [
                Issue(position: 0, token: "[S_1]", reason: .unexpectedSpecialToken),
                Issue(position: 2, token: "[SOS]", reason: .unexpectedSpecialToken),
            ]
        ),
        ("", "", []),
    ]

    @Test(arguments: texts)
    func parsesCaptionText(text: String, caption: String, issues: [Issue]) {
        let decoded = CaptionCodec().decode(text: text)
        #expect(decoded.value == caption)
        #expect(decoded.issues == issues)
        #expect(CaptionCodec().encode(caption) == caption)
    }

    @Test(.enabled(if: Fixtures.directory != nil))
    func decodesIdsWithTheTokenizer() throws {
        let tokenizer = try #require(try SequenceFixture.require()).tokenizer
        let codec = CaptionCodec()
        let ids = try codec.ids(
            for: "A Dining Table, naïve café", using: tokenizer, appendingEOS: true)
        #expect(ids.last == 3)
        #expect(
            codec.decode(ids: ids + [0, 0], using: tokenizer)
                == SequenceDecoding(value: "a dining table, naive cafe", issues: []))
        let noisy: [Int32] = [5, 4321, 40_000, 4224, 2, 3, 4321]
        #expect(
            codec.decode(ids: noisy, using: tokenizer)
                == SequenceDecoding(
                    value: "a cat",
                    issues: [
                        Issue(position: 0, token: "[S_1]", reason: .unexpectedSpecialToken),
                        Issue(position: 2, token: "<id 40000>", reason: .invalidId(40_000)),
                        Issue(position: 4, token: "[SOS]", reason: .unexpectedSpecialToken),
                        Issue(position: 6, token: "a", reason: .tokensAfterEnd(count: 1)),
                    ]))
        #expect(codec.normalized("A  Man!", using: tokenizer) == "a man!")
    }

    @Test(.enabled(if: Fixtures.directory != nil))
    func refusesSequencesLongerThanTheModality() throws {
        let tokenizer = try #require(try SequenceFixture.require()).tokenizer
        let codec = CaptionCodec()
        let long = Array(repeating: "a", count: 256).joined(separator: " ")
        #expect(try codec.ids(for: long, using: tokenizer, appendingEOS: false).count == 256)
        #expect(
            throws: SequenceCodecError.sequenceTooLong(
                modality: "caption", length: 257, maximum: 256)
        ) {
            try codec.ids(for: long, using: tokenizer, appendingEOS: true)
        }
    }
}
