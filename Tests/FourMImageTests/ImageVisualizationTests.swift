import Foundation
import FourMTensor
import FourMTestSupport
import Testing

@testable import FourMImage

/// The renderers of spec/tokenizers.md 9: value conventions, colormap pins, palettes, legends,
/// boxes and swatches. `writesSamplesForViewing` leaves PNGs in /tmp/fourm-image-renders.
@Suite struct ImageVisualizationTests {
    @Test func rgbMapsMinusOneOneToBytes() throws {
        // [1, 3, 1, 4]: per channel x = −1, 0, 1, out of range; NaN shows as 0.
        let values = Tensor<Float>(
            shape: [1, 3, 1, 4], scalars: [-1, 0, 1, 3, -5, 0.5, -0.5, .nan, 1, 1, 1, 1])
        let image = try Visualization.rgb(values)
        #expect(image.width == 4 && image.height == 1 && image.channels == 3)
        #expect(image.pixels == [0, 0, 255, 128, 191, 255, 255, 64, 255, 255, 0, 255])
        #expect(try Visualization.surfaceNormals(values.reshaped([3, 1, 4])) == image)
    }

    @Test func customPaletteDrawsEachLabelWithItsColour() throws {
        let colors = [Image.Color(red: 0, green: 0, blue: 0), Image.Color(red: 255, green: 0, blue: 0), Image.Color(red: 0, green: 0, blue: 255)]
        let labels = Tensor<Int32>(shape: [1, 2, 2], scalars: [0, 1, 2, 1])
        let image = try Visualization.semanticSegmentation(labels: labels, colors: colors)
        #expect(image.width == 2 && image.height == 2 && image.channels == 3)
        #expect(image.pixels == [0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 0, 0])
        #expect(throws: ImageError.self) { try Visualization.semanticSegmentation(labels: Tensor<Int32>(shape: [1, 1], scalars: [3]), colors: colors) }
        #expect(throws: ImageError.self) { try Visualization.semanticSegmentation(labels: Tensor<Int32>(shape: [1, 1], scalars: [-1]), colors: colors) }
    }

    @Test func edgesAreGray() throws {
        let values = Tensor<Float>(shape: [2, 2], scalars: [-1, 1, 0, -1])
        let image = try Visualization.edges(values)
        #expect(image.channels == 1 && image.pixels == [0, 255, 128, 0])
        #expect(try Visualization.edges(values.reshaped([1, 1, 2, 2])) == image)
        #expect(try Visualization.edges(values.reshaped([1, 2, 2])) == image)
    }

