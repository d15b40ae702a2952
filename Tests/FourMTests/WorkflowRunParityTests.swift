import Foundation
import FourM
import FourMModels
import FourMSampling
import FourMTensor
import FourMTestSupport
import Testing

/// `workflow_rgb2all_run`: the demo's RGB → all setup built by ``DemoSetup`` (checked against
/// the recorded initial dictionary and schedule), then replayed step by step. Logits at the
/// manifest's atol/rtol (1e-4 / 1e-4: float32 accumulation order over the tiny model's 2+2
/// blocks, 20× the measured float32-vs-float64 gap); sampled probabilities at that tolerance
/// propagated through `1/τ` (`TraceChecks.ProbabilityBound.throughTemperature`); tokens,
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

        let (atol, rtol) = f.tolerance
        // The tie-aware replay of the generation traces (Documentation/Parity.md).
        let replay = try ReplayRandomness(f, steps: schedule.count, atol: atol, rtol: rtol)
        defer { replay.report(case: name) }
        let topK = (settings["top_k"] as? NSNumber)?.doubleValue ?? 0
        let filter = SamplingFilter(topK: topK > 0 ? (topK < 1 ? .fraction(topK) : .count(Int(topK))) : .none, topP: (settings["top_p"] as? NSNumber)?.doubleValue ?? 0)
        let options = GenerationOptions(filter: filter, seed: (settings["seed"] as? NSNumber).map { UInt64($0.intValue) }, recordDetails: true)
        let run = GenerationRun(predictor: model, dictionary: dictionary, schedule: schedule, options: options, randomness: replay)
        while run.completedSteps < schedule.count {
            let index = run.completedSteps
            let p = String(format: "step%02d", index)
            try TraceChecks.expectState(try #require(run.dictionary[schedule[index].target]), f, "\(p).before")
            guard let report = try run.next() else { break }
            TraceChecks.checkStep(report, f, atol: atol, rtol: rtol, probabilities: .throughTemperature)
            try TraceChecks.expectState(try #require(run.dictionary[schedule[index].target]), f, "\(p).after")
        }
        try TraceChecks.checkOutputs(f, run.dictionary)
    }
}
