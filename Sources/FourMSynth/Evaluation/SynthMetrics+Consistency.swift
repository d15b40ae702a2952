import FourMImage
import FourMTokenizers

// MARK: - Caption → image consistency

extension SynthMetrics {
    /// The lowest and highest Lambertian shading assumed for the brightest half of an object's
    /// pixels when matching its colour (the renderer's shading spans 0.25…1; the lit half of
    /// any visible object lies well above 0.5).
    static let shadingRange: ClosedRange<Double> = 0.5...1

    /// Finds the objects an image shows: for every connected region of one shape class in a
    /// semantic map, the shape and the colour it is painted in.
    ///
    /// Regions are 4-connected pixels of one class (1…4) with at least `minimumPixels` pixels;
    /// a class whose pixels add up to `minimumPixels` without any region that large counts as
    /// one region. A region's colour is read from its interior (pixels whose four neighbours
    /// are in the region, when at least six are; all its pixels otherwise), which keeps
    /// sky and ground bleeding out: the mean of the brightest half of those pixels `P` (by
    /// R + G + B) is matched to the ``SynthColor`` albedo `A` minimising `|P − s·A|`, with the
    /// shading factor `s = clamp(P·A / A·A, 0.5, 1)`. Scaling before comparing is what tells a
    /// shaded white from a lit gray and a dark orange from red.
    /// - Parameters:
    ///   - rgb: the image, 3 or 4 channels, as large as the map.
    ///   - segmentation: `[H, W]` labels, 0 background, ``SynthShape/classIndex`` on objects.
    ///   - minimumPixels: the smallest region counted (default 12).
    /// - Returns: one object per region (shape and colour; size nil), by class, then by the
    ///   region's first pixel in row-major order.
    /// - Throws: ``SynthMetricsError/tooFewChannels(metric:argument:expected:actual:)`` when
    ///   `rgb` is a 1-channel (gray) image;
    ///   ``SynthMetricsError/lengthMismatch(metric:argument:item:expected:actual:)`` when
    ///   `segmentation` does not hold one label per pixel of `rgb`.
    public static func imageObjects(
        rgb: Image, segmentation: [UInt8], minimumPixels: Int = 12
    ) throws(SynthMetricsError) -> [SynthCaptionObject] {
        let width = rgb.width, height = rgb.height, channels = rgb.channels
        guard channels >= 3 else {
            throw .tooFewChannels(metric: "imageObjects", argument: "rgb", expected: 3, actual: channels)
        }
        guard segmentation.count == width * height else {
            throw .lengthMismatch(
                metric: "imageObjects", argument: "segmentation", item: nil, expected: width * height,
                actual: segmentation.count)
        }
        var objects: [SynthCaptionObject] = []
        for shape in SynthShape.allCases {
            let label = UInt8(shape.classIndex)
            let members = segmentation.map { $0 == label }
            let total = members.reduce(0) { $0 + ($1 ? 1 : 0) }
            guard total >= max(1, minimumPixels) else { continue }
            var regions = connectedRegions(members, width: width, height: height)
                .filter { $0.count >= minimumPixels }
            if regions.isEmpty { regions = [(0..<members.count).filter { members[$0] }] }
            for region in regions {
                var inside = [Bool](repeating: false, count: members.count)
                for p in region { inside[p] = true }
                let interior = region.filter { p in
                    let x = p % width, y = p / width
                    return x > 0 && x < width - 1 && y > 0 && y < height - 1
                        && inside[p - 1] && inside[p + 1] && inside[p - width] && inside[p + width]
                }
                let pixels = (interior.count >= 6 ? interior : region).map { p in
                    let k = p * channels
                    return SIMD3<Double>(
                        Double(rgb.pixels[k]), Double(rgb.pixels[k + 1]), Double(rgb.pixels[k + 2]))
                }
                let brightest = pixels.sorted { $0.sum() > $1.sum() }.prefix(max(1, pixels.count / 2))
                let mean = brightest.reduce(SIMD3<Double>(), +) / Double(brightest.count)
                objects.append(SynthCaptionObject(shape: shape, color: nearestColor(mean)))
            }
        }
        return objects
    }

