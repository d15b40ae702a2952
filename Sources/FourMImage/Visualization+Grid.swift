import FourMTensor

// MARK: - Composite grid and text tiles (the reference demo's plot_modalities)

extension Visualization {
    /// One titled cell of a ``grid(_:tileSize:columns:)``.
    public struct Tile: Sendable {
        /// The title drawn above the cell (the reference's plotting name).
        public var title: String
        /// The picture, resized to the cell (nearest-neighbour, so feature maps stay blocky).
        public var image: Image

        /// Creates a tile.
        public init(title: String, image: Image) {
            self.title = title
            self.image = image
        }
    }

    /// A composite of titled tiles, row by row, like the reference demo's `plot_modalities`
    /// (up to 5 columns, white background).
    /// - Parameters:
    ///   - tiles: the cells in order.
    ///   - tileSize: the side of every cell in pixels, ≥ 16.
    ///   - columns: cells per row, ≥ 1.
    /// - Returns: an RGB image.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` for no tiles or a bad size.
    public static func grid(_ tiles: [Tile], tileSize: Int = 224, columns: Int = 5) throws(ImageError) -> Image {
        guard !tiles.isEmpty, tileSize >= 16, columns >= 1 else {
            throw .invalidArgument(argument: "tiles, tileSize, columns", expected: "at least one tile, tileSize ≥ 16, columns ≥ 1",
                                   actual: "\(tiles.count), \(tileSize), \(columns)")
        }
        let pad = 4, titleHeight = 14
        let cols = min(columns, tiles.count), rows = (tiles.count + cols - 1) / cols
        let cellWidth = tileSize + 2 * pad, cellHeight = tileSize + titleHeight + 2 * pad
        let width = cols * cellWidth, height = rows * cellHeight
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for (i, tile) in tiles.enumerated() {
            let x0 = (i % cols) * cellWidth + pad, y0 = (i / cols) * cellHeight + pad
            let title = String(tile.title.prefix(max(tileSize / BitmapFont.advance, 1)))
            BitmapFont.draw(title, into: &pixels, width: width, height: height, channels: 3, x: x0, y: y0 + 2, scale: 1, color: [0, 0, 0])
            let cell = try tile.image.rgb().resizedNearest(width: tileSize, height: tileSize)
            for y in 0..<tileSize {
                let src = y * tileSize * 3, dst = ((y0 + titleHeight + y) * width + x0) * 3
                pixels.replaceSubrange(dst..<(dst + tileSize * 3), with: cell.pixels[src..<(src + tileSize * 3)])
            }
        }
        return Image(unchecked: width, height, 3, pixels)
    }

    /// Text on a white square, wrapped at word boundaries (the reference's
    /// `text_to_pil_image`), in the built-in 5×7 font; lines past the bottom are cut.
    /// - Parameters:
    ///   - text: the text (printable ASCII; other characters draw as `?`).
    ///   - side: the square's side, ≥ 16.
    /// - Throws: ``ImageError/invalidArgument(argument:expected:actual:)`` for a side below 16.
    public static func text(_ text: String, side: Int = 224) throws(ImageError) -> Image {
        guard side >= 16 else { throw .invalidArgument(argument: "side", expected: "≥ 16", actual: "\(side)") }
        var pixels = [UInt8](repeating: 255, count: side * side * 3)
        let perLine = max((side - 8) / BitmapFont.advance, 1)
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(separator: " ") {
                var w = String(word)
                while w.count > perLine {
                    if !line.isEmpty { lines.append(line); line = "" }
                    lines.append(String(w.prefix(perLine)))
                    w = String(w.dropFirst(perLine))
                }
                if line.isEmpty { line = w } else if line.count + 1 + w.count <= perLine { line += " " + w } else { lines.append(line); line = w }
            }
            lines.append(line)
        }
        for (i, line) in lines.enumerated() where 4 + (i + 1) * (BitmapFont.glyphHeight + 3) <= side {
            BitmapFont.draw(line, into: &pixels, width: side, height: side, channels: 3, x: 4, y: 4 + i * (BitmapFont.glyphHeight + 3), scale: 1, color: [0, 0, 0])
        }
        return Image(unchecked: side, side, 3, pixels)
    }
}
