import Foundation
import FourM
import FourMModels
import FourMSampling
import FourMTensor
import FourMTestSupport
import Testing

/// Replays the recorded random numbers of a `generation_trace`-layout case (fixture README:
/// conventions.sampling_replay): `stepNN.uniforms` for categorical draws, `stepNN.roar_rand`
/// for ROAR orders, and MaskGIT selections where torch.topk broke an exact tie.
final class WorkflowReplay: GenerationRandomness {
    var uniformsByStep: [Int: Tensor<Float>] = [:]
    var keysByStep: [Int: [Float]] = [:]
    var selections: [Int: [[Int]]] = [:]

    init(_ f: CaseTensors, steps: Int, stepInfo: [[String: Any]]) throws {
        for i in 0..<steps {
            let p = String(format: "step%02d", i)
            if f.has("\(p).uniforms") { uniformsByStep[i] = try f.float("\(p).uniforms") }
            if f.has("\(p).roar_rand") { keysByStep[i] = try f.float("\(p).roar_rand").scalars }
            if i < stepInfo.count, let margins = stepInfo[i]["selection_margin"] as? [NSNumber], margins.contains(where: { $0.doubleValue == 0 }),
                f.has("\(p).selected_positions")
            {
                let t = try f.int("\(p).selected_positions")
                selections[i] = (0..<t.shape[0]).map { b in (0..<t.shape[1]).map { Int(t[b, $0]) } }
            }
        }
    }

    func beginStep(_ step: Int, seed: UInt64?) {}

    func uniforms(count: Int, step: Int, iteration: Int?) -> [Float] {
        guard let u = uniformsByStep[step] else { return [Float](repeating: 0.5, count: count) }
        if let iteration, u.rank == 2 { return (0..<u.shape[0]).map { u[$0, iteration] } }
        return Array(u.scalars.prefix(count))
    }

    func orderKeys(count: Int, step: Int) -> [Float] { keysByStep[step] ?? [Float](repeating: 0.5, count: count) }

    func replayedSelection(step: Int) -> [[Int]]? { selections[step] }
}

/// `workflow_rgb2all_run`: the demo's RGB → all setup built by ``DemoSetup`` (checked against
/// the recorded initial dictionary and schedule), then replayed step by step. Logits at the
/// manifest's atol/rtol (1e-4 / 1e-4: float32 accumulation order over the tiny model's 2+2
/// blocks, 20× the measured float32-vs-float64 gap); sampled probabilities at that tolerance
/// propagated through `1/τ` (``expectProbabilities(_:_:temperature:atol:rtol:_:)``); tokens,
/// positions, masks and every generated sequence exact.
@Suite struct WorkflowRunParityTests {
    static let cases = Fixtures.cases.compactMap { c -> String? in
        guard c["kind"] as? String == "workflow", let s = c["settings"] as? [String: Any], s["workflow_part"] as? String == "run" else { return nil }
        return c["name"] as? String
    }

