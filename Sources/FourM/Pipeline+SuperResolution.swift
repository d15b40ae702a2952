import FourMModels
import FourMSampling
import FourMTensor

// MARK: - Super-resolution pass (the reference demo's 4M-7-SR step)

extension Pipeline {
    /// The 448 targets this (super-resolution) pipeline would generate after `base`
    /// (`__setup_sr_conds_and_targets`): the `DEFAULT_ORDER_SR` entries this model knows whose
    /// `@224` twin is in the base result.
    public func superResolutionTargets(after base: PipelineResult) -> [Modality] {
        DemoSetup.superResolutionDomains(base: base.dictionary, superResolutionModalities: Set(model.inputModalities + model.outputModalities)).targets
    }

    /// Runs this pipeline as the reference demo's super-resolution pass on a base result:
    /// the base outputs it knows become conditions (``DemoSetup/superResolution(base:superResolutionModalities:textTokenizer:growConditioning:)``),
    /// and every `DEFAULT_ORDER_SR` target whose `@224` twin was generated is produced at 448
    /// with `DEFAULTS_SR` (MaskGIT, 8 cosine steps, τ 1, guidance 2). The demo seeds this pass
    /// with its base seed + 1.
    ///
    /// ```swift
    /// let base = try pipeline.generate(from: [.rgb224: .image(photo)], preset: .rgbToAll(pipeline.model), seed: 7)
    /// let sr = try Pipeline(bundle: srBundle, outputs: ["tok_depth@448"])
    /// let high = try sr.superResolve(base, seed: 8)
    /// ```
    /// - Parameters:
    ///   - base: the result of the base (224) pass.
    ///   - seed: the seed of this pass.
    ///   - filter: top-k / top-p (the demo reuses the base pass's, top-p 0.8).
    ///   - progress: called after every step.
    /// - Returns: the 448 result; it holds the modalities this model knows.
    /// - Throws: `.invalidInput(modality: "super-resolution", …)` when this model has no 448
    ///   target for the base result or a target's size differs from `DEFAULTS_SR`'s, plus the
    ///   errors of generation.
    public func superResolve(_ base: PipelineResult, seed: UInt64? = nil, filter: SamplingFilter = SamplingFilter(topP: 0.8),
                             progress: ((StepReport) -> Void)? = nil) throws(FourMError) -> PipelineResult {
        try Self.check(filter)
        let domains = Set(model.inputModalities + model.outputModalities)
        let built = try DemoSetup.superResolution(base: base.dictionary, superResolutionModalities: domains, textTokenizer: textTokenizer ?? base.pipeline.textTokenizer)
        guard !built.targets.isEmpty else {
            throw .invalidInput(modality: "super-resolution", expected: "a model with the @448 twin of a base output (\(DemoSetup.defaultOrderSuperResolution.map(\.rawValue).joined(separator: ", ")))",
                                actual: "base outputs \(base.dictionary.modalities.map(\.rawValue).joined(separator: ", ")); this model knows \(domains.map(\.rawValue).sorted().joined(separator: ", "))")
        }
        for t in built.targets {
            guard model.outputModalities.contains(t), let info = model.configuration.info(t), info.tokenCount == built.dictionary[t]?.length else {
                throw .invalidInput(modality: "super-resolution", expected: "\(t.rawValue) as an output of \(built.dictionary[t]?.length ?? 0) tokens",
                                    actual: model.configuration.info(t).map { "\($0.tokenCount) tokens" } ?? "not an output of this model")
            }
        }
        // The reference hands the whole dictionary over; the SR model ignores what it does not know.
        let known = ModalityDictionary(built.dictionary.entries.filter { domains.contains($0.modality) }.map { ($0.modality, $0.state) })
        let baseSeed = Self.baseSeed(seed)
        var reports: [StepReport] = []
        let result: ModalityDictionary
        do {
            result = try FourMSampling.generate(model, dictionary: known, schedule: built.schedule, options: GenerationOptions(filter: filter, seed: seed),
                                                randomness: SeededRandomness(fallbackSeed: baseSeed)) { report in
                reports.append(report)
                progress?(report)
            }
        } catch { throw .generation(error) }
        return PipelineResult(dictionary: result, steps: reports, pipeline: self, seed: baseSeed)
    }
}
