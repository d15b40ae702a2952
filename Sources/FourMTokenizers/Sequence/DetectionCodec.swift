import FourMImage

/// One detection: a box in coordinates normalized to [0, 1] of the (cropped) image, a COCO
/// class name and an optional detector score (spec/tokenizers.md section 8.4).
///
/// The corners are the shared `ImageBox`; this type adds the class name and the score.
public struct DetectedBox: BoxedValue, Sendable, Equatable, Hashable {
    /// The corners, normalized to [0, 1].
    public var box: ImageBox
    /// The class name as the vocabulary spells it (`"dining table"`), see
    /// ``COCODetectionClasses``.
    public var className: String
    /// The detector's confidence; nil for boxes parsed from a sequence (which carries none).
    public var score: Double?

    /// Creates a detection.
    /// - Parameters:
    ///   - xmin: Left edge, [0, 1].
    ///   - ymin: Top edge, [0, 1].
    ///   - xmax: Right edge, [0, 1].
    ///   - ymax: Bottom edge, [0, 1].
    ///   - className: A COCO class name.
    ///   - score: The detector's confidence, if any.
    public init(
        xmin: Double, ymin: Double, xmax: Double, ymax: Double, className: String,
        score: Double? = nil
    ) {
        self.init(ImageBox(xmin: xmin, ymin: ymin, xmax: xmax, ymax: ymax), className: className, score: score)
    }

    /// Creates a detection from a box normalized to [0, 1].
    /// - Parameters:
    ///   - box: The corners, [0, 1].
    ///   - className: A COCO class name.
    ///   - score: The detector's confidence, if any.
    public init(_ box: ImageBox, className: String, score: Double? = nil) {
        self.box = box
        self.className = className
        self.score = score
    }

}

/// The `det` modality: boxes ↔ `v0=xmin v1=ymin v2=xmax v3=ymax <class name>` groups
/// (spec/tokenizers.md section 8.4, `DetectionTransform` of the reference).
///
/// Encoding keeps boxes whose score is at least ``scoreThreshold`` (boxes without a score are
/// kept), orders them (by default ascending `xmin² + ymin²`, a stable sort), and writes each
/// coordinate as `round(c · (bins − 1))` with Python's round-half-to-even. Decoding reads
/// boxes in sequence order, `c = n / (bins − 1)`, and joins the words after the fourth
/// coordinate into the class name (`traffic light`).
///
/// ```swift
/// let codec = DetectionCodec()
/// let dog = DetectedBox(xmin: 0.1, ymin: 0.2, xmax: 0.5, ymax: 0.8, className: "dog")
/// let text = try codec.encode([dog])
/// // "v0=100 v1=200 v2=500 v3=799 dog"
/// let parsed = codec.decode(text: text)
/// ```
public struct DetectionCodec: SequenceCodec {
    /// How boxes are ordered before encoding (`bbox_order` of the reference transform).
    public enum BoxOrder: Sendable, Equatable, Hashable {
        /// Ascending `xmin² + ymin²` (`dist_to_orig`, the reference default).
        case distanceToOrigin
        /// Descending area.
        case area
        /// Descending score (boxes without a score last).
        case score
        /// As given (the reference's `random` order, with the caller choosing the order).
        case asGiven
    }

    /// `"det"`.
    public static let modality = "det"
    /// 256 ids (spec/tokenizers.md section 7.4).
    public var maximumLength: Int { 256 }
    /// Number of coordinate bins (`coord_bins`, 1000 in 4M): coordinates are written as
    /// `0 … bins − 1`.
    public let coordinateBins: Int
    /// Boxes with a score below this are not written (`det_threshold`, 0.6); nil keeps all.
    public var scoreThreshold: Double?
    /// The order boxes are written in.
    public var order: BoxOrder

    /// Creates a codec.
    /// - Parameters:
    ///   - coordinateBins: Coordinate bins, 2…1000 (value tokens stop at 999). Other values
    ///     are a programming error and trap.
    ///   - scoreThreshold: Minimum score of written boxes, or nil.
    ///   - order: Box order for encoding.
    public init(
        coordinateBins: Int = 1000, scoreThreshold: Double? = 0.6,
        order: BoxOrder = .distanceToOrigin
    ) {
        precondition(
            (2...1000).contains(coordinateBins), "coordinateBins must be in 2...1000")
        self.coordinateBins = coordinateBins
        self.scoreThreshold = scoreThreshold
        self.order = order
    }

    /// The token value of a normalized coordinate: `round(c · (bins − 1))`, half to even.
    /// - Parameter coordinate: A coordinate in [0, 1].
    /// - Returns: `0 … bins − 1`, or nil when the coordinate is not finite or rounds outside.
    public func bin(of coordinate: Double) -> Int? {
        roundHalfToEven(coordinate * Double(coordinateBins - 1), in: 0...(coordinateBins - 1))
    }

    /// The normalized coordinate of a token value: `n / (bins − 1)`.
    /// - Parameter bin: A token value.
    /// - Returns: The coordinate.
    public func coordinate(ofBin bin: Int) -> Double {
        Double(bin) / Double(coordinateBins - 1)
    }

