import Foundation
@_spi(Parity) import FourMModels
import FourMTensor
import FourMTestSupport
import Testing

/// How far compact (bf16 / int8) decoder weights move the logits of every `fm_forward` fixture
/// case (issue 14, item 3: accuracy of int8 autoregressive weights). The whole decoder pass
/// runs on the compact copies (every decoder block's self-attention, cross-attention `q`/`proj`
/// and MLP, and every logits head; the encoder and cross-attention `kv` stay fp32), with the
/// row limit lifted, so every decoded position sees the weight error a KV-cached step sees.
///
/// Same measures and bounds as `BFloat16FidelityTests` (why 5% there): the weights-only error
/// here is smaller than bf16's (which also rounds every activation), and int8's per-row step
/// (`max|w_row| / 254`, ~1% of a typical weight) adds like a random walk over each product,
/// so 5% of the row's scale still holds with room, while a wrong scale or layout moves logits
/// by O(100%). Rows whose reference top-2 gap exceeds 2 × 5% of the row max must keep their
/// argmax; the overall agreement is printed.
@Suite struct CompactWeightFidelityTests {
    static let cases = Fixtures.caseNames(kinds: ["fm_forward"])
    static let relativeBound: Float = 0.05

    @Test(arguments: cases)
    func compactDecoderLogitsStayClose(_ name: String) throws {
        let fixture = try CaseTensors(name)
        let model = try fixture.model()
        let states = try fixture.modalityDictionary(prefix: "in", order: fixture.settings["mod_dict_order"] as? [String] ?? [])
        let encoderTokens = try #require(fixture.settings["num_encoder_tokens"] as? Int)
        let decoderTokens = try #require(fixture.settings["num_decoder_tokens"] as? Int)
        let order = (fixture.settings["decoder_modality_order"] as? [String])?.map { Modality(rawValue: $0) }
        for format in CompactWeightFormat.allCases {
            let table = try #require(model.withCompactDecoderWeights(format, allHeads: true).compactDecoderWeights)
            let result = try CompactWeights.withTable(CompactWeightTable(table, maximumRows: .max)) {
                try model.trainingForward(states, encoderTokens: encoderTokens, decoderTokens: decoderTokens, decoderOrder: order)
            }
            var worst: Float = 0
            var (agree, total, decided, decidedAgree) = (0, 0, 0, 0)
            for (m, logits) in result.logits.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                let prefix = "logits.\(m.rawValue)"
                let v = logits.values.shape[1], rows = logits.values.shape[0]
                let values = logits.values.scalars
                let argmax = try fixture.int("\(prefix).argmax").scalars
                let gaps = try fixture.float("\(prefix).top2_gap").scalars
                let maxes = try fixture.float("\(prefix).max").scalars
                try #require(argmax.count == rows)
                for r in 0..<rows {
                    let row = values[(r * v)..<((r + 1) * v)]
                    var best = row.startIndex
                    for j in row.indices where row[j] > row[best] { best = j }
                    let same = Int32(best - row.startIndex) == argmax[r]
                    total += 1
                    if same { agree += 1 }
                    if gaps[r] > 2 * Self.relativeBound * max(abs(maxes[r]), 1e-6) {
                        decided += 1
                        if same { decidedAgree += 1 }
                        #expect(same, "\(name) \(format) \(prefix) row \(r): argmax moved with a reference gap of \(gaps[r])")
                    }
                }
                let index = try fixture.int("\(prefix).full_rows_index").scalars
                let reference = try fixture.float("\(prefix).full_rows").scalars
                for (i, r) in index.enumerated() {
                    let mine = values[(Int(r) * v)..<((Int(r) + 1) * v)]
                    let ref = reference[(i * v)..<((i + 1) * v)]
                    let scale = ref.map(abs).max() ?? 1
                    let error = zip(mine, ref).map { abs($0 - $1) }.max() ?? 0
                    worst = max(worst, error / max(scale, 1e-6))
                }
            }
            print(String(format: "compact %@ decoder fidelity %@: max relative logit error %.4f, argmax agreement %d/%d (%.1f%%), decided rows %d/%d",
                         format.rawValue, name, worst, agree, total, 100 * Double(agree) / Double(max(total, 1)), decidedAgree, decided))
            #expect(worst <= Self.relativeBound, "\(name) \(format): max relative logit error \(worst) > \(Self.relativeBound)")
        }
    }
}
