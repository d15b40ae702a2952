import FourMTestSupport
import FourMTokenizers
import Testing

/// `det` serialisation (spec/tokenizers.md section 8.4).
@Suite struct SequenceCodecDetectionTests {
    typealias Issue = SequenceParseIssue

    @Test func encodesLikeTheReferenceTransform() throws {
        // Hand-computed: 0.5·999 = 499.5 → 500 (half to even), 0.55·999 = 549.45 → 549, …
        let boxes = [
            DetectedBox(xmin: 0.55, ymin: 0.3, xmax: 0.95, ymax: 0.7, className: "dog", score: 0.9),
            DetectedBox(xmin: 0.2, ymin: 0.2, xmax: 0.3, ymax: 0.3, className: "cat", score: 0.59),
            DetectedBox(
                xmin: 0, ymin: 0.5, xmax: 0.25, ymax: 1, className: "Traffic Light", score: 0.6),
            DetectedBox(xmin: 0.1, ymin: 0.2, xmax: 0.5, ymax: 0.8, className: "person"),
        ]
        let text = try DetectionCodec().encode(boxes)
        #expect(
            text == "v0=100 v1=200 v2=500 v3=799 person v0=0 v1=500 v2=250 v3=999 traffic light "
                + "v0=549 v1=300 v2=949 v3=699 dog")
        #expect(try DetectionCodec().encode([]) == "")
    }

    @Test func ordersBoxesStablyAsConfigured() throws {
        let a = DetectedBox(
            xmin: 0.3, ymin: 0.4, xmax: 0.9, ymax: 0.9, className: "cat", score: 0.7)
        let b = DetectedBox(
            xmin: 0.4, ymin: 0.3, xmax: 0.5, ymax: 0.5, className: "dog", score: 0.9)
        let c = DetectedBox(
            xmin: 0.1, ymin: 0.1, xmax: 0.2, ymax: 0.2, className: "cow", score: 0.8)
        func names(_ order: DetectionCodec.BoxOrder) throws -> [String] {
            let text = try DetectionCodec(order: order).encode([a, b, c])
            return DetectionCodec().decode(text: text).value.map(\.className)
        }
        // a and b are equally far from the origin: their input order is kept.
        #expect(try names(.distanceToOrigin) == ["cow", "cat", "dog"])
        #expect(try names(.area) == ["cat", "dog", "cow"])
        #expect(try names(.score) == ["dog", "cow", "cat"])
        #expect(try names(.asGiven) == ["cat", "dog", "cow"])
    }

    @Test func roundsHalfToEven() {
        let codec = DetectionCodec()
        #expect(codec.bin(of: 0.5) == 500)  // 499.5
        var checked = 0
        for k in 0..<400 {
            let even = (Double(2 * k) + 0.5) / 999  // c · 999 = 2k + 0.5 → 2k
            if even * 999 == Double(2 * k) + 0.5 {
                #expect(codec.bin(of: even) == 2 * k, "c·999 = \(2 * k).5")
                checked += 1
            }
            let odd = (Double(2 * k) + 1.5) / 999  // 2k + 1.5 → 2k + 2
            if odd * 999 == Double(2 * k) + 1.5 {
                #expect(codec.bin(of: odd) == 2 * k + 2, "c·999 = \(2 * k + 1).5")
                checked += 1
            }
        }
        #expect(checked > 100, "too few exact half-way products to test")
        #expect(DetectionCodec(coordinateBins: 2).bin(of: 0.5) == 0)
        #expect(DetectionCodec(coordinateBins: 3).bin(of: 0.25) == 0)
        #expect(DetectionCodec(coordinateBins: 3).bin(of: 0.75) == 2)
        #expect(DetectionCodec(coordinateBins: 5).bin(of: 0.625) == 2)
        #expect(DetectionCodec(coordinateBins: 5).bin(of: 0.875) == 4)
        #expect(codec.bin(of: .nan) == nil)
        #expect(codec.bin(of: 1.001) == nil)
        #expect(codec.bin(of: -0.0005) == 0)
    }

    @Test func rejectsValuesTheVocabularyCannotExpress() {
        let codec = DetectionCodec()
        func box(_ x: Double, _ name: String = "cat") -> DetectedBox {
            DetectedBox(xmin: x, ymin: 0.1, xmax: 0.9, ymax: 0.9, className: name)
        }
        #expect(
            throws: SequenceCodecError.unknownClassName(
                field: "boxes[1].className", name: "unicorn")
        ) {
            try codec.encode([box(0.1), box(0.1, "unicorn")])
        }
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "det", field: "boxes[0].xmin", value: "nan",
                expected: "a coordinate in [0, 1]")
        ) { try codec.encode([box(.nan)]) }
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "det", field: "boxes[0].xmin", value: "1.2",
                expected: "a coordinate in [0, 1]")
        ) { try codec.encode([box(1.2)]) }
        // Low-score boxes are dropped before validation, as the reference filters first.
        #expect(throws: Never.self) {
            try codec.encode([
                DetectedBox(xmin: .nan, ymin: 0, xmax: 1, ymax: 1, className: "x", score: 0.1)
            ])
        }
    }

    static let malformed: [(String, [DetectedBox], [Issue])] = [
        (
            "v0=1 v1=2 v2=3 person", [],
            [Issue(position: 0, token: "v0=1", reason: .incompleteGroup(expected: 4, found: 3))]
        ),
        (
            "v0=1 v1=2 v2=3 v3=4 person v0=5 v1=6", [box(1, 2, 3, 4, "person")],
            [Issue(position: 5, token: "v0=5", reason: .incompleteGroup(expected: 4, found: 2))]
        ),
        (
            "v0=1 v1=2 v2=3 v3=4 unicorn horse", [box(1, 2, 3, 4, "unicorn horse")],
            [Issue(position: 0, token: "v0=1", reason: .unknownClassName("unicorn horse"))]
        ),
        (
            "v0=1 v1=2 v2=3 v3=4 v0=5 v1=6 v2=7 v3=8 Dining Table",
            [box(5, 6, 7, 8, "dining table")],
            [Issue(position: 0, token: "v0=1", reason: .missingClassName)]
        ),
        (
            "v0=1 [S_2] v1=2 v2=3 v3=4 cat [UNK] [EOS] v0=9 [PAD]", [box(1, 2, 3, 4, "cat")],
            [
                Issue(position: 6, token: "[UNK]", reason: .unexpectedSpecialToken),
                Issue(position: 8, token: "v0=9", reason: .tokensAfterEnd(count: 1)),
            ]
        ),
        (
            "v0=1000 v1=2 v2=3 v3=4 cat v0=1 v1=2 v2=3 v3=4x dog", [],
            [
                Issue(
                    position: 0, token: "v0=1000",
                    reason: .valueOutOfRange(value: 1000, valid: 0...999)),
                Issue(
                    position: 1, token: "v1=2",
                    reason: .unexpectedToken(expected: "v0= (start of a box)")),
                Issue(
                    position: 2, token: "v2=3",
                    reason: .unexpectedToken(expected: "v0= (start of a box)")),
                Issue(
                    position: 3, token: "v3=4",
                    reason: .unexpectedToken(expected: "v0= (start of a box)")),
                Issue(
                    position: 4, token: "cat",
                    reason: .unexpectedToken(expected: "v0= (start of a box)")),
                Issue(position: 5, token: "v0=1", reason: .incompleteGroup(expected: 4, found: 3)),
                Issue(position: 8, token: "v3=4x", reason: .malformedValueToken),
            ]
        ),
        (
            "person v0=1 v1=2 v2=3 v3=4 cat", [box(1, 2, 3, 4, "cat")],
            [
                Issue(
                    position: 0, token: "person",
                    reason: .unexpectedToken(expected: "v0= (start of a box)"))
            ]
        ),
        (
            "v0=1 v2=3 v1=2 v3=4 cat", [],
            [
                Issue(position: 0, token: "v0=1", reason: .incompleteGroup(expected: 4, found: 2)),
                Issue(position: 1, token: "v2=3", reason: .unexpectedToken(expected: "v1=")),
                Issue(position: 3, token: "v3=4", reason: .unexpectedToken(expected: "v2=")),
            ]
        ),
        (
            "v0=1 v1=2 v2=3 v3=4 cat v2=9", [box(1, 2, 3, 4, "cat")],
            [
                Issue(
                    position: 5, token: "v2=9",
                    reason: .unexpectedToken(expected: "v0= (start of a box)"))
            ]
        ),
        ("", [], []),
        ("[EOS] [PAD]", [], []),
    ]

    @Test(arguments: malformed)
    func recoversAndReportsMalformedSequences(text: String, boxes: [DetectedBox], issues: [Issue]) {
        let decoded = DetectionCodec().decode(text: text)
        #expect(decoded.value == boxes)
        #expect(decoded.issues == issues)
    }

    @Test func reportsCoordinatesBeyondTheBins() {
        let decoded = DetectionCodec(coordinateBins: 100).decode(text: "v0=150 v1=2 v2=3 v3=4 cat")
        #expect(decoded.value.isEmpty)
        #expect(
            decoded.issues.first
                == Issue(
                    position: 0, token: "v0=150",
                    reason: .valueOutOfRange(value: 150, valid: 0...99)))
    }

    @Test(.enabled(if: Fixtures.directory != nil))
    func reportsInvalidIdsByIdPosition() throws {
        let tokenizer = try #require(try SequenceFixture.require()).tokenizer
        let decoded = DetectionCodec().decode(
            ids: [304, 1404, 2704, 4003, 4253, 99_999, 3, 216], using: tokenizer)
        #expect(decoded.value == [box(100, 200, 500, 799, "person")])
        #expect(
            decoded.issues == [
                Issue(position: 5, token: "<id 99999>", reason: .invalidId(99_999)),
                Issue(position: 7, token: "v0=12", reason: .tokensAfterEnd(count: 1)),
            ])
    }

    @Test func roundTripsRandomBoxes() throws {
        var random = SequenceTestRandom(seed: 84)
        let codec = DetectionCodec()
        for _ in 0..<200 {
            let boxes = (0..<random.int(0...12)).map { _ in
                DetectedBox(
                    xmin: random.unit(), ymin: random.unit(), xmax: random.unit(),
                    ymax: random.unit(),
                    className: COCODetectionClasses.names[random.int(0...79)], score: random.unit())
            }
            let text = try codec.encode(boxes)
            let decoded = codec.decode(text: text)
            #expect(decoded.isClean, "\(decoded.issues)")
            #expect(decoded.value.count == boxes.filter { ($0.score ?? 1) >= 0.6 }.count)
            for box in decoded.value {
                for c in [box.xmin, box.ymin, box.xmax, box.ymax] {
                    #expect(codec.bin(of: c).map(codec.coordinate(ofBin:)) == c)
                }
            }
            #expect(try codec.encode(decoded.value) == text, "encode(decode(x)) == x")
        }
    }
}

/// A detection parsed from a sequence: coordinates `n / 999`.
private func box(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ name: String) -> DetectedBox {
    DetectedBox(
        xmin: Double(x0) / 999, ymin: Double(y0) / 999, xmax: Double(x1) / 999,
        ymax: Double(y1) / 999, className: name)
}
