import FourMTokenizers
import Testing

/// `color_palette` serialisation (spec/tokenizers.md section 8.6).
@Suite struct SequenceCodecPaletteTests {
    typealias Issue = SequenceParseIssue

    @Test func encodesCountThenChannels() throws {
        let colors = [
            PaletteColor(red: 12, green: 200, blue: 34),
            PaletteColor(red: 255, green: 0, blue: 128),
            try PaletteColor(roundingRed: 64.4, green: 64.5, blue: 63.5),
        ]
        let text = try ColorPaletteCodec().encode(colors)
        #expect(text == "v1=3 v0=12 v0=200 v0=34 v0=255 v0=0 v0=128 v0=64 v0=64 v0=64")
        #expect(
            ColorPaletteCodec().decode(text: text) == SequenceDecoding(value: colors, issues: []))
    }

    @Test func roundsChannelsHalfToEven() throws {
        #expect(
            try PaletteColor(roundingRed: 12.5, green: 13.5, blue: 0.5)
                == PaletteColor(red: 12, green: 14, blue: 0))
        #expect(
            try PaletteColor(roundingRed: -0.4, green: 254.5, blue: 255.4)
                == PaletteColor(red: 0, green: 254, blue: 255))
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "color_palette", field: "blue", value: "255.5",
                expected: "a channel value in 0...255")
        ) { try PaletteColor(roundingRed: 0, green: 0, blue: 255.5) }
    }

    @Test func rejectsPalettesTheLayoutCannotHold() {
        let codec = ColorPaletteCodec()
        let gray = PaletteColor(red: 9, green: 9, blue: 9)
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "color_palette", field: "colors.count", value: "0",
                expected: "1...7 colours")
        ) { try codec.encode([]) }
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "color_palette", field: "colors.count", value: "8",
                expected: "1...7 colours")
        ) { try codec.encode(Array(repeating: gray, count: 8)) }
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "color_palette", field: "colors[1].green", value: "256",
                expected: "0...255")
        ) { try codec.encode([gray, PaletteColor(red: 0, green: 256, blue: 0)]) }
    }

    static let malformed: [(String, [PaletteColor], [Issue])] = [
        ("", [], [Issue(position: 0, token: "", reason: .emptySequence)]),
        ("[EOS]", [], [Issue(position: 0, token: "[EOS]", reason: .emptySequence)]),
        (
            "v1=3 v0=1 v0=2 v0=3 v0=4 v0=300 v0=6 v0=7", [PaletteColor(red: 1, green: 2, blue: 3)],
            [
                Issue(position: 0, token: "v1=3", reason: .countMismatch(declared: 3, found: 2)),
                Issue(
                    position: 5, token: "v0=300",
                    reason: .valueOutOfRange(value: 300, valid: 0...255)),
                Issue(position: 7, token: "v0=7", reason: .incompleteGroup(expected: 3, found: 1)),
            ]
        ),
        (
            "v0=1 v0=2 v0=3", [PaletteColor(red: 1, green: 2, blue: 3)],
            [
                Issue(
                    position: 0, token: "v0=1",
                    reason: .unexpectedToken(expected: "v1= (the colour count)"))
            ]
        ),
        (
            "v1=9 v0=1 v0=2 v0=3 cat v2=4", [PaletteColor(red: 1, green: 2, blue: 3)],
            [
                Issue(position: 0, token: "v1=9", reason: .valueOutOfRange(value: 9, valid: 1...7)),
                Issue(
                    position: 4, token: "cat",
                    reason: .unexpectedToken(expected: "v0= (a colour channel)")),
                Issue(
                    position: 5, token: "v2=4",
                    reason: .unexpectedToken(expected: "v0= (a colour channel)")),
            ]
        ),
        (
            "v1=2 v0=1 v0=2 v0=3 v0=4 v0=5 v0=6 v0=7 v0=8 v0=9",
            [
                PaletteColor(red: 1, green: 2, blue: 3), PaletteColor(red: 4, green: 5, blue: 6),
                PaletteColor(red: 7, green: 8, blue: 9),
            ],
            [Issue(position: 0, token: "v1=2", reason: .countMismatch(declared: 2, found: 3))]
        ),
    ]

    @Test(arguments: malformed)
    func recoversAndReportsMalformedSequences(text: String, colors: [PaletteColor], issues: [Issue])
    {
        let decoded = ColorPaletteCodec().decode(text: text)
        #expect(decoded.value == colors)
        #expect(decoded.issues == issues)
    }
}
