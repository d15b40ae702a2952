import FourMTokenizers
import Testing

/// `sam_instance` serialisation (spec/tokenizers.md section 8.8).
@Suite struct SequenceCodecSAMInstanceTests {
    typealias Issue = SequenceParseIssue

    static func ids(_ seed: Int) -> [Int] { (0..<16).map { ($0 * 97 + seed * 13) % 1024 } }

    @Test func encodesPointsAndInstances() throws {
        let points = [
            SAMQueryPoint(y: 30, x: 150, instances: []),
            SAMQueryPoint(
                y: 74, x: 56,
                instances: [
                    SAMInstance(
                        xmin: 20, ymin: 10, xmax: 140, ymax: 110, tokenIds: [1, 600, 42, 1023])
                ]),
        ]
        let codec = SAMInstanceCodec(tokensPerInstance: nil)
        let text = try codec.encode(points)
        #expect(
            text
                == "point v0=30 v1=150 none point v0=74 v1=56 polygon v0=20 v1=10 v2=140 v3=110 "
                + "v0=1 v1=88 v0=42 v1=511")
        #expect(codec.decode(text: text) == SequenceDecoding(value: points, issues: []))
        #expect(try codec.encode([]) == "")

        // The released tokenizer has 16 ids per instance; other counts are refused / dropped.
        let strict = SAMInstanceCodec()
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "sam_instance", field: "points[1].instances[0].tokenIds", value: "4 ids",
                expected: "16 ids")
        ) { try strict.encode(points) }
        let decoded = strict.decode(text: text)
        #expect(decoded.value == [points[0]])
        #expect(
            decoded.issues == [
                Issue(
                    position: 7, token: "polygon", reason: .incompleteGroup(expected: 20, found: 8))
            ])
    }

    @Test func rejectsValuesTheVocabularyCannotExpress() {
        let codec = SAMInstanceCodec()
        func point(_ instance: SAMInstance, y: Int = 5) -> [SAMQueryPoint] {
            [SAMQueryPoint(y: y, x: 5, instances: [instance])]
        }
        let good = SAMInstance(xmin: 1, ymin: 2, xmax: 3, ymax: 4, tokenIds: Self.ids(1))
        #expect(throws: Never.self) { try codec.encode(point(good)) }
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "sam_instance", field: "points[0].y", value: "1000",
                expected: "a pixel coordinate in 0...999")
        ) { try codec.encode(point(good, y: 1000)) }
        var bad = good
        bad.xmax = 1
        #expect(throws: SequenceCodecError.self) { try codec.encode(point(bad)) }
        bad = good
        bad.tokenIds[15] = 1024
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "sam_instance", field: "points[0].instances[0].tokenIds[15]",
                value: "1024",
                expected: "0...1023")
        ) { try codec.encode(point(bad)) }
    }

    @Test func recoversAndReportsMalformedSequences() {
        let text =
            "v0=1 point v0=30 none point v0=5 v1=6 point v0=7 v1=8 "
            + "polygon v0=10 v1=10 v2=5 v3=20 v0=1 "
            + "point v0=9 v1=9 none polygon v0=1 v1=2 v2=3 v3=4 v0=7 point v0=3 v1=3 "
            + "point v0=2 v1=2 polygon v0=1 v1=2 v2=3 v3=4 v1=600 polygon v0=1 v1=2 v2=3 v3=4 v2=5 "
            + "polygon v0=1 v1=2 v2=3 [EOS]"
        let decoded = SAMInstanceCodec(tokensPerInstance: nil).decode(text: text)
        #expect(
            decoded.value == [
                SAMQueryPoint(
                    y: 9, x: 9,
                    instances: [SAMInstance(xmin: 1, ymin: 2, xmax: 3, ymax: 4, tokenIds: [7])])
            ])
        #expect(
            decoded.issues == [
                Issue(position: 0, token: "v0=1", reason: .unexpectedToken(expected: "point")),
                Issue(position: 1, token: "point", reason: .incompleteGroup(expected: 2, found: 1)),
                Issue(
                    position: 4, token: "point",
                    reason: .unexpectedToken(expected: "'none' or 'polygon' after the point")),
                Issue(position: 10, token: "polygon", reason: .invalidBox),
                Issue(position: 19, token: "none", reason: .unexpectedToken(expected: "polygon")),
                Issue(
                    position: 26, token: "point",
                    reason: .unexpectedToken(expected: "'none' or 'polygon' after the point")),
                Issue(
                    position: 37, token: "v1=600",
                    reason: .valueOutOfRange(value: 600, valid: 0...511)),
                Issue(
                    position: 43, token: "v2=5",
                    reason: .unexpectedToken(expected: "v0= or v1= (an instance id)")),
                Issue(
                    position: 44, token: "polygon",
                    reason: .incompleteGroup(expected: 5, found: 3)),
            ])
    }

    @Test func sortsInstancesByDescendingArea() {
        let small = SAMInstance(xmin: 0, ymin: 0, xmax: 2, ymax: 2, tokenIds: [1])
        let large = SAMInstance(xmin: 0, ymin: 0, xmax: 10, ymax: 10, tokenIds: [2])
        let alsoSmall = SAMInstance(xmin: 5, ymin: 5, xmax: 7, ymax: 7, tokenIds: [3])
        let points = [
            SAMQueryPoint(y: 1, x: 1, instances: [small, large]),
            SAMQueryPoint(y: 6, x: 6, instances: [alsoSmall]),
        ]
        #expect(SAMInstanceCodec.instancesByArea(points) == [large, small, alsoSmall])
    }

    @Test func roundTripsRandomPoints() throws {
        var random = SequenceTestRandom(seed: 87)
        let codec = SAMInstanceCodec()
        for _ in 0..<100 {
            let points = (0..<random.int(0...7)).map { _ in
                SAMQueryPoint(
                    y: random.int(0...223), x: random.int(0...223),
                    instances: (0..<random.int(0...3)).map { _ in
                        let x0 = random.int(0...200)
                        let y0 = random.int(0...200)
                        return SAMInstance(
                            xmin: x0, ymin: y0, xmax: x0 + random.int(1...24),
                            ymax: y0 + random.int(1...24),
                            tokenIds: (0..<16).map { _ in random.int(0...1023) })
                    })
            }
            let text = try codec.encode(points)
            let decoded = codec.decode(text: text)
            #expect(decoded == SequenceDecoding(value: points, issues: []))
            #expect(try codec.encode(decoded.value) == text)
        }
    }
}
