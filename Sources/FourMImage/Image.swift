import Foundation
import FourMTensor

/// An 8-bit raster image: row-major pixels with interleaved channels (1 = gray, 3 = RGB,
/// 4 = RGBA).
///
/// This is the value users hand to 4M and get back from the renderers. Reading follows what
/// the reference does with Pillow (spec/model.md 7.1 step 1): PNG and JPEG are detected by
/// their signature, every bit depth and colour type is converted to 8 bits, and preprocessing
/// reproduces Pillow's bicubic resize exactly.
///
/// ```swift
/// let photo = try Image(contentsOf: URL(filePath: "photo.jpg"))
/// let pixels = try photo.normalizedTensor(size: 224)   // [1, 3, 224, 224], ImageNet-normalised
/// let depth = try Visualization.depth(decodedDepth)      // turbo-coloured Image
/// try depth.writePNG(to: URL(filePath: "depth.png"))
/// ```
public struct Image: Sendable, Equatable {
    /// Width in pixels (≥ 1).
    public let width: Int
    /// Height in pixels (≥ 1).
    public let height: Int
    /// Channels per pixel: 1 (gray), 3 (RGB) or 4 (RGBA, not premultiplied).
    public let channels: Int
    /// `width · height · channels` bytes, row-major, channels interleaved (`[H, W, C]`).
    public let pixels: [UInt8]

    /// The largest pixel count a decoder accepts before allocating: Pillow's decompression-bomb
    /// error threshold (2 × `Image.MAX_IMAGE_PIXELS` = 178 956 970).
    public static let maximumPixelCount = 178_956_970

    /// The largest pixel count a PNG or JPEG decoder accepts from a file header
    /// (`InputLimits.maximumImagePixels`, 8192 × 8192), checked before anything is decoded.
    public static let maximumDecodedPixelCount = InputLimits.maximumImagePixels

    /// Checks a size declared by a file header against `InputLimits.maximumImageSide` and
    /// ``maximumDecodedPixelCount``, before any pixel is decoded or allocated.
    static func checkDeclaredSize(width: Int, height: Int, name: String) -> ImageError? {
        guard width >= 1, height >= 1 else {
            return .tooLarge(file: name, width: width, height: height, limit: maximumDecodedPixelCount)
        }
        guard width <= InputLimits.maximumImageSide, height <= InputLimits.maximumImageSide else {
            return .sideTooLong(file: name, width: width, height: height, limit: InputLimits.maximumImageSide)
        }
        guard width * height <= maximumDecodedPixelCount else {
            return .tooLarge(file: name, width: width, height: height, limit: maximumDecodedPixelCount)
        }
        return nil
    }

    /// Creates an image from interleaved 8-bit pixels.
    /// - Parameters:
    ///   - width: pixels per row, ≥ 1.
    ///   - height: rows, ≥ 1.
    ///   - channels: 1, 3 or 4.
    ///   - pixels: exactly `width · height · channels` bytes, `[H, W, C]`.
    /// - Throws: ``ImageError/invalidPixels(expected:actual:)`` when the sizes, the channel
    ///   count or the byte count do not fit.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws(ImageError) {
        guard width >= 1, height >= 1 else {
            throw .invalidPixels(expected: "width and height >= 1", actual: "\(width)x\(height)")
        }
        guard [1, 3, 4].contains(channels) else {
            throw .invalidPixels(expected: "1, 3 or 4 channels", actual: "\(channels) channels")
        }
        let (product, overflow) = width.multipliedReportingOverflow(by: height * channels)
        guard !overflow, pixels.count == product else {
            throw .invalidPixels(
                expected:
                    "\(width)x\(height)x\(channels) = "
                    + "\(overflow ? "too many" : String(product)) bytes",
                actual: "\(pixels.count) bytes")
        }
        self.init(unchecked: width, height, channels, pixels)
    }

    /// Creates an image filled with one colour.
    /// - Parameters:
    ///   - width: pixels per row, ≥ 1.
    ///   - height: rows, ≥ 1.
    ///   - color: the fill; an ``Image/Color`` gives an RGB image.
    /// - Throws: ``ImageError/invalidPixels(expected:actual:)`` for a size below 1 or above
    ///   ``maximumPixelCount``.
    public init(width: Int, height: Int, filledWith color: Color) throws(ImageError) {
        guard width >= 1, height >= 1,
            width <= Self.maximumPixelCount, height <= Self.maximumPixelCount,
            width * height <= Self.maximumPixelCount
        else {
            throw .invalidPixels(
                expected: "1 <= width·height <= \(Self.maximumPixelCount)",
                actual: "\(width)x\(height)")
        }
        let pixels = [UInt8](unsafeUninitializedCapacity: width * height * 3) { buffer, n in
            fillRectangleKernel(
                buffer.baseAddress!, width: width, height: height, channels: 3,
                x0: 0, y0: 0, x1: width, y1: height, color: color.bytes)
            n = width * height * 3
        }
        self.init(unchecked: width, height, 3, pixels)
    }

    /// Trusted initialiser for values we built ourselves.
    init(unchecked width: Int, _ height: Int, _ channels: Int, _ pixels: [UInt8]) {
        assert(pixels.count == width * height * channels && [1, 3, 4].contains(channels))
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Whether the last channel is alpha (4 channels).
    public var hasAlpha: Bool { channels == 4 }

    /// The value of one channel of one pixel. Traps when out of bounds (API misuse).
    /// - Parameters:
    ///   - x: column, `0..<width`.
    ///   - y: row, `0..<height`.
    ///   - channel: `0..<channels`.
    public subscript(x x: Int, y y: Int, channel channel: Int) -> UInt8 {
        precondition(
            x >= 0 && x < width && y >= 0 && y < height && channel >= 0 && channel < channels,
            "pixel (\(x), \(y), \(channel)) outside \(width)x\(height)x\(channels)")
        return pixels[(y * width + x) * channels + channel]
    }

    /// The pixel at `(x, y)` as a colour (gray is replicated; alpha is dropped). Traps when out
    /// of bounds (API misuse).
    public func color(x: Int, y: Int) -> Color {
        if channels == 1 {
            let v = self[x: x, y: y, channel: 0]
            return Color(red: v, green: v, blue: v)
        }
        return Color(
            red: self[x: x, y: y, channel: 0], green: self[x: x, y: y, channel: 1],
            blue: self[x: x, y: y, channel: 2])
    }
}

