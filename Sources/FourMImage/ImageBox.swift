/// An axis-aligned box on an image: `(xmin, ymin)` is the top-left corner and `(xmax, ymax)`
/// the bottom-right one, measured on pixel edges.
///
/// This is the one box type the package shares. The `det` modality, rendered detections and
/// synthetic scenes use coordinates normalised to [0, 1] by the image width and height
/// (spec/tokenizers.md 8.4); SAM instances use pixels. The types that add a label wrap it:
/// `DetectedBox` (class name and score), ``Visualization/Box`` (the drawn label),
/// `SynthBox` (the scene's class name) and `SAMInstanceBox` (mask token ids).
///
/// ```swift
/// let a = ImageBox(xmin: 0.1, ymin: 0.2, xmax: 0.5, ymax: 0.8)
/// let b = ImageBox(xmin: 0.3, ymin: 0.2, xmax: 0.7, ymax: 0.8)
/// a.intersectionOverUnion(b)   // 0.333…
/// ```
public struct ImageBox: Sendable, Equatable, Hashable {
    /// Left edge.
    public var xmin: Double
    /// Top edge.
    public var ymin: Double
    /// Right edge.
    public var xmax: Double
    /// Bottom edge.
    public var ymax: Double

    /// Creates a box from its corners (not reordered or clamped).
    /// - Parameters:
    ///   - xmin: Left edge.
    ///   - ymin: Top edge.
    ///   - xmax: Right edge.
    ///   - ymax: Bottom edge.
    public init(xmin: Double, ymin: Double, xmax: Double, ymax: Double) {
        self.xmin = xmin
        self.ymin = ymin
        self.xmax = xmax
        self.ymax = ymax
    }

    /// `max(0, xmax − xmin) · max(0, ymax − ymin)`: a box whose minimum exceeds its maximum
    /// has zero area.
    public var area: Double { max(0, xmax - xmin) * max(0, ymax - ymin) }

    /// Intersection over union with `other`, in [0, 1]; 0 when both boxes are empty.
    /// Empty (inverted) boxes count as zero area, as in ``area``.
    public func intersectionOverUnion(_ other: ImageBox) -> Double {
        let width = max(0, min(xmax, other.xmax) - max(xmin, other.xmin))
        let height = max(0, min(ymax, other.ymax) - max(ymin, other.ymin))
        let intersection = width * height
        let union = area + other.area - intersection
        return union > 0 ? intersection / union : 0
    }
}

/// A labelled value placed by an ``ImageBox`` (a detection, a scene's object): its corners
/// read and write through ``box``.
public protocol BoxedValue {
    /// Where the value is.
    var box: ImageBox { get set }
}

extension BoxedValue {
    /// Left edge (``ImageBox/xmin`` of ``box``).
    public var xmin: Double {
        get { box.xmin }
        set { box.xmin = newValue }
    }
    /// Top edge (``ImageBox/ymin`` of ``box``).
    public var ymin: Double {
        get { box.ymin }
        set { box.ymin = newValue }
    }
    /// Right edge (``ImageBox/xmax`` of ``box``).
    public var xmax: Double {
        get { box.xmax }
        set { box.xmax = newValue }
    }
    /// Bottom edge (``ImageBox/ymax`` of ``box``).
    public var ymax: Double {
        get { box.ymax }
        set { box.ymax = newValue }
    }
}
