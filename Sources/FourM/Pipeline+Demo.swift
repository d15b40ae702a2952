import FourMModels
import FourMSampling
import FourMTensor
import FourMTokenizers

extension Pipeline {
    /// Generates exactly as the reference demo sampler's `forward` does (up to decoding):
    /// ``DemoSetup`` builds the conditions, targets, defaults table, schedule and modality
    /// dictionary from `sample` (caption and det through `custom_text`, first), then one
    /// guided chained generation runs with top-p / top-k.
    ///
    /// ```swift
    /// let result = try pipeline.generateAsDemo([(.rgb224, .image(photo))], seed: 42)
    /// print(try result.text(.caption) ?? "")
    /// ```
    /// - Parameters:
    ///   - sample: the given values in the order the caller's dict has them.
    ///   - targets: overrides the default targets (`target_modalities`).
    ///   - seed: the seed (nil: a fresh one; unlike the demo, 0 is a seed like any other).
    ///   - topP: top-p of every step (the demo's 0.8).
    ///   - topK: top-k of every step (0 = off; below 1 a share of the vocabulary).
    ///   - progress: called after every step.
    /// - Throws: `.generation(.invalidSetting)` for a top-k that is not a finite number,
    ///   `.invalidInput` for a value the demo cannot take or a model whose token
    ///   counts differ from the demo's tables (they describe 224-pixel 4M-21 models), plus the
    ///   errors of ``condition(_:_:)`` and generation.
    public func generateAsDemo(_ sample: [(Modality, PipelineInput)], targets: [Modality]? = nil, seed: UInt64? = nil, topP: Double = 0.8, topK: Double = 0,
                               progress: ((StepReport) -> Void)? = nil) throws(FourMError) -> PipelineResult {
        // `Int(topK)` traps on NaN, infinities and values beyond Int: reject them first.
        let topKCount = topK >= 1 ? Int(exactly: topK.rounded(.towardZero)) : 0
        guard topK.isFinite, let topKCount else {
            throw .generation(.invalidSetting(target: "every step", setting: "topK", expected: "a finite number (0 = off, below 1 a share of the vocabulary)", actual: "\(topK)"))
        }
        var values: [(Modality, DemoSampleValue)] = []
        for (m, input) in sample {
            switch input {
            case .text(let text) where model.configuration.modalities.spec(for: m)?.customTextCondition == true:
                values.append((m, .text(text)))
            default:
                let state = try condition(m, input)
                switch state.content {
                case .pixels(let pixels): values.append((m, .pixels(pixels)))
                case .tokens(let ids): values.append((m, .tokens(ids)))
                case .embeddings: throw .invalidInput(modality: m.rawValue, expected: "pixels, tokens or caption/det text (as the demo)", actual: "embeddings")
                }
            }
        }
        let setup = DemoSetup(sample: values, modelModalities: Set(model.inputModalities + model.outputModalities), targets: targets)
        let dictionary = try setup.dictionary(textTokenizer: textTokenizer)
        for t in setup.targets {
            guard let info = model.configuration.info(t), model.outputModalities.contains(t) else {
                throw .unknownModality(name: t.rawValue, role: "target", available: model.outputModalities.map(\.rawValue))
            }
            if info.kind == .imageTokens, let length = dictionary[t]?.length, length != info.tokenCount {
                throw .invalidInput(modality: t.rawValue, expected: "\(info.tokenCount) tokens (this model)", actual: "\(length) in \(setup.table.name) (the demo's 224-pixel tables; use a SchedulePreset)")
            }
        }
        let schedule = try setup.schedule()
        let filter = SamplingFilter(topK: topK <= 0 ? .none : (topK < 1 ? .fraction(topK) : .count(topKCount)), topP: topP)
        let baseSeed = Self.baseSeed(seed)
        var reports: [StepReport] = []
        let result: ModalityDictionary
        do {
            result = try FourMSampling.generate(model, dictionary: dictionary, schedule: schedule, options: GenerationOptions(filter: filter, seed: seed),
                                                randomness: SeededRandomness(fallbackSeed: baseSeed)) { report in
                reports.append(report)
                progress?(report)
            }
        } catch { throw .generation(error) }
        return PipelineResult(dictionary: result, steps: reports, pipeline: self, seed: baseSeed)
    }
}
