/// The `human_poses` modality: people ↔ 39-token groups `human v0= v1= v2= v3=` followed by
/// the `pose`, `global`, `camera` and `shape` groups (spec/tokenizers.md section 8.7,
/// `HumanPoseTransform` of the reference).
///
/// Quantization (Python round-half-to-even, the reference's order of operations):
/// box `round(c · 999)`; global orientation `round(499.5 · g + 499.5)`; camera
/// `round(49.95 · clamp(c, −1, 19) + 49.95)`; betas `round(166.5 · b + 499.5)`; pose id `t` as
/// `v0=t` when `t < 512`, else `v1=t−512`. Each person is followed by one space, as in the
/// reference; no person is written `none`.
///
/// ```swift
/// let codec = HumanPoseCodec()
/// let parsed = codec.decode(ids: generatedIds, using: tokenizer)
/// for person in parsed.value { print(person.poseTokenIds) }  // → pose tokenizer
/// ```
public struct HumanPoseCodec: SequenceCodec {
    /// `"human_poses"`.
    public static let modality = "human_poses"
    /// Size of the pose tokenizer's codebook: ids are 0…1023 (spec/tokenizers.md section 6.11).
    public static let poseCodebookSize = 1024
    /// 275 ids (spec/tokenizers.md section 7.4).
    public var maximumLength: Int { 275 }
    /// Coordinate bins of the box (1000: coordinates 0…999).
    public static let coordinateBins = 1000

    /// Creates a codec.
    public init() {}

    // MARK: - Encoding

    /// Writes people as the reference does.
    /// - Parameter people: The people, in order; empty writes `none`.
    /// - Returns: The sequence text.
    /// - Throws: ``SequenceCodecError/invalidValue(modality:field:value:expected:)`` for a
    ///   box coordinate, orientation entry or beta that is not finite or quantizes outside
    ///   0…999, a non-finite camera value, a pose id outside 0…1023, a group with the wrong
    ///   number of values, or a `groupOrder` that is not a permutation of the four groups.
    public func encode(_ people: [HumanPose]) throws(SequenceCodecError) -> String {
        guard !people.isEmpty else { return "none" }
        var text = ""
        for (index, person) in people.enumerated() {
            let field = "people[\(index)]"
            var words = ["human"]
            let box = [
                ("xmin", person.xmin), ("ymin", person.ymin), ("xmax", person.xmax),
                ("ymax", person.ymax),
            ]
            for (family, (label, c)) in box.enumerated() {
                let scaled = c * Double(Self.coordinateBins - 1)
                let bin = try quantized(
                    scaled, field: "\(field).\(label)", expected: "a coordinate in [0, 1]")
                words.append("v\(family)=\(bin)")
            }
            guard person.groupOrder.count == 4, Set(person.groupOrder).count == 4 else {
                throw .invalidValue(
                    modality: Self.modality, field: "\(field).groupOrder",
                    value: "\(person.groupOrder.map(\.rawValue))",
                    expected: "a permutation of pose, global, camera, shape")
            }
            for group in person.groupOrder {
                words.append(group.rawValue)
                words += try values(of: group, person: person, field: field)
            }
            text += words.joined(separator: " ") + " "
        }
        return text
    }

    private func values(of group: HumanPose.Group, person: HumanPose, field: String)
        throws(SequenceCodecError) -> [String]
    {
        let count: Int
        switch group {
        case .pose: count = person.poseTokenIds.count
        case .global: count = person.globalOrientation.count
        case .camera: count = person.camera.count
        case .shape: count = person.betas.count
        }
        guard count == group.valueCount else {
            throw .invalidValue(
                modality: Self.modality, field: "\(field).\(group.rawValue)",
                value: "\(count) values",
                expected: "\(group.valueCount) values")
        }
        switch group {
        case .pose:
            var words: [String] = []
            for (i, id) in person.poseTokenIds.enumerated() {
                guard (0..<Self.poseCodebookSize).contains(id) else {
                    throw .invalidValue(
                        modality: Self.modality, field: "\(field).poseTokenIds[\(i)]",
                        value: "\(id)",
                        expected: "0...\(Self.poseCodebookSize - 1)")
                }
                words.append(id < 512 ? "v0=\(id)" : "v1=\(id - 512)")
            }
            return words
        case .global:
            var words: [String] = []
            for (i, g) in person.globalOrientation.enumerated() {
                let bin = try quantized(
                    499.5 * g + 499.5, field: "\(field).globalOrientation[\(i)]",
                    expected: "a value in [-1, 1]")
                words.append("v0=\(bin)")
            }
            return words
        case .camera:
            var words: [String] = []
            for (i, c) in person.camera.enumerated() {
                guard !c.isNaN else {
                    throw .invalidValue(
                        modality: Self.modality, field: "\(field).camera[\(i)]", value: "\(c)",
                        expected: "a number (clamped to [-1, 19])")
                }
                let clamped = min(max(c, -1), 19)
                let bin = try quantized(
                    49.95 * clamped + 49.95, field: "\(field).camera[\(i)]", expected: "[-1, 19]")
                words.append("v0=\(bin)")
            }
            return words
        case .shape:
            var words: [String] = []
            for (i, b) in person.betas.enumerated() {
                let bin = try quantized(
                    166.5 * b + 499.5, field: "\(field).betas[\(i)]", expected: "a value in [-3, 3]"
                )
                words.append("v0=\(bin)")
            }
            return words
        }
    }

