/// How a metadata key turns a measurement into its `v0=` token value (`MetadataTransform` of
/// the reference, spec/tokenizers.md section 8.5).
public enum MetadataBinning: Sendable, Equatable, Hashable {
    /// Image sizes: `clamp(floor(v / binSize), 0, 999)`; decoded as `bin · binSize`.
    case imageDimension(binSize: Int)
    /// Counts: `clamp(v, 0, 999)` for an integral `v`; decoded as is.
    case integer
    /// Manual bins: the bin is the number of boundaries `≤ v`; decoded as the bin index.
    case boundaries([Double])
    /// `int((clamp(v, min, max) − min) / (max − min) · (bins − 1))` (truncation); decoded,
    /// as the reference does, as `(max − min) · (bin / bins) + min` (note `/ bins`, not
    /// `/ (bins − 1)`).
    case minMax(minimum: Double, maximum: Double, bins: Int)
}

/// The 21 metadata keys of 4M-21 with their type ids (`v1=` values 0…20, spec/tokenizers.md
/// section 8.5).
public enum MetadataKey: Int, CaseIterable, Sendable, Hashable {
    /// `original_width` (pixels).
    case originalWidth = 0
    /// `original_height` (pixels).
    case originalHeight = 1
    /// `caption_n_chars`.
    case captionCharacterCount = 2
    /// `caption_n_words`.
    case captionWordCount = 3
    /// `caption_n_sentences`.
    case captionSentenceCount = 4
    /// `n_humans`.
    case humanCount = 5
    /// `n_sam_instances`.
    case samInstanceCount = 6
    /// `n_coco_instances`.
    case cocoInstanceCount = 7
    /// `coco_instance_diversity`.
    case cocoInstanceDiversity = 8
    /// `colorfulness`, binned over (0, 150).
    case colorfulness = 9
    /// `brightness`, binned over (0, 255).
    case brightness = 10
    /// `contrast`, binned over (0, 127).
    case contrast = 11
    /// `saturation`, binned over (0, 255).
    case saturation = 12
    /// `entropy`, binned over (0, 10).
    case entropy = 13
    /// `walkability`, binned over (0, 1).
    case walkability = 14
    /// `objectness`, binned over (0, 1).
    case objectness = 15
    /// `semantic_diversity` (an integer).
    case semanticDiversity = 16
    /// `geometric_complexity`, binned over (0, 0.75).
    case geometricComplexity = 17
    /// `occlusion_score`, binned over (0, 0.25).
    case occlusionScore = 18
    /// `watermark_score`, bins split at 0.5.
    case watermarkScore = 19
    /// `aesthetic_score`, bins split at 4.5 and 5.5.
    case aestheticScore = 20

    /// The reference's key string (`"original_width"`, …).
    public var name: String {
        switch self {
        case .originalWidth: return "original_width"
        case .originalHeight: return "original_height"
        case .captionCharacterCount: return "caption_n_chars"
        case .captionWordCount: return "caption_n_words"
        case .captionSentenceCount: return "caption_n_sentences"
        case .humanCount: return "n_humans"
        case .samInstanceCount: return "n_sam_instances"
        case .cocoInstanceCount: return "n_coco_instances"
        case .cocoInstanceDiversity: return "coco_instance_diversity"
        case .colorfulness: return "colorfulness"
        case .brightness: return "brightness"
        case .contrast: return "contrast"
        case .saturation: return "saturation"
        case .entropy: return "entropy"
        case .walkability: return "walkability"
        case .objectness: return "objectness"
        case .semanticDiversity: return "semantic_diversity"
        case .geometricComplexity: return "geometric_complexity"
        case .occlusionScore: return "occlusion_score"
        case .watermarkScore: return "watermark_score"
        case .aestheticScore: return "aesthetic_score"
        }
    }

    /// The key with the reference's key string.
    /// - Parameter name: A key string such as `"semantic_diversity"`.
    public init?(name: String) {
        guard let key = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = key
    }

