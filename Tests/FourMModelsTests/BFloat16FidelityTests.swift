import Foundation
@_spi(Parity) import FourMModels
import FourMTensor
import FourMTestSupport
import Testing

/// How far bf16 linear layers move the logits of every `fm_forward` fixture case (issue 14,
/// item 5). Prints, per case, the max relative error of the logits and the argmax agreement
/// against the fixture's reference (fp32/fp64 PyTorch), and asserts loose bounds:
///
/// - **relative error** `max |bf16 − ref| / max |ref|` over each stored full row ≤ 0.05. bf16
///   keeps 8 significant bits: each linear layer rounds its input and its weights to a relative
///   2⁻⁹ ≈ 0.2%, so one product carries ~0.4% relative error per term; over a few dozen
///   layers (with residual paths, norms re-scaling) these add roughly as a random walk to a
///   few percent of the row's scale in the worst row. 5% leaves room for that and still fails
///   on any real defect (a wrong layout or a lost bias moves logits by O(100%)).
/// - **argmax agreement**: every row whose reference top-2 gap exceeds 2 × (0.05 × the row's
///   largest |logit|) keeps its argmax; rows closer than that are near ties bf16 may flip, and
///   are counted, not asserted. The overall agreement is printed.
///
/// The fp32 parity tolerances (ForwardParityTests) are untouched: this suite is separate.
@Suite struct BFloat16FidelityTests {
    static let cases = Fixtures.caseNames(kinds: ["fm_forward"])
    static let relativeBound: Float = 0.05

    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"), arguments: cases)
    func bf16LogitsStayClose(_ name: String) throws {
        let fixture = try CaseTensors(name)
        let model = try fixture.model(precision: .bf16)
        #expect(model.precision == .bf16)
        let states = try fixture.modalityDictionary(prefix: "in", order: fixture.settings["mod_dict_order"] as? [String] ?? [])
        let encoderTokens = try int(fixture.settings["num_encoder_tokens"], "settings.num_encoder_tokens")
        let decoderTokens = try int(fixture.settings["num_decoder_tokens"], "settings.num_decoder_tokens")
        let order = (fixture.settings["decoder_modality_order"] as? [String])?.map { Modality(rawValue: $0) }
        let result = try model.trainingForward(states, encoderTokens: encoderTokens, decoderTokens: decoderTokens, decoderOrder: order)
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
                if gaps[r] > 2 * Self.relativeBound * max(abs(maxes[r]), 1e-6) * 1 {
                    decided += 1
                    if same { decidedAgree += 1 }
                    #expect(same, "\(name) \(prefix) row \(r): argmax moved with a reference gap of \(gaps[r])")
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
        print(String(format: "bf16 fidelity %@: max relative logit error %.4f, argmax agreement %d/%d (%.1f%%), decided rows %d/%d",
                     name, worst, agree, total, 100 * Double(agree) / Double(max(total, 1)), decidedAgree, decided))
        #expect(worst <= Self.relativeBound, "\(name): max relative logit error \(worst) > \(Self.relativeBound)")
    }
}

private func int(_ value: Any?, _ what: String) throws -> Int {
    guard let n = value as? Int else { throw FixtureError("\(what) missing") }
    return n
}
