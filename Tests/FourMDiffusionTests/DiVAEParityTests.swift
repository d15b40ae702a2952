import Foundation
import FourMDiffusion
import FourMTensor
import FourMTestSupport
import Testing

/// Golden parity with the reference DiVAE decoders: every `tokenizer_divae` case (the whole
/// sampling chain, step by step) and every `tokenizer_uvit_forward` case (single UViT calls
/// with every stored stage), read from the fixture manifest.
///
/// Tolerances are each case's own (`float_atol`, `float_rtol`): `|swift − ref| ≤ atol + rtol·|ref|`.
/// The UNet cases carry 1e-4 (GroupNorm32 prevents a float64 rerun), the UViT cases 20× the
/// measured float32-vs-float64 discrepancy of the reference. Timesteps are exact.
@Suite struct DiVAEParityTests {
    static let chainCases = Fixtures.caseNames(kinds: ["tokenizer_divae"])
    static let forwardCases = Fixtures.caseNames(kinds: ["tokenizer_uvit_forward"])

    @Test func manifestHasDiffusionCases() {
        #expect(Fixtures.manifestProblem == nil, "\(Fixtures.manifestProblem ?? "")")
        if Fixtures.directory != nil {
            #expect(!Self.chainCases.isEmpty, "fixture folder has no tokenizer_divae cases")
            #expect(!Self.forwardCases.isEmpty, "fixture folder has no tokenizer_uvit_forward cases")
        }
    }

    @Test(arguments: chainCases)
    func samplingChainMatchesReference(_ name: String) throws {
        let fixture = try CaseTensors(name)
        let decoder = try FixtureModels.decoder(for: fixture)
        let report = ParityReport(name, tolerance: fixture.tolerance)
        defer { report.summary() }
        let settings = fixture.settings
        let scheduler = try FixtureModels.scheduler(settings: settings)
        let spacing = try FixtureModels.spacing(settings: settings, kind: scheduler.kind)
        let steps = try FixtureModels.int(settings["num_inference_steps"], "settings.num_inference_steps")
        let condition = try fixture.float("quantized")

        // The decoder's own scheduler must equal the recorded one whenever the case used the
        // checkpoint's scheduler class (the ddpm-default and UViT cases).
        if scheduler.kind == decoder.scheduler.kind {
            #expect(decoder.scheduler == scheduler, "\(name): checkpoint scheduler differs from the recorded scheduler_config")
        }

        // Schedule and timesteps.
        report.check(Tensor(shape: [scheduler.alphasCumprod.count], scalars: scheduler.alphasCumprod), try fixture.float("alphas_cumprod"), "alphas_cumprod")
        let timesteps = try scheduler.timesteps(steps: steps, spacing: spacing)
        let expectedTimesteps = try fixture.int("timesteps").scalars.map(Int.init)
        #expect(timesteps == expectedTimesteps, "\(name) timesteps")
        let recordedSteps = fixture.keys.filter { $0.hasPrefix("step") && $0.hasSuffix(".sample") }.count
        #expect(recordedSteps == expectedTimesteps.count, "\(name): \(recordedSteps) recorded steps for \(expectedTimesteps.count) timesteps")

        // Each step on its own, from the recorded input: network, then scheduler algebra.
        var varianceNoise: [Tensor<Float>] = []
        for (i, t) in expectedTimesteps.enumerated() {
            let sample = try fixture.float("step\(i).sample")
            let modelOutput = try decoder.denoise(sample: sample, timestep: t, condition: condition)
            let recordedOutput = try fixture.float("step\(i).model_output")
            report.check(modelOutput, recordedOutput, "step\(i).model_output (from recorded sample)")
            let noise = fixture.has("step\(i).variance_noise") ? try fixture.float("step\(i).variance_noise") : nil
            #expect((noise != nil) == scheduler.needsVarianceNoise(at: t), "\(name) step\(i): variance noise recorded iff the step draws it")
            if let noise { varianceNoise.append(noise) }
            let result = try scheduler.step(modelOutput: recordedOutput, timestep: t, sample: sample, steps: steps, varianceNoise: noise)
            report.check(result.predOriginalSample, try fixture.float("step\(i).pred_original_sample"), "step\(i).pred_original_sample (from recorded model output)")
            report.check(result.prevSample, try fixture.float("step\(i).prev_sample"), "step\(i).prev_sample (from recorded model output)")
        }
        #expect(varianceNoise.count == fixture.keys.filter { $0.hasSuffix(".variance_noise") }.count, "\(name): variance noise steps")

        // The whole chain from the recorded initial noise (and DDPM noises).
        var records: [DiffusionStepRecord] = []
        var progress: [Int] = []
        var rng = SeededGenerator(seed: 0)
        let output = try decoder.decode(
            condition: condition, steps: steps, scheduler: scheduler, spacing: spacing, noise: try fixture.float("initial_noise"),
            varianceNoise: varianceNoise, rng: &rng, progress: { done, total in progress.append(done * 1000 + total) },
            observer: { records.append($0) })
        #expect(records.map(\.timestep) == expectedTimesteps, "\(name) chain timesteps")
        #expect(progress == (1...expectedTimesteps.count).map { $0 * 1000 + expectedTimesteps.count }, "\(name) progress")
        for record in records {
            let i = record.index
            report.check(record.sample, try fixture.float("step\(i).sample"), "chain step\(i).sample")
            report.check(record.modelOutput, try fixture.float("step\(i).model_output"), "chain step\(i).model_output")
            report.check(record.predOriginalSample, try fixture.float("step\(i).pred_original_sample"), "chain step\(i).pred_original_sample")
            report.check(record.prevSample, try fixture.float("step\(i).prev_sample"), "chain step\(i).prev_sample")
        }
        report.check(output, try fixture.float("output"), "output")
        #expect(output.shape == decoder.outputShape(forCondition: condition.shape), "\(name) output shape")
    }

