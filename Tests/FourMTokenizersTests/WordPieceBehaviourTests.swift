import Foundation
import FourMTestSupport
import FourMTokenizers
import Testing

/// Behaviours of each stage on small in-memory vocabularies (spec/tokenizers.md section 7.3).
@Suite struct WordPieceBehaviourTests {
    static let words = [
        "a", "b", "c", "d", "ab", "abc", "##b", "##c", "##d", "##bc", "cafe", "nandu", "x", "y",
        "xy",
        "東", "京", "!", ",", ".", "?", "'", "s", "##s", "-", "_", "=", "(", ")", "0", "1", "v",
        "##0", "##1", "[", "]",
        "hello", "world", "cat", "é",
    ]

    func tokenizer(_ configure: (inout TokenizerJSONBuilder) -> Void = { _ in }) throws
        -> WordPieceTokenizer
    {
        var builder = TokenizerJSONBuilder()
        builder.vocab += Self.words
        configure(&builder)
        return try builder.build()
    }

    func tokens(_ t: WordPieceTokenizer, _ text: String) -> [String] {
        t.encodeDetailed(text).map(\.token)
    }

    @Test func greedyLongestPrefixWithContinuations() throws {
        let t = try tokenizer()
        #expect(tokens(t, "abcd") == ["abc", "##d"])
        #expect(tokens(t, "abd") == ["ab", "##d"])
        #expect(tokens(t, "acbc") == ["a", "##c", "##bc"])
        // "z" matches nothing at position 2, so the whole word is one [UNK].
        #expect(tokens(t, "abz cat") == ["[UNK]", "cat"])
        #expect(t.encodeDetailed("abz cat").map(\.offsets) == [0..<3, 4..<7])
    }

    @Test func wordsLongerThanTheLimitAreUnknown() throws {
        let t = try tokenizer { $0.maxInputCharsPerWord = 5 }
        #expect(tokens(t, "abcbcb") == ["[UNK]"])
        #expect(t.encodeDetailed("abcbcb").map(\.offsets) == [0..<6])
        #expect(tokens(t, "abcbc") == ["abc", "##bc"])
    }

    @Test func padsChineseCharacters() throws {
        let t = try tokenizer()
        #expect(t.normalize("東京x") == " 東  京 x")
        #expect(tokens(t, "東京xy") == ["東", "京", "xy"])
        #expect(t.encodeDetailed("東京xy").map(\.offsets) == [0..<1, 1..<2, 2..<4])
        // U+2B820 lies in the gap the Rust function leaves out; U+2B920 is padded.
        #expect(t.normalize("a\u{2B820}b") == "a\u{2B820}b")
        #expect(t.normalize("a\u{2B920}b") == "a \u{2B920} b")
    }

    @Test func stripsAccentsAndLowercases() throws {
        let t = try tokenizer()
        expectSameText(t.normalize("Café ÑANDÚ"), "cafe nandu", "normalize")
        #expect(tokens(t, "Café ÑANDÚ") == ["cafe", "nandu"])
        // The dropped mark does not widen the token: Rust takes the first and last kept scalar.
        #expect(t.encodeDetailed("Cafe\u{301} x").map(\.offsets) == [0..<4, 6..<7])
        // İ: NFD is I + U+0307, the mark is dropped, then lowercased.
        expectSameText(t.normalize("İ ẞ ǅ"), "i ß ǆ", "normalize")
    }

    @Test func accentOptionsFollowTheJSON() throws {
        // strip_accents null follows lowercase: lowercase false keeps accents and case.
        let keep = try tokenizer {
            $0.normalizer =
                ["type": "BertNormalizer", "lowercase": false, "strip_accents": NSNull()]
                as [String: Any]
        }
        expectSameText(keep.normalize("Café"), "Café", "normalize")
        let strip = try tokenizer {
            $0.normalizer = ["type": "BertNormalizer", "lowercase": false, "strip_accents": true]
        }
        expectSameText(strip.normalize("Café"), "Cafe", "normalize")
        let lowerOnly = try tokenizer {
            $0.normalizer = ["type": "BertNormalizer", "lowercase": true, "strip_accents": false]
        }
        expectSameText(lowerOnly.normalize("CAFÉ"), "café", "normalize")
    }