    @Test(arguments: cases)
    func replaysTheDemoRun(_ name: String) throws {
        let f = try CaseTensors(name)
        let settings = f.settings
        let model = try f.model()
        let order = settings["mod_dict_order"] as? [String] ?? []
        let conditions = settings["cond_domains"] as? [String] ?? []
        var sample: [(Modality, DemoSampleValue)] = []
        for domain in conditions {
            if f.dtype("in.\(domain).tensor") == "float32" {
                sample.append((Modality(rawValue: domain), .pixels(try f.float("in.\(domain).tensor"))))
            } else {
                sample.append((Modality(rawValue: domain), .tokens(try f.int("in.\(domain).tensor"))))
            }
        }
        let setup = DemoSetup(sample: sample, modelModalities: Set(model.inputModalities + model.outputModalities))
        #expect(setup.targets.map(\.rawValue) == settings["target_domains"] as? [String], "\(name): target_domains")
        #expect(setup.table.name == settings["defaults_table"] as? String, "\(name): defaults table")
        let schedule = try setup.schedule()
        WorkflowFixture.expectSchedule(schedule, settings["schedule"] as? [[String: Any]] ?? [], name)
        let dictionary = try setup.dictionary(textTokenizer: nil)
        try WorkflowFixture.expectDictionary(dictionary, f, prefix: "in", order: order)

        let stepInfo = settings["steps"] as? [[String: Any]] ?? []
        let replay = try WorkflowReplay(f, steps: schedule.count, stepInfo: stepInfo)
        let topK = (settings["top_k"] as? NSNumber)?.doubleValue ?? 0
        let filter = SamplingFilter(topK: topK > 0 ? (topK < 1 ? .fraction(topK) : .count(Int(topK))) : .none, topP: (settings["top_p"] as? NSNumber)?.doubleValue ?? 0)
        let options = GenerationOptions(filter: filter, seed: (settings["seed"] as? NSNumber).map { UInt64($0.intValue) }, recordDetails: true)
        let (atol, rtol) = f.tolerance
        let run = GenerationRun(predictor: model, dictionary: dictionary, schedule: schedule, options: options, randomness: replay)
        while run.completedSteps < schedule.count {
            let index = run.completedSteps
            let p = String(format: "step%02d", index)
            try expectState(try #require(run.dictionary[schedule[index].target]), f, "\(p).before")
            guard let report = try run.next() else { break }
            check(report, f, atol: atol, rtol: rtol)
            try expectState(try #require(run.dictionary[schedule[index].target]), f, "\(p).after")
        }
        for key in f.keys where key.hasPrefix("out.") && key.hasSuffix(".tensor") {
            let m = String(key.dropFirst(4).dropLast(7))
            try expectState(try #require(run.dictionary[Modality(rawValue: m)], "output \(m) missing"), f, "out.\(m)")
        }
    }

    func check(_ report: StepReport, _ f: CaseTensors, atol: Float, rtol: Float) {
        let p = String(format: "step%02d", report.index)
        let name = f.object["name"] as? String ?? "?"
        do {
            if f.has("\(p).candidate_positions") {
                #expect(report.candidatePositions.flatMap { $0.map(Int32.init) } == (try f.int("\(p).candidate_positions")).scalars, "\(name) \(p).candidate_positions")
            }
            if f.has("\(p).samples") {
                #expect(report.samples == (try f.int("\(p).samples")).scalars, "\(name) \(p).samples")
                expectProbabilities(report.probabilities, try f.float("\(p).sampled_probs").scalars, temperature: report.step.temperature, atol: atol, rtol: rtol, "\(name) \(p).sampled_probs")
            }
            if let logits = report.logits {
                let prefix = f.has("\(p).logits.argmax") ? "\(p).logits" : "\(p).ar_logits"
                if f.has("\(prefix).argmax") { try f.checkLogits(prefix: prefix, rows: logits, atol: atol, rtol: rtol) }
            }
            if f.has("\(p).ar_out") {
                #expect(report.generatedSequence.flatMap { $0 } == (try f.int("\(p).ar_out")).scalars, "\(name) \(p).ar_out")
            }
        } catch {
            Issue.record("\(name) \(p): \(error)")
        }
    }

    /// Sampled probabilities are `softmax(logits / τ)`: a logit error of up to `atol` on each
    /// of two competing tokens moves `p` by about `p(1 − p)·2·atol/τ`, which at the demo's
    /// τ = 0.01 is 100× the logit tolerance. So each probability gets `atol + rtol·p` plus that
    /// propagated logit tolerance; the sampled ids themselves are compared exactly elsewhere.
    func expectProbabilities(_ mine: [Float], _ expected: [Float], temperature: Double, atol: Float, rtol: Float, _ label: String) {
        #expect(mine.count == expected.count, "\(label): \(mine.count) values, expected \(expected.count)")
        let tau = Float(max(abs(temperature), 1e-10))
        var bad: [String] = []
        for (i, (a, e)) in zip(mine, expected).enumerated() {
            let bound = atol + rtol * abs(e) + e * (1 - e) * 2 * atol / tau
            if !(abs(a - e) <= bound) { bad.append("\(i): got \(a), expected \(e) (bound \(bound))") }
        }
        #expect(bad.isEmpty, "\(label): \(bad.count) off; \(bad.prefix(3).joined(separator: "; "))")
    }

    func expectState(_ state: ModalityState, _ f: CaseTensors, _ prefix: String) throws {
        guard f.has("\(prefix).tensor") else { return }
        let name = f.object["name"] as? String ?? "?"
        #expect(state.tokens?.scalars == (try f.int("\(prefix).tensor")).scalars, "\(name) \(prefix).tensor")
        #expect(state.inputMask.scalars == (try f.bool("\(prefix).input_mask")).scalars, "\(name) \(prefix).input_mask")
        #expect(state.targetMask.scalars == (try f.bool("\(prefix).target_mask")).scalars, "\(name) \(prefix).target_mask")
    }
}