    private func quantized(_ scaled: Double, field: String, expected: String)
        throws(SequenceCodecError) -> Int
    {
        guard let bin = roundHalfToEven(scaled, in: 0...999) else {
            throw .invalidValue(
                modality: Self.modality, field: field, value: "\(scaled) after scaling",
                expected: expected)
        }
        return bin
    }

    // MARK: - Decoding

    /// Parses people (spec/tokenizers.md section 8.7, "Decode"), by keyword rather than by
    /// fixed 39-token chunks: every `human` starts a person, whose box must be `v0= v1= v2= v3=`
    /// and whose four groups may come in any order. A person with a broken box, or with a group
    /// missing or of the wrong length, is dropped and reported; a repeated group keeps its
    /// first occurrence. `none` marks "no person": a sequence of only `none` markers (one or
    /// several) is no people, and a marker after a person ends that person.
    ///
    /// Values decode as the reference does: box `n / 999`, global `(n − 499.5) / 499.5`,
    /// camera `(n − 49.95) / 49.95`, betas `(n − 499.5) / 166.5`, pose id `n` for `v0=n` and
    /// `n + 512` for `v1=n`.
    /// - Parameter tokens: The sequence's tokens.
    /// - Returns: The people and the issues found.
    public func decode(_ tokens: [SequenceToken]) -> SequenceDecoding<[HumanPose]> {
        let content = SequenceContent(tokens)
        var issues = content.issues
        guard !content.tokens.isEmpty else {
            issues.append(
                SequenceParseIssue(
                    position: tokens.first?.position ?? 0, token: tokens.first?.text ?? "",
                    reason: .emptySequence))
            return SequenceDecoding(value: [], issues: issues)
        }
        // `none` marks "no person here": the reference writes it for an image without people
        // and skips anything that is not a 39-token person, so a sequence of `none` markers
        // (a span-masking target can repeat it) is no people, and a marker between people ends
        // the person before it.
        var chunks: [[SequenceToken]] = []
        var inPerson = false
        for token in content.tokens {
            if token.word == "none" {
                inPerson = false
            } else if token.word == "human" {
                chunks.append([token])
                inPerson = true
            } else if !inPerson {
                issues.append(token.issue(.unexpectedToken(expected: "human or none")))
            } else {
                chunks[chunks.count - 1].append(token)
            }
        }
        var people: [HumanPose] = []
        for chunk in chunks {
            if let person = parsePerson(chunk, issues: &issues) { people.append(person) }
        }
        return SequenceDecoding(value: people, issues: issues)
    }

    /// Parses one chunk that starts with `human`.
    private func parsePerson(_ chunk: [SequenceToken], issues: inout [SequenceParseIssue])
        -> HumanPose?
    {
        let head = chunk[0]
        var box: [Double] = []
        for family in 0..<4 {
            guard family + 1 < chunk.count, let value = chunk[family + 1].value(family: family)
            else {
                issues.append(head.issue(.incompleteGroup(expected: 4, found: family)))
                return nil
            }
            box.append(Double(value) / Double(Self.coordinateBins - 1))
        }

        var found: [HumanPose.Group: [Int]] = [:]  // pose: ids; others: v0 values
        var order: [HumanPose.Group] = []
        var broken = false
        var index = 5
        while index < chunk.count {
            let keyword = chunk[index]
            index += 1
            guard let word = keyword.word, let group = HumanPose.Group(rawValue: word) else {
                issues.append(
                    keyword.issue(.unexpectedToken(expected: "pose, global, camera or shape")))
                continue
            }
            var values: [SequenceToken] = []
            while index < chunk.count, chunk[index].isValue {
                values.append(chunk[index])
                index += 1
            }
            guard found[group] == nil, !order.contains(group) else {
                issues.append(keyword.issue(.duplicateEntry(group.rawValue)))
                continue
            }
            order.append(group)
            guard values.count == group.valueCount else {
                issues.append(
                    keyword.issue(.incompleteGroup(expected: group.valueCount, found: values.count))
                )
                broken = true
                continue
            }
            var numbers: [Int] = []
            for token in values {
                if group == .pose, let n = token.value(family: 0) {
                    numbers.append(n)
                } else if group == .pose, let n = token.value(family: 1) {
                    guard n + 512 < Self.poseCodebookSize else {
                        issues.append(
                            token.issue(
                                .valueOutOfRange(value: n, valid: 0...(Self.poseCodebookSize - 513))
                            ))
                        broken = true
                        break
                    }
                    numbers.append(n + 512)
                } else if let n = token.value(family: 0) {
                    numbers.append(n)
                } else {
                    issues.append(
                        token.issue(
                            .unexpectedToken(expected: group == .pose ? "v0= or v1=" : "v0=")))
                    broken = true
                    break
                }
            }
            if numbers.count == group.valueCount { found[group] = numbers }
        }
        for group in HumanPose.Group.allCases where !order.contains(group) {
            issues.append(head.issue(.missingGroup(group.rawValue)))
            broken = true
        }
        guard !broken, let pose = found[.pose], let global = found[.global],
            let camera = found[.camera], let shape = found[.shape]
        else { return nil }
        return HumanPose(
            xmin: box[0], ymin: box[1], xmax: box[2], ymax: box[3], poseTokenIds: pose,
            globalOrientation: global.map { (Double($0) - 499.5) / 499.5 },
            camera: camera.map { (Double($0) - 49.95) / 49.95 },
            betas: shape.map { (Double($0) - 499.5) / 166.5 },
            groupOrder: order)
    }
}
