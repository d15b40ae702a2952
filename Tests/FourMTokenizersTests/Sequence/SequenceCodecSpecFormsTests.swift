import Foundation
import FourMTestSupport
import FourMTokenizers
import Testing

/// Property tests over every form of a sequence the spec and the reference's parsers allow
/// (spec/tokenizers.md sections 7.4 and 8.4–8.8), not only the public fixture strings: for
/// random values of every size from empty to the modality's maximal length, the canonical text
/// and each of its allowed variants must parse with no issue to the same value, and re-encode
/// to the canonical text:
/// - `[EOS]` at the end, followed by any number of `[PAD]`;
/// - `[PAD]` anywhere (the reference strips it);
/// - the span-masking target style: a sentinel `[S_k]` before any group and at the end
///   (`merge_span_masking` removes them);
/// - for human poses, `none` repeated any number of times for no people, or between people.
/// With the fixture tokenizer the same holds for the ids of each form.
@Suite struct SequenceCodecSpecFormsTests {
    /// One codec under test: how to draw a value of `count` groups, the word that starts a
    /// group (where target style may put a sentinel), and the largest group count whose ids fit
    /// `maximumLength − 1` (room for `[EOS]`).
    struct Form<Codec: SequenceCodec> where Codec.Value: Equatable {
        let codec: Codec
        let groupStart: (String) -> Bool
        let groupIds: Int
        let minimumGroups: Int
        let draw: (inout SequenceTestRandom, Int) -> Codec.Value

        var maximumGroups: Int { (codec.maximumLength - 1) / groupIds }
    }

    static var detection: Form<DetectionCodec> { Form(
        codec: DetectionCodec(order: .asGiven), groupStart: { $0.hasPrefix("v0=") }, groupIds: 5, minimumGroups: 0
    ) { random, count in
        (0..<count).map { _ in
            DetectedBox(
                xmin: random.unit(), ymin: random.unit(), xmax: random.unit(), ymax: random.unit(),
                className: random.pick(COCODetectionClasses.names))
        }
    }
    }

    static var metadata: Form<MetadataCodec> { Form(
        codec: MetadataCodec(), groupStart: { $0.hasPrefix("v1=") }, groupIds: 2, minimumGroups: 0
    ) { random, count in
        Array(MetadataKey.allCases.shuffled(using: &random).prefix(count)).map { key in
            MetadataEntry(key: key, bin: random.int(key.validBins))
        }
    }
    }

    static var palette: Form<ColorPaletteCodec> { Form(
        codec: ColorPaletteCodec(), groupStart: { $0.hasPrefix("v1=") }, groupIds: 3, minimumGroups: 1
    ) { random, count in
        (0..<min(count, 7)).map { _ in PaletteColor(red: random.int(0...255), green: random.int(0...255), blue: random.int(0...255)) }
    }
    }

    static var poses: Form<HumanPoseCodec> { Form(
        codec: HumanPoseCodec(), groupStart: { $0 == "human" }, groupIds: 39, minimumGroups: 0
    ) { random, count in
        (0..<count).map { _ in
            HumanPose(
                xmin: random.unit(), ymin: random.unit(), xmax: random.unit(), ymax: random.unit(),
                poseTokenIds: (0..<8).map { _ in random.int(0...1023) },
                globalOrientation: (0..<9).map { _ in random.double(-1...1) },
                camera: (0..<3).map { _ in random.double(-1...19) },
                betas: (0..<10).map { _ in random.double(-3...3) },
                groupOrder: HumanPose.Group.allCases.shuffled(using: &random))
        }
    }
    }

    /// One point with one instance: 3 + 21 ids.
    static var sam: Form<SAMInstanceCodec> { Form(
        codec: SAMInstanceCodec(), groupStart: { $0 == "point" }, groupIds: 24, minimumGroups: 0
    ) { random, count in
        (0..<count).map { _ in
            let x0 = random.int(0...200), y0 = random.int(0...200)
            return SAMQueryPoint(
                y: random.int(0...223), x: random.int(0...223),
                instances: [
                    SAMInstance(
                        xmin: x0, ymin: y0, xmax: x0 + random.int(1...23), ymax: y0 + random.int(1...23),
                        tokenIds: (0..<16).map { _ in random.int(0...1023) })
                ])
        }
    }
    }