    @Test(arguments: forwardCases)
    func uvitStagesMatchReference(_ name: String) throws {
        let fixture = try CaseTensors(name)
        let decoder = try FixtureModels.decoder(for: fixture)
        let report = ParityReport(name, tolerance: fixture.tolerance)
        defer { report.summary() }
        let condition = try fixture.float("condition")
        var call = 0
        while fixture.has("t\(call).timestep") {
            let prefix = "t\(call)."
            let t = Int(try fixture.int("\(prefix)timestep").scalars[0])
            var stages: [String: Tensor<Float>] = [:]
            let output = try decoder.denoise(sample: try fixture.float("\(prefix)sample"), timestep: t, condition: condition) {
                stages[$0] = $1
            }
            report.check(output, try fixture.float("\(prefix)output"), "\(prefix)output")
            // The plain entry point gives the same result.
            let plain = try decoder.denoise(sample: try fixture.float("\(prefix)sample"), timestep: t, condition: condition)
            expectClose(plain, output, atol: 1e-5, "\(name) \(prefix): denoise with and without stages")
            for key in fixture.keys where key.hasPrefix("\(prefix)uvit.") {
                let stage = String(key.dropFirst("\(prefix)uvit.".count))
                guard let got = stages[stage] else {
                    Issue.record("\(name): the UViT reports no stage '\(stage)' (have \(stages.keys.sorted()))")
                    continue
                }
                report.check(got, try fixture.float(key), "\(key)")
            }
            call += 1
        }
        #expect(call > 0, "\(name): no t0.timestep in the case")
    }
}

/// Wraps `expectClose` and remembers the worst element over a case, printed as one summary line
/// (the worst absolute difference and its share of the allowed `atol + rtol·|ref|`).
final class ParityReport {
    let name: String
    let atol: Float
    let rtol: Float
    private(set) var worstDiff: Float = 0
    private(set) var worstRatio: Float = 0
    private(set) var worstLabel = ""
    private(set) var comparisons = 0

    init(_ name: String, tolerance: (atol: Float, rtol: Float)) {
        self.name = name
        atol = tolerance.atol
        rtol = tolerance.rtol
    }

    func check(_ actual: Tensor<Float>, _ expected: Tensor<Float>, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectClose(actual, expected, atol: atol, rtol: rtol, "\(name) \(label)", sourceLocation: sourceLocation)
        comparisons += 1
        guard actual.shape == expected.shape else { return }
        let a = actual.scalars, e = expected.scalars
        for i in 0..<a.count {
            let diff = abs(a[i] - e[i])
            let ratio = diff / (atol + rtol * abs(e[i]))
            if diff > worstDiff { worstDiff = diff }
            if ratio > worstRatio || ratio.isNaN {
                worstRatio = ratio
                worstLabel = label
            }
        }
    }

    func summary() {
        print("[parity] \(name): \(comparisons) tensors, worst |diff| \(worstDiff), worst share of tolerance \(worstRatio) at \(worstLabel) (atol \(atol), rtol \(rtol))")
    }
}

