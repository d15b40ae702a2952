import Foundation
import FourMImage
import FourMTensor

/// One SAM instance read from a generated `sam_instance` text: its box in pixels and the ids
/// of its mask tokens, mapped to the SAM-instance tokenizer's codebook.
///
/// The corners stay integers (they are pixel indices parsed from the text, and the
/// reference's duplicate test compares them in integer arithmetic); ``box`` gives them as the
/// shared `ImageBox`.
public struct SAMInstanceBox: Sendable, Equatable {
    /// Left edge (`v0`).
    public var minX: Int
    /// Top edge (`v1`).
    public var minY: Int
    /// Right edge, exclusive (`v2`).
    public var maxX: Int
    /// Bottom edge, exclusive (`v3`).
    public var maxY: Int
    /// Mask token ids, row-major: `v0=n` → n, `v1`/`v2`/`v3=n` → n + 512.
    public var tokenIds: [Int32]

    /// The corners as the shared `ImageBox`, in pixels.
    public var box: ImageBox {
        ImageBox(xmin: Double(minX), ymin: Double(minY), xmax: Double(maxX), ymax: Double(maxY))
    }

    /// The box area `(maxX − minX)·(maxY − minY)`.
    public var area: Int { (maxX - minX) * (maxY - minY) }
}

/// One painted group of near-identical instances.
public struct SAMInstanceGroup: Sendable {
    /// Indices into ``SAMInstanceMap/instances`` (sorted order) averaged into this group.
    public var members: [Int]
    /// The mean of the members' mask probabilities `[S, S]`.
    public var meanMask: Tensor<Float>
    /// The truncated mean box `[minY, minX, maxY, maxX]` (maxima not yet clipped to the image).
    public var box: [Int]
    /// The mean mask resized to the box with OpenCV's bicubic rule `[maxY − minY, maxX − minX]`.
    public var resized: Tensor<Float>
    /// The group's colour in ``SAMInstanceMap/image``.
    public var color: Image.Color
}

/// The reference demo's SAM-instance decoding (`plotting_utils.decode_sam_instances`):
/// instances parsed from text, their masks decoded by the SAM-instance tokenizer, duplicates
/// merged, and every group painted inside its box on a black canvas.
///
/// ```swift
/// let map = try SAMInstanceMap(text: generatedText, tokenizer: samTokenizer)
/// try map.image.writePNG(to: URL(fileURLWithPath: "instances.png"))
/// for g in map.groups { print(g.box, g.color) }
/// ```
public struct SAMInstanceMap: Sendable {
    /// The accepted instances in text order.
    public var parsed: [SAMInstanceBox]
    /// `np.argsort(-area)`: the text-order index of each instance, largest box first (stable).
    public var order: [Int]
    /// The instances in area order.
    public var instances: [SAMInstanceBox]
    /// The tokenizer's mask logits `[N, 1, S, S]` in area order.
    public var logits: Tensor<Float>
    /// `sigmoid(logits)` `[N, S, S]`.
    public var probabilities: Tensor<Float>
    /// `max − min` of each mask; masks under ``minimumContrast`` are dropped.
    public var contrast: [Float]
    /// The painted groups, in creation order.
    public var groups: [SAMInstanceGroup]
    /// The instance map `side × side` RGB.
    public var image: Image

    /// Masks whose probabilities span less than this are dropped (reference: 0.9).
    public static let minimumContrast: Float = 0.9

