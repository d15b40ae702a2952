import FourMTokenizers
import Testing

/// `human_poses` serialisation (spec/tokenizers.md section 8.7).
@Suite struct SequenceCodecHumanPoseTests {
    typealias Issue = SequenceParseIssue

    /// Hand-computed: 499.5·(−0.4) + 499.5 = 299.7 → 300; 499.5·0 + 499.5 = 499.5 → 500 (half
    /// to even); 49.95·0.5 + 49.95 = 74.925 → 75; camera −3 and 25 clamp to −1 and 19;
    /// 166.5·(−1.5) + 499.5 = 249.75 → 250; pose ids ≥ 512 are written `v1=t−512`.
    static let person = HumanPose(
        xmin: 0.1, ymin: 0.2, xmax: 0.6, ymax: 0.9,
        poseTokenIds: [5, 100, 511, 512, 700, 1023, 0, 42],
        globalOrientation: [-0.4, -0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3, 0.4],
        camera: [0.5, -3, 25], betas: [-1.5, -1.2, -0.9, -0.6, -0.3, 0, 0.3, 0.6, 0.9, 1.2],
        groupOrder: [.global, .camera, .pose, .shape])
    static let personText =
        "human v0=100 v1=200 v2=599 v3=899 global v0=300 v0=350 v0=400 v0=450 v0=500 v0=549 "
        + "v0=599 v0=649 v0=699 camera v0=75 v0=0 v0=999 pose v0=5 v0=100 v0=511 v1=0 v1=188 "
        + "v1=511 v0=0 v0=42 shape v0=250 v0=300 v0=350 v0=400 v0=450 v0=500 v0=549 v0=599 "
        + "v0=649 v0=699 "

    @Test func encodesLikeTheReferenceTransform() throws {
        let codec = HumanPoseCodec()
        #expect(try codec.encode([Self.person]) == Self.personText)
        #expect(try codec.encode([Self.person, Self.person]) == Self.personText + Self.personText)
        #expect(try codec.encode([]) == "none")
        #expect(codec.decode(text: "none") == SequenceDecoding(value: [], issues: []))
        #expect(SequenceToken.tokens(inText: Self.personText).count == 39)
    }

    @Test func decodesValuesLikeTheReference() throws {
        let decoded = HumanPoseCodec().decode(text: Self.personText)
        #expect(decoded.isClean)
        let person = try #require(decoded.value.first)
        #expect(person.xmin == 100.0 / 999 && person.ymax == 899.0 / 999)
        #expect(person.poseTokenIds == Self.person.poseTokenIds)
        #expect(person.globalOrientation[0] == (300 - 499.5) / 499.5)
        #expect(person.camera == [(75 - 49.95) / 49.95, -1, (999 - 49.95) / 49.95])
        #expect(person.betas[0] == (250 - 499.5) / 166.5)
        #expect(person.groupOrder == [.global, .camera, .pose, .shape])
        #expect(person.pixelBox().xmin == 100.0 / 999 * 224)
        #expect(try HumanPoseCodec().encode(decoded.value) == Self.personText)
    }

