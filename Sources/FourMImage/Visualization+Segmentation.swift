import FourMTensor

// MARK: - Semantic segmentation (spec/tokenizers.md 6.5, 9)

extension Visualization {
    /// One line of a segmentation legend: a class present in a label map.
    public struct LegendEntry: Sendable, Equatable {
        /// The 4M label, `0..<134` (0 = unlabeled).
        public let label: Int
        /// The class name (``COCOSemanticClasses/names``).
        public let name: String
        /// The colour the class is drawn with.
        public let color: Image.Color
        /// How many pixels carry the label.
        public let pixelCount: Int
        /// `pixelCount` over all pixels, in [0, 1].
        public let fraction: Double
    }

    /// A label map `[H, W]` or `[1, H, W]` (values `0..<134`, spec/tokenizers.md 6.5) drawn
    /// with the fixed COCO panoptic palette (``COCOSemanticClasses/colors``; unlabeled is
    /// black). The reference uses detectron2's visualiser where available, whose colours are the
    /// same category colours; it blends them over white and writes names on the regions — use
    /// ``semanticSegmentationLegend(labels:)`` for the names.
    /// - Parameter labels: the class map, e.g. from ``semanticSegmentationLabels(logits:)``.
    /// - Returns: a `W × H` RGB image.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape or a
    ///   label outside `0..<134`.
    public static func semanticSegmentation(labels: Tensor<Int32>) throws(ImageError) -> Image {
        let (height, width) = try labelPlane(labels.shape)
        _ = try labelCounts(labels)
        let count = width * height
        let pixels = labels.withUnsafeBufferPointer { src in
            COCOSemanticClasses.paletteBytes.withUnsafeBufferPointer { palette in
                [UInt8](unsafeUninitializedCapacity: count * 3) { dst, n in
                    paletteKernel(src, palette: palette.baseAddress!, dst.baseAddress!)
                    n = count * 3
                }
            }
        }
        return Image(unchecked: width, height, 3, pixels)
    }