/// Builds decoders and schedulers from the manifest: presets, model files, scheduler configs.
enum FixtureModels {
    /// Every diffusion preset of `manifest.json → presets` (parsed once per process).
    static let presets: Result<[String: DecoderPreset], DiffusionError> = {
        let presets = Fixtures.manifest?["presets"] as? [String: Any] ?? [:]
        var descriptions: [String: [String: Any]] = [:]
        for (name, value) in presets {
            guard let description = value as? [String: Any],
                let cls = description["cls"] as? String, cls == "PatchedUNetCondCat" || cls == "UViT"
            else { continue }
            descriptions[name] = description
        }
        do throws(DiffusionError) { return .success(try DiffusionPresets.presets(descriptions: descriptions)) } catch { return .failure(error) }
    }()

    static func decoder(for fixture: CaseTensors) throws -> DiVAEDecoder {
        let presets = try presets.get()
        guard let model = fixture.object["model"] as? String else { throw FixtureError("case has no 'model'") }
        guard let file = try Fixtures.modelObject(model)["file"] as? String else { throw FixtureError("model \(model) has no 'file'") }
        return try DiVAEDecoder(path: try Fixtures.url(file).path, presets: presets)
    }

    static func int(_ value: Any?, _ what: String) throws -> Int {
        guard let n = value as? NSNumber, let i = Int(exactly: n.doubleValue) else { throw FixtureError("\(what) is not an integer") }
        return i
    }

    /// The scheduler a case recorded (`scheduler_class` + `scheduler_config`). Every setting
    /// the port hard-wires (η = 0, `set_alpha_to_one`, `steps_offset` 0, `sample_max_value` 1,
    /// linear β range, `fixed_small`) is checked, so a fixture that changes one fails here.
    static func scheduler(settings: [String: Any]) throws -> NoiseScheduler {
        guard let cls = settings["scheduler_class"] as? String, let config = settings["scheduler_config"] as? [String: Any] else {
            throw FixtureError("settings lack scheduler_class / scheduler_config")
        }
        let kind: SchedulerKind
        switch cls {
        case "DDIMScheduler": kind = .ddim
        case "DDPMScheduler": kind = .ddpm
        default: throw FixtureError("unsupported scheduler_class \(cls)")
        }
        func number(_ key: String) -> Double? { (config[key] as? NSNumber)?.doubleValue }
        func expect(_ key: String, _ ok: Bool) throws { if config[key] != nil && !ok { throw FixtureError("scheduler_config.\(key) = \(config[key]!) is not what the port implements") } }
        try expect("set_alpha_to_one", (config["set_alpha_to_one"] as? Bool) == true)
        try expect("steps_offset", number("steps_offset") == 0)
        try expect("trained_betas", config["trained_betas"] is NSNull)
        try expect("sample_max_value", number("sample_max_value") == 1)
        try expect("clip_sample_range", number("clip_sample_range") == 1)
        try expect("variance_type", (config["variance_type"] as? String) == "fixed_small")
        try expect("beta_start", number("beta_start").map { abs($0 - 1e-4) < 1e-12 } ?? false)
        try expect("beta_end", number("beta_end").map { abs($0 - 0.02) < 1e-12 } ?? false)
        guard let betaName = config["beta_schedule"] as? String, let schedule = BetaSchedule(configValue: betaName) else {
            throw FixtureError("scheduler_config.beta_schedule \(config["beta_schedule"] ?? "missing") is not supported")
        }
        guard let predictionName = config["prediction_type"] as? String, let prediction = PredictionType(rawValue: predictionName) else {
            throw FixtureError("scheduler_config.prediction_type \(config["prediction_type"] ?? "missing") is not supported")
        }
        return NoiseScheduler(
            kind: kind, trainTimesteps: try int(config["num_train_timesteps"], "num_train_timesteps"), betaSchedule: schedule,
            predictionType: prediction, thresholding: (config["thresholding"] as? Bool) ?? false,
            clipSample: (config["clip_sample"] as? Bool) ?? false, zeroTerminalSNR: (config["zero_terminal_snr"] as? Bool) ?? false)
    }

    /// `scheduler_timesteps_mode` for DDIM (must be a known spacing); DDPM ignores it.
    static func spacing(settings: [String: Any], kind: SchedulerKind) throws -> TimestepSpacing {
        if kind == .ddpm { return .leading }
        guard let mode = settings["scheduler_timesteps_mode"] as? String, let spacing = TimestepSpacing(rawValue: mode) else {
            throw FixtureError("scheduler_timesteps_mode \(settings["scheduler_timesteps_mode"] ?? "missing") is not a DDIM spacing")
        }
        return spacing
    }
}
