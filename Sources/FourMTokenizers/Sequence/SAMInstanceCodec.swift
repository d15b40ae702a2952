/// One SAM instance of a `sam_instance` sequence: its box in integer pixels of the 224×224
/// image and the ids of the SAM-instance tokenizer (spec/tokenizers.md sections 6.10, 8.8).
///
/// Turning ``tokenIds`` into a mask (`(N, 4, 4)` ids → 64×64 logits) is the SAM-instance
/// tokenizer's job.
public struct SAMInstance: Sendable, Equatable, Hashable {
    /// Left edge in pixels.
    public var xmin: Int
    /// Top edge in pixels.
    public var ymin: Int
    /// Right edge in pixels.
    public var xmax: Int
    /// Bottom edge in pixels.
    public var ymax: Int
    /// The tokenizer ids (16 for the released tokenizer), each in 0…1023, row-major 4×4.
    public var tokenIds: [Int]

    /// Creates an instance.
    /// - Parameters:
    ///   - xmin: Left edge in pixels.
    ///   - ymin: Top edge in pixels.
    ///   - xmax: Right edge in pixels.
    ///   - ymax: Bottom edge in pixels.
    ///   - tokenIds: The tokenizer ids.
    public init(xmin: Int, ymin: Int, xmax: Int, ymax: Int, tokenIds: [Int]) {
        self.xmin = xmin
        self.ymin = ymin
        self.xmax = xmax
        self.ymax = ymax
        self.tokenIds = tokenIds
    }

    /// `(xmax − xmin) · (ymax − ymin)`, the key the reference sorts instances by (saturating
    /// at `Int.max` / `Int.min` for absurd coordinates instead of trapping).
    public var area: Int {
        let (width, o1) = xmax.subtractingReportingOverflow(xmin)
        let (height, o2) = ymax.subtractingReportingOverflow(ymin)
        let (product, o3) = width.multipliedReportingOverflow(by: height)
        guard !(o1 || o2 || o3) else {
            return (xmax >= xmin) == (ymax >= ymin) ? Int.max : Int.min
        }
        return product
    }
}

/// One query point of a `sam_instance` sequence and the instances that contain it
/// (spec/tokenizers.md section 8.8). No instance is written `none`.
public struct SAMQueryPoint: Sendable, Equatable, Hashable {
    /// Row of the point in pixels (written first, as `v0=`).
    public var y: Int
    /// Column in pixels (written as `v1=`).
    public var x: Int
    /// The instances containing the point, in sequence order.
    public var instances: [SAMInstance]

    /// Creates a query point.
    /// - Parameters:
    ///   - y: Row in pixels.
    ///   - x: Column in pixels.
    ///   - instances: The instances containing the point.
    public init(y: Int, x: Int, instances: [SAMInstance]) {
        self.y = y
        self.x = x
        self.instances = instances
    }
}

/// The `sam_instance` modality: query points ↔ `point v0=y v1=x` followed by `none` or by
/// `polygon v0=xmin v1=ymin v2=xmax v3=ymax` + the instance's ids (`v0=t` for `t < 512`, else
/// `v1=t−512`) per instance (spec/tokenizers.md section 8.8, `SAMInstanceTokTransform`).
///
/// ```swift
/// let codec = SAMInstanceCodec()
/// let parsed = codec.decode(ids: generatedIds, using: tokenizer)
/// let instances = SAMInstanceCodec.instancesByArea(parsed.value)  // → SAM tokenizer
/// ```
public struct SAMInstanceCodec: SequenceCodec {
    /// `"sam_instance"`.
    public static let modality = "sam_instance"
    /// Size of the SAM-instance tokenizer's codebook: ids are 0…1023.
    public static let codebookSize = 1024
    /// 290 ids (spec/tokenizers.md section 7.4).
    public var maximumLength: Int { 290 }
    /// Ids per instance an instance must have (16 for the released tokenizer, whose decode
    /// keeps only polygons of exactly 4 + 16 items); nil accepts any non-zero count.
    public var tokensPerInstance: Int?

