import FourMModels
import FourMSampling
import FourMTensor

// MARK: - Generation (spec/generation.md 5)

extension Pipeline {
    /// - Parameters:
    ///   - inputs: conditions by modality.
    ///   - preset: targets and sampling settings (targets already given as inputs are skipped).
    ///   - seed: base seed (step i uses `seed + i`); nil draws a fresh stream.
    ///   - progress: called after every step.
    /// - Throws: `FourMError` for unknown modalities, inputs that do not fit, schedules that do
    ///   not fit the model, or cancellation (`.generation(.cancelled)`).
    public func generate(from inputs: [Modality: PipelineInput], preset: SchedulePreset, seed: UInt64? = nil,
                         progress: ((StepReport) -> Void)? = nil) throws(FourMError) -> PipelineResult {
        try generate(batch: [inputs], preset: preset, seed: seed, progress: progress)
    }

    /// Generates for several inputs at once, one batch row each (row `i` of every result
    /// accessor is input `i`). Every row must give the same modalities; sequence conditions of
    /// different lengths are padded.
    /// - Throws: `.invalidInput` when rows give different modalities, plus the errors of
    ///   ``generate(from:preset:seed:progress:)``.
    public func generate(batch: [[Modality: PipelineInput]], preset: SchedulePreset, seed: UInt64? = nil,
                         progress: ((StepReport) -> Void)? = nil) throws(FourMError) -> PipelineResult {
        guard let first = batch.first else { throw .invalidInput(modality: "batch", expected: "at least one input", actual: "none") }
        try Self.check(preset.filter)
        let conditions = first.keys.sorted()
        var dictionary = ModalityDictionary()
        for m in conditions {
            var rows: [ModalityState] = []
            for (i, inputs) in batch.enumerated() {
                guard let value = inputs[m], Set(inputs.keys) == Set(first.keys) else {
                    throw .invalidInput(modality: m.rawValue, expected: "the same modalities in every batch row (\(conditions.map(\.rawValue)))", actual: "row \(i): \(inputs.keys.map(\.rawValue).sorted())")
                }
                rows.append(try condition(m, value))
            }
            dictionary[m] = Self.stack(rows)
        }
        let inputs = first
        let batchSize = batch.count
        let targets = preset.targets.filter { inputs[$0.modality] == nil }
        for t in targets {
            guard model.outputModalities.contains(t.modality), let info = model.configuration.info(t.modality) else {
                throw .unknownModality(name: t.modality.rawValue, role: "target", available: model.outputModalities.map(\.rawValue))
            }
            if info.kind == .sequence {
                dictionary[t.modality] = .emptySequenceTarget(batch: batchSize, tokens: min(t.tokens, info.tokenCount))
            } else {
                guard t.tokens == info.tokenCount else {
                    throw .invalidInput(modality: t.modality.rawValue, expected: "a schedule over \(info.tokenCount) tokens", actual: "\(t.tokens)")
                }
                dictionary[t.modality] = .emptyImageTarget(batch: batchSize, tokens: info.tokenCount)
            }
        }
        let schedule: [GenerationStep]
        do { schedule = try buildChainedSchedule(conditions: conditions, targets: targets, growConditioning: preset.growConditioning) } catch { throw .generation(error) }
        let baseSeed = Self.baseSeed(seed)
        var reports: [StepReport] = []
        let result: ModalityDictionary
        do {
            result = try FourMSampling.generate(model, dictionary: dictionary, schedule: schedule, options: GenerationOptions(filter: preset.filter, seed: seed),
                                                randomness: SeededRandomness(fallbackSeed: baseSeed)) { report in
                reports.append(report)
                progress?(report)
            }
        } catch { throw .generation(error) }
        return PipelineResult(dictionary: result, steps: reports, pipeline: self, seed: baseSeed)
    }

    /// Rejects a top-k fraction the sampler cannot turn into a count (`Int(f·V)` traps on a
    /// NaN, an infinity or an overflow): it must lie in 0…1.
    /// - Throws: `.generation(.invalidSetting)` naming the value.
    static func check(_ filter: SamplingFilter) throws(FourMError) {
        if case .fraction(let fraction) = filter.topK, !(fraction >= 0 && fraction <= 1) {
            throw .generation(.invalidSetting(target: "every step", setting: "top-k fraction", expected: "a fraction in 0…1", actual: "\(fraction)"))
        }
    }
}
