import FourMImage
import FourMTokenizers

/// One object placed in a synthetic scene.
///
/// Coordinates are camera space in world units: the camera sits at the origin looking along
/// `+z`, `x` points right and `y` up. Every object rests on the ground plane `y = -1`.
public struct SynthObject: Codable, Sendable, Equatable {
    /// The shape class.
    public var shape: SynthShape
    /// The named albedo colour.
    public var color: SynthColor
    /// The size class.
    public var size: SynthSize
    /// The centre of the object's footprint on the ground, `[x, -1, z]`.
    public var base: [Double]
    /// How many pixels of the object are visible in the rendered image.
    public var visiblePixels: Int

    /// The phrase the caption uses for this object, e.g. `"a small red sphere"`.
    public var phrase: String { "a \(size.rawValue) \(color.rawValue) \(shape.rawValue)" }
}

/// An axis-aligned box around the visible pixels of one object.
///
/// Coordinates are normalised to [0, 1] by the image width and height, measured on pixel
/// edges: a box covering pixel columns 3…5 of a 64-wide image has `xmin = 3/64`, `xmax = 6/64`.
/// The corners are the shared `ImageBox`; this type adds the class name. In a scene file it
/// is one flat object, `{"class_name", "xmin", "ymin", "xmax", "ymax"}`.
public struct SynthBox: BoxedValue, Codable, Sendable, Equatable {
    /// The shape name of the object (``SynthShape`` raw value).
    public var className: String
    /// The corners, normalised.
    public var box: ImageBox

    /// Creates a box from its class name and normalised corners.
    /// - Parameters:
    ///   - className: The shape name (``SynthShape`` raw value).
    ///   - xmin: Left edge, normalised.
    ///   - ymin: Top edge, normalised.
    ///   - xmax: Right edge, normalised.
    ///   - ymax: Bottom edge, normalised.
    public init(className: String, xmin: Double, ymin: Double, xmax: Double, ymax: Double) {
        self.init(className: className, box: ImageBox(xmin: xmin, ymin: ymin, xmax: xmax, ymax: ymax))
    }

    /// Creates a box from its class name and normalised corners.
    /// - Parameters:
    ///   - className: The shape name (``SynthShape`` raw value).
    ///   - box: The corners, normalised.
    public init(className: String, box: ImageBox) {
        self.className = className
        self.box = box
    }


    private enum CodingKeys: String, CodingKey {
        case className, xmin, ymin, xmax, ymax
    }

    /// Reads the flat scene-file object.
    /// - Throws: `DecodingError` when a key is missing or has the wrong type.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            className: try c.decode(String.self, forKey: .className),
            xmin: try c.decode(Double.self, forKey: .xmin), ymin: try c.decode(Double.self, forKey: .ymin),
            xmax: try c.decode(Double.self, forKey: .xmax), ymax: try c.decode(Double.self, forKey: .ymax))
    }

    /// Writes the flat scene-file object (the same keys and values as before `ImageBox`).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(className, forKey: .className)
        try c.encode(box.xmin, forKey: .xmin)
        try c.encode(box.ymin, forKey: .ymin)
        try c.encode(box.xmax, forKey: .xmax)
        try c.encode(box.ymax, forKey: .ymax)
    }
}

/// One entry of a scene's colour palette.
public struct SynthPaletteEntry: Codable, Sendable, Equatable {
    /// The colour name (``SynthColor`` raw value).
    public var name: String
    /// The albedo as `[red, green, blue]`, 0…255.
    public var rgb: [UInt8]
}

/// Scene-level facts that are not per-pixel.
public struct SynthMetadata: Codable, Sendable, Equatable {
    /// The on-disk format identifier, ``SynthSceneWriter/formatVersion``.
    public var format: String
    /// The world seed.
    public var seed: UInt64
    /// The scene index within the world.
    public var index: Int
    /// Image width in pixels.
    public var width: Int
    /// Image height in pixels.
    public var height: Int
    /// Number of objects in the scene.
    public var objectCount: Int
    /// Class names by semantic-segmentation index (``SynthShape/classNames``).
    public var classNames: [String]
    /// The depth (world units) that maps to the darkest non-background grey in the depth
    /// preview PNG (``SynthSceneWriter/depthPreviewRange``).
    public var depthPreviewRange: Double
}

/// The JSON half of a scene: everything except the pixel maps.
///
/// Written as `scene_NNNNNN.json` by ``SynthSceneWriter`` with snake_case keys.
public struct SynthSceneRecord: Codable, Sendable, Equatable {
    /// The caption, from the grammar described in ``SynthScene/caption``.
    public var caption: String
    /// The objects, in generation order.
    public var objects: [SynthObject]
    /// One box per object, in the same order as ``objects``.
    public var boxes: [SynthBox]
    /// The distinct object colours, in order of first appearance.
    public var palette: [SynthPaletteEntry]
    /// Seed, index, size, counts and class names.
    public var metadata: SynthMetadata
}

/// One rendered scene with every modality computed exactly from its geometry.
///
/// Per-pixel arrays are row-major `[H, W]` (or `[H, W, 3]`), row 0 at the top.
public struct SynthScene: Sendable, Equatable {
    /// The world seed this scene came from.
    public let seed: UInt64
    /// The scene's index in its world.
    public let index: Int
    /// Image width in pixels.
    public let width: Int
    /// Image height in pixels.
    public let height: Int
    /// The objects, in generation order (boxes and palette follow this order).
    public let objects: [SynthObject]
    /// The Lambertian-shaded colour image, 3 channels.
    public let rgb: Image
    /// `[H, W]` z-depth (distance along the optical axis) in world units; `Float.infinity`
    /// where a ray hits nothing (the sky).
    public let depth: [Float]
    /// `[H, W, 3]` unit surface normals in camera space (x right, y up, z forward), facing the
    /// camera; `(0, 0, 0)` on the sky.
    public let normals: [Float]
    /// `[H, W]` class index per pixel: 0 background (ground and sky), else
    /// ``SynthShape/classIndex``.
    public let semanticSegmentation: [UInt8]
    /// `[H, W]` what each pixel sees: -1 sky, 0 ground, `k + 1` for `objects[k]`.
    public let instances: [Int8]
    /// `[H, W]` 1 where a pixel's 4-neighbour sees a different surface (``instances``
    /// differs: segmentation boundaries and occlusion/depth discontinuities), else 0.
    public let edges: [UInt8]
    /// One box per object around its visible pixels.
    public let boxes: [SynthBox]
    /// The caption. Objects are ordered by their projected horizontal position: one object is
    /// `"a small red sphere"`, two are `"<left> left of <right>"`, three or more are
    /// `"<a>, <b> and <c> from left to right"`.
    public let caption: String
    /// The distinct object colours in order of first appearance.
    public let palette: [SynthPaletteEntry]

    /// The JSON-serialisable part of the scene.
    public var record: SynthSceneRecord {
        SynthSceneRecord(
            caption: caption, objects: objects, boxes: boxes, palette: palette,
            metadata: SynthMetadata(
                format: SynthSceneWriter.formatVersion, seed: seed, index: index, width: width,
                height: height, objectCount: objects.count, classNames: SynthShape.classNames,
                depthPreviewRange: SynthSceneWriter.depthPreviewRange))
    }
}