    /// Creates a codec.
    /// - Parameter tokensPerInstance: Required ids per instance, or nil for any count.
    public init(tokensPerInstance: Int? = 16) {
        self.tokensPerInstance = tokensPerInstance
    }

    /// All instances of a parsed sequence, ordered by descending box area as the reference's
    /// decoder does before decoding the masks (a stable order for equal areas).
    /// - Parameter points: Parsed query points.
    /// - Returns: The instances.
    public static func instancesByArea(_ points: [SAMQueryPoint]) -> [SAMInstance] {
        points.flatMap(\.instances).enumerated()
            .sorted { ($1.element.area, $0.offset) < ($0.element.area, $1.offset) }
            .map(\.element)
    }

    // MARK: - Encoding

    /// Writes query points as the reference does (the caller chooses the point and instance
    /// order, which the reference shuffles).
    /// - Parameter points: The query points.
    /// - Returns: The sequence text (empty for no points).
    /// - Throws: ``SequenceCodecError/invalidValue(modality:field:value:expected:)`` for a
    ///   coordinate outside 0…999, a box whose minimum is not below its maximum, an id outside
    ///   0…1023, or an id count other than ``tokensPerInstance`` (or zero ids).
    public func encode(_ points: [SAMQueryPoint]) throws(SequenceCodecError) -> String {
        var words: [String] = []
        for (p, point) in points.enumerated() {
            let field = "points[\(p)]"
            try check(point.y, "\(field).y")
            try check(point.x, "\(field).x")
            words += ["point", "v0=\(point.y)", "v1=\(point.x)"]
            if point.instances.isEmpty {
                words.append("none")
                continue
            }
            for (i, instance) in point.instances.enumerated() {
                let field = "\(field).instances[\(i)]"
                try check(instance.xmin, "\(field).xmin")
                try check(instance.ymin, "\(field).ymin")
                try check(instance.xmax, "\(field).xmax")
                try check(instance.ymax, "\(field).ymax")
                guard instance.xmin < instance.xmax, instance.ymin < instance.ymax else {
                    throw .invalidValue(
                        modality: Self.modality, field: field,
                        value:
                            "box \([instance.xmin, instance.ymin, instance.xmax, instance.ymax])",
                        expected: "xmin < xmax and ymin < ymax")
                }
                let count = instance.tokenIds.count
                guard count > 0, tokensPerInstance.map({ $0 == count }) ?? true else {
                    throw .invalidValue(
                        modality: Self.modality, field: "\(field).tokenIds", value: "\(count) ids",
                        expected: tokensPerInstance.map { "\($0) ids" } ?? "at least one id")
                }
                words += [
                    "polygon", "v0=\(instance.xmin)", "v1=\(instance.ymin)", "v2=\(instance.xmax)",
                    "v3=\(instance.ymax)",
                ]
                for (k, id) in instance.tokenIds.enumerated() {
                    guard (0..<Self.codebookSize).contains(id) else {
                        throw .invalidValue(
                            modality: Self.modality, field: "\(field).tokenIds[\(k)]",
                            value: "\(id)",
                            expected: "0...\(Self.codebookSize - 1)")
                    }
                    words.append(id < 512 ? "v0=\(id)" : "v1=\(id - 512)")
                }
            }
        }
        return words.joined(separator: " ")
    }

    private func check(_ coordinate: Int, _ field: String) throws(SequenceCodecError) {
        guard (0...999).contains(coordinate) else {
            throw .invalidValue(
                modality: Self.modality, field: field, value: "\(coordinate)",
                expected: "a pixel coordinate in 0...999")
        }
    }

    // MARK: - Decoding

