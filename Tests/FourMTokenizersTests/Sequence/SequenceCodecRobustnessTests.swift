import FourMTestSupport
import FourMTokenizers
import Testing

/// Parsing arbitrary generated garbage never crashes, reports only positions that exist, and
/// whatever it recovers re-encodes to a sequence that parses back to the same value with no
/// issue (spec/tokenizers.md sections 8.3–8.8).
@Suite struct SequenceCodecRobustnessTests {
    static let pool = [
        "v0=1", "v0=500", "v1=2", "v1=511", "v1=600", "v2=3", "v2=999", "v3=4", "v3=0", "v0=1000",
        "v9=1", "v0=-3", "person", "traffic", "light", "cat", "none", "point", "polygon", "human",
        "pose", "global", "camera", "shape", "[EOS]", "[PAD]", "[S_1]", "[UNK]", "[SOS]", "=", "|",
    ]

    /// Decodes with a codec and checks the guarantees; returns how many values were clean.
    private static func check<Codec: SequenceCodec>(
        _ codec: Codec, _ tokens: [SequenceToken], inputCount: Int, encodable: (Codec.Value) -> Bool
    ) where Codec.Value: Equatable {
        let decoded = codec.decode(tokens)
        for issue in decoded.issues {
            #expect(issue.position >= 0 && issue.position < max(inputCount, 1), "\(issue)")
        }
        #expect(decoded.issues.map(\.position) == decoded.issues.map(\.position).sorted())
        guard encodable(decoded.value) else { return }
        do {
            let text = try codec.encode(decoded.value)
            let again = codec.decode(text: text)
            #expect(again.value == decoded.value, "\(Codec.modality): \(text)")
            #expect(again.issues.isEmpty, "\(Codec.modality): \(again.issues)")
        } catch {
            Issue.record("\(Codec.modality): recovered value does not re-encode: \(error)")
        }
    }

    private static func checkAll(_ tokens: [SequenceToken], inputCount: Int) {
        check(CaptionCodec(), tokens, inputCount: inputCount) { _ in false }
        _ = CaptionCodec().decode(tokens)
        check(DetectionCodec(order: .asGiven), tokens, inputCount: inputCount) { boxes in
            boxes.allSatisfy { COCODetectionClasses.canonicalName($0.className) == $0.className }
        }
        check(MetadataCodec(), tokens, inputCount: inputCount) { _ in true }
        check(ColorPaletteCodec(), tokens, inputCount: inputCount) { (1...7).contains($0.count) }
        check(HumanPoseCodec(), tokens, inputCount: inputCount) { _ in true }
        check(SAMInstanceCodec(), tokens, inputCount: inputCount) { _ in true }
        check(SAMInstanceCodec(tokensPerInstance: nil), tokens, inputCount: inputCount) { _ in true
        }
    }

    @Test func survivesRandomWordSoup() {
        var random = SequenceTestRandom(seed: 88)
        for _ in 0..<400 {
            let words = (0..<random.int(0...60)).map { _ in random.pick(Self.pool) }
            Self.checkAll(
                SequenceToken.tokens(inText: words.joined(separator: " ")), inputCount: words.count)
        }
    }

    @Test func survivesValidSequencesWithOneTokenDropped() throws {
        // Near misses are the common failure of a generator: take valid sequences and drop
        // one token at every position.
        let texts = [
            try DetectionCodec().encode([
                DetectedBox(xmin: 0.1, ymin: 0.2, xmax: 0.3, ymax: 0.4, className: "cat"),
                DetectedBox(xmin: 0.5, ymin: 0.6, xmax: 0.7, ymax: 0.8, className: "traffic light"),
            ]),
            "v1=0 v0=20 v1=16 v0=2 v1=19 v0=1",
            "v1=2 v0=1 v0=2 v0=3 v0=4 v0=5 v0=6",
            SequenceCodecHumanPoseTests.personText + SequenceCodecHumanPoseTests.personText,
            "point v0=30 v1=150 none point v0=74 v1=56 polygon v0=20 v1=10 v2=140 v3=110 "
                + (0..<16).map { "v0=\($0)" }.joined(separator: " "),
        ]
        for text in texts {
            let words = text.split(separator: " ").map(String.init)
            for drop in words.indices {
                var cut = words
                cut.remove(at: drop)
                Self.checkAll(
                    SequenceToken.tokens(inText: cut.joined(separator: " ")), inputCount: cut.count)
            }
        }
    }

    @Test(.enabled(if: Fixtures.directory != nil))
    func survivesRandomIds() throws {
        let tokenizer = try #require(try SequenceFixture.require()).tokenizer
        var random = SequenceTestRandom(seed: 89)
        for _ in 0..<300 {
            let ids = (0..<random.int(0...80)).map { _ -> Int32 in
                switch random.int(0...3) {
                case 0: return Int32(random.int(-3...30_010))
                case 1: return Int32(random.int(0...6))
                default: return Int32(random.int(204...4283))
                }
            }
            let tokens = SequenceToken.tokens(ids: ids, using: tokenizer)
            Self.checkAll(tokens, inputCount: ids.count)
            let caption = CaptionCodec().decode(ids: ids, using: tokenizer)
            for issue in caption.issues { #expect(issue.position < ids.count) }
        }
    }
}