// MARK: - Colour

extension Image {
    /// An 8-bit RGB colour (spec/tokenizers.md 8.6 colour palettes, 9 renderers).
    public struct Color: Sendable, Hashable {
        /// Red, 0…255.
        public var red: UInt8
        /// Green, 0…255.
        public var green: UInt8
        /// Blue, 0…255.
        public var blue: UInt8

        /// Creates a colour from its three 8-bit components.
        public init(red: UInt8, green: UInt8, blue: UInt8) {
            self.red = red
            self.green = green
            self.blue = blue
        }

        /// Pure red (255, 0, 0), the reference's box colour (spec/tokenizers.md 9).
        public static let red = Color(red: 255, green: 0, blue: 0)
        /// White (255, 255, 255).
        public static let white = Color(red: 255, green: 255, blue: 255)
        /// Black (0, 0, 0).
        public static let black = Color(red: 0, green: 0, blue: 0)

        var bytes: [UInt8] { [red, green, blue] }
    }
}

// MARK: - Channel conversion and cropping

extension Image {
    /// This image with 3 channels, as Pillow's `convert("RGB")`: gray is replicated, alpha is
    /// dropped without compositing (spec/model.md 7.1 step 1 converts every input this way).
    public func rgb() -> Image { converted(to: 3) }

    /// This image with 1 channel, as Pillow's `convert("L")`:
    /// `(19595·R + 38470·G + 7471·B + 0x8000) >> 16`, alpha ignored.
    public func grayscale() -> Image { converted(to: 1) }

    /// This image with 4 channels; alpha is 255 where the source has none.
    public func rgba() -> Image { converted(to: 4) }

    func converted(to target: Int) -> Image {
        if target == channels { return self }
        let count = width * height
        let out = pixels.withUnsafeBufferPointer { src in
            [UInt8](unsafeUninitializedCapacity: count * target) { dst, n in
                convertChannelsKernel(
                    src.baseAddress!, from: channels, dst.baseAddress!, to: target, pixels: count)
                n = count * target
            }
        }
        return Image(unchecked: width, height, target, out)
    }

    /// A rectangular part of the image.
    /// - Parameters:
    ///   - x: left column of the window.
    ///   - y: top row of the window.
    ///   - cropWidth: window width, ≥ 1.
    ///   - cropHeight: window height, ≥ 1.
    /// - Returns: the window as a new image with the same channels.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` when the window is
    ///   empty or not inside the image.
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int)
        throws(ImageError) -> Image
    {
        guard cropWidth >= 1, cropHeight >= 1, x >= 0, y >= 0,
            x <= width - cropWidth, y <= height - cropHeight
        else {
            throw .invalidArgument(
                argument: "crop", expected: "a non-empty window inside \(width)x\(height)",
                actual: "\(cropWidth)x\(cropHeight) at (\(x), \(y))")
        }
        if x == 0, y == 0, cropWidth == width, cropHeight == height { return self }
        let out = pixels.withUnsafeBufferPointer { src in
            [UInt8](unsafeUninitializedCapacity: cropWidth * cropHeight * channels) { dst, n in
                cropKernel(
                    src.baseAddress!, srcWidth: width, channels: channels, x: x, y: y,
                    dst.baseAddress!, width: cropWidth, height: cropHeight)
                n = cropWidth * cropHeight * channels
            }
        }
        return Image(unchecked: cropWidth, cropHeight, channels, out)
    }

    /// How ``centerCroppedToSquare(offset:)`` places an odd margin.
    public enum CropOffset: Sendable, Equatable {
        /// `round((long − short) / 2)` with Python's half-to-even rounding: torchvision's
        /// `center_crop`, which the reference demo applies (spec/model.md 7.1 step 1).
        case torchvision
        /// `(long − short) div 2`: the dataset pre-tokenisation crop (spec/tokenizers.md 8.1).
        case floor
    }

    /// The largest centred square: side `min(width, height)`.
    /// - Parameter offset: where an odd margin goes; ``CropOffset/torchvision`` by default. The
    ///   two rules differ by one pixel when `(long − short) mod 4 == 3`.
    /// - Returns: a `side × side` image.
    public func centerCroppedToSquare(offset: CropOffset = .torchvision) -> Image {
        let side = min(width, height)
        func start(_ extent: Int) -> Int {
            let margin = extent - side
            switch offset {
            case .floor: return margin / 2
            case .torchvision:
                // round(margin / 2) half-to-even: .5 happens for odd margins.
                return Int((Double(margin) / 2).rounded(.toNearestOrEven))
            }
        }
        let out: Image? = try? cropped(x: start(width), y: start(height), width: side, height: side)
        return out ?? self  // the window always fits: side <= both extents
    }
}