    /// Writes boxes as the reference does (spec/tokenizers.md section 8.4).
    /// - Parameter boxes: Detections; filtered by ``scoreThreshold`` and ordered by ``order``.
    /// - Returns: The groups joined by single spaces (empty for no boxes).
    /// - Throws: ``SequenceCodecError/invalidValue(modality:field:value:expected:)`` for a
    ///   coordinate that is not finite or rounds outside `0 … bins − 1`;
    ///   ``SequenceCodecError/unknownClassName(field:name:)`` for a class name that is not a
    ///   COCO class token.
    public func encode(_ boxes: [DetectedBox]) throws(SequenceCodecError) -> String {
        var kept: [(index: Int, box: DetectedBox, bins: [Int], name: String)] = []
        for (index, box) in boxes.enumerated() {
            if let threshold = scoreThreshold, let score = box.score, !(score >= threshold) {
                continue
            }
            var bins: [Int] = []
            for (label, c) in [
                ("xmin", box.xmin), ("ymin", box.ymin), ("xmax", box.xmax), ("ymax", box.ymax),
            ] {
                guard let bin = bin(of: c) else {
                    throw .invalidValue(
                        modality: Self.modality, field: "boxes[\(index)].\(label)", value: "\(c)",
                        expected: "a coordinate in [0, 1]")
                }
                bins.append(bin)
            }
            guard let name = COCODetectionClasses.canonicalName(box.className) else {
                throw .unknownClassName(field: "boxes[\(index)].className", name: box.className)
            }
            kept.append((index, box, bins, name))
        }
        let ordered: [(index: Int, box: DetectedBox, bins: [Int], name: String)]
        switch order {
        case .asGiven:
            ordered = kept
        case .distanceToOrigin:
            ordered = kept.sorted {
                stableLess(
                    $0.box.xmin * $0.box.xmin + $0.box.ymin * $0.box.ymin, $0.index,
                    $1.box.xmin * $1.box.xmin + $1.box.ymin * $1.box.ymin, $1.index)
            }
        case .area:
            ordered = kept.sorted {
                stableLess(-area($0.box), $0.index, -area($1.box), $1.index)
            }
        case .score:
            // Missing and NaN scores sort last.
            func key(_ box: DetectedBox) -> Double {
                guard let score = box.score, !score.isNaN else { return .infinity }
                return -score
            }
            ordered = kept.sorted { stableLess(key($0.box), $0.index, key($1.box), $1.index) }
        }
        return ordered.map { entry in
            let b = entry.bins
            return "v0=\(b[0]) v1=\(b[1]) v2=\(b[2]) v3=\(b[3]) \(entry.name)"
        }.joined(separator: " ")
    }

    /// Parses boxes (spec/tokenizers.md section 8.4, "Parse back"), more forgiving than the
    /// reference: every `v0=` starts a box, `v1=` … `v3=` must follow in order, and the words
    /// after the fourth coordinate form the class name. Incomplete boxes and boxes without a
    /// class name are dropped and reported; a box whose class name is not a COCO class is
    /// kept and reported.
    /// - Parameter tokens: The sequence's tokens.
    /// - Returns: The boxes in sequence order (scores nil) and the issues found.
    public func decode(_ tokens: [SequenceToken]) -> SequenceDecoding<[DetectedBox]> {
        let content = SequenceContent(tokens)
        var issues = content.issues
        var boxes: [DetectedBox] = []
        let validBins = 0...(coordinateBins - 1)

        var start: SequenceToken? = nil
        var coordinates: [Int] = []
        var words: [String] = []

        func finish() {
            guard let first = start else { return }
            defer {
                start = nil
                coordinates = []
                words = []
            }
            guard coordinates.count == 4 else {
                issues.append(first.issue(.incompleteGroup(expected: 4, found: coordinates.count)))
                return
            }
            guard !words.isEmpty else {
                issues.append(first.issue(.missingClassName))
                return
            }
            let name = words.joined(separator: " ")
            if COCODetectionClasses.canonicalName(name) != name {
                issues.append(first.issue(.unknownClassName(name)))
            }
            boxes.append(
                DetectedBox(
                    xmin: coordinate(ofBin: coordinates[0]),
                    ymin: coordinate(ofBin: coordinates[1]),
                    xmax: coordinate(ofBin: coordinates[2]),
                    ymax: coordinate(ofBin: coordinates[3]),
                    className: name))
        }

        for token in content.tokens {
            switch token.kind {
            case .value(let family, let value):
                if family == 0 {
                    finish()
                    start = token
                    if validBins.contains(value) {
                        coordinates = [value]
                    } else {
                        issues.append(token.issue(.valueOutOfRange(value: value, valid: validBins)))
                    }
                    continue
                }
                guard start != nil, words.isEmpty else {
                    finish()
                    issues.append(token.issue(.unexpectedToken(expected: "v0= (start of a box)")))
                    continue
                }
                guard family == coordinates.count else {
                    issues.append(
                        token.issue(
                            .unexpectedToken(
                                expected: coordinates.count < 4
                                    ? "v\(coordinates.count)=" : "a class name")))
                    continue
                }
                guard validBins.contains(value) else {
                    issues.append(token.issue(.valueOutOfRange(value: value, valid: validBins)))
                    continue
                }
                coordinates.append(value)
            case .word(let word):
                guard start != nil else {
                    issues.append(token.issue(.unexpectedToken(expected: "v0= (start of a box)")))
                    continue
                }
                words.append(word)
            default:
                continue  // SequenceContent keeps only values and words
            }
        }
        finish()
        return SequenceDecoding(value: boxes, issues: issues)
    }

    private func area(_ box: DetectedBox) -> Double {
        (box.xmax - box.xmin) * (box.ymax - box.ymin)
    }
}

/// `(key, index)` ordering: a stable sort on `key`, like Python's `sorted`.
func stableLess(_ a: Double, _ i: Int, _ b: Double, _ j: Int) -> Bool {
    a < b || (!(b < a) && i < j)
}