    /// The key's binning (spec/tokenizers.md section 8.5).
    public var binning: MetadataBinning {
        switch self {
        case .originalWidth, .originalHeight: return .imageDimension(binSize: 32)
        case .captionCharacterCount, .captionWordCount, .captionSentenceCount, .humanCount,
            .samInstanceCount, .cocoInstanceCount, .cocoInstanceDiversity, .semanticDiversity:
            return .integer
        case .watermarkScore: return .boundaries([0.5])
        case .aestheticScore: return .boundaries([4.5, 5.5])
        case .colorfulness: return .minMax(minimum: 0, maximum: 150, bins: 50)
        case .brightness: return .minMax(minimum: 0, maximum: 255, bins: 50)
        case .contrast: return .minMax(minimum: 0, maximum: 127, bins: 50)
        case .saturation: return .minMax(minimum: 0, maximum: 255, bins: 50)
        case .entropy: return .minMax(minimum: 0, maximum: 10, bins: 50)
        case .walkability: return .minMax(minimum: 0, maximum: 1, bins: 50)
        case .objectness: return .minMax(minimum: 0, maximum: 1, bins: 50)
        case .geometricComplexity: return .minMax(minimum: 0, maximum: 0.75, bins: 50)
        case .occlusionScore: return .minMax(minimum: 0, maximum: 0.25, bins: 50)
        }
    }

    /// The token values this key can have: 0…999 for sizes and counts, 0…1 for
    /// `watermark_score`, 0…2 for `aesthetic_score`, 0…49 for the min/max-binned keys.
    public var validBins: ClosedRange<Int> {
        switch binning {
        case .imageDimension, .integer: return 0...999
        case .boundaries(let boundaries): return 0...boundaries.count
        case .minMax(_, _, let bins): return 0...(bins - 1)
        }
    }

    /// Bins a measurement as the reference's `MetadataTransform` does.
    /// - Parameter value: The measurement (pixels, a count, a score).
    /// - Returns: The `v0=` token value.
    /// - Throws: ``SequenceCodecError/invalidValue(modality:field:value:expected:)`` for a
    ///   value that is not finite, or a non-integral value of a count key.
    public func bin(for value: Double) throws(SequenceCodecError) -> Int {
        guard value.isFinite else {
            throw .invalidValue(
                modality: MetadataCodec.modality, field: name, value: "\(value)",
                expected: "a finite number")
        }
        switch binning {
        case .imageDimension(let binSize):
            return Int(min(max((value / Double(binSize)).rounded(.down), 0), 999))
        case .integer:
            guard value == value.rounded() else {
                throw .invalidValue(
                    modality: MetadataCodec.modality, field: name, value: "\(value)",
                    expected: "an integer")
            }
            return Int(min(max(value, 0), 999))
        case .boundaries(let boundaries):
            var bin = 0
            for boundary in boundaries {
                if value < boundary { break }
                bin += 1
            }
            return bin
        case .minMax(let minimum, let maximum, let bins):
            let clamped = max(minimum, min(value, maximum))
            let normalized = (clamped - minimum) / (maximum - minimum)
            return Int(normalized * Double(bins - 1))
        }
    }

    /// The measurement the reference's `decode_metadata` reports for a token value (an
    /// approximation for binned keys; re-binning it does not always give `bin` back).
    /// - Parameter bin: A `v0=` token value.
    /// - Returns: `bin · 32` for sizes, `(max − min) · (bin / 50) + min` for min/max keys, the
    ///   bin itself otherwise.
    public func approximateValue(ofBin bin: Int) -> Double {
        switch binning {
        case .imageDimension(let binSize): return Double(bin * binSize)
        case .integer, .boundaries: return Double(bin)
        case .minMax(let minimum, let maximum, let bins):
            return (maximum - minimum) * (Double(bin) / Double(bins)) + minimum
        }
    }
}

/// One metadata entry: a key and its token value (the bin), which is what a sequence holds
/// (spec/tokenizers.md section 8.5).
public struct MetadataEntry: Sendable, Equatable, Hashable {
    /// The key (`v1=` value).
    public var key: MetadataKey
    /// The token value (`v0=` value), in ``MetadataKey/validBins``.
    public var bin: Int

    /// Creates an entry from a token value.
    /// - Parameters:
    ///   - key: The key.
    ///   - bin: The token value.
    public init(key: MetadataKey, bin: Int) {
        self.key = key
        self.bin = bin
    }

    /// Creates an entry by binning a measurement (``MetadataKey/bin(for:)``).
    /// - Parameters:
    ///   - key: The key.
    ///   - value: The measurement.
    /// - Throws: the errors of ``MetadataKey/bin(for:)``.
    public init(key: MetadataKey, value: Double) throws(SequenceCodecError) {
        self.init(key: key, bin: try key.bin(for: value))
    }

    /// The measurement the reference reports for this entry
    /// (``MetadataKey/approximateValue(ofBin:)``).
    public var approximateValue: Double { key.approximateValue(ofBin: bin) }
}
