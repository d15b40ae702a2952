/// Per-class scores and their mean, as returned by ``SynthMetrics/meanIoU(predicted:target:)``
/// and ``SynthMetrics/detectionMAP(predicted:target:iouThreshold:)``.
public struct SynthClassScores: Sendable, Equatable {
    /// The score of every class that counts toward the mean, keyed by class name
    /// (``SynthShape/classNames``).
    public var perClass: [String: Double]

    /// Creates scores.
    /// - Parameter perClass: the score of every class that counts toward the mean.
    public init(perClass: [String: Double]) {
        self.perClass = perClass
    }

    /// The mean over ``perClass``, or nil when no class counts.
    public var mean: Double? {
        perClass.isEmpty ? nil : perClass.values.reduce(0, +) / Double(perClass.count)
    }
}

/// How well generated captions describe the scenes, from
/// ``SynthMetrics/captionAccuracy(predicted:target:)``.
///
/// Attribute accuracies are over the true objects, position by position in the caption's
/// left-to-right order: a generated caption that lists fewer objects gets the missing ones
/// wrong, and extra generated objects only affect ``count``.
public struct SynthCaptionAccuracy: Sendable, Equatable {
    /// How many captions were compared.
    public var captions: Int
    /// How many objects the true captions list in total.
    public var objects: Int
    /// The fraction of captions that list the right number of objects, or nil without captions.
    public var count: Double?
    /// The fraction of true objects whose generated counterpart has the right shape, or nil
    /// without objects.
    public var shape: Double?
    /// The fraction of true objects whose generated counterpart has the right colour, or nil
    /// without objects.
    public var color: Double?
    /// The fraction of true objects whose generated counterpart has the right size, or nil
    /// without objects.
    public var size: Double?
}

/// How well images generated from captions show the captioned objects, from
/// ``SynthMetrics/captionConsistency(captions:found:)``.
public struct SynthConsistency: Sendable, Equatable {
    /// How many objects the captions list in total.
    public var objects: Int
    /// The fraction of caption objects matched by an object of the same shape and colour
    /// found in the image (each found object matches at most one), or nil without objects.
    public var shapeAndColor: Double?
    /// The fraction of caption objects matched by an object of the same shape found in the
    /// image (each found object matches at most one), or nil without objects.
    public var shape: Double?
}
