import Foundation
import FourMModels
import FourMSampling
import FourMTensor
import FourMTestSupport
import Testing

/// Replays the recorded random numbers of a trace (fixture README: sampling_replay).
final class ReplayRandomness: GenerationRandomness {
    var uniformsByStep: [Int: Tensor<Float>] = [:]
    var keysByStep: [Int: [Float]] = [:]
    var selections: [Int: [[Int]]] = [:]

    init(_ f: CaseTensors, steps: Int, stepInfo: [[String: Any]]) throws {
        for i in 0..<steps {
            let p = String(format: "step%02d", i)
            if f.has("\(p).uniforms") { uniformsByStep[i] = try f.float("\(p).uniforms") }
            if f.has("\(p).roar_rand") { keysByStep[i] = try f.float("\(p).roar_rand").scalars }
            // A zero selection margin means torch.topk broke a tie: replay its choice.
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
        if let iteration, u.rank == 2 {
            return (0..<u.shape[0]).map { u[$0, iteration] }
        }
        return Array(u.scalars.prefix(count))
    }

    func orderKeys(count: Int, step: Int) -> [Float] { keysByStep[step] ?? [Float](repeating: 0.5, count: count) }

    func replayedSelection(step: Int) -> [[Int]]? { selections[step] }
}

/// Every `generation_trace` case: each step's states before/after, decoded positions, final
/// logits (argmax where not a near tie, max, logsumexp, full rows), samples and their
/// probabilities, MaskGIT selections, autoregressive sequences, and the final dictionary.
/// Logit tolerances come from the manifest (atol 1e-4 + rtol 1e-4: float32 accumulation order
/// over 2+2 blocks); every integer outcome is exact.
@Suite struct GenerationTraceTests {
    static let cases = Fixtures.caseNames(kinds: ["generation_trace"])

    @Test(arguments: cases)
    func replaysReference(_ name: String) throws {
        let f = try CaseTensors(name)
        let settings = f.settings
        let model = try f.model()
        let schedule = try parseSchedule(settings["schedule"])
        let stepInfo = settings["steps"] as? [[String: Any]] ?? []
        let replay = try ReplayRandomness(f, steps: schedule.count, stepInfo: stepInfo)
        let filter = SamplingFilter(topK: topK(settings["top_k"]), topP: (settings["top_p"] as? NSNumber)?.doubleValue ?? 0)
        var options = GenerationOptions(filter: filter, seed: (settings["seed"] as? NSNumber).map { UInt64($0.intValue) }, recordDetails: true)
        let (atol, rtol) = f.tolerance

        if settings["uncond_dict_order"] != nil {
            options.referenceMultiGuidanceQuirks = true
            try replayMultiGuided(f, model: model, schedule: schedule, options: options, replay: replay, atol: atol, rtol: rtol)
            return
        }
        let dictionary = try f.modalityDictionary(prefix: "in", order: settings["mod_dict_order"] as? [String] ?? [])
        if let key = settings["key"] as? String, let batch = settings["dense_batch_size"] as? NSNumber {
            let result = try generateSamDense(model, dictionary: dictionary, schedule: schedule, batchSize: batch.intValue, key: Modality(rawValue: key),
                                              options: options, randomness: replay) { report in
                self.check(report, f, atol: atol, rtol: rtol)
            }
            try checkOutputs(f, result)
            return
        }
        let run = GenerationRun(predictor: model, dictionary: dictionary, schedule: schedule, options: options, randomness: replay)
        while true {
            let index = run.completedSteps
            guard index < schedule.count else { break }
            let p = String(format: "step%02d", index)
            let before = try #require(run.dictionary[schedule[index].target])
            try expectState(before, f, "\(p).before")
            guard let report = try run.next() else { break }
            check(report, f, atol: atol, rtol: rtol)
            let after = try #require(run.dictionary[schedule[index].target])
            try expectState(after, f, "\(p).after")
        }
        try checkOutputs(f, run.dictionary)
    }

    // MARK: checks

    func check(_ report: StepReport, _ f: CaseTensors, atol: Float, rtol: Float) {
        let p = String(format: "step%02d", report.index)
        let name = f.object["name"] as? String ?? "?"
        do {
            if f.has("\(p).candidate_positions") {
                #expect(report.candidatePositions.flatMap { $0.map(Int32.init) } == (try f.int("\(p).candidate_positions")).scalars, "\(name) \(p).candidate_positions")
            }
            if f.has("\(p).samples") {
                #expect(report.samples == (try f.int("\(p).samples")).scalars, "\(name) \(p).samples")
                expectClose(report.probabilities, try f.float("\(p).sampled_probs").scalars, atol: atol, rtol: rtol, "\(name) \(p).sampled_probs")
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
                    let maxes = rowMax(report.passLogits[k])
                    expectClose(maxes.values, try f.float("\(p).logits_\(role).max").scalars, atol: atol, rtol: rtol, "\(name) \(p).logits_\(role).max")
                }
            }
            if f.has("\(p).ar_out") {
                #expect(report.generatedSequence.flatMap { $0 } == (try f.int("\(p).ar_out")).scalars, "\(name) \(p).ar_out")
            }
        } catch {
            Issue.record("\(name) \(p): \(error)")
        }
    }