    @Test func wrongShapesThrow() {
        #expect(
            throws: ImageError.invalidTensor(
                argument: "rgb", expected: "[3, H, W] or [1, 3, H, W] with 1 <= H·W <= 178956970",
                actual: "shape [2, 3, 4, 4]")
        ) {
            try Visualization.rgb(Tensor<Float>(zeros: [2, 3, 4, 4]))
        }
        #expect(
            throws: ImageError.invalidTensor(
                argument: "surfaceNormals",
                expected: "[3, H, W] or [1, 3, H, W] with 1 <= H·W <= 178956970",
                actual: "shape [1, 1, 4, 4]")
        ) {
            try Visualization.surfaceNormals(Tensor<Float>(zeros: [1, 1, 4, 4]))
        }
        #expect(
            throws: ImageError.invalidTensor(
                argument: "depth",
                expected: "[H, W], [1, H, W] or [1, 1, H, W] with 1 <= H·W <= 178956970",
                actual: "shape [3, 4, 4]")
        ) {
            try Visualization.depth(Tensor<Float>(zeros: [3, 4, 4]))
        }
        #expect(
            throws: ImageError.invalidTensor(
                argument: "edges",
                expected: "[H, W], [1, H, W] or [1, 1, H, W] with 1 <= H·W <= 178956970",
                actual: "shape [0, 4]")
        ) {
            try Visualization.edges(Tensor<Float>(zeros: [0, 4]))
        }
        #expect(
            throws: ImageError.invalidTensor(
                argument: "labels", expected: "[H, W] or [1, H, W] with H, W >= 1",
                actual: "shape [2, 4, 4]")
        ) {
            try Visualization.semanticSegmentation(labels: Tensor<Int32>(zeros: [2, 4, 4]))
        }
        #expect(
            throws: ImageError.invalidTensor(
                argument: "logits", expected: "[C, H, W] or [1, C, H, W] with 1 <= C <= 134",
                actual: "shape [1, 135, 2, 2]")
        ) {
            try Visualization.semanticSegmentation(logits: Tensor<Float>(zeros: [1, 135, 2, 2]))
        }
    }

    /// spec/tokenizers.md 9 pins turbo(0), turbo(0.5) and turbo(1); 8-bit = round(255·v).
    @Test func depthUsesTurboWithMinMaxNormalisation() throws {
        let depth = Tensor<Float>(shape: [1, 1, 1, 5], scalars: [-2, 0.5, 3, .nan, 0.5])
        let image = try Visualization.depth(depth)
        let turbo0: [UInt8] = [48, 18, 59]
        let turboHalf: [UInt8] = [164, 252, 60]
        let turbo1: [UInt8] = [122, 4, 3]
        #expect(Array(image.pixels[0..<3]) == turbo0)
        #expect(Array(image.pixels[3..<6]) == turboHalf)  // (0.5 + 2)/5 = 0.5 → index 128
        #expect(Array(image.pixels[6..<9]) == turbo1)
        #expect(Array(image.pixels[9..<12]) == turbo0)  // NaN
        let constant = try Visualization.depth(Tensor<Float>(repeating: 7, shape: [3, 2]))
        #expect(constant.pixels == Array(repeating: turbo0, count: 6).flatMap { $0 })
        #expect(TurboColormap.entries.count == 256 && TurboColormap.lookupTable.count == 768)
    }

    @Test func cocoPaletteIsFixed() throws {
        #expect(COCOSemanticClasses.names.count == 134 && COCOSemanticClasses.colors.count == 134)
        #expect(COCOSemanticClasses.names[0] == "unlabeled")
        #expect(COCOSemanticClasses.names[1] == "person")
        #expect(COCOSemanticClasses.names[80] == "toothbrush")
        #expect(COCOSemanticClasses.names[81] == "banner")
        #expect(COCOSemanticClasses.names[133] == "rug-merged")
        #expect(COCOSemanticClasses.label(named: "dining table") == 61)
        #expect(COCOSemanticClasses.colors[1] == Image.Color(red: 220, green: 20, blue: 60))
        #expect(COCOSemanticClasses.colors[0] == .black)
        #expect(Set(COCOSemanticClasses.names).count == 134)
        #expect(Set(COCOSemanticClasses.colors).count == 134, "every label has its own colour")
    }

    @Test func segmentationUsesThePalette() throws {
        let labels = Tensor<Int32>(shape: [1, 2, 2], scalars: [0, 1, 133, 1])
        let image = try Visualization.semanticSegmentation(labels: labels)
        #expect(image.pixels == [0, 0, 0, 220, 20, 60, 250, 141, 255, 220, 20, 60])
        #expect(
            throws: ImageError.invalidTensor(
                argument: "labels", expected: "labels in 0..<134",
                actual: "label 134 at flat index 2")
        ) {
            try Visualization.semanticSegmentation(
                labels: Tensor<Int32>(shape: [2, 2], scalars: [0, 1, 134, -1]))
        }
        // Logits: argmax over classes, ties → lowest label.
        var logits = [Float](repeating: 0, count: 134 * 2)
        logits[5 * 2 + 0] = 3  // pixel 0 → label 5
        logits[7 * 2 + 1] = 1  // pixel 1: labels 7 and 9 tie → 7
        logits[9 * 2 + 1] = 1
        let tensor = Tensor<Float>(shape: [1, 134, 1, 2], scalars: logits)
        #expect(try Visualization.semanticSegmentationLabels(logits: tensor).scalars == [5, 7])
        let fromLogits = try Visualization.semanticSegmentation(logits: tensor)
        #expect(
            fromLogits
                == (try Visualization.semanticSegmentation(
                    labels: Tensor(shape: [1, 2], scalars: [5, 7]))))
    }

    @Test func legendListsTheClassesPresent() throws {
        // 6 pixels: sky ×3, person ×2, grass ×1.
        let sky = Int32(try #require(COCOSemanticClasses.label(named: "sky-other-merged")))
        let grass = Int32(try #require(COCOSemanticClasses.label(named: "grass-merged")))
        let labels = Tensor<Int32>(shape: [2, 3], scalars: [sky, sky, 1, sky, 1, grass])
        let entries = try Visualization.semanticSegmentationLegendEntries(labels: labels)
        #expect(entries.map(\.name) == ["sky-other-merged", "person", "grass-merged"])
        #expect(entries.map(\.pixelCount) == [3, 2, 1])
        #expect(
            entries.map(Visualization.legendText) == [
                "sky-other-merged  50.0%", "person  33.3%", "grass-merged  16.7%",
            ])
        let legend = try Visualization.semanticSegmentationLegend(labels: labels)
        #expect(legend.height == 8 + 3 * Visualization.legendRowHeight - 6 + 8)
        // Each row's text, drawn alone with the same font, appears pixel for pixel in the legend.
        for (row, entry) in entries.enumerated() {
            let text = Visualization.legendText(entry)
            let size = BitmapFont.size(of: text, scale: 2)
            var alone = [UInt8](repeating: 255, count: size.width * size.height * 3)
            BitmapFont.draw(
                text, into: &alone, width: size.width, height: size.height, channels: 3,
                x: 0, y: 0, scale: 2, color: [0, 0, 0])
            let region = try legend.cropped(
                x: 32, y: 9 + row * Visualization.legendRowHeight,
                width: size.width, height: size.height)
            #expect(region.pixels == alone, "row \(row) does not show '\(text)'")
            #expect(legend.color(x: 16, y: 16 + row * Visualization.legendRowHeight) == entry.color)
        }
    }

    @Test func fontCoversPrintableASCII() {
        #expect(BitmapFont.masks.count == 95)
        #expect(BitmapFont.masks.allSatisfy { $0.count == 7 && $0.allSatisfy { $0 < 32 } })
        #expect(BitmapFont.glyphIndex("A") == 33)
        #expect(BitmapFont.glyphIndex("é") == BitmapFont.glyphIndex("?"))
        #expect(BitmapFont.size(of: "ab", scale: 2) == (22, 14))
    }

    @Test func boxesAreRedWithLabels() throws {
        let white = try Image(width: 64, height: 48, filledWith: .white)
        let box = Visualization.Box(xmin: 0.25, ymin: 0.5, xmax: 0.75, ymax: 0.9, label: "cat")
        let drawn = try Visualization.boxes([box], on: white.grayscale())
        #expect(drawn.channels == 3)
        // Box corners at x 16...48, y 24...43 (round(0.9·48) = 43), 2 pixels thick.
        #expect(drawn.color(x: 16, y: 30) == .red && drawn.color(x: 17, y: 30) == .red)
        #expect(drawn.color(x: 18, y: 30) == .white)
        #expect(drawn.color(x: 48, y: 30) == .red && drawn.color(x: 30, y: 43) == .red)
        #expect(drawn.color(x: 30, y: 44) == .white)
        // The label box (text 17×7 + 2 padding) sits above the top edge, white text on red.
        let label = try drawn.cropped(x: 16, y: 24 - 11, width: 21, height: 11)
        let colors = Set((0..<11).flatMap { y in (0..<21).map { x in label.color(x: x, y: y) } })
        #expect(colors == [.red, .white])
        #expect(
            throws: ImageError.invalidArgument(
                argument: "boxes[0]", expected: "finite coordinates", actual: "[nan, 0.0, 1.0, 1.0]"
            )
        ) {
            try Visualization.boxes(
                [.init(xmin: .nan, ymin: 0, xmax: 1, ymax: 1, label: "")], on: white)
        }
    }

    @Test func paletteSwatches() throws {
        let colors = [
            Image.Color(red: 229, green: 160, blue: 60), .init(red: 10, green: 20, blue: 30),
        ]
        let image = try Visualization.colorPalette(colors)
        #expect(image.width == 96 && image.height == 76)
        #expect(image.color(x: 24, y: 32) == colors[0] && image.color(x: 72, y: 32) == colors[1])
        #expect(Visualization.hexCode(colors[0]) == "#E5A03C")
        let caption = try image.cropped(x: 0, y: 64, width: 48, height: 12)
        #expect(caption.pixels.contains(0), "caption text is drawn")
        #expect(try Visualization.colorPalette(colors, captioned: false).height == 64)
        #expect(
            throws: ImageError.invalidArgument(
                argument: "colors", expected: "at least one colour", actual: "none")
        ) {
            try Visualization.colorPalette([])
        }
    }

    /// Renders one sample of every kind to /tmp/fourm-image-renders for a person to look at.
    @Test func writesSamplesForViewing() throws {
        let folder = URL(fileURLWithPath: "/tmp/fourm-image-renders")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let side = 224
        var depth = [Float]()
        var normals = [Float](repeating: 0, count: 3 * side * side)
        var edges = [Float]()
        var labels = [Int32]()
        let sky = Int32(COCOSemanticClasses.label(named: "sky-other-merged") ?? 0)
        let grass = Int32(COCOSemanticClasses.label(named: "grass-merged") ?? 0)
        let tree = Int32(COCOSemanticClasses.label(named: "tree-merged") ?? 0)
        for y in 0..<side {
            for x in 0..<side {
                let u = Float(x) / Float(side - 1) * 2 - 1
                let v = Float(y) / Float(side - 1) * 2 - 1
                let r2 = u * u + v * v
                depth.append(r2 < 0.5 ? 1 + sqrt(0.5 - r2) * 2 : Float(y) / Float(side) * 3)
                let z = r2 < 1 ? sqrt(1 - r2) : 0
                normals[y * side + x] = r2 < 1 ? u : 0
                normals[side * side + y * side + x] = r2 < 1 ? -v : 0
                normals[2 * side * side + y * side + x] = r2 < 1 ? z : 1
                edges.append(abs(sqrt(r2) - 0.6) < 0.01 || abs(u - v) < 0.01 ? 1 : -1)
                labels.append(y < 80 ? sky : (r2 < 0.15 ? 1 : (x < 60 ? tree : grass)))
            }
        }
        let photo = try Image(contentsOf: ImageFixtures.url("photo.png")).preprocessed(size: side)
        let labelTensor = Tensor<Int32>(shape: [1, side, side], scalars: labels)
        let renders: [(String, Image)] = [
            ("depth", try Visualization.depth(Tensor(shape: [1, 1, side, side], scalars: depth))),
            (
                "normals",
                try Visualization.surfaceNormals(
                    Tensor(shape: [1, 3, side, side], scalars: normals))
            ),
            ("edges", try Visualization.edges(Tensor(shape: [1, 1, side, side], scalars: edges))),
            ("semseg", try Visualization.semanticSegmentation(labels: labelTensor)),
            ("semseg_legend", try Visualization.semanticSegmentationLegend(labels: labelTensor)),
            (
                "boxes",
                try Visualization.boxes(
                    [
                        .init(xmin: 0.1, ymin: 0.2, xmax: 0.55, ymax: 0.6, label: "person"),
                        .init(xmin: 0.5, ymin: 0.05, xmax: 0.95, ymax: 0.95, label: "dining table"),
                    ], on: photo)
            ),
            (
                "palette",
                try Visualization.colorPalette(
                    [
                        .init(red: 229, green: 160, blue: 60), .init(red: 40, green: 90, blue: 160),
                        .white, .black,
                    ])
            ),
        ]
        for (name, image) in renders {
            let url = folder.appendingPathComponent("\(name).png")
            try image.writePNG(to: url)
            #expect(try Image(contentsOf: url) == image)
        }
    }
}
