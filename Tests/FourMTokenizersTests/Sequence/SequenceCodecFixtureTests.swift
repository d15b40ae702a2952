import Foundation
import FourMTestSupport
import FourMTokenizers
import Testing

/// Golden round trips on the strings the reference serialisation transforms produced
/// (`text_tokenizer` fixture case, spec/tokenizers.md sections 8.3–8.8): every string of a
/// handled kind is parsed to a value (from its text and from its ids), re-encoded, and the
/// text and the ids (through the fixture's tokenizer) must match exactly.
@Suite(.enabled(if: Fixtures.directory != nil)) struct SequenceCodecFixtureTests {
    /// The fixture kinds these codecs handle; the suite fails when a fixture folder exists
    /// but lacks any of them.
    static let handledKinds = [
        "caption", "uppercase", "long_caption", "transform_det", "transform_det_multiword",
        "det_target_style", "transform_metadata", "transform_metadata_chunks",
        "transform_color_palette", "transform_human_poses", "none_token", "transform_sam_instance",
    ]

    @Test func fixtureFolderMatches() throws {
        let fixture = try #require(
            try SequenceFixture.require(), "fixture folder without the tokenizer case")
        for kind in Self.handledKinds {
            #expect(!fixture.strings(ofKind: kind).isEmpty, "no fixture string of kind \(kind)")
        }
    }

    @Test func classNamesAreTheVocabularyTokens() throws {
        let fixture = try #require(try SequenceFixture.require())
        #expect(COCODetectionClasses.names.count == 80)
        for (index, name) in COCODetectionClasses.names.enumerated() {
            let id = COCODetectionClasses.firstTokenId + Int32(index)
            #expect(fixture.tokenizer.id(of: name) == id, "id(of: \(name))")
            #expect(fixture.tokenizer.token(of: id) == name, "token(of: \(id))")
            #expect(fixture.tokenizer.encode(name) == [id], "encode(\(name))")
            #expect(COCODetectionClasses.tokenId(of: name) == id)
        }
    }

    @Test(arguments: handledKinds)
    func roundTripsReferenceStrings(kind: String) throws {
        let fixture = try #require(try SequenceFixture.require())
        let entries = fixture.strings(ofKind: kind)
        #expect(!entries.isEmpty, "no fixture string of kind \(kind)")
        let tokenizer = fixture.tokenizer
        for entry in entries {
            // The fixture ids are the tokenizer's: a mismatch here is a tokenizer bug.
            #expect(tokenizer.encode(entry.text) == entry.ids, "\(entry.label): tokenizer ids")
            switch kind {
            case "caption", "uppercase", "long_caption":
                try checkCaption(entry, tokenizer)
            case "transform_det", "transform_det_multiword":
                try checkExact(DetectionCodec(), entry, tokenizer)
            case "det_target_style":
                try checkSpanTarget(entry, tokenizer)
            case "transform_metadata":
                try checkExact(MetadataCodec(), entry, tokenizer)
            case "transform_metadata_chunks":
                try checkMetadataChunks(entry, tokenizer)
            case "transform_color_palette":
                try checkExact(ColorPaletteCodec(), entry, tokenizer)
            case "transform_human_poses", "none_token":
                try checkExact(HumanPoseCodec(), entry, tokenizer)
            case "transform_sam_instance":
                // The fixture's instances carry fewer ids than the released 16.
                try checkExact(SAMInstanceCodec(tokensPerInstance: nil), entry, tokenizer)
            default:
                Issue.record("kind \(kind) has no check")
            }
        }
    }

    /// text → value → text and ids, exactly; ids → value gives the same value.
    private func checkExact<Codec: SequenceCodec>(
        _ codec: Codec, _ entry: SequenceFixtureString, _ tokenizer: WordPieceTokenizer
    ) throws where Codec.Value: Equatable {
        let fromText = codec.decode(text: entry.text)
        #expect(fromText.issues.isEmpty, "\(entry.label): \(fromText.issues)")
        let fromIds = codec.decode(ids: entry.ids, using: tokenizer)
        #expect(fromIds.issues.isEmpty, "\(entry.label): \(fromIds.issues)")
        #expect(fromIds.value == fromText.value, "\(entry.label): ids and text parse alike")
        let fromDecoded = codec.decode(text: entry.decodeKeepSpecial)
        #expect(fromDecoded == fromText, "\(entry.label): decoded text parses alike")

        let text = try codec.encode(fromText.value)
        #expect(
            sameScalars(text, entry.text), "\(entry.label): re-encoded \(text.debugDescription)")
        let ids = try codec.ids(for: fromText.value, using: tokenizer, appendingEOS: false)
        #expect(ids == entry.ids, "\(entry.label): ids")
        let withEOS = try codec.ids(for: fromText.value, using: tokenizer, appendingEOS: true)
        #expect(withEOS == entry.ids + [3], "\(entry.label): ids + [EOS]")
        // Stable: a second round trip changes nothing.
        #expect(codec.decode(text: text) == fromText, "\(entry.label): second round trip")
    }

    private func checkCaption(_ entry: SequenceFixtureString, _ tokenizer: WordPieceTokenizer)
        throws
    {
        let codec = CaptionCodec()
        let fromIds = codec.decode(ids: entry.ids, using: tokenizer)
        #expect(fromIds.issues.isEmpty, "\(entry.label): \(fromIds.issues)")
        #expect(
            sameScalars(fromIds.value, entry.decodeKeepSpecial), "\(entry.label): \(fromIds.value)")
        #expect(
            try codec.ids(for: fromIds.value, using: tokenizer, appendingEOS: false) == entry.ids,
            "\(entry.label): normalized caption re-encodes to the same ids")
        #expect(
            sameScalars(codec.normalized(entry.text, using: tokenizer), entry.decodeKeepSpecial))

        let fromText = codec.decode(text: entry.text)
        #expect(fromText.issues.isEmpty, "\(entry.label): \(fromText.issues)")
        #expect(sameScalars(codec.encode(fromText.value), entry.text), "\(entry.label): text")
        let ids = try codec.ids(for: fromText.value, using: tokenizer, appendingEOS: true)
        #expect(ids == entry.ids + [3], "\(entry.label): ids + [EOS]")
    }

    /// A span-masking target (`[S_1] box [S_2] box [EOS]`), as the reference's target style
    /// writes it: the sentinels are span markers that `merge_span_masking` removes, so the
    /// string parses with no issue to the boxes of its merged text (the same string without
    /// sentinels and `[EOS]`), from its text and from its ids, and the boxes re-encode to that
    /// merged text. Nothing assumes one id per word: the merged ids are the fixture's ids
    /// without sentinel and `[EOS]` ids, as the vocabulary's special-token ids say.
    private func checkSpanTarget(_ entry: SequenceFixtureString, _ tokenizer: WordPieceTokenizer)
        throws
    {
        let codec = DetectionCodec(order: .asGiven)
        let words = SequenceToken.tokens(inText: entry.text)
        let merged = words.filter {
            switch $0.kind {
            case .sentinel, .endOfSequence, .padding: return false
            default: return true
            }
        }.map(\.text).joined(separator: " ")

        let fromText = codec.decode(text: entry.text)
        #expect(fromText.issues.isEmpty, "\(entry.label): \(fromText.issues)")
        #expect(fromText == codec.decode(text: merged), "\(entry.label): parses like its merged text")
        #expect(try codec.encode(fromText.value) == merged, "\(entry.label): boxes")

        let fromIds = codec.decode(ids: entry.ids, using: tokenizer)
        #expect(fromIds.issues.isEmpty, "\(entry.label): \(fromIds.issues)")
        #expect(fromIds.value == fromText.value, "\(entry.label): ids and text parse alike")
        let spanMarkers = Set(entry.ids.filter { id in
            guard let token = tokenizer.token(of: id) else { return false }
            switch SequenceToken.tokens(inText: token).first?.kind {
            case .sentinel, .endOfSequence, .padding: return true
            default: return false
            }
        })
        #expect(
            try codec.ids(for: fromIds.value, using: tokenizer, appendingEOS: false)
                == entry.ids.filter { !spanMarkers.contains($0) }, "\(entry.label): merged ids")
    }

    /// Metadata chunks as the fixture shows them (`chunk | chunk | …`): each chunk is one
    /// entry, and ``MetadataCodec/encodeChunks(_:)`` gives the chunks back.
    private func checkMetadataChunks(
        _ entry: SequenceFixtureString, _ tokenizer: WordPieceTokenizer
    ) throws {
        let codec = MetadataCodec()
        let chunks = entry.text.components(separatedBy: " | ")
        var entries: [MetadataEntry] = []
        for chunk in chunks {
            let parsed = codec.decode(text: chunk)
            #expect(parsed.issues.isEmpty, "\(entry.label): chunk \(chunk): \(parsed.issues)")
            #expect(parsed.value.count == 1, "\(entry.label): chunk \(chunk) is one entry")
            entries += parsed.value
        }
        #expect(try codec.encodeChunks(entries) == chunks, "\(entry.label): chunks")
        #expect(
            tokenizer.encode(try codec.encodeChunks(entries).joined(separator: " | ")) == entry.ids)
        let separatorIds = Set(tokenizer.encode("|"))
        #expect(
            try codec.ids(for: entries, using: tokenizer, appendingEOS: false)
                == entry.ids.filter { !separatorIds.contains($0) })
    }
}