    @Test func rejectsValuesTheVocabularyCannotExpress() {
        let codec = HumanPoseCodec()
        var bad = Self.person
        bad.poseTokenIds[3] = 1024
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "human_poses", field: "people[0].poseTokenIds[3]", value: "1024",
                expected: "0...1023")
        ) { try codec.encode([bad]) }
        bad = Self.person
        bad.betas = [0]
        #expect(
            throws: SequenceCodecError.invalidValue(
                modality: "human_poses", field: "people[0].shape", value: "1 values",
                expected: "10 values")
        ) { try codec.encode([bad]) }
        bad = Self.person
        bad.groupOrder = [.pose, .pose, .camera, .shape]
        #expect(throws: SequenceCodecError.self) { try codec.encode([bad]) }
        bad = Self.person
        bad.globalOrientation[8] = 1.5
        #expect(throws: SequenceCodecError.self) { try codec.encode([bad]) }
        bad = Self.person
        bad.camera[0] = .nan
        #expect(throws: SequenceCodecError.self) { try codec.encode([bad]) }
    }

    @Test func dropsAndReportsTruncatedPeople() {
        let words = Self.personText.split(separator: " ").map(String.init)
        // Cut inside the pose group (after "pose" and two ids): the shape group never comes.
        let poseAt = words.firstIndex(of: "pose") ?? 0
        let truncated = words.prefix(poseAt + 3).joined(separator: " ")
        let decoded = HumanPoseCodec().decode(text: Self.personText + truncated)
        #expect(decoded.value == HumanPoseCodec().decode(text: Self.personText).value)
        #expect(
            decoded.issues == [
                Issue(position: 39, token: "human", reason: .missingGroup("shape")),
                Issue(
                    position: 39 + poseAt, token: "pose",
                    reason: .incompleteGroup(expected: 8, found: 2)),
            ])
    }

    @Test func reportsBrokenGroupsAndStrayTokens() {
        var words = Self.personText.split(separator: " ").map(String.init)
        let poseAt = words.firstIndex(of: "pose") ?? 0
        let globalAt = words.firstIndex(of: "global") ?? 0
        words[poseAt + 1] = "v1=600"  // id 1112: outside the codebook
        let broken = words.joined(separator: " ")
        var second = Self.personText.split(separator: " ").map(String.init)
        second[globalAt + 2] = "v2=350"  // global values are v0= only
        let text = "cat " + broken + " " + second.joined(separator: " ") + " none"
        let decoded = HumanPoseCodec().decode(text: text)
        #expect(decoded.value.isEmpty)
        #expect(
            decoded.issues == [
                Issue(position: 0, token: "cat", reason: .unexpectedToken(expected: "human or none")),
                Issue(
                    position: 1 + poseAt + 1, token: "v1=600",
                    reason: .valueOutOfRange(value: 600, valid: 0...511)),
                Issue(
                    position: 40 + globalAt + 2, token: "v2=350",
                    reason: .unexpectedToken(expected: "v0=")),
            ])
    }

    /// `none` marks "no person" however often it is written (a span-masking target repeats
    /// it), and between people it only ends the person before it (spec/tokenizers.md 8.7: the
    /// reference keeps what parses as a person and skips the rest).
    @Test(arguments: 1...5)
    func acceptsRepeatedNoneMarkers(count: Int) throws {
        let codec = HumanPoseCodec()
        let markers = Array(repeating: "none", count: count)
        let alone = codec.decode(text: markers.joined(separator: " "))
        #expect(alone == SequenceDecoding(value: [], issues: []))
        let person = codec.decode(text: Self.personText).value
        let mixed = codec.decode(text: (markers + [Self.personText] + markers + [Self.personText]).joined(separator: " ") + " [EOS]")
        #expect(mixed == SequenceDecoding(value: person + person, issues: []))
        #expect(try codec.encode(alone.value) == "none")
    }

    @Test func keepsTheFirstOfARepeatedGroup() {
        let words = Self.personText.split(separator: " ").map(String.init)
        let cameraAt = words.firstIndex(of: "camera") ?? 0
        let camera = words[cameraAt..<(cameraAt + 4)].map { $0 == "v0=999" ? "v0=1" : $0 }
        let text = (words + camera).joined(separator: " ")
        let decoded = HumanPoseCodec().decode(text: text)
        #expect(decoded.value == HumanPoseCodec().decode(text: Self.personText).value)
        #expect(
            decoded.issues == [
                Issue(position: 39, token: "camera", reason: .duplicateEntry("camera"))
            ])
    }

    static let malformed: [(String, [Issue])] = [
        ("", [Issue(position: 0, token: "", reason: .emptySequence)]),
        ("[PAD] [EOS]", [Issue(position: 0, token: "[PAD]", reason: .emptySequence)]),
        (
            "none v0=1",
            [
                Issue(
                    position: 1, token: "v0=1",
                    reason: .unexpectedToken(expected: "human or none"))
            ]
        ),
        (
            "human v0=1 v1=2 pose",
            [Issue(position: 0, token: "human", reason: .incompleteGroup(expected: 4, found: 2))]
        ),
        (
            "human v0=1 v1=2 v2=3 v3=4",
            ["pose", "global", "camera", "shape"].map {
                Issue(position: 0, token: "human", reason: .missingGroup($0))
            }
        ),
    ]

    @Test(arguments: malformed)
    func reportsMalformedSequences(text: String, issues: [Issue]) {
        let decoded = HumanPoseCodec().decode(text: text)
        #expect(decoded.value.isEmpty)
        #expect(decoded.issues == issues)
    }

    @Test func roundTripsRandomPeople() throws {
        var random = SequenceTestRandom(seed: 86)
        let codec = HumanPoseCodec()
        for _ in 0..<100 {
            let people = (0..<random.int(0...6)).map { _ in
                HumanPose(
                    xmin: random.unit(), ymin: random.unit(), xmax: random.unit(),
                    ymax: random.unit(),
                    poseTokenIds: (0..<8).map { _ in random.int(0...1023) },
                    globalOrientation: (0..<9).map { _ in random.double(-1...1) },
                    camera: (0..<3).map { _ in random.double(-2...21) },
                    betas: (0..<10).map { _ in random.double(-3...3) },
                    groupOrder: HumanPose.Group.allCases.shuffled(using: &random))
            }
            let text = try codec.encode(people)
            let decoded = codec.decode(text: text)
            #expect(decoded.isClean, "\(decoded.issues)")
            #expect(decoded.value.count == people.count)
            #expect(try codec.encode(decoded.value) == text, "encode(decode(x)) == x")
            #expect(codec.decode(text: try codec.encode(decoded.value)) == decoded)
        }
    }
}
