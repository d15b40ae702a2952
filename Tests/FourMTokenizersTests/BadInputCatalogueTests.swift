import Foundation
import FourMTensor
import FourMTokenizers
import Testing

/// The bad-input catalogue for tokenizer files and images (issue 15): each hostile input is
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
        // took minutes. The bound is loose for a shared 2-core machine.
        #expect(elapsed < .seconds(20), "loading took \(elapsed)")
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

    /// A 351-byte CMYK JPEG declaring 56072×255 decoded to 167 MB. The header is now checked
    /// against InputLimits.maximumImageSide before decoding. Built from the CMYK fixture with
    /// the SOF0 size patched and the file cut to 351 bytes.
    @Test func jpegDeclaringAHugeSideIsRejectedBeforeDecoding() throws {
        var jpeg = [UInt8](try ImageFixtures.data("cmyk.jpg"))
        let sof = try #require((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg[sof + 5...sof + 8] = [0x00, 0xFF, 0xDB, 0x08]  // height 255, width 56072
        let cut = Array(jpeg.prefix(349)) + [0xFF, 0xD9]
        #expect(cut.count == 351)
        #expect(throws: ImageError.sideTooLong(file: "<memory>", width: 56072, height: 255, limit: 16_384)) {
            try Image(jpegData: Data(cut))
        }
        jpeg[sof + 5...sof + 8] = [0x30, 0x00, 0x30, 0x00]  // 12288 × 12288: sides fine, too many pixels
        #expect(throws: ImageError.tooLarge(file: "<memory>", width: 12288, height: 12288, limit: InputLimits.maximumImagePixels)) {
            try Image(jpegData: Data(jpeg))
        }
    }

    @Test func pngDeclaringTooManyPixelsIsRejectedBeforeDecoding() throws {
        var png = [UInt8](try Image(width: 1, height: 1, channels: 1, pixels: [0]).pngData())
        png[16...23] = [0, 0, 0x30, 0, 0, 0, 0x30, 0]  // 12288 × 12288
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in png[12..<29] {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc = ~crc
        png[29...32] = [UInt8(crc >> 24), UInt8((crc >> 16) & 255), UInt8((crc >> 8) & 255), UInt8(crc & 255)]
        #expect(throws: ImageError.tooLarge(file: "<memory>", width: 12288, height: 12288, limit: InputLimits.maximumImagePixels)) {
            try Image(pngData: Data(png))
        }
    }
}
