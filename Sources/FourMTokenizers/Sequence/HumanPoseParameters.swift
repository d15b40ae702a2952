import Foundation
import FourMTensor

/// One person as the reference demo reads a generated `human_poses` text
/// (`plotting_utils.visualize_human_poses`, up to the SMPL call): the box in pixels, the
/// camera, the SMPL betas and global orientation, and the body pose decoded by the pose
/// tokenizer into 23 rotation matrices. Feed these to your own SMPL model (`pose2rot=False`).
public struct HumanPoseParameters: Sendable {
    /// The box `[x0, y0, x1, y1]` in pixels of a `side`-pixel image (`v / 999 · side`).
    public var box: [Float]
    /// The box centre `[cx, cy]`.
    public var boxCenter: [Float]
    /// `max((cx − x0)·2, (cy − y0)·2)`.
    public var boxSize: Float
    /// The weak-perspective camera, `(v − 49.95) / 49.95` for the 3 words after `camera`.
    public var camera: [Float]
    /// SMPL shape, `(v − 499.5) / 166.5` for the 10 words after `shape`.
    public var betas: [Float]
    /// Global orientation, `(v − 499.5) / 499.5` for the 9 words after `global`, row-major 3×3.
    public var globalOrientation: [Float]
    /// The 8 pose tokenizer ids (`v1=n` → n + 512, else n).
    public var poseTokenIds: [Int32]
    /// The pose tokenizer's output `[1, 23·9, 1, 1]`.
    public var decoded: Tensor<Float>
    /// The body pose `[1, 23, 3, 3]`: 23 rotation matrices.
    public var bodyPose: Tensor<Float>

    /// Words per person in the text (`1 + 4 + 4 keywords + 3 + 10 + 9 + 8 + …` = 39).
    public static let wordsPerPerson = 39

    /// Reads every person of a `human_poses` text and decodes their pose ids.
    /// - Parameters:
    ///   - text: the decoded sequence (`" [EOS]"` is removed here; `none` gives no person).
    ///   - tokenizer: the pose tokenizer (Memcodes, one id per head).
    ///   - side: the image side the boxes refer to (224 in the reference).
    /// - Returns: the people that parsed, and one line for each slice that did not (the
    ///   reference prints and skips those).
    /// - Throws: `.idOutOfRange` / `.invalidInput` from the tokenizer.
    public static func decode(text: String, tokenizer: VQImageTokenizer, side: Int = 224) throws(VQTokenizerError) -> (people: [HumanPoseParameters], issues: [String]) {
        let cleaned = text.replacingOccurrences(of: " [EOS]", with: "")
        guard cleaned != "none" else { return ([], []) }
        let words = cleaned.split(whereSeparator: \.isWhitespace).map(String.init)
        var people: [HumanPoseParameters] = [], issues: [String] = []
        for person in 0..<(words.count / wordsPerPerson) {
            let slice = Array(words[(person * wordsPerPerson)..<((person + 1) * wordsPerPerson)])
            guard let parsed = parse(slice, side: side) else {
                issues.append("human_poses person \(person): words \(slice.joined(separator: " ")) do not parse")
                continue
            }
            let ids = Tensor<Int32>(shape: [1, parsed.ids.count], scalars: parsed.ids)
            let decoded = try tokenizer.decode(ids: ids)
            guard decoded.count % 9 == 0 else {
                throw .invalidInput(argument: "tokenizer", expected: "a multiple of 9 channels (3×3 rotations)", actual: "\(decoded.shape)")
            }
            people.append(HumanPoseParameters(box: parsed.box, boxCenter: parsed.center, boxSize: parsed.size, camera: parsed.camera, betas: parsed.betas,
                                              globalOrientation: parsed.global, poseTokenIds: parsed.ids, decoded: decoded,
                                              bodyPose: decoded.reshaped([1, decoded.count / 9, 3, 3])))
        }
        return (people, issues)
    }

    /// The value of a word `vK=n` as the reference reads it (`int(word[3:])`).
    private static func number(_ word: String) -> Int? {
        guard word.count > 3 else { return nil }
        return Int(word.dropFirst(3))
    }

    private static func parse(_ w: [String], side: Int) -> (box: [Float], center: [Float], size: Float, camera: [Float], betas: [Float], global: [Float], ids: [Int32])? {
        guard w.count == wordsPerPerson else { return nil }
        var boxValues: [Double] = []
        for i in 1...4 {
            guard let v = number(w[i]) else { return nil }
            boxValues.append(Double(v) / 999 * Double(side))
        }
        let box = boxValues.map(Float.init)
        let cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2
        let size = max((cx - box[0]) * 2, (cy - box[1]) * 2)
        func values(after keyword: String, count: Int, _ map: (Int) -> Double) -> [Float]? {
            guard let k = w.firstIndex(of: keyword), k + count < w.count else { return nil }
            var out: [Float] = []
            for i in (k + 1)...(k + count) {
                guard let v = number(w[i]) else { return nil }
                out.append(Float(map(v)))
            }
            return out
        }
        guard let camera = values(after: "camera", count: 3, { (Double($0) - 49.95) / 49.95 }),
            let betas = values(after: "shape", count: 10, { (Double($0) - 499.5) / 166.5 }),
            let global = values(after: "global", count: 9, { (Double($0) - 499.5) / 499.5 }),
            let k = w.firstIndex(of: "pose"), k + 8 < w.count
        else { return nil }
        var ids: [Int32] = []
        for i in (k + 1)...(k + 8) {
            guard let v = number(w[i]) else { return nil }
            ids.append(Int32(w[i].contains("v1") ? v + 512 : v))
        }
        return (box, [cx, cy], size, camera, betas, global, ids)
    }
}
