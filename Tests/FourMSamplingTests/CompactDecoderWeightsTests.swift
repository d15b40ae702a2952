import Foundation
import FourMModels
import FourMSampling
import FourMTensor
import FourMTestSupport
import Testing

/// Autoregressive steps over compact (bf16 / int8) decoder weights on a small random model
/// (dim 64, 2 blocks, SwiGLU, N(0, 0.02²) weights): the logits of every step stay close to the
/// plain fp32 model's, fed the same tokens.
///
/// Bound: max |compact − plain| over a step's logits ≤ `bound × max |plain|` of that step.
/// bf16 rounds each weight by ≤ 2⁻⁹ relative; int8 by ≤ `max|w_row| / 254`, about 1% of a
/// typical Gaussian weight (max|w| ≈ 3–4σ over 64–192 entries). Errors of independent
/// weights add like a random walk within a product, so each product moves by ~0.1% (bf16) or
/// ~1% (int8) of its scale; over the 2 × 4 products and the head of this model that is well
/// under 3% (bf16) and 10% (int8), while a wrong layout, scale or bias moves logits by O(100%).
@Suite struct CompactDecoderWeightsTests {
    static func model() throws -> FourMModel {
        let config = try #require(RandomCheckpoint.configuration(dim: 64, depth: 2, heads: 4, domainsIn: ["rgb@224", "caption"], domainsOut: ["caption", "tok_depth@224"]))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("compact-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try RandomCheckpoint.writer(for: config, seed: 3).write(to: path)
        return try FourMModel(path: path)
    }

    @Test(arguments: [(CompactWeightFormat.bf16, Float(0.03)), (.int8, 0.10)])
    func stepsStayCloseToPlain(_ format: CompactWeightFormat, bound: Float) throws {
        let plain = try Self.model()
        let compact = plain.withCompactDecoderWeights(format)
        // 2 blocks × (qkv, proj, q, proj, fc1, fc2, fc3) + the caption head.
        #expect(compact.compactDecoderWeights?.count == 15)
        #expect(plain.compactDecoderWeights == nil && compact.withCompactDecoderWeights(nil).compactDecoderWeights == nil)
        var rng = SeededGenerator(seed: 4)
        let states: ModalityDictionary = [
            .rgb224: ModalityState(pixels: .randomNormal(shape: [2, 3, 224, 224], using: &rng)),
            .caption: .emptySequenceTarget(batch: 2, tokens: 7),
        ]
        let a = try plain.sequenceDecoder(states, target: .caption)
        let b = try compact.sequenceDecoder(states, target: .caption)
        var tokens = a.startTokens
        var worst: Float = 0
        for step in 0..<5 {
            let la = try a.next(tokens), lb = try b.next(tokens)
            #expect(la.shape == lb.shape)
            let (x, y) = (la.scalars, lb.scalars)
            let scale = x.map(abs).max() ?? 0
            let diff = zip(x, y).map { abs($0 - $1) }.max() ?? .nan
            worst = max(worst, diff / scale)
            #expect(diff <= bound * scale, "\(format) step \(step): max |diff| \(diff), max |logit| \(scale)")
            #expect(diff > 0, "\(format): the compact weights were not used")
            let v = la.shape[1]
            tokens = (0..<la.shape[0]).map { r in Int32(x[(r * v)..<((r + 1) * v)].indices.max { x[$0] < x[$1] }! - r * v) }
        }
        print("compact \(format.rawValue) decoder weights: max relative logit change over 5 steps \(worst)")
    }
}