    /// Parses query points (spec/tokenizers.md section 8.8, "Decode"): every `point` starts a
    /// group whose first two tokens must be `v0=y v1=x`; then `none`, or `polygon` groups of
    /// four box coordinates (`v0` … `v3` in order, minimum below maximum) and the ids (`v0=n`
    /// → n, `v1=n` → n + 512). A polygon with another id count than ``tokensPerInstance``, a
    /// bad box or a bad id is dropped and reported; a point with broken coordinates or
    /// without content is dropped and reported; a point all of whose polygons were dropped is
    /// dropped too (its polygons are reported).
    /// - Parameter tokens: The sequence's tokens.
    /// - Returns: The query points and the issues found.
    public func decode(_ tokens: [SequenceToken]) -> SequenceDecoding<[SAMQueryPoint]> {
        let content = SequenceContent(tokens)
        var issues = content.issues

        var groups: [[SequenceToken]] = []
        for token in content.tokens {
            if token.word == "point" {
                groups.append([token])
            } else if groups.isEmpty {
                issues.append(token.issue(.unexpectedToken(expected: "point")))
            } else {
                groups[groups.count - 1].append(token)
            }
        }

        var points: [SAMQueryPoint] = []
        for group in groups {
            let head = group[0]
            guard group.count >= 3, let y = group[1].value(family: 0),
                let x = group[2].value(family: 1)
            else {
                issues.append(
                    head.issue(.incompleteGroup(expected: 2, found: coordinateCount(group))))
                continue
            }
            let rest = group.dropFirst(3)
            guard let firstItem = rest.first else {
                issues.append(
                    head.issue(.unexpectedToken(expected: "'none' or 'polygon' after the point")))
                continue
            }
            if firstItem.word == "none", rest.count == 1 {
                points.append(SAMQueryPoint(y: y, x: x, instances: []))
                continue
            }
            var polygons: [[SequenceToken]] = []
            for token in rest {
                if token.word == "polygon" {
                    polygons.append([token])
                } else if polygons.isEmpty {
                    issues.append(token.issue(.unexpectedToken(expected: "polygon")))
                } else {
                    polygons[polygons.count - 1].append(token)
                }
            }
            let instances = polygons.compactMap { parseInstance($0, issues: &issues) }
            if !instances.isEmpty {
                points.append(SAMQueryPoint(y: y, x: x, instances: instances))
            }
        }
        return SequenceDecoding(value: points, issues: issues)
    }

    /// The number of leading well-placed point coordinates (for the issue).
    private func coordinateCount(_ group: [SequenceToken]) -> Int {
        guard group.count > 1, group[1].value(family: 0) != nil else { return 0 }
        return group.count > 2 && group[2].value(family: 1) != nil ? 2 : 1
    }

    /// Parses one polygon group that starts with `polygon`.
    private func parseInstance(_ group: [SequenceToken], issues: inout [SequenceParseIssue])
        -> SAMInstance?
    {
        let head = group[0]
        var box: [Int] = []
        for family in 0..<4 {
            guard family + 1 < group.count, let value = group[family + 1].value(family: family)
            else {
                issues.append(
                    head.issue(
                        .incompleteGroup(
                            expected: 4 + (tokensPerInstance ?? 1), found: max(0, group.count - 1)))
                )
                return nil
            }
            box.append(value)
        }
        var ids: [Int] = []
        for token in group.dropFirst(5) {
            if let n = token.value(family: 0) {
                ids.append(n)
            } else if let n = token.value(family: 1) {
                guard n + 512 < Self.codebookSize else {
                    issues.append(
                        token.issue(
                            .valueOutOfRange(value: n, valid: 0...(Self.codebookSize - 513))))
                    return nil
                }
                ids.append(n + 512)
            } else {
                issues.append(
                    token.issue(.unexpectedToken(expected: "v0= or v1= (an instance id)")))
                return nil
            }
        }
        if let expected = tokensPerInstance, ids.count != expected {
            issues.append(
                head.issue(.incompleteGroup(expected: 4 + expected, found: 4 + ids.count)))
            return nil
        }
        if ids.isEmpty {
            issues.append(head.issue(.incompleteGroup(expected: 5, found: 4)))
            return nil
        }
        guard box[0] < box[2], box[1] < box[3] else {
            issues.append(head.issue(.invalidBox))
            return nil
        }
        return SAMInstance(xmin: box[0], ymin: box[1], xmax: box[2], ymax: box[3], tokenIds: ids)
    }
}
