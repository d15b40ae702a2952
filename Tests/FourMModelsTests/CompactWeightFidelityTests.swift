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
            let fidelity = try LogitFidelity(result.logits.mapValues(\.values), fixture: fixture, relativeBound: Self.relativeBound, label: "\(name) \(format)")
            print("compact \(format.rawValue) decoder fidelity \(name): \(fidelity.summary)")
            #expect(fidelity.worst <= Self.relativeBound, "\(name) \(format): max relative logit error \(fidelity.worst) > \(Self.relativeBound)")
        }
    }
}