    @Test func cleansControlCharacters() throws {
        let t = try tokenizer()
        // BEL (Cc), ZWSP (Cf), U+FFFD and U+0000 are dropped; tab/newline/NBSP become spaces.
        expectSameText(
            t.normalize("x\u{7}y\u{200B}c\u{FFFD}\u{0}d\ta\nb\u{A0}c"), "xycd a b c", "normalize")
        #expect(tokens(t, "x\u{200B}y") == ["xy"])
        #expect(t.encodeDetailed("x\u{200B}y").map(\.offsets) == [0..<3])
        // Unassigned code points are kept (the Rust `is_other` covers Cc, Cf and Co only).
        expectSameText(t.normalize("a\u{378}b"), "a\u{378}b", "normalize")
        // Private use is dropped.
        expectSameText(t.normalize("a\u{E000}b"), "ab", "normalize")
    }

    /// The Rust crates classify characters with old Unicode tables (see `UnicodeClasses`);
    /// each expectation was checked against tokenizers 0.23.3.
    @Test func unicodeClassesFollowTheRustTables() throws {
        let t = try tokenizer { $0.addToken("<t>", singleWord: true) }
        // U+0891 is Cf since Unicode 14, unknown to the 8.0 tables: kept by clean_text.
        expectSameText(t.normalize("a\u{891}b"), "a\u{891}b", "normalize U+0891")
        // U+07FD (Mn since 11.0) and U+1885 (Lo in 8.0) survive accent stripping; U+1734
        // (Mn in 8.0, Mc today) does not.
        expectSameText(
            t.normalize("a\u{7FD}b\u{1734}c\u{1885}"), "a\u{7FD}bc\u{1885}", "normalize marks")
        // U+166D was punctuation in 8.0 (So today).
        expectSameTexts(t.preTokenize("a\u{166D}b"), ["a", "\u{166D}", "b"], "preTokenize")
        // For `single_word`, "²" is not a word character but a combining mark is.
        let special = try #require(t.id(of: "<t>"))
        #expect(t.encode("\u{B2}<t>").contains(special))
        #expect(!t.encode("e\u{301}<t>").contains(special))
    }

