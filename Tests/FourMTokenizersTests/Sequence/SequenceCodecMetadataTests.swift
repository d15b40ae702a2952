import FourMTokenizers
import Testing

/// `metadata` serialisation (spec/tokenizers.md section 8.5).
@Suite struct SequenceCodecMetadataTests {
    typealias Issue = SequenceParseIssue

    @Test func keysMatchTheReferenceIdMap() {
        #expect(MetadataKey.allCases.map(\.rawValue) == Array(0...20))
        let names = [
            "original_width", "original_height", "caption_n_chars", "caption_n_words",
            "caption_n_sentences", "n_humans", "n_sam_instances", "n_coco_instances",
            "coco_instance_diversity", "colorfulness", "brightness", "contrast", "saturation",
            "entropy", "walkability", "objectness", "semantic_diversity", "geometric_complexity",
            "occlusion_score", "watermark_score", "aesthetic_score",
        ]
        #expect(MetadataKey.allCases.map(\.name) == names)
        for key in MetadataKey.allCases { #expect(MetadataKey(name: key.name) == key) }
        #expect(MetadataKey(name: "nope") == nil)
    }

    static let binning: [(MetadataKey, Double, Int)] = [
        (.originalWidth, 640, 20), (.originalHeight, 1000, 31), (.originalWidth, 40_000, 999),
        (.originalWidth, -5, 0), (.captionCharacterCount, 53, 53), (.semanticDiversity, 1500, 999),
        (.humanCount, -2, 0), (.watermarkScore, 0.49, 0), (.watermarkScore, 0.5, 1),
        (.aestheticScore, 4.49, 0), (.aestheticScore, 4.5, 1), (.aestheticScore, 5.49, 1),
        (.aestheticScore, 5.5, 2), (.colorfulness, 150, 49), (.colorfulness, 200, 49),
        (.colorfulness, 75, 24), (.colorfulness, -1, 0), (.entropy, 9.99, 48),
        (.occlusionScore, 0.25, 49), (.geometricComplexity, 0.375, 24), (.walkability, 0.3, 14),
        (.brightness, 255, 49), (.contrast, 63.5, 24), (.saturation, 0, 0), (.objectness, 1, 49),
    ]

    @Test(arguments: binning)
    func binsLikeTheReference(key: MetadataKey, value: Double, bin: Int) throws {
        #expect(try key.bin(for: value) == bin)
        #expect(try MetadataEntry(key: key, value: value) == MetadataEntry(key: key, bin: bin))
        #expect(key.validBins.contains(bin))
    }

    @Test func decodesValuesLikeTheReference() {
        #expect(MetadataKey.originalWidth.approximateValue(ofBin: 20) == 640)
        #expect(MetadataKey.colorfulness.approximateValue(ofBin: 49) == 150 * (49.0 / 50))
        #expect(MetadataKey.occlusionScore.approximateValue(ofBin: 10) == 0.25 * (10.0 / 50))
        #expect(MetadataKey.aestheticScore.approximateValue(ofBin: 2) == 2)
        #expect(MetadataEntry(key: .semanticDiversity, bin: 7).approximateValue == 7)
        #expect(MetadataKey.watermarkScore.validBins == 0...1)
        #expect(MetadataKey.aestheticScore.validBins == 0...2)
        #expect(MetadataKey.entropy.validBins == 0...49)
        #expect(MetadataKey.captionWordCount.validBins == 0...999)
    }

    @Test func rejectsUnbinnableValues() {
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "metadata", field: "n_humans", value: "2.5", expected: "an integer")
        ) { try MetadataKey.humanCount.bin(for: 2.5) }
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "metadata", field: "entropy", value: "nan", expected: "a finite number")
        ) { try MetadataKey.entropy.bin(for: .nan) }
        let codec = MetadataCodec()
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "metadata", field: "entries[0].bin (colorfulness)", value: "50",
                expected: "0...49")
        ) { try codec.encode([MetadataEntry(key: .colorfulness, bin: 50)]) }
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "metadata", field: "entries[1].key", value: "n_humans",
                expected: "each key at most once")
        ) {
            try codec.encode([
                MetadataEntry(key: .humanCount, bin: 1), MetadataEntry(key: .humanCount, bin: 2),
            ])
        }
    }

    @Test func encodesEntriesInOrderAndAsChunks() throws {
        let codec = MetadataCodec()
        let entries = [
            try MetadataEntry(key: .semanticDiversity, value: 2),
            try MetadataEntry(key: .originalWidth, value: 640),
        ]
        #expect(try codec.encode(entries) == "v1=16 v0=2 v1=0 v0=20")
        #expect(try codec.encodeChunks(entries) == ["v1=16 v0=2", "v1=0 v0=20"])
        #expect(try codec.encode([]) == "")
        #expect(
            codec.decode(text: "v1=16 v0=2 v1=0 v0=20")
                == SequenceDecoding(value: entries, issues: []))
    }

    @Test func recoversAndReportsMalformedSequences() {
        let text =
            "v0=5 v1=0 v0=20 v1=25 v0=3 v1=19 v0=7 v1=2 v1=3 v0=5 v1=0 v0=1 v0=4 v1=9 cat "
            + "[EOS] v1=1 v0=2"
        let decoded = MetadataCodec().decode(text: text)
        #expect(
            decoded.value == [
                MetadataEntry(key: .originalWidth, bin: 20),
                MetadataEntry(key: .captionWordCount, bin: 5),
            ])
        #expect(
            decoded.issues == [
                Issue(
                    position: 0, token: "v0=5",
                    reason: .unexpectedToken(expected: "v1= (a metadata type)")),
                Issue(position: 3, token: "v1=25", reason: .unknownMetadataType(25)),
                Issue(position: 6, token: "v0=7", reason: .valueOutOfRange(value: 7, valid: 0...1)),
                Issue(position: 7, token: "v1=2", reason: .incompleteGroup(expected: 2, found: 1)),
                Issue(position: 10, token: "v1=0", reason: .duplicateEntry("original_width")),
                Issue(
                    position: 12, token: "v0=4",
                    reason: .unexpectedToken(expected: "v1= (a metadata type)")),
                Issue(position: 13, token: "v1=9", reason: .incompleteGroup(expected: 2, found: 1)),
                Issue(
                    position: 14, token: "cat",
                    reason: .unexpectedToken(expected: "v0= (a metadata value)")),
                Issue(position: 16, token: "v1=1", reason: .tokensAfterEnd(count: 2)),
            ])
    }

    @Test func roundTripsRandomEntries() throws {
        var random = SequenceTestRandom(seed: 85)
        let codec = MetadataCodec()
        for _ in 0..<200 {
            let keys = MetadataKey.allCases.shuffled(using: &random).prefix(random.int(0...21))
            let entries = keys.map { MetadataEntry(key: $0, bin: random.int($0.validBins)) }
            let text = try codec.encode(Array(entries))
            let decoded = codec.decode(text: text)
            #expect(decoded == SequenceDecoding(value: Array(entries), issues: []))
        }
    }
}