    /// Decodes a `sam_instance` text.
    /// - Parameters:
    ///   - text: the decoded sequence (special tokens kept; `" [EOS]"` is removed here).
    ///   - tokenizer: the SAM-instance tokenizer (1 channel).
    ///   - side: the canvas side in pixels (the reference supports only 224).
    ///   - tokensPerInstance: mask tokens per instance (a square number, 16 in the release).
    /// - Throws: `.invalidInput` when `tokensPerInstance` is not a square, `side` is not
    ///   1…16384, or the decoded masks
    ///   are not one-channel squares, `.idOutOfRange` for ids beyond the codebook.
    public init(text: String, tokenizer: VQImageTokenizer, side: Int = 224, tokensPerInstance: Int = 16) throws(VQTokenizerError) {
        let grid = Int(Double(tokensPerInstance).squareRoot().rounded())
        guard grid * grid == tokensPerInstance, grid > 0 else {
            throw .invalidInput(argument: "tokensPerInstance", expected: "a square number", actual: "\(tokensPerInstance)")
        }
        guard side > 0, side <= 16384 else { throw .invalidInput(argument: "side", expected: "1…16384 pixels", actual: "\(side)") }
        let parsed = Self.parse(text.replacingOccurrences(of: " [EOS]", with: ""), tokensPerInstance: tokensPerInstance)
        let areas = parsed.map(\.area)
        let order = parsed.indices.sorted { areas[$0] > areas[$1] || (areas[$0] == areas[$1] && $0 < $1) }
        let instances = order.map { parsed[$0] }
        self.parsed = parsed
        self.order = order
        self.instances = instances
        var canvas = [UInt8](repeating: 0, count: side * side * 3)
        groups = []
        contrast = []
        guard !instances.isEmpty else {
            logits = Tensor(zeros: [0, 1, 0, 0])
            probabilities = Tensor(zeros: [0, 0, 0])
            image = (try? Image(width: side, height: side, channels: 3, pixels: canvas)) ?? Self.blank
            return
        }
        let ids = Tensor<Int32>(shape: [instances.count, grid, grid], scalars: instances.flatMap(\.tokenIds))
        logits = try tokenizer.decode(ids: ids)
        guard logits.rank == 4, logits.shape[1] == 1, logits.shape[2] == logits.shape[3] else {
            throw .invalidInput(argument: "tokenizer", expected: "one-channel square masks [N, 1, S, S]", actual: "\(logits.shape)")
        }
        let s = logits.shape[2]
        probabilities = Tensor(shape: [instances.count, s, s], scalars: logits.scalars.map { 1 / (1 + expf(-$0)) })
        let p = probabilities.scalars
        var representatives: [(masks: [Int], boxes: [[Int]])] = []
        for n in 0..<instances.count {
            let mask = p[(n * s * s)..<((n + 1) * s * s)]
            let c = (mask.max() ?? 0) - (mask.min() ?? 0)
            contrast.append(c)
            guard c >= Self.minimumContrast else { continue }
            let box = [instances[n].minY, instances[n].minX, instances[n].maxY, instances[n].maxX]
            var joined = false
            for g in representatives.indices {
                let first = representatives[g].masks[0]
                let rm = p[(first * s * s)..<((first + 1) * s * s)]
                var product = 0.0, sumA = 0.0, sumB = 0.0
                for (a, b) in zip(rm, mask) { product += Double(a * b); sumA += Double(a); sumB += Double(b) }
                let similarity = 2 * (product + 0.01) / (sumA + sumB + 0.01)
                if similarity > 0.8 && Self.iou(representatives[g].boxes[0], box) > 0.9 {
                    representatives[g].masks.append(n)
                    representatives[g].boxes.append(box)
                    joined = true
                    break
                }
            }
            if !joined { representatives.append(([n], [box])) }
        }
        for (i, r) in representatives.enumerated() {
            var mean = [Float](repeating: 0, count: s * s)
            for m in r.masks { for j in 0..<(s * s) { mean[j] += p[m * s * s + j] } }
            mean = mean.map { $0 / Float(r.masks.count) }
            let box = (0..<4).map { k in Int((Double(r.boxes.map { $0[k] }.reduce(0, +)) / Double(r.boxes.count)).rounded(.towardZero)) }
            let (minY, minX) = (box[0], box[1])
            let height = box[2] - minY, width = box[3] - minX
            let resized = mean.withUnsafeBufferPointer { resizeCubicOpenCV($0, inHeight: s, inWidth: s, outHeight: height, outWidth: width) }
            let color = SAMPalette.color(i)
            groups.append(SAMInstanceGroup(members: r.masks, meanMask: Tensor(shape: [s, s], scalars: mean), box: box,
                                           resized: Tensor(shape: [max(height, 0), max(width, 0)], scalars: resized), color: color))
            // Paint: maxima clipped to the canvas, the resized mask cropped to the clipped box.
            let maxY = min(box[2], side), maxX = min(box[3], side)
            guard minY >= 0, minX >= 0, maxY > minY, maxX > minX, width > 0 else { continue }
            for y in minY..<maxY {
                for x in minX..<maxX where resized[(y - minY) * width + (x - minX)] > 0.5 {
                    let o = (y * side + x) * 3
                    canvas[o] = color.red
                    canvas[o + 1] = color.green
                    canvas[o + 2] = color.blue
                }
            }
        }
        image = (try? Image(width: side, height: side, channels: 3, pixels: canvas)) ?? Self.blank
    }

