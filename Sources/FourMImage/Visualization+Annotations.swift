import FourMTensor

// MARK: - Boxes and colour palettes (spec/tokenizers.md 8.4, 8.6, 9)

extension Visualization {
    /// A labelled box in coordinates normalised to [0, 1] of the image it belongs to, the `det`
    /// convention (spec/tokenizers.md 8.4): an ``ImageBox`` plus the label drawn above it.
    ///
    /// Boxes are drawn in `Float`: the corners are rounded to `Float` before they are mapped
    /// to pixels, whether the box was made from `Float` corners or from an ``ImageBox``.
    public struct Box: Sendable, Equatable {
        /// The corners, normalised to [0, 1].
        public var box: ImageBox
        /// The class name drawn above the box (printable ASCII; other characters draw as `?`).
        public var label: String

        /// Creates a box from normalised corners and a label.
        public init(xmin: Float, ymin: Float, xmax: Float, ymax: Float, label: String) {
            self.box = ImageBox(xmin: Double(xmin), ymin: Double(ymin), xmax: Double(xmax), ymax: Double(ymax))
            self.label = label
        }

        /// Creates a box from a shared ``ImageBox`` in normalised coordinates and a label.
        public init(_ box: ImageBox, label: String) {
            self.box = box
            self.label = label
        }

        /// Left edge, [0, 1].
        public var xmin: Float {
            get { Float(box.xmin) }
            set { box.xmin = Double(newValue) }
        }
        /// Top edge, [0, 1].
        public var ymin: Float {
            get { Float(box.ymin) }
            set { box.ymin = Double(newValue) }
        }
        /// Right edge, [0, 1].
        public var xmax: Float {
            get { Float(box.xmax) }
            set { box.xmax = Double(newValue) }
        }
        /// Bottom edge, [0, 1].
        public var ymax: Float {
            get { Float(box.ymax) }
            set { box.ymax = Double(newValue) }
        }
    }