    /// The allowed variants of a canonical text.
    static func variants(of text: String, groupStart: (String) -> Bool, emptyMarker: String?, random: inout SequenceTestRandom) -> [String] {
        var words = text.split(separator: " ").map(String.init)
        if words.isEmpty, let emptyMarker { words = [emptyMarker] }
        var out: [String] = []
        // [EOS] then padding.
        out.append((words + ["[EOS]"] + Array(repeating: "[PAD]", count: random.int(0...5))).joined(separator: " "))
        // Padding anywhere.
        var padded: [String] = []
        for word in words {
            padded += Array(repeating: "[PAD]", count: random.int(0...2)) + [word]
        }
        out.append(padded.joined(separator: " "))
        // Target style: a sentinel before some groups (always before the first) and at the end.
        var target: [String] = []
        var sentinel = 1
        for (index, word) in words.enumerated() {
            if index == 0 || (groupStart(word) && random.int(0...1) == 1) {
                target.append("[S_\(sentinel)]")
                sentinel = min(sentinel + 1, 199)
            }
            target.append(word)
        }
        target += ["[S_\(sentinel)]", "[EOS]"]
        out.append(target.joined(separator: " "))
        return out
    }

    func check<Codec: SequenceCodec>(_ form: Form<Codec>, seed: UInt64, emptyMarker: String? = nil, extra: (String, inout SequenceTestRandom) -> [String] = { _, _ in [] }) throws where Codec.Value: Equatable {
        var random = SequenceTestRandom(seed: seed)
        let tokenizer = try SequenceFixture.require()?.tokenizer
        let counts = Array(Set([form.minimumGroups, form.maximumGroups] + (0..<20).map { _ in random.int(form.minimumGroups...max(form.minimumGroups, form.maximumGroups)) })).sorted()
        for count in counts {
            let value = form.draw(&random, count)
            let canonical = try form.codec.encode(value)
            let expected = form.codec.decode(text: canonical)
            #expect(expected.issues.isEmpty, "\(Codec.modality) \(count) groups: \(expected.issues)")
            if let tokenizer {
                let ids = try form.codec.ids(for: expected.value, using: tokenizer, appendingEOS: true)
                #expect(ids.count <= form.codec.maximumLength, "\(Codec.modality): \(count) groups give \(ids.count) ids")
            }
            let forms = Self.variants(of: canonical, groupStart: form.groupStart, emptyMarker: emptyMarker, random: &random) + extra(canonical, &random)
            for text in forms {
                let parsed = form.codec.decode(text: text)
                #expect(parsed.issues.isEmpty, "\(Codec.modality) \(text.prefix(200)): \(parsed.issues)")
                #expect(parsed.value == expected.value, "\(Codec.modality) \(text.prefix(200)): value")
                #expect(try form.codec.encode(parsed.value) == canonical, "\(Codec.modality) \(text.prefix(200)): re-encodes")
                if let tokenizer {
                    let fromIds = form.codec.decode(ids: tokenizer.encode(text), using: tokenizer)
                    #expect(fromIds.issues.isEmpty, "\(Codec.modality) ids of \(text.prefix(200)): \(fromIds.issues)")
                    #expect(fromIds.value == expected.value, "\(Codec.modality) ids of \(text.prefix(200)): value")
                }
            }
        }
    }

    @Test func detection() throws { try check(Self.detection, seed: 301) }
    @Test func metadata() throws { try check(Self.metadata, seed: 302) }
    @Test func palette() throws { try check(Self.palette, seed: 303) }
    @Test func samInstances() throws { try check(Self.sam, seed: 304) }

    @Test func humanPoses() throws {
        try check(Self.poses, seed: 305, emptyMarker: "none") { canonical, random in
            // `none` repeated, alone or between people.
            let markers = Array(repeating: "none", count: random.int(1...4)).joined(separator: " ")
            if canonical == "none" { return [markers, markers + " [EOS]", "[S_1] " + markers + " [S_2] [EOS]"] }
            let people = canonical.components(separatedBy: "human ").filter { !$0.isEmpty }.map { "human " + $0.trimmingCharacters(in: .whitespaces) }
            return [markers + " " + people.joined(separator: " " + markers + " ") + " " + markers]
        }
    }

    /// `[SOS]` and `[UNK]` are not part of any 4M sequence: reported wherever they stand, and
    /// what surrounds them still parses.
    @Test func reportsStartAndUnknownTokens() throws {
        let codec = DetectionCodec(order: .asGiven)
        let text = "v0=1 v1=2 v2=3 v3=4 cat"
        for special in ["[SOS]", "[UNK]"] {
            let parsed = codec.decode(text: special + " " + text)
            #expect(parsed.value == codec.decode(text: text).value)
            #expect(parsed.issues.map(\.reason) == [.unexpectedSpecialToken])
        }
    }
}
