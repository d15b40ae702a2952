import FourMModels
import FourMSampling
import FourMTensor

extension Pipeline {
    /// Dense SAM instances (the reference's `generate_sam_dense`, spec/generation.md 4.4): the
    /// inputs are repeated to `batchSize` rows, each row samples its own `sam_instance` sequence
    /// autoregressively, and the rows' sequences are concatenated into one, so that
    /// ``PipelineResult/samInstances(row:side:)`` sees every instance found.
    ///
    /// ```swift
    /// let dense = try pipeline.generateSAMDense(from: [.rgb224: .image(photo)], batchSize: 16, seed: 3)
    /// try dense.samInstances()?.image.writePNG(to: URL(fileURLWithPath: "sam_dense.png"))
    /// ```
    /// - Parameters:
    ///   - inputs: conditions by modality.
    ///   - batchSize: rows sampled in parallel (the reference's default: 16).
    ///   - tokens: slots per row (default: the demo's 256, capped at the model's maximum).
    ///   - temperature: sampling temperature (the demo's 0.01).
    ///   - filter: top-k / top-p (the demo's top-p 0.8).
    ///   - seed: the seed.
    /// - Throws: `.unknownModality` when the model cannot output `sam_instance`, the errors of
    ///   ``condition(_:_:)`` and `.generation`.
    public func generateSAMDense(from inputs: [Modality: PipelineInput], batchSize: Int = 16, tokens: Int? = nil, temperature: Double = 0.01,
                                 filter: SamplingFilter = SamplingFilter(topP: 0.8), seed: UInt64? = nil) throws(FourMError) -> PipelineResult {
        guard model.outputModalities.contains(.samInstance), let info = model.configuration.info(.samInstance) else {
            throw .unknownModality(name: Modality.samInstance.rawValue, role: "target", available: model.outputModalities.map(\.rawValue))
        }
        try Self.check(filter)
        var dictionary = ModalityDictionary()
        for m in inputs.keys.sorted() {
            guard let value = inputs[m] else { continue }
            dictionary[m] = try condition(m, value)
        }
        let slots = min(tokens ?? 256, info.tokenCount)
        dictionary[.samInstance] = .emptySequenceTarget(batch: 1, tokens: slots)
        let schedule: [GenerationStep]
        do {
            schedule = try buildChainedSchedule(conditions: dictionary.modalities.filter { $0 != .samInstance },
                                                targets: [TargetSettings(.samInstance, scheme: .autoregressive, tokens: slots, temperature: temperature)], growConditioning: true)
        } catch { throw .generation(error) }
        let baseSeed = Self.baseSeed(seed)
        var reports: [StepReport] = []
        let result: ModalityDictionary
        do {
            result = try FourMSampling.generateSamDense(model, dictionary: dictionary, schedule: schedule, batchSize: batchSize, options: GenerationOptions(filter: filter, seed: seed),
                                                        randomness: SeededRandomness(fallbackSeed: baseSeed)) { reports.append($0) }
        } catch { throw .generation(error) }
        return PipelineResult(dictionary: result, steps: reports, pipeline: self, seed: baseSeed)
    }
}
