import Foundation
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// The bad-input catalogue for tokenizer files (issue 15; images are in FourMImageTests): each hostile input is
/// generated here and must give its exact typed error, quickly and without large allocations.
@Suite struct TokenizersBadInputCatalogueTests {
    /// A 1.7 MB tokenizer.json whose vocabulary repeats keys: loading was quadratic (a
    /// `removeAll` per duplicate) and hung. It must load in linear time, last value winning.
    @Test func duplicatedVocabularyKeysLoadInLinearTime() throws {
        var vocab = #""[UNK]": 0"#
        let distinct = 2_000
        for i in 0..<distinct { vocab += #", "w\#(i)": \#(i + 1)"# }
        // 120,000 repeats of keys already present, each with its original id.
        for r in 0..<120_000 { vocab += #", "w\#(r % distinct)": \#(r % distinct + 1)"# }
        let json = #"{"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {\#(vocab)}}}"#
        #expect(json.utf8.count > 1_000_000)
        let clock = ContinuousClock()
        let start = clock.now
        let tokenizer = try WordPieceTokenizer(json: Data(json.utf8), file: "dup.json")
        let elapsed = clock.now - start
        #expect(tokenizer.vocabularySize == distinct + 1)
        #expect(tokenizer.token(of: 5) == "w4")
        // Linear loading takes well under a second even in debug builds; the quadratic one
        // took minutes. The bound is loose for a shared 2-core machine, and looser under a
        // sanitizer (scripts/sanitize.sh), which slows this parser 5–15×.
        let bound: Duration = Sanitizer.active == nil ? .seconds(20) : .seconds(120)
        #expect(elapsed < bound, "loading took \(elapsed)")
    }

    /// A 57-byte tokenizer.json with id 16777215 made the id table allocate ~300 MB. Ids are
    /// now bounded by the entry count (InputLimits.maximumTokenIdSlack).
    @Test func sparseHugeIdIsRejected() throws {
        let json = #"{"model":{"type":"WordPiece","vocab":{"a":16777215}}}"#
        #expect(json.utf8.count <= 57)
        #expect(
            throws: TokenizerError.invalidValue(
                file: "t.json", key: "model.vocab[\"a\"]", expected: "an integer id in 0..<65538", actual: "number 16777215")
        ) { try WordPieceTokenizer(json: Data(json.utf8), file: "t.json") }
    }

    @Test func badUTF8NamesTheByteOffset() {
        #expect(
            throws: TokenizerError.invalidJSON(file: "t.json", reason: "the text is not valid UTF-8 at byte 4")
        ) { try WordPieceTokenizer(json: Data([0x7B, 0x22, 0x61, 0x22, 0xC3, 0x28, 0x7D]), file: "t.json") }
    }
}
