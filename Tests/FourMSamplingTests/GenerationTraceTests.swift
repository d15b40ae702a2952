import Foundation
import FourMModels
import FourMSampling
import FourMTensor
import FourMTestSupport
import Testing

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
        let (atol, rtol) = f.tolerance
        let replay = try ReplayRandomness(f, steps: schedule.count, atol: atol, rtol: rtol)
        defer { replay.report(case: name) }
        let filter = SamplingFilter(topK: topK(settings["top_k"]), topP: (settings["top_p"] as? NSNumber)?.doubleValue ?? 0)
        var options = GenerationOptions(filter: filter, seed: (settings["seed"] as? NSNumber).map { UInt64($0.intValue) }, recordDetails: true)

        if settings["uncond_dict_order"] != nil {
            options.referenceMultiGuidanceQuirks = true
            try replayMultiGuided(f, model: model, schedule: schedule, options: options, replay: replay, atol: atol, rtol: rtol)
            return
        }
        let dictionary = try f.modalityDictionary(prefix: "in", order: settings["mod_dict_order"] as? [String] ?? [])
        if let key = settings["key"] as? String, let batch = settings["dense_batch_size"] as? NSNumber {
            let result = try generateSamDense(model, dictionary: dictionary, schedule: schedule, batchSize: batch.intValue, key: Modality(rawValue: key),
                                              options: options, randomness: replay) { report in
                TraceChecks.checkStep(report, f, atol: atol, rtol: rtol)
            }
            try TraceChecks.checkOutputs(f, result)
            return
        }
        let run = GenerationRun(predictor: model, dictionary: dictionary, schedule: schedule, options: options, randomness: replay)
        while true {
            let index = run.completedSteps
            guard index < schedule.count else { break }
            let p = String(format: "step%02d", index)
            let before = try #require(run.dictionary[schedule[index].target])
            try TraceChecks.expectState(before, f, "\(p).before")
            guard let report = try run.next() else { break }
            TraceChecks.checkStep(report, f, atol: atol, rtol: rtol)
            let after = try #require(run.dictionary[schedule[index].target])
            try TraceChecks.expectState(after, f, "\(p).after")
        }
        try TraceChecks.checkOutputs(f, run.dictionary)
    }

    /// The referee itself: only a draw within tolerance of a boundary is a near-tie.
    @Test func nearTieRuleAcceptsOnlyBoundaryDraws() {
        let referee = ReplayRandomness(atol: 1e-4, rtol: 1e-4)
        // Three categories with probabilities 0.25 / 0.5 / 0.25 at τ 1: boundaries at 0.25, 0.75.
        let logits = Tensor<Float>(shape: [1, 3], scalars: [0, Float(Foundation.log(2.0)), 0])
        func draw(_ u: Float, temperature: Double = 1, filter: SamplingFilter = SamplingFilter()) -> CategoricalDraw {
            CategoricalDraw(step: 0, iteration: nil, logits: logits, temperature: temperature, filter: filter, uniforms: [u], ids: [0], probabilities: [0])
        }
        #expect(referee.nearTie(draw(0.25 + 1e-6), row: 0, ours: 1, reference: 0) != nil, "a hair above the first boundary")
        #expect(referee.nearTie(draw(0.75 - 1e-6), row: 0, ours: 1, reference: 2) != nil, "a hair below the second boundary")
        #expect(referee.nearTie(draw(0.5), row: 0, ours: 1, reference: 0) == nil, "the middle of a category")
        #expect(referee.nearTie(draw(0.25 + 1e-6), row: 0, ours: 2, reference: 0) == nil, "a whole category apart")
        // Greedy: logits 0 and log 2 are far apart; equal logits are a tie.
        #expect(referee.nearTie(draw(0, temperature: 0), row: 0, ours: 1, reference: 0) == nil)
        #expect(referee.nearTie(draw(0, temperature: 0), row: 0, ours: 0, reference: 2) != nil)
        // Top-k 1 keeps only category 1, far above the others: decided. Top-k 2 must choose
        // between the equal categories 0 and 2: undecided, either side may keep either.
        #expect(referee.nearTie(draw(0.1, filter: SamplingFilter(topK: .count(1))), row: 0, ours: 1, reference: 0) == nil)
        #expect(referee.nearTie(draw(0.1, filter: SamplingFilter(topK: .count(2))), row: 0, ours: 0, reference: 2) != nil)
        // Top-p: the mass before category 1's neighbours is 0.5 and 0.75; p = 0.6 is decided,
        // p = 0.5 + 1e-6 is not.
        #expect(referee.nearTie(draw(0.1, filter: SamplingFilter(topP: 0.6)), row: 0, ours: 1, reference: 0) == nil)
        #expect(referee.nearTie(draw(0.1, filter: SamplingFilter(topP: 0.5 + 1e-6)), row: 0, ours: 1, reference: 0) != nil)
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
            TraceChecks.checkStep(report, f, atol: atol, rtol: rtol)
        }
        try TraceChecks.checkOutputs(f, result)
    }
}
