import Foundation
import FourMImage
import FourMTensor
import FourMTokenizers

/// Errors raised while configuring, writing or reading the synthetic world.
public enum SynthError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A configuration value is out of range; `argument` names it.
    case invalidConfiguration(argument: String, expected: String, actual: String)
    /// A file or folder could not be written.
    case writeFailed(file: String, reason: String)
    /// A file could not be read or decoded.
    case unreadable(file: String, reason: String)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case .invalidConfiguration(let argument, let expected, let actual):
            "\(argument): got \(actual), expected \(expected)"
        case .writeFailed(let file, let reason):
            "\(file): cannot write: \(reason)"
        case .unreadable(let file, let reason):
            "\(file): cannot read: \(reason)"
        }
    }
}

/// Options for ``SyntheticWorld``.
public struct SynthConfiguration: Sendable, Equatable {
    /// Image width in pixels, 8…4096.
    public var width: Int
    /// Image height in pixels, 8…4096.
    public var height: Int
    /// How many objects a scene may hold, within 1…4.
    public var objectCount: ClosedRange<Int>

    /// Creates a configuration.
    /// - Parameters:
    ///   - width: image width in pixels (default 64).
    ///   - height: image height in pixels (default 64).
    ///   - objectCount: the range the object count is drawn from (default 1…4).
    public init(width: Int = 64, height: Int = 64, objectCount: ClosedRange<Int> = 1...4) {
        self.width = width
        self.height = height
        self.objectCount = objectCount
    }
}

/// A seeded world of simple 3D scenes whose modalities are computed exactly by ray casting.
///
/// Scene `i` depends only on the seed, `i` and the configuration, never on which other scenes
/// were generated.
/// ```swift
/// let world = try SyntheticWorld(seed: 7)
/// let scene = world.scene(at: 0)
/// print(scene.caption)                 // "a small red sphere left of a large blue cube"
/// try SynthSceneWriter(directory: URL(fileURLWithPath: "out")).write(scene)
/// ```
public struct SyntheticWorld: Sendable {
    /// The world seed.
    public let seed: UInt64
    /// The configuration every scene is rendered with.
    public let configuration: SynthConfiguration

    /// Creates a world.
    /// - Parameters:
    ///   - seed: the world seed.
    ///   - configuration: image size and object-count range.
    /// - Throws: ``SynthError/invalidConfiguration(argument:expected:actual:)`` for a size
    ///   outside 8…4096 or an object count outside 1…4.
    public init(seed: UInt64, configuration: SynthConfiguration = SynthConfiguration()) throws(SynthError) {
        for (name, value) in [("width", configuration.width), ("height", configuration.height)]
        where !(8...4096).contains(value) {
            throw .invalidConfiguration(argument: name, expected: "8...4096", actual: "\(value)")
        }
        guard configuration.objectCount.lowerBound >= 1, configuration.objectCount.upperBound <= 4 else {
            throw .invalidConfiguration(
                argument: "objectCount", expected: "a range within 1...4",
                actual: "\(configuration.objectCount)")
        }
        self.seed = seed
        self.configuration = configuration
    }

    /// Renders scene `index`.
    /// - Parameter index: the scene index, ≥ 0.
    /// - Returns: the scene with every modality.
    public func scene(at index: Int) -> SynthScene {
        precondition(index >= 0, "scene index must be >= 0")
        var rng = SeededGenerator(seed: Self.sceneSeed(world: seed, index: index))
        let width = configuration.width, height = configuration.height
        let minVisible = max(4, width * height / 1024)
        var layout: [Placed] = []
        var render = Raster(width: width, height: height, objects: [])
        for _ in 0..<64 {
            layout = Self.sampleLayout(count: configuration.objectCount, using: &rng)
            render = Raster(width: width, height: height, objects: layout)
            if render.visibleCounts.allSatisfy({ $0 >= minVisible }) { break }
        }
        // Fallback after 64 tries: drop hidden objects (removing occluders only adds pixels).
        if !render.visibleCounts.allSatisfy({ $0 >= minVisible }) {
            layout = zip(layout, render.visibleCounts).filter { $0.1 >= minVisible }.map(\.0)
            if layout.isEmpty { layout = [Self.fallbackObject] }
            render = Raster(width: width, height: height, objects: layout)
        }
        return Self.assemble(seed: seed, index: index, layout: layout, render: render)
    }