    /// A label map `[H, W]` or `[1, H, W]` drawn with your own colours, for segmentation
    /// tokenizers with classes other than COCO's (label `i` is drawn with `colors[i]`).
    /// - Parameters:
    ///   - labels: the class map.
    ///   - colors: one colour per label.
    /// - Returns: a `W × H` RGB image.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape or a
    ///   label outside `0..<colors.count`.
    public static func semanticSegmentation(labels: Tensor<Int32>, colors: [Image.Color]) throws(ImageError) -> Image {
        let (height, width) = try labelPlane(labels.shape)
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 3)
        for label in labels.scalars {
            guard label >= 0, Int(label) < colors.count else {
                throw .invalidTensor(argument: "labels", expected: "labels in 0..<\(colors.count)", actual: "label \(label)")
            }
            let color = colors[Int(label)]
            pixels += [color.red, color.green, color.blue]
        }
        return Image(unchecked: width, height, 3, pixels)
    }

    /// Decoder logits `[134, H, W]` or `[1, 134, H, W]` drawn as a class map: argmax over the
    /// classes (ties → lowest label, spec/tokenizers.md 6.5), then
    /// ``semanticSegmentation(labels:)``.
    /// - Parameter logits: the semantic-segmentation tokenizer's decoder output.
    /// - Returns: a `W × H` RGB image.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape.
    public static func semanticSegmentation(logits: Tensor<Float>) throws(ImageError) -> Image {
        try semanticSegmentation(labels: semanticSegmentationLabels(logits: logits))
    }

    /// The class map of decoder logits: argmax over `C` classes, ties → lowest index.
    /// - Parameter logits: `[C, H, W]` or `[1, C, H, W]`, `1 <= C <= 134`.
    /// - Returns: `[1, H, W]` labels in `0..<C`.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape.
    public static func semanticSegmentationLabels(logits: Tensor<Float>) throws(ImageError)
        -> Tensor<Int32>
    {
        var dims = logits.shape
        if dims.count == 4, dims[0] == 1 { dims.removeFirst() }
        guard dims.count == 3, (1...COCOSemanticClasses.count).contains(dims[0]), dims[1] >= 1,
            dims[2] >= 1,
            dims[1] * dims[2] <= Image.maximumPixelCount
        else {
            throw .invalidTensor(
                argument: "logits",
                expected: "[C, H, W] or [1, C, H, W] with 1 <= C <= \(COCOSemanticClasses.count)",
                actual: "shape \(logits.shape)")
        }
        let (classes, height, width) = (dims[0], dims[1], dims[2])
        return logits.withUnsafeBufferPointer { src in
            Tensor<Int32>(shape: [1, height, width]) { dst in
                channelArgmaxKernel(
                    src.baseAddress!, channels: classes, pixels: height * width, dst.baseAddress!)
            }
        }
    }

    /// The classes present in a label map, most frequent first (ties → lower label).
    /// - Parameter labels: `[H, W]` or `[1, H, W]`, values `0..<134`.
    /// - Returns: one entry per label that occurs.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape or a
    ///   label outside `0..<134`.
    public static func semanticSegmentationLegendEntries(labels: Tensor<Int32>) throws(ImageError)
        -> [LegendEntry]
    {
        let (height, width) = try labelPlane(labels.shape)
        let counts = try labelCounts(labels)
        let total = Double(width * height)
        return counts.enumerated()
            .filter { $0.element > 0 }
            .sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .map { label, count in
                LegendEntry(
                    label: label, name: COCOSemanticClasses.names[label],
                    color: COCOSemanticClasses.colors[label], pixelCount: count,
                    fraction: Double(count) / total)
            }
    }

    /// A legend image for a label map: one row per class present (most frequent first), a colour
    /// swatch, the class name and its share of the pixels, black text on white.
    /// - Parameter labels: `[H, W]` or `[1, H, W]`, values `0..<134`.
    /// - Returns: an RGB image, ``legendRowHeight`` pixels per class plus padding.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape or a
    ///   label outside `0..<134`.
    public static func semanticSegmentationLegend(labels: Tensor<Int32>) throws(ImageError) -> Image
    {
        try legend(semanticSegmentationLegendEntries(labels: labels))
    }

    /// Height of one legend row in pixels.
    public static let legendRowHeight = 22

    /// Renders legend entries: per row a 16 × 16 swatch (1-pixel gray frame) and
    /// "name  12.3%" in the built-in 5×7 font at scale 2.
    /// - Parameter entries: the rows, in order.
    /// - Returns: an RGB image of width `8 + 16 + 8 + longest text + 8` and height
    ///   `8 + rows · legendRowHeight + 8 − 6`.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` when `entries` is
    ///   empty.
    public static func legend(_ entries: [LegendEntry]) throws(ImageError) -> Image {
        guard !entries.isEmpty else {
            throw .invalidArgument(
                argument: "entries", expected: "at least one legend entry", actual: "none")
        }
        let padding = 8
        let swatch = 16
        let gap = 8
        let scale = 2
        let texts = entries.map(legendText)
        let textWidth = texts.map { BitmapFont.size(of: $0, scale: scale).width }.max() ?? 0
        let width = padding + swatch + gap + textWidth + padding
        let height =
            padding + entries.count * legendRowHeight - (legendRowHeight - swatch) + padding
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for (row, entry) in entries.enumerated() {
            let top = padding + row * legendRowHeight
            pixels.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                fillRectangleKernel(
                    base, width: width, height: height, channels: 3, x0: padding, y0: top,
                    x1: padding + swatch, y1: top + swatch, color: [96, 96, 96])
                fillRectangleKernel(
                    base, width: width, height: height, channels: 3, x0: padding + 1, y0: top + 1,
                    x1: padding + swatch - 1, y1: top + swatch - 1, color: entry.color.bytes)
            }
            BitmapFont.draw(
                texts[row], into: &pixels, width: width, height: height, channels: 3,
                x: padding + swatch + gap, y: top + (swatch - BitmapFont.glyphHeight * scale) / 2,
                scale: scale, color: [0, 0, 0])
        }
        return Image(unchecked: width, height, 3, pixels)
    }

    /// "person  37.5%": the text of one legend row.
    static func legendText(_ entry: LegendEntry) -> String {
        let tenths = Int((entry.fraction * 1000).rounded())
        return "\(entry.name)  \(tenths / 10).\(tenths % 10)%"
    }

    static func labelPlane(_ shape: [Int]) throws(ImageError) -> (height: Int, width: Int) {
        var dims = shape
        if dims.count == 3, dims[0] == 1 { dims.removeFirst() }
        guard dims.count == 2, dims[0] >= 1, dims[1] >= 1,
            dims[0] * dims[1] <= Image.maximumPixelCount
        else {
            throw .invalidTensor(
                argument: "labels", expected: "[H, W] or [1, H, W] with H, W >= 1",
                actual: "shape \(shape)")
        }
        return (dims[0], dims[1])
    }

    static func labelCounts(_ labels: Tensor<Int32>) throws(ImageError) -> [Int] {
        let result = labels.withUnsafeBufferPointer {
            labelCountsKernel($0, classes: COCOSemanticClasses.count)
        }
        switch result {
        case .success(let counts): return counts
        case .failure(let bad):
            throw .invalidTensor(
                argument: "labels", expected: "labels in 0..<\(COCOSemanticClasses.count)",
                actual: "label \(bad.label) at flat index \(bad.index)")
        }
    }
}
