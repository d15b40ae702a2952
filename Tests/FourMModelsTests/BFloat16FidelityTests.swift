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
        let fidelity = try LogitFidelity(result.logits.mapValues(\.values), fixture: fixture, relativeBound: Self.relativeBound, label: name)
        print("bf16 fidelity \(name): \(fidelity.summary)")
        #expect(fidelity.worst <= Self.relativeBound, "\(name): max relative logit error \(fidelity.worst) > \(Self.relativeBound)")
    }
}

private func int(_ value: Any?, _ what: String) throws -> Int {
    guard let n = value as? Int else { throw FixtureError("\(what) missing") }
    return n
}
