/// One colour of a palette: 8-bit RGB channels (spec/tokenizers.md section 8.6).
public struct PaletteColor: Sendable, Equatable, Hashable {
    /// Red, 0…255.
    public var red: Int
    /// Green, 0…255.
    public var green: Int
    /// Blue, 0…255.
    public var blue: Int

    /// Creates a colour from channel values.
    /// - Parameters:
    ///   - red: Red, 0…255.
    ///   - green: Green, 0…255.
    ///   - blue: Blue, 0…255.
    public init(red: Int, green: Int, blue: Int) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// Creates a colour from fractional channel values (such as k-means centres), rounded
    /// with Python's round-half-to-even as the reference's `round(value)` does.
    /// - Parameters:
    ///   - red: Red, about 0…255.
    ///   - green: Green, about 0…255.
    ///   - blue: Blue, about 0…255.
    /// - Throws: ``SequenceCodecError/invalidValue(modality:field:value:expected:)`` for a
    ///   channel that is not finite or rounds outside 0…255.
    public init(roundingRed red: Double, green: Double, blue: Double) throws(SequenceCodecError) {
        var channels: [Int] = []
        for (label, value) in [("red", red), ("green", green), ("blue", blue)] {
            guard let channel = roundHalfToEven(value, in: 0...255) else {
                throw .invalidValue(
                    modality: ColorPaletteCodec.modality, field: label, value: "\(value)",
                    expected: "a channel value in 0...255")
            }
            channels.append(channel)
        }
        self.init(red: channels[0], green: channels[1], blue: channels[2])
    }
}

/// The `color_palette` modality: colours ↔ `v1=<k> v0=<r1> v0=<g1> v0=<b1> … v0=<bk>`
/// (spec/tokenizers.md section 8.6, `ColorPaletteTransform` of the reference).
///
/// ```swift
/// let codec = ColorPaletteCodec()
/// let text = try codec.encode([PaletteColor(red: 12, green: 200, blue: 34)])
/// // "v1=1 v0=12 v0=200 v0=34"
/// ```
public struct ColorPaletteCodec: SequenceCodec {
    /// `"color_palette"`.
    public static let modality = "color_palette"
    /// The most colours a palette has (the reference draws k in 1…7).
    public static let maximumColorCount = 7
    /// 23 ids: `v1=k`, 21 channel values and `[EOS]` (spec/tokenizers.md section 7.4).
    public var maximumLength: Int { 23 }

    /// Creates a codec.
    public init() {}

    /// Writes a palette: the colour count (`round(3k / 3)` = k) then every channel.
    /// - Parameter colors: 1…7 colours.
    /// - Returns: The sequence text.
    /// - Throws: ``SequenceCodecError/invalidValue(modality:field:value:expected:)`` for 0 or
    ///   more than 7 colours, or a channel outside 0…255.
    public func encode(_ colors: [PaletteColor]) throws(SequenceCodecError) -> String {
        guard (1...Self.maximumColorCount).contains(colors.count) else {
            throw .invalidValue(
                modality: Self.modality, field: "colors.count", value: "\(colors.count)",
                expected: "1...\(Self.maximumColorCount) colours")
        }
        var words = ["v1=\(colors.count)"]
        for (index, color) in colors.enumerated() {
            for (label, channel) in [
                ("red", color.red), ("green", color.green), ("blue", color.blue),
            ] {
                guard (0...255).contains(channel) else {
                    throw .invalidValue(
                        modality: Self.modality, field: "colors[\(index)].\(label)",
                        value: "\(channel)", expected: "0...255")
                }
                words.append("v0=\(channel)")
            }
        }
        return words.joined(separator: " ")
    }

    /// Parses a palette (spec/tokenizers.md section 8.6, "Decode"): the leading `v1=k`, then
    /// `v0=` channel values grouped in triples. A colour with a channel outside 0…255 and an
    /// incomplete last triple are dropped and reported; a count that differs from the number
    /// of triples is reported (all complete triples are kept, as the reference does).
    /// - Parameter tokens: The sequence's tokens.
    /// - Returns: The colours and the issues found.
    public func decode(_ tokens: [SequenceToken]) -> SequenceDecoding<[PaletteColor]> {
        let content = SequenceContent(tokens)
        var issues = content.issues
        guard let first = content.tokens.first else {
            let position = tokens.first?.position ?? 0
            issues.append(
                SequenceParseIssue(
                    position: position, token: tokens.first?.text ?? "", reason: .emptySequence))
            return SequenceDecoding(value: [], issues: issues)
        }
        var declared: Int? = nil
        var channelTokens = content.tokens[...]
        if let count = first.value(family: 1) {
            declared = count
            channelTokens = channelTokens.dropFirst()
            if !(1...Self.maximumColorCount).contains(count) {
                issues.append(
                    first.issue(.valueOutOfRange(value: count, valid: 1...Self.maximumColorCount)))
            }
        } else {
            issues.append(first.issue(.unexpectedToken(expected: "v1= (the colour count)")))
        }

        // Channel slots: (token, value if valid).
        var slots: [(token: SequenceToken, value: Int?)] = []
        for token in channelTokens {
            guard let value = token.value(family: 0) else {
                issues.append(token.issue(.unexpectedToken(expected: "v0= (a colour channel)")))
                continue
            }
            if (0...255).contains(value) {
                slots.append((token, value))
            } else {
                issues.append(token.issue(.valueOutOfRange(value: value, valid: 0...255)))
                slots.append((token, nil))
            }
        }
        var colors: [PaletteColor] = []
        var triples = 0
        var start = 0
        while start + 3 <= slots.count {
            triples += 1
            if let r = slots[start].value, let g = slots[start + 1].value,
                let b = slots[start + 2].value
            {
                colors.append(PaletteColor(red: r, green: g, blue: b))
            }
            start += 3
        }
        if start < slots.count {
            issues.append(
                slots[start].token.issue(.incompleteGroup(expected: 3, found: slots.count - start)))
        }
        if let declared, declared != triples, (1...Self.maximumColorCount).contains(declared) {
            issues.append(first.issue(.countMismatch(declared: declared, found: triples)))
        }
        return SequenceDecoding(value: colors, issues: issues)
    }
}
