import Foundation
import FourMTokenizers
import Testing

/// Loader failures: each asserts the exact `TokenizerError` case, with the key path and value.
@Suite struct WordPieceLoaderTests {
    @Test func rejectsMissingVocab() {
        var builder = TokenizerJSONBuilder()
        builder.includeVocab = false
        #expect(throws: TokenizerError.missingKey(file: "test.json", key: "model.vocab")) {
            try builder.build()
        }
    }

    @Test func rejectsMissingModel() {
        let json = Data(#"{"normalizer": null, "added_tokens": []}"#.utf8)
        #expect(throws: TokenizerError.missingKey(file: "t.json", key: "model")) {
            try WordPieceTokenizer(json: json, file: "t.json")
        }
    }

    @Test func rejectsUnknownModelType() {
        var builder = TokenizerJSONBuilder()
        builder.modelType = "BPE"
        #expect(
            throws: TokenizerError.unsupported(file: "test.json", key: "model.type", value: "BPE")
        ) { try builder.build() }
    }

    @Test func rejectsModelWithoutType() {
        var builder = TokenizerJSONBuilder()
        builder.modelType = nil
        #expect(throws: TokenizerError.missingKey(file: "test.json", key: "model.type")) {
            try builder.build()
        }
    }

    @Test func rejectsPostProcessor() {
        var builder = TokenizerJSONBuilder()
        builder.postProcessor =
            ["type": "TemplateProcessing", "single": [] as [Any]] as [String: Any]
        #expect(
            throws: TokenizerError.unsupported(
                file: "test.json", key: "post_processor", value: "TemplateProcessing")
        ) {
            try builder.build()
        }
    }

    @Test func rejectsTruncationAndPadding() {
        var builder = TokenizerJSONBuilder()
        builder.extra = ["truncation": ["max_length": 8] as [String: Any]]
        #expect(
            throws: TokenizerError.unsupported(
                file: "test.json", key: "truncation", value: "an object with 1 keys")
        ) {
            try builder.build()
        }
        builder.extra = ["padding": ["type": "Fixed"]]
        #expect(
            throws: TokenizerError.unsupported(file: "test.json", key: "padding", value: "Fixed")
        ) { try builder.build() }
    }

    @Test func rejectsUnknownStages() {
        var builder = TokenizerJSONBuilder()
        builder.normalizer = ["type": "Sequence", "normalizers": [] as [Any]] as [String: Any]
        #expect(
            throws: TokenizerError.unsupported(
                file: "test.json", key: "normalizer.type", value: "Sequence")
        ) { try builder.build() }

        builder = TokenizerJSONBuilder()
        builder.preTokenizer = ["type": "Whitespace"]
        #expect(
            throws: TokenizerError.unsupported(
                file: "test.json", key: "pre_tokenizer.type", value: "Whitespace")
        ) {
            try builder.build()
        }

        builder = TokenizerJSONBuilder()
        builder.decoder = ["type": "BPEDecoder"]
        #expect(
            throws: TokenizerError.unsupported(
                file: "test.json", key: "decoder.type", value: "BPEDecoder")
        ) { try builder.build() }
    }

    @Test func rejectsWrongValueTypes() {
        var builder = TokenizerJSONBuilder()
        builder.normalizer = ["type": "BertNormalizer", "strip_accents": "yes"]
        #expect(
            throws: TokenizerError.invalidValue(
                file: "test.json", key: "normalizer.strip_accents",
                expected: "a boolean or null", actual: "string \"yes\"")
        ) { try builder.build() }

        builder = TokenizerJSONBuilder()
        builder.normalizer = ["type": "BertNormalizer", "lowercase": 1] as [String: Any]
        #expect(
            throws: TokenizerError.invalidValue(
                file: "test.json", key: "normalizer.lowercase",
                expected: "a boolean", actual: "number 1")
        ) { try builder.build() }

        let json = Data(#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": -1}}}"#.utf8)
        #expect(
            throws: TokenizerError.invalidValue(
                file: "t.json", key: "model.vocab[\"a\"]",
                expected: "an integer id in 0..<65540", actual: "number -1")
        ) {
            try WordPieceTokenizer(json: json, file: "t.json")
        }
    }

    @Test func rejectsDuplicateIdsAndUnknownUnkToken() {
        let duplicate = Data(
            #"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1, "b": 1}}}"#.utf8)
        #expect(
            throws: TokenizerError.invalidValue(
                file: "t.json", key: "model.vocab[\"b\"]",
                expected: "an id no other token uses", actual: "id 1, already used by \"a\"")
        ) {
            try WordPieceTokenizer(json: duplicate, file: "t.json")
        }
        let noUnk = Data(
            #"{"model": {"type": "WordPiece", "unk_token": "<unk>", "vocab": {"a": 0}}}"#.utf8)
        #expect(
            throws: TokenizerError.invalidValue(
                file: "t.json", key: "model.unk_token",
                expected: "a token of model.vocab", actual: "string \"<unk>\"")
        ) {
            try WordPieceTokenizer(json: noUnk, file: "t.json")
        }
    }

    @Test func rejectsBadAddedTokens() {
        let json = Data(
            #"{"added_tokens": [{"id": 0, "special": true}], "model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}}"#
                .utf8)
        #expect(throws: TokenizerError.missingKey(file: "t.json", key: "added_tokens[0].content")) {
            try WordPieceTokenizer(json: json, file: "t.json")
        }
    }

    @Test func rejectsInvalidJSON() {
        #expect(
            throws: TokenizerError.invalidJSON(
                file: "t.json", reason: "unexpected end of file, expected a value at byte 10")
        ) {
            try WordPieceTokenizer(json: Data(#"{"model": "#.utf8), file: "t.json")
        }
        #expect(
            throws: TokenizerError.invalidJSON(
                file: "t.json",
                reason: "unexpected character '}' after the top-level value at byte 3")
        ) {
            try WordPieceTokenizer(json: Data("{} }".utf8), file: "t.json")
        }
        #expect(
            throws: TokenizerError.invalidJSON(
                file: "t.json", reason: "the text is not valid UTF-8 at byte 2")
        ) {
            try WordPieceTokenizer(
                json: Data([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]), file: "t.json")
        }
        #expect(
            throws: TokenizerError.invalidJSON(
                file: "t.json", reason: "unpaired surrogate in \\u escape at byte 8")
        ) {
            try WordPieceTokenizer(json: Data(#"{"\ud800x": 1}"#.utf8), file: "t.json")
        }
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(
            throws: TokenizerError.invalidJSON(
                file: "t.json", reason: "nesting deeper than 128 levels at byte 128")
        ) {
            try WordPieceTokenizer(json: Data(deep.utf8), file: "t.json")
        }
        #expect(
            throws: TokenizerError.invalidValue(
                file: "t.json", key: "(root)", expected: "an object",
                actual: "an array of 0 elements")
        ) {
            try WordPieceTokenizer(json: Data("[]".utf8), file: "t.json")
        }
    }

    @Test func rejectsUnreadableFile() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fourm-no-such-tokenizer-\(UInt64.random(in: 0...UInt64.max)).json")
        #expect {
            try WordPieceTokenizer(contentsOf: url)
        } throws: { error in
            guard case .unreadable(let file, _)? = error as? TokenizerError else { return false }
            return file == url.lastPathComponent
        }
    }

    @Test func decodeRejectsIdsOutsideTheVocabulary() throws {
        let tokenizer = try TokenizerJSONBuilder().build()
        let size = tokenizer.vocabularySize
        #expect(throws: TokenizerError.idOutOfRange(id: Int32(size), vocabularySize: size)) {
            try tokenizer.decode([0, Int32(size)], skipSpecialTokens: false)
        }
        #expect(throws: TokenizerError.idOutOfRange(id: -1, vocabularySize: size)) {
            try tokenizer.decode([-1], skipSpecialTokens: true)
        }
        #expect(tokenizer.token(of: Int32(size)) == nil)
        #expect(tokenizer.token(of: -1) == nil)
    }

    @Test func errorMessagesAreOneLine() {
        let errors: [TokenizerError] = [
            .unreadable(file: "f.json", reason: "no such file"),
            .invalidJSON(file: "f.json", reason: "bad"),
            .missingKey(file: "f.json", key: "model.vocab"),
            .invalidValue(file: "f.json", key: "k", expected: "e", actual: "a"),
            .unsupported(file: "f.json", key: "model.type", value: "BPE"),
            .idOutOfRange(id: 7, vocabularySize: 5),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
        }
        #expect(
            TokenizerError.unsupported(file: "f.json", key: "model.type", value: "BPE").description
                == "f.json: key 'model.type' = BPE is not supported")
    }
}