    func rowMax(_ rows: Tensor<Float>) -> (values: [Float], indices: [Int32], logSumExp: [Float]) {
        let v = rows.shape.last ?? 1
        let values = rows.scalars
        var maxes: [Float] = [], indices: [Int32] = [], lse: [Float] = []
        for r in 0..<(values.count / v) {
            let row = values[(r * v)..<((r + 1) * v)]
            var best = row.startIndex
            for j in row.indices where row[j] > row[best] { best = j }
            maxes.append(row[best])
            indices.append(Int32(best - row.startIndex))
            lse.append(row[best] + Float(Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1 - row[best])) })))
        }
        return (maxes, indices, lse)
    }

    func expectState(_ state: ModalityState, _ f: CaseTensors, _ prefix: String) throws {
        guard f.has("\(prefix).tensor") else { return }
        let name = f.object["name"] as? String ?? "?"
        #expect(state.tokens?.scalars == (try f.int("\(prefix).tensor")).scalars, "\(name) \(prefix).tensor")
        #expect(state.inputMask.scalars == (try f.bool("\(prefix).input_mask")).scalars, "\(name) \(prefix).input_mask")
        #expect(state.targetMask.scalars == (try f.bool("\(prefix).target_mask")).scalars, "\(name) \(prefix).target_mask")
    }

    func checkOutputs(_ f: CaseTensors, _ dictionary: ModalityDictionary) throws {
        for key in f.keys where key.hasPrefix("out.") && key.hasSuffix(".tensor") {
            let m = String(key.dropFirst(4).dropLast(7))
            let state = try #require(dictionary[Modality(rawValue: m)], "output \(m) missing")
            try expectState(state, f, "out.\(m)")
        }
    }

    // MARK: inputs

    func parseSchedule(_ value: Any?) throws -> [GenerationStep] {
        guard let steps = value as? [[String: Any]] else { throw FixtureError("settings.schedule missing") }
        return try steps.map { s in
            guard let target = s["target_domain"] as? String, let scheme = (s["scheme"] as? String).flatMap(GenerationScheme.init(rawValue:)) else {
                throw FixtureError("bad schedule step \(s)")
            }
            let guidance: GuidanceScale
            if let list = s["cfg_scale"] as? [NSNumber] { guidance = .weights(list.map(\.doubleValue)) } else { guidance = .scale((s["cfg_scale"] as? NSNumber)?.doubleValue ?? 1) }
            return GenerationStep(target: Modality(rawValue: target), scheme: scheme, tokenCount: (s["num_tokens"] as? NSNumber)?.intValue,
                                  temperature: (s["temperature"] as? NSNumber)?.doubleValue ?? 1, guidance: guidance,
                                  guidanceConditions: (s["cfg_cond_domains"] as? [String] ?? []).map { Modality(rawValue: $0) })
        }
    }

    func topK(_ value: Any?) -> SamplingFilter.TopK {
        guard let n = value as? NSNumber else { return .none }
        if String(cString: n.objCType) == "d" { return n.doubleValue > 0 ? .fraction(n.doubleValue) : .none }
        return n.intValue > 0 ? .count(n.intValue) : .none
    }

    func replayMultiGuided(_ f: CaseTensors, model: FourMModel, schedule: [GenerationStep], options: GenerationOptions, replay: ReplayRandomness, atol: Float, rtol: Float) throws {
        let settings = f.settings
        let unconditional = try f.modalityDictionary(prefix: "in.uncond", order: settings["uncond_dict_order"] as? [String] ?? [])
        let conditionOrders = settings["cond_dicts_order"] as? [[String]] ?? []
        let conditions = try conditionOrders.enumerated().map { try f.modalityDictionary(prefix: "in.cond\($0.offset)", order: $0.element) }
        let result = try generateMultiGuided(model, unconditional: unconditional, conditions: conditions, schedule: schedule, options: options, randomness: replay) { report in
            self.check(report, f, atol: atol, rtol: rtol)
        }
        try checkOutputs(f, result)
    }
}
