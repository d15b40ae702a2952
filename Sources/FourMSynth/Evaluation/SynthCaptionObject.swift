/// One object as a caption or an image describes it; attributes that could not be read are nil.
///
/// ``SynthMetrics/parseCaption(_:)`` fills all three attributes when the phrase follows the
/// world's grammar (`"a small red sphere"`); ``SynthMetrics/imageObjects(rgb:segmentation:minimumPixels:)``
/// fills shape and colour only.
public struct SynthCaptionObject: Sendable, Hashable {
    /// The shape, if known.
    public var shape: SynthShape?
    /// The colour, if known.
    public var color: SynthColor?
    /// The size, if known.
    public var size: SynthSize?

    /// Creates an object description.
    /// - Parameters:
    ///   - shape: the shape, if known.
    ///   - color: the colour, if known.
    ///   - size: the size, if known.
    public init(shape: SynthShape?, color: SynthColor?, size: SynthSize? = nil) {
        self.shape = shape
        self.color = color
        self.size = size
    }
}