    /// Mixes the world seed and the scene index into the scene's own generator seed.
    static func sceneSeed(world: UInt64, index: Int) -> UInt64 {
        var base = SeededGenerator(seed: world)
        let mixed = base.next() ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03)
        var scene = SeededGenerator(seed: mixed)
        return scene.next()
    }

    static let fallbackObject = Placed(shape: .sphere, color: .red, size: .large, x: 0, z: 5)

    static func sampleLayout(count range: ClosedRange<Int>, using rng: inout SeededGenerator) -> [Placed] {
        let count = range.lowerBound + Int(rng.next() % UInt64(range.count))
        var placed: [Placed] = []
        var attempts = 0
        while placed.count < count && attempts < 200 {
            attempts += 1
            let shape = SynthShape.allCases[Int(rng.next() % UInt64(SynthShape.allCases.count))]
            let color = SynthColor.allCases[Int(rng.next() % UInt64(SynthColor.allCases.count))]
            let size = SynthSize.allCases[Int(rng.next() % UInt64(SynthSize.allCases.count))]
            let z = 4 + 5 * Double(rng.nextUniform())
            let x = (2 * Double(rng.nextUniform()) - 1) * 0.75 * z * Raster.tanHalfFOV
            let candidate = Placed(shape: shape, color: color, size: size, x: x, z: z)
            let clear = placed.allSatisfy {
                let dx = $0.x - x, dz = $0.z - z
                return (dx * dx + dz * dz).squareRoot() > $0.footprintRadius + candidate.footprintRadius + 0.05
            }
            if clear { placed.append(candidate) }
        }
        return placed
    }

    static func assemble(seed: UInt64, index: Int, layout: [Placed], render: Raster) -> SynthScene {
        let width = render.width, height = render.height
        var boxes: [SynthBox] = []
        for (k, object) in layout.enumerated() {
            var x0 = width, y0 = height, x1 = -1, y1 = -1
            for y in 0..<height {
                for x in 0..<width where Int(render.instances[y * width + x]) == k + 1 {
                    x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
                }
            }
            if x1 < 0 { x0 = 0; y0 = 0; x1 = -1; y1 = -1 }  // invisible: empty box at the origin
            boxes.append(
                SynthBox(
                    className: object.shape.rawValue, xmin: Double(x0) / Double(width),
                    ymin: Double(y0) / Double(height), xmax: Double(x1 + 1) / Double(width),
                    ymax: Double(y1 + 1) / Double(height)))
        }
        let objects = layout.enumerated().map { k, p in
            SynthObject(
                shape: p.shape, color: p.color, size: p.size, base: [p.x, Raster.groundY, p.z],
                visiblePixels: render.visibleCounts[k])
        }
        var palette: [SynthPaletteEntry] = []
        for object in objects where !palette.contains(where: { $0.name == object.color.rawValue }) {
            palette.append(SynthPaletteEntry(name: object.color.rawValue, rgb: object.color.rgb))
        }
        let ordered = zip(objects, layout).sorted { $0.1.x / $0.1.z < $1.1.x / $1.1.z }.map(\.0.phrase)
        let caption: String
        switch ordered.count {
        case 0: caption = "an empty ground"
        case 1: caption = ordered[0]
        case 2: caption = "\(ordered[0]) left of \(ordered[1])"
        default:
            caption = ordered.dropLast().joined(separator: ", ") + " and \(ordered[ordered.count - 1]) from left to right"
        }
        let rgb: Image
        do {
            rgb = try Image(width: width, height: height, channels: 3, pixels: render.rgb)
        } catch {
            preconditionFailure("internal: raster size \(width)x\(height) rejected: \(error)")
        }
        return SynthScene(
            seed: seed, index: index, width: width, height: height, objects: objects, rgb: rgb,
            depth: render.depth, normals: render.normals, semanticSegmentation: render.semseg,
            instances: render.instances, edges: render.edges, boxes: boxes, caption: caption,
            palette: palette)
    }
}

/// An object with its sampled placement.
struct Placed: Sendable {
    var shape: SynthShape
    var color: SynthColor
    var size: SynthSize
    var x: Double
    var z: Double

    var radius: Double { size.radius }
    /// Radius of the object's footprint on the ground (a cube's corner reaches r·√2).
    var footprintRadius: Double { shape == .cube ? radius * 2.0.squareRoot() : radius }
}
