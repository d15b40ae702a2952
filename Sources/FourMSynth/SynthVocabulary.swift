import FourMImage
import FourMTokenizers

/// The shape classes of the synthetic world, in semantic-segmentation order.
///
/// The class index of a shape is its position here plus one; index 0 is the background
/// (ground and sky). The raw value is the word used in captions, boxes and JSON.
public enum SynthShape: String, CaseIterable, Codable, Sendable {
    /// A sphere resting on the ground.
    case sphere
    /// An axis-aligned cube resting on the ground.
    case cube
    /// An upright capped cylinder, as tall as it is wide.
    case cylinder
    /// An upright cone with its base on the ground, as tall as it is wide.
    case cone

    /// The semantic-segmentation class index: 1 for sphere … 4 for cone (0 is background).
    public var classIndex: Int {
        1 + (Self.allCases.firstIndex(of: self) ?? 0)
    }

    /// The class names by class index: `["background", "sphere", "cube", "cylinder", "cone"]`.
    public static let classNames: [String] = ["background"] + allCases.map(\.rawValue)
}

/// The named colour palette objects are painted from.
public enum SynthColor: String, CaseIterable, Codable, Sendable {
    /// (220, 40, 40)
    case red
    /// (40, 180, 60)
    case green
    /// (40, 80, 220)
    case blue
    /// (235, 210, 40)
    case yellow
    /// (140, 60, 180)
    case purple
    /// (245, 140, 30)
    case orange
    /// (240, 240, 240)
    case white
    /// (128, 128, 128)
    case gray

    /// The unshaded albedo as 8-bit sRGB values.
    public var color: Image.Color {
        switch self {
        case .red: Image.Color(red: 220, green: 40, blue: 40)
        case .green: Image.Color(red: 40, green: 180, blue: 60)
        case .blue: Image.Color(red: 40, green: 80, blue: 220)
        case .yellow: Image.Color(red: 235, green: 210, blue: 40)
        case .purple: Image.Color(red: 140, green: 60, blue: 180)
        case .orange: Image.Color(red: 245, green: 140, blue: 30)
        case .white: Image.Color(red: 240, green: 240, blue: 240)
        case .gray: Image.Color(red: 128, green: 128, blue: 128)
        }
    }

    /// The albedo as `[red, green, blue]`, the form written to JSON.
    public var rgb: [UInt8] { [color.red, color.green, color.blue] }
}

/// The two object sizes.
public enum SynthSize: String, CaseIterable, Codable, Sendable {
    /// Radius (or half-extent) 0.45 world units.
    case small
    /// Radius (or half-extent) 0.8 world units.
    case large

    /// The radius of a sphere, cylinder or cone base, or the half-extent of a cube.
    public var radius: Double {
        switch self {
        case .small: 0.45
        case .large: 0.8
        }
    }
}