    @Test func preTokenizerSplitsWhitespaceAndPunctuation() throws {
        let t = try tokenizer()
        #expect(
            t.preTokenize("hello, world!  it's a_b=c ’x’") == [
                "hello", ",", "world", "!", "it", "'", "s", "a", "_", "b", "=", "c", "’", "x", "’",
            ])
        #expect(t.preTokenize("   ") == [])
    }

    @Test func singleWordAddedTokens() throws {
        let t = try tokenizer {
            $0.addToken("[S_1]", singleWord: true)
            $0.addToken("v0=1", singleWord: true)
            $0.addToken("v0=10", singleWord: true)
            $0.addToken("[EOS]")
        }
        let s1 = t.id(of: "[S_1]")
        let v1 = t.id(of: "v0=1")
        let v10 = t.id(of: "v0=10")
        #expect(s1 != nil && v1 != nil && v10 != nil)
        #expect(t.encode("[S_1] v0=10 v0=1") == [s1, v10, v1].compactMap { $0 })
        #expect(
            t.encode("(v0=1),")
                == [t.id(of: "("), v1, t.id(of: ")"), t.id(of: ",")].compactMap { $0 })
        // Glued to a word character: not matched, and no shorter pattern is tried instead.
        #expect(tokens(t, "v0=11") == ["v", "##0", "=", "1", "##1"])
        #expect(tokens(t, "v0=10a") == ["v", "##0", "=", "[UNK]"])
        #expect(!t.encode("v0=11").contains(v1 ?? -1))
        #expect(!t.encode("av0=1").contains(v1 ?? -1))
        #expect(!t.encode("_v0=1").contains(v1 ?? -1))
        #expect(!t.encode("x[S_1]").contains(s1 ?? -1))
        #expect(t.encode("[S_1][S_1]") == [s1, s1].compactMap { $0 })
        // Not single-word: matched even when glued.
        #expect(
            t.encode("x[EOS]y")
                == [t.id(of: "x"), t.id(of: "[EOS]"), t.id(of: "y")].compactMap { $0 })
        // Case-sensitive and matched before lowercasing.
        #expect(!t.encode("[s_1]").contains(s1 ?? -1))
        #expect(t.encodeDetailed("a [S_1] b").map(\.offsets) == [0..<1, 2..<7, 8..<9])
    }

    @Test func normalizedAddedTokensMatchAfterNormalization() throws {
        let t = try tokenizer { $0.addToken("cat", singleWord: true, normalized: true) }
        let cat = t.encodeDetailed("A CAT, cats")
        #expect(cat.map(\.token) == ["a", "cat", ",", "cat", "##s"])
        #expect(cat.map(\.offsets) == [0..<1, 2..<5, 5..<6, 7..<10, 10..<11])
        // Inside "cats" the added token is not matched, but WordPiece yields the same id, and
        // decoding with skipSpecialTokens drops it (special is decided by the token text).
        #expect(try t.decode(t.encode("cats"), skipSpecialTokens: true) == "##s")
    }

    @Test func stripFlagsWidenTheMatch() throws {
        let t = try tokenizer {
            $0.addToken("[EOS]", lstrip: true, rstrip: true)
        }
        let detailed = t.encodeDetailed("a  [EOS]  b")
        // The token text is the matched span, whitespace included, as in Rust.
        #expect(detailed.map(\.token) == ["a", "  [EOS]  ", "b"])
        #expect(detailed.map(\.offsets) == [0..<1, 1..<10, 10..<11])
    }

    @Test func decoderGluesContinuationsAndCleansUp() throws {
        let t = try tokenizer { $0.addToken("[S_1]", singleWord: true) }
        func ids(_ list: [String]) -> [Int32] { list.compactMap { t.id(of: $0) } }
        #expect(
            try t.decode(
                ids(["hello", ",", "world", "!", "a", "##b", "'", "s", "?"]),
                skipSpecialTokens: false)
                == "hello, world! ab ' s?")
        #expect(try t.decode(ids(["##b", "a"]), skipSpecialTokens: false) == "##b a")
        #expect(
            try t.decode(ids(["[S_1]", "a", "[S_1]"]), skipSpecialTokens: false) == "[S_1] a [S_1]")
        #expect(try t.decode(ids(["[S_1]", "a", "[S_1]", "##b"]), skipSpecialTokens: true) == "ab")
        #expect(try t.decode([], skipSpecialTokens: false) == "")
        let raw = try tokenizer {
            $0.decoder = ["type": "WordPiece", "prefix": "##", "cleanup": false] as [String: Any]
        }
        #expect(
            try raw.decode(
                ["hello", ",", "##b"].compactMap { raw.id(of: $0) }, skipSpecialTokens: false)
                == "hello ,b")
        let none = try tokenizer { $0.decoder = NSNull() }
        #expect(
            try none.decode(
                ["hello", ",", "##b"].compactMap { none.id(of: $0) }, skipSpecialTokens: false)
                == "hello , ##b")
    }

    @Test func vocabularyKeysAreScalarExact() throws {
        // "é" and "e\u{301}" are canonically equivalent but distinct entries.
        let json = Data(
            #"{"normalizer": null, "pre_tokenizer": {"type": "BertPreTokenizer"}, "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "\u00e9": 1, "e\u0301": 2, "e": 3}}}"#
                .utf8)
        let t = try WordPieceTokenizer(json: json, file: "t.json")
        #expect(t.id(of: "\u{E9}") == 1)
        #expect(t.id(of: "e\u{301}") == 2)
        #expect(t.encode("\u{E9} e\u{301}") == [1, 2])
        #expect(t.vocabularySize == 4)
        #expect(t.preTokenize("a b") == ["a", "b"])
    }

    @Test func addedTokenIdsComeFromTheVocabulary() throws {
        // The JSON id of an added token is not trusted; the vocabulary id wins, new tokens
        // get the next free id.
        let json = Data(
            #"{"added_tokens": [{"id": 99, "content": "[UNK]", "special": true}, {"id": 7, "content": "<new>", "special": true}], "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}}}"#
                .utf8)
        let t = try WordPieceTokenizer(json: json, file: "t.json")
        #expect(t.id(of: "[UNK]") == 0)
        #expect(t.id(of: "<new>") == 2)
        #expect(t.vocabularySize == 3)
        #expect(t.encode("a<new>a") == [1, 2, 1])
        #expect(try t.decode([1, 2, 0], skipSpecialTokens: true) == "a")
    }

    /// A BERT tokenizer over a seven-entry vocabulary with the given `added_tokens` JSON.
    func small(
        _ added: String,
        vocab: String =
            ###"{"[UNK]": 0, "cat": 1, "naive": 2, "foo": 3, "x": 4, "##x": 5, "a": 6}"###
    ) throws
        -> WordPieceTokenizer
    {
        let json = #"""
            {"added_tokens": [\#(added)],
             "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
             "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": null,
             "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
             "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": \#(vocab)}}
            """#
        return try WordPieceTokenizer(json: Data(json.utf8), file: "small.json")
    }

    // The expected values below were produced by tokenizers 0.23.3 on the same JSON.

    @Test func repeatedAddedTokenTakesTheLastFlags() throws {
        let normalizedFirst = try small(
            #"""
            {"id": 1, "content": "cat", "single_word": true, "normalized": true, "special": true},
            {"id": 1, "content": "cat", "single_word": false, "normalized": false, "special": false}
            """#)
        #expect(normalizedFirst.encode("catnaive CAT") == [1, 2, 1])
        // `special` accumulates: the content stays special although the last entry is not.
        #expect(try normalizedFirst.decode([1, 2, 1], skipSpecialTokens: true) == "naive")
        #expect(try normalizedFirst.decode([1, 2, 1], skipSpecialTokens: false) == "cat naive cat")
        let plainFirst = try small(
            #"""
            {"id": 1, "content": "cat", "single_word": false, "normalized": false, "special": false},
            {"id": 1, "content": "cat", "single_word": true, "normalized": true, "special": true}
            """#)
        #expect(plainFirst.encode("catnaive CAT") == [0, 1])
    }

    @Test func newAddedTokensFollowTheVocabularySize() throws {
        // Three vocabulary entries with ids 0, 1, 3: new tokens take 3 and 4, and 3 then
        // shows the added token, as in Rust.
        let t = try small(
            #"""
            {"id": 0, "content": "<a>", "normalized": false}, {"id": 0, "content": "<b>", "normalized": false}
            """#, vocab: #"{"[UNK]": 0, "x": 1, "y": 3}"#)
        #expect(t.id(of: "<a>") == 3)
        #expect(t.id(of: "<b>") == 4)
        #expect(t.id(of: "y") == 3)
        #expect(t.token(of: 3) == "<a>")
        #expect(try t.decode([3], skipSpecialTokens: false) == "<a>")
        #expect(t.vocabularySize == 5)
    }

    @Test func stripFlagsAcrossNeighbouringMatches() throws {
        let t = try small(
            #"""
            {"id": 7, "content": "<x>", "rstrip": true, "normalized": false},
            {"id": 8, "content": " <y>", "lstrip": true, "normalized": false}
            """#)
        let detailed = t.encodeDetailed("a <x>   <y> b")
        #expect(detailed.map(\.id) == [6, 7, 8, 0])
        #expect(detailed.map(\.token) == ["a", "<x>   ", "<y>", "[UNK]"])
        #expect(detailed.map(\.offsets) == [0..<1, 2..<8, 8..<11, 12..<13])
    }

    @Test func normalizedAddedTokensDecodeInNormalizedForm() throws {
        let t = try small(#"{"id": 7, "content": "Naïve", "normalized": true, "special": true}"#)
        #expect(t.id(of: "Naïve") == 7)
        #expect(t.token(of: 7) == "naive")
        #expect(t.encode("NAÏVE naive") == [7, 7])
        // The decoded text "naive" is not the special content "Naïve", so it is kept.
        #expect(try t.decode([7, 1], skipSpecialTokens: true) == "naive cat")
    }

    @Test func emptyAndWhitespaceInput() throws {
        let t = try tokenizer()
        #expect(t.encode("") == [])
        #expect(t.encode(" \t\n ") == [])
        #expect(t.encodeDetailed("").isEmpty)
        #expect(t.normalize("") == "")
    }
}

/// The golden table of spec/tokenizers.md section 7.3 on the real 4M vocabulary (needs the
/// fixture folder, which holds the tokenizer file).
@Suite(.enabled(if: Fixtures.directory != nil)) struct WordPieceSpecTableTests {
    /// Loaded once for all examples (loading the 30 000-entry vocabulary in a debug build
    /// takes most of a second).
    static let shared = Result<WordPieceTokenizer, any Error> {
        try WordPieceTokenizer(contentsOf: try Fixtures.url("text_tokenizer_4m_wordpiece_30k.json"))
    }

    static func load() throws -> WordPieceTokenizer { try shared.get() }

    @Test(arguments: [
        (
            "A lake house with a boat in front [S_1]",
            [4321, 5857, 5208, 4937, 4321, 4215, 4921, 5224, 5] as [Int32],
            "a lake house with a boat in front [S_1]"
        ),
        ("v1=0 v0=20 v1=13 v0=4", [1204, 224, 1217, 208], "v1=0 v0=20 v1=13 v0=4"),
        (
            "Héllo, WORLD! 你好 naïve café", [10786, 4294, 5354, 4284, 1, 4644, 26835, 7312],
            "hello, world! [UNK] 好 naive cafe"
        ),
        (
            "[s_1] [S_1][S_2] x[S_1] [EOS]",
            [4315, 4339, 4319, 4299, 4317, 5, 6, 4344, 4315, 4339, 4319, 4299, 4317, 3],
            "[ s _ 1 ] [S_1] [S_2] x [ s _ 1 ] [EOS]"
        ),
        (
            "A Dining Table and a Teddy Bear; personal persons person's",
            [4321, 4231, 4933, 4321, 4270, 4309, 7617, 13376, 4253, 4289, 4339],
            "a dining table and a teddy bear ; personal persons person ' s"
        ),
        ("x\u{200B}y", [23203], "xy"),
        ("Ångström ÆON ﬁne", [5873, 20593, 4371, 4913, 1], "angstrom æon [UNK]"),
        (String(repeating: "a", count: 101), [1], "[UNK]"),
        ("", [], ""),
    ])
    func goldenExample(text: String, ids: [Int32], decoded: String) throws {
        let t = try Self.load()
        #expect(t.encode(text) == ids)
        expectSameText(try t.decode(ids, skipSpecialTokens: false), decoded, "decode")
    }

    @Test func singleWordExamples() throws {
        let t = try Self.load()
        let v12 = try #require(t.id(of: "v0=12"))
        let s1 = try #require(t.id(of: "[S_1]"))
        for text in ["v0=1234", "av0=12", "v0=12a", "_v0=12", "v0=12_", "V0=12"] {
            #expect(!t.encode(text).contains(v12), "\(text)")
        }
        #expect(!t.encode("x[S_1]").contains(s1))
        for text in ["(v0=12)", "v0=12,", "v0=12\u{A0}person"] {
            #expect(t.encode(text).contains(v12), "\(text)")
        }
        #expect(t.id(of: "##s") == 4735)
        #expect(t.id(of: "zebra") == 4283)
        #expect(t.vocabularySize == 30000)
    }
}