    /// The pixels group `group` paints, before later groups paint over them: `[side, side]`,
    /// row-major (its resized mask above 0.5 inside its box, clipped to the map).
    /// - Parameter group: an index into ``groups``.
    /// - Returns: one flag per pixel; all false for an index out of range.
    public func mask(group: Int) -> [Bool] {
        let side = image.width
        var out = [Bool](repeating: false, count: side * side)
        guard groups.indices.contains(group) else { return out }
        let g = groups[group]
        let (minY, minX) = (g.box[0], g.box[1])
        let width = g.resized.shape.count == 2 ? g.resized.shape[1] : 0
        let values = g.resized.scalars
        guard minY >= 0, minX >= 0, width > 0 else { return out }
        for y in minY..<max(min(g.box[2], side), minY) {
            for x in minX..<max(min(g.box[3], side), minX) where values[(y - minY) * width + (x - minX)] > 0.5 { out[y * side + x] = true }
        }
        return out
    }

    /// ``mask(group:)`` as COCO's uncompressed run-length encoding: run lengths in column-major
    /// order, starting with a (possibly empty) run of background.
    /// - Parameter group: an index into ``groups``.
    public func maskRLE(group: Int) -> [Int] {
        let side = image.width
        let mask = self.mask(group: group)
        var counts: [Int] = [], current = false, run = 0
        for x in 0..<side {
            for y in 0..<side {
                if mask[y * side + x] != current { counts.append(run); run = 0; current.toggle() }
                run += 1
            }
        }
        counts.append(run)
        return counts
    }

    private static let blank: Image = {
        guard let image = try? Image(width: 1, height: 1, filledWith: .black) else { preconditionFailure("a 1×1 image is always valid") }
        return image
    }()

    /// The reference's IoU of boxes `[minY, minX, maxY, maxX]`, in Double.
    static func iou(_ a: [Int], _ b: [Int]) -> Double {
        let inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
        let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return union == 0 ? 0 : Double(inter) / Double(union)
    }

    /// The reference's parsing: words grouped between `point` words; groups with at most one
    /// word after the two coordinates (`none`) skipped; inside a group, runs between
    /// `polygon` words with exactly 4 + `tokensPerInstance` words are instances; boxes with a
    /// malformed word or `min ≥ max` and masks with a malformed word are skipped.
    public static func parse(_ text: String, tokensPerInstance: Int = 16) -> [SAMInstanceBox] {
        func groups(_ words: [Substring], by separator: String) -> [[Substring]] {
            var out: [[Substring]] = [], current: [Substring] = []
            for w in words {
                if w == separator {
                    if !current.isEmpty { out.append(current); current = [] }
                } else {
                    current.append(w)
                }
            }
            if !current.isEmpty { out.append(current) }
            return out
        }
        func value(_ word: Substring, token: Bool) -> Int? {
            let parts = word.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else { return nil }
            return token && parts[0] != "v0" ? n + 512 : n
        }
        var result: [SAMInstanceBox] = []
        for part in groups(text.split(whereSeparator: \.isWhitespace), by: "point") {
            guard part.count - 2 > 1 else { continue }
            for positions in groups(part, by: "polygon") where positions.count == tokensPerInstance + 4 {
                let box = positions.prefix(4).map { value($0, token: false) }
                guard let minX = box[0], let minY = box[1], let maxX = box[2], let maxY = box[3], minX < maxX, minY < maxY else { continue }
                let ids = positions.dropFirst(4).map { value($0, token: true) }
                guard ids.allSatisfy({ $0 != nil }) else { continue }
                result.append(SAMInstanceBox(minX: minX, minY: minY, maxX: maxX, maxY: maxY, tokenIds: ids.map { Int32($0 ?? 0) }))
            }
        }
        return result
    }
}