    /// The named albedo closest to a shaded colour `P`: the one minimising `|P − s·A|` over
    /// `s` in ``shadingRange``.
    static func nearestColor(_ color: SIMD3<Double>) -> SynthColor {
        var best = SynthColor.gray
        var bestResidual = Double.infinity
        for candidate in SynthColor.allCases {
            let c = candidate.color
            let albedo = SIMD3<Double>(Double(c.red), Double(c.green), Double(c.blue))
            let fit = (color * albedo).sum() / (albedo * albedo).sum()
            let s = min(shadingRange.upperBound, max(shadingRange.lowerBound, fit))
            let d = color - s * albedo
            let residual = (d * d).sum()
            if residual < bestResidual { bestResidual = residual; best = candidate }
        }
        return best
    }

    /// 4-connected regions of the `true` pixels, each a list of row-major indices, in order of
    /// their first pixel.
    static func connectedRegions(_ mask: [Bool], width: Int, height: Int) -> [[Int]] {
        var seen = [Bool](repeating: false, count: mask.count)
        var regions: [[Int]] = []
        for start in mask.indices where mask[start] && !seen[start] {
            var region: [Int] = []
            var stack = [start]
            seen[start] = true
            while let p = stack.popLast() {
                region.append(p)
                let x = p % width, y = p / width
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                where nx >= 0 && nx < width && ny >= 0 && ny < height {
                    let q = ny * width + nx
                    if mask[q] && !seen[q] { seen[q] = true; stack.append(q) }
                }
            }
            regions.append(region.sorted())
        }
        return regions
    }

    /// Compares the objects captions ask for with the objects found in images generated from
    /// them (``imageObjects(rgb:segmentation:minimumPixels:)``): per scene, caption objects
    /// are matched one-to-one to found objects of the same shape and colour (and, separately,
    /// of the same shape), as multisets; found objects beyond the caption do not count.
    /// - Parameters:
    ///   - captions: one caption per scene, parsed with ``parseCaption(_:)``.
    ///   - found: the objects found in each scene's generated image.
    /// - Returns: the fractions of caption objects matched by shape and colour, and by shape.
    /// - Throws: ``SynthMetricsError/lengthMismatch(metric:argument:item:expected:actual:)``
    ///   when `found` does not hold one list per caption.
    public static func captionConsistency(
        captions: [String], found: [[SynthCaptionObject]]
    ) throws(SynthMetricsError) -> SynthConsistency {
        guard found.count == captions.count else {
            throw .lengthMismatch(
                metric: "captionConsistency", argument: "found", item: nil, expected: captions.count,
                actual: found.count)
        }
        var objects = 0, both = 0, shapes = 0
        for (caption, seen) in zip(captions, found) {
            let wanted = parseCaption(caption)
            objects += wanted.count
            var pairs: [SynthCaptionObject: Int] = [:]
            var shapeCounts: [SynthShape: Int] = [:]
            for object in seen {
                guard let shape = object.shape else { continue }
                if object.color != nil {
                    pairs[SynthCaptionObject(shape: shape, color: object.color), default: 0] += 1
                }
                shapeCounts[shape, default: 0] += 1
            }
            for object in wanted {
                guard let shape = object.shape else { continue }
                let key = SynthCaptionObject(shape: shape, color: object.color)
                if object.color != nil, let n = pairs[key], n > 0 {
                    pairs[key] = n - 1
                    both += 1
                }
                if let n = shapeCounts[shape], n > 0 {
                    shapeCounts[shape] = n - 1
                    shapes += 1
                }
            }
        }
        return SynthConsistency(
            objects: objects, shapeAndColor: objects > 0 ? Double(both) / Double(objects) : nil,
            shape: objects > 0 ? Double(shapes) / Double(objects) : nil)
    }
}
