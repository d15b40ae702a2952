import Foundation
import FourMModels
import FourMSampling
import FourMTensor
import Testing

/// The checks of a recorded generation run (`generation_trace` layout, also used by the demo
/// run `workflow_rgb2all_run`): each step's states, candidates, samples and their
/// probabilities, MaskGIT selections, final and per-pass logits, autoregressive sequences, and
/// the final dictionary. Ids, positions and masks are exact; floats at the case's tolerance.
public enum TraceChecks {
    /// How sampled probabilities are compared.
    public enum ProbabilityBound: Sendable {
        /// `atol + rtol·|p|`.
        case plain
        /// `atol + rtol·|p|` plus the logit tolerance carried through `softmax(logits / τ)`:
        /// a logit error of up to `atol` on each of two competing tokens moves `p` by about
        /// `p(1 − p)·2·atol/τ` (100× the logit tolerance at the demo's τ = 0.01).
        case throughTemperature
    }

    /// Checks one step's report against the fixture's `stepNN.*` entries.
    public static func checkStep(_ report: StepReport, _ f: CaseTensors, atol: Float, rtol: Float, probabilities bound: ProbabilityBound = .plain) {
        let p = String(format: "step%02d", report.index)
        let name = f.object["name"] as? String ?? "?"
        do {
            if f.has("\(p).candidate_positions") {
                #expect(report.candidatePositions.flatMap { $0.map(Int32.init) } == (try f.int("\(p).candidate_positions")).scalars, "\(name) \(p).candidate_positions")
            }
            if f.has("\(p).samples") {
                #expect(report.samples == (try f.int("\(p).samples")).scalars, "\(name) \(p).samples")
                let expected = try f.float("\(p).sampled_probs").scalars
                switch bound {
                case .plain:
                    expectClose(report.probabilities, expected, atol: atol, rtol: rtol, "\(name) \(p).sampled_probs")
                case .throughTemperature:
                    expectProbabilities(report.probabilities, expected, temperature: report.step.temperature, atol: atol, rtol: rtol, "\(name) \(p).sampled_probs")
                }
            }
            if f.has("\(p).selected_positions") {
                let t = try f.int("\(p).selected_positions")
                let expected = (0..<t.shape[0]).map { b in Set((0..<t.shape[1]).map { Int(t[b, $0]) }) }
                #expect(report.committedPositions.map(Set.init) == expected, "\(name) \(p).selected_positions")
            }
            if let logits = report.logits {
                let prefix = f.has("\(p).logits.argmax") ? "\(p).logits" : "\(p).ar_logits"
                try f.checkLogits(prefix: prefix, rows: logits, atol: atol, rtol: rtol)
            }
            if report.passLogits.count == 2, f.has("\(p).logits_cond.argmax") {
                for (k, role) in ["cond", "uncond"].enumerated() {
                    expectClose(rowMaxima(report.passLogits[k]), try f.float("\(p).logits_\(role).max").scalars, atol: atol, rtol: rtol, "\(name) \(p).logits_\(role).max")
                }
            }
            if f.has("\(p).ar_out") {
                #expect(report.generatedSequence.flatMap { $0 } == (try f.int("\(p).ar_out")).scalars, "\(name) \(p).ar_out")
            }
        } catch {
            Issue.record("\(name) \(p): \(error)")
        }
    }

    /// The largest value of every row of `[R, V]` logits.
    static func rowMaxima(_ rows: Tensor<Float>) -> [Float] {
        let v = rows.shape.last ?? 1
        let values = rows.scalars
        return (0..<(values.count / max(v, 1))).map { r in values[(r * v)..<((r + 1) * v)].max() ?? -.infinity }
    }

    /// Sampled probabilities within ``ProbabilityBound/throughTemperature``.
    static func expectProbabilities(_ mine: [Float], _ expected: [Float], temperature: Double, atol: Float, rtol: Float, _ label: String) {
        #expect(mine.count == expected.count, "\(label): \(mine.count) values, expected \(expected.count)")
        let tau = Float(max(abs(temperature), 1e-10))
        var bad: [String] = []
        for (i, (a, e)) in zip(mine, expected).enumerated() {
            let bound = atol + rtol * abs(e) + e * (1 - e) * 2 * atol / tau
            if !(abs(a - e) <= bound) { bad.append("\(i): got \(a), expected \(e) (bound \(bound))") }
        }
        #expect(bad.isEmpty, "\(label): \(bad.count) off; \(bad.prefix(3).joined(separator: "; "))")
    }

    /// Tokens and masks of `state` against `prefix.tensor`, `.input_mask`, `.target_mask`
    /// (nothing when the fixture has no `prefix.tensor`).
    public static func expectState(_ state: ModalityState, _ f: CaseTensors, _ prefix: String) throws {
        guard f.has("\(prefix).tensor") else { return }
        let name = f.object["name"] as? String ?? "?"
        #expect(state.tokens?.scalars == (try f.int("\(prefix).tensor")).scalars, "\(name) \(prefix).tensor")
        #expect(state.inputMask.scalars == (try f.bool("\(prefix).input_mask")).scalars, "\(name) \(prefix).input_mask")
        #expect(state.targetMask.scalars == (try f.bool("\(prefix).target_mask")).scalars, "\(name) \(prefix).target_mask")
    }

    /// Every `out.<modality>.*` state of the fixture against the final dictionary.
    public static func checkOutputs(_ f: CaseTensors, _ dictionary: ModalityDictionary) throws {
        for key in f.keys where key.hasPrefix("out.") && key.hasSuffix(".tensor") {
            let m = String(key.dropFirst(4).dropLast(7))
            let state = try #require(dictionary[Modality(rawValue: m)], "output \(m) missing")
            try expectState(state, f, "out.\(m)")
        }
    }
}