    /// Draws boxes the way the reference shows detections (spec/tokenizers.md 9): red
    /// (255, 0, 0) rectangles, 2 pixels thick, each label in white on a red filled box above the
    /// top-left corner (inside the box when there is no room above). The reference uses
    /// OpenCV's Hershey font at scale 0.35 (about 7 pixels high); here the built-in 5×7 font.
    /// Coordinates outside [0, 1] are clamped; swapped corners are ordered.
    /// - Parameters:
    ///   - boxes: normalised boxes, drawn in order (later ones on top).
    ///   - image: the picture to draw on (converted to RGB).
    ///   - thickness: line width in pixels, ≥ 1 (2 in the reference).
    ///   - textScale: font magnification, ≥ 1.
    /// - Returns: an RGB copy of `image` with the boxes drawn.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` for a non-finite
    ///   coordinate or a thickness or scale below 1.
    public static func boxes(
        _ boxes: [Box], on image: Image, thickness: Int = 2, textScale: Int = 1
    )
        throws(ImageError) -> Image
    {
        guard thickness >= 1, textScale >= 1 else {
            throw .invalidArgument(
                argument: "thickness, textScale", expected: ">= 1",
                actual: "\(thickness), \(textScale)")
        }
        let canvas = image.rgb()
        let width = canvas.width
        let height = canvas.height
        var pixels = canvas.pixels
        let red = Image.Color.red.bytes
        let white = Image.Color.white.bytes
        for (i, box) in boxes.enumerated() {
            let coordinates = [box.xmin, box.ymin, box.xmax, box.ymax]
            guard coordinates.allSatisfy(\.isFinite) else {
                throw .invalidArgument(
                    argument: "boxes[\(i)]", expected: "finite coordinates",
                    actual: "\(coordinates)")
            }
            func pixel(_ v: Float, _ extent: Int) -> Int {
                min(max(Int((min(max(v, 0), 1) * Float(extent)).rounded()), 0), extent - 1)
            }
            let x0 = pixel(min(box.xmin, box.xmax), width)
            let x1 = pixel(max(box.xmin, box.xmax), width)
            let y0 = pixel(min(box.ymin, box.ymax), height)
            let y1 = pixel(max(box.ymin, box.ymax), height)
            pixels.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                func fill(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
                    fillRectangleKernel(
                        base, width: width, height: height, channels: 3,
                        x0: a, y0: b, x1: c, y1: d, color: red)
                }
                fill(x0, y0, x1 + 1, y0 + thickness)  // top
                fill(x0, y1 + 1 - thickness, x1 + 1, y1 + 1)  // bottom
                fill(x0, y0, x0 + thickness, y1 + 1)  // left
                fill(x1 + 1 - thickness, y0, x1 + 1, y1 + 1)  // right
            }
            guard !box.label.isEmpty else { continue }
            let text = BitmapFont.size(of: box.label, scale: textScale)
            let labelWidth = text.width + 4
            let labelHeight = text.height + 4
            let labelX = max(min(x0, width - labelWidth), 0)
            let labelY = y0 - labelHeight >= 0 ? y0 - labelHeight : y0
            pixels.withUnsafeMutableBufferPointer { buffer in
                fillRectangleKernel(
                    buffer.baseAddress!, width: width, height: height, channels: 3,
                    x0: labelX, y0: labelY, x1: labelX + labelWidth, y1: labelY + labelHeight,
                    color: red)
            }
            BitmapFont.draw(
                box.label, into: &pixels, width: width, height: height, channels: 3,
                x: labelX + 2, y: labelY + 2, scale: textScale, color: white)
        }
        return Image(unchecked: width, height, 3, pixels)
    }

    /// A colour palette (spec/tokenizers.md 8.6) as side-by-side swatches, left to right in the
    /// given order, each optionally captioned with its hex code below. The reference draws
    /// plain 25-pixel stripes; wider, captioned swatches are easier to read.
    /// - Parameters:
    ///   - colors: one or more colours (4M palettes hold 1…7).
    ///   - swatchWidth: pixels per swatch, ≥ 1 (48 fits a caption).
    ///   - swatchHeight: swatch height, ≥ 1.
    ///   - captioned: whether to write `#RRGGBB` under each swatch (adds 12 rows).
    /// - Returns: an RGB image `colors.count · swatchWidth` wide.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` for an empty palette
    ///   or a size below 1.
    public static func colorPalette(
        _ colors: [Image.Color], swatchWidth: Int = 48, swatchHeight: Int = 64,
        captioned: Bool = true
    ) throws(ImageError) -> Image {
        guard !colors.isEmpty else {
            throw .invalidArgument(
                argument: "colors", expected: "at least one colour", actual: "none")
        }
        let captionHeight = captioned ? 12 : 0
        let width = colors.count * swatchWidth
        let height = swatchHeight + captionHeight
        guard swatchWidth >= 1, swatchHeight >= 1 else {
            throw .invalidArgument(
                argument: "swatchWidth, swatchHeight", expected: ">= 1",
                actual: "\(swatchWidth), \(swatchHeight)")
        }
        try Image.checkSize(width, height)
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for (i, color) in colors.enumerated() {
            pixels.withUnsafeMutableBufferPointer { buffer in
                fillRectangleKernel(
                    buffer.baseAddress!, width: width, height: height, channels: 3,
                    x0: i * swatchWidth, y0: 0, x1: (i + 1) * swatchWidth, y1: swatchHeight,
                    color: color.bytes)
            }
            if captioned {
                let caption = hexCode(color)
                let size = BitmapFont.size(of: caption, scale: 1)
                BitmapFont.draw(
                    caption, into: &pixels, width: width, height: height, channels: 3,
                    x: i * swatchWidth + max((swatchWidth - size.width) / 2, 0),
                    y: swatchHeight + 3,
                    scale: 1, color: [0, 0, 0])
            }
        }
        return Image(unchecked: width, height, 3, pixels)
    }

    /// "#E5A03C".
    static func hexCode(_ color: Image.Color) -> String {
        "#"
            + [color.red, color.green, color.blue].map { byte in
                let digits = Array("0123456789ABCDEF")
                return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
            }.joined()
    }
}
