import Foundation
import FourMModels
import FourMTensor

/// Runs a schedule step by step (spec/generation.md 3.4): the step iterator behind
/// `generate(_:dictionary:schedule:options:randomness:progress:)`.
///
/// ```swift
/// let run = GenerationRun(predictor: model, dictionary: dict, schedule: steps, options: .init(seed: 0))
/// while let report = try run.next() { print(report.step.target, report.committedPositions) }
/// let result = run.dictionary
/// ```
public final class GenerationRun {
    /// The current dictionary (conditions, finished and partly generated targets).
    public private(set) var dictionary: ModalityDictionary
    /// The schedule.
    public let schedule: [GenerationStep]
    /// The options.
    public let options: GenerationOptions
    /// Steps done so far.
    public private(set) var completedSteps = 0
    let predictor: any TokenPredictor
    var randomness: any GenerationRandomness
    let isCancelled: @Sendable () -> Bool

    /// Prepares a run; nothing is computed until ``next()``.
    public init(predictor: any TokenPredictor, dictionary: ModalityDictionary, schedule: [GenerationStep], options: GenerationOptions = GenerationOptions(),
                randomness: any GenerationRandomness = SeededRandomness(), isCancelled: @escaping @Sendable () -> Bool = { Task.isCancelled }) {
        self.predictor = predictor
        self.dictionary = dictionary
        self.schedule = schedule
        self.options = options
        self.randomness = randomness
        self.isCancelled = isCancelled
    }

    /// Runs the next step and reports it; nil when the schedule is done.
    /// - Throws: `.cancelled` when cancellation was requested before the step,
    ///   `.invalidSetting` for a sampling filter outside its range (a NaN or oversized top-k
    ///   fraction, a non-finite top-p),
    ///   `.stepDoesNotFit` / `.missingModality` / `.model` for states the step cannot use.
    public func next() throws(GenerationError) -> StepReport? {
        guard completedSteps < schedule.count else { return nil }
        try options.filter.validate()
        if isCancelled() { throw .cancelled(afterStep: completedSteps) }
        let index = completedSteps
        let step = schedule[index]
        randomness.beginStep(index, seed: options.seed.map { $0 &+ UInt64(index) })
        var stepper = Stepper(predictor: predictor, options: options)
        let report = try stepper.run(step, index: index, dictionary: &dictionary, randomness: &randomness)
        completedSteps += 1
        return report
    }

    /// Runs every remaining step.
    public func finish(progress: ((StepReport) -> Void)? = nil) throws(GenerationError) -> ModalityDictionary {
        while let report = try next() { progress?(report) }
        return dictionary
    }
}

/// Runs a whole schedule and returns the final dictionary (spec/generation.md 3.4).
package func generate(_ predictor: any TokenPredictor, dictionary: ModalityDictionary, schedule: [GenerationStep], options: GenerationOptions = GenerationOptions(),
                     randomness: any GenerationRandomness = SeededRandomness(), progress: ((StepReport) -> Void)? = nil) throws(GenerationError) -> ModalityDictionary {
    try GenerationRun(predictor: predictor, dictionary: dictionary, schedule: schedule, options: options, randomness: randomness).finish(progress: progress)
}

/// The unconditional dictionary of a guided step (spec/generation.md 4.1): every guidance
/// condition emptied (sequences to a lone `[S_1]`, T5 embeddings to one zero vector, images
/// and pixels dropped).
package func unconditionalDictionary(_ dictionary: ModalityDictionary, dropping conditions: [Modality], info: (Modality) -> ModalityInfo?) -> ModalityDictionary {
    var out = dictionary
    for m in conditions {
        guard var state = out[m] else { continue }
        switch info(m)?.kind {
        case .sequence?: state.emptySequence()
        case .sequenceEmbedding?: state.emptyEmbeddingSequence()
        default: state.emptyImage()
        }
        out[m] = state
    }
    return out
}

/// Stacks dictionaries along the batch axis into one (for one batched model call). A modality
/// missing from some dictionary gets a placeholder there that gives the encoder nothing and
/// is not a target, which is exactly equivalent to its absence.
func stackDictionaries(_ dictionaries: [ModalityDictionary]) throws(GenerationError) -> ModalityDictionary {
    if dictionaries.count == 1 { return dictionaries[0] }
    var order: [Modality] = []
    for d in dictionaries { for m in d.modalities where !order.contains(m) { order.append(m) } }
    var out = ModalityDictionary()
    for m in order {
        guard let template = dictionaries.lazy.compactMap({ $0[m] }).first else { continue }
        var parts: [ModalityState] = []
        for d in dictionaries {
            let batch = d.batchSize
            if let s = d[m] {
                parts.append(s)
            } else {
                var placeholder = template.expanded(toBatch: 1)
                placeholder = placeholder.resizedBatch(batch)
                placeholder.inputMask = Tensor(repeating: true, shape: [batch, template.length])
                placeholder.targetMask = Tensor(repeating: true, shape: [batch, template.length])
                parts.append(placeholder)
            }
        }
        guard Set(parts.map(\.length)).count == 1 else {
            throw .stepDoesNotFit(step: -1, target: m.rawValue, reason: "dictionaries disagree on the length of \(m.rawValue): \(parts.map(\.length))")
        }
        out[m] = ModalityState.concatenated(parts)
    }
    return out
}

extension ModalityState {
    /// Rows `range` of every field.
    func rows(_ range: Range<Int>) -> ModalityState {
        var out = self
        switch content {
        case .tokens(let t): out.content = .tokens(t.slice(range))
        case .pixels(let t): out.content = .pixels(t.slice(range))
        case .embeddings(let t): out.content = .embeddings(t.slice(range))
        }
        out.inputMask = inputMask.slice(range)
        out.targetMask = targetMask.slice(range)
        out.decoderAttentionMask = decoderAttentionMask?.slice(range)
        return out
    }

    /// A state of `batch` rows built from row 0.
    func resizedBatch(_ batch: Int) -> ModalityState {
        rows(0..<1).expanded(toBatch: batch)
    }

    /// States stacked along the batch axis (same lengths).
    package static func concatenated(_ parts: [ModalityState]) -> ModalityState {
        var out = parts[0]
        switch parts[0].content {
        case .tokens: out.content = .tokens(Tensor.concatenate(parts.compactMap { $0.tokens }))
        case .pixels: out.content = .pixels(Tensor.concatenate(parts.compactMap { if case .pixels(let t) = $0.content { return t } else { return nil } }))
        case .embeddings: out.content = .embeddings(Tensor.concatenate(parts.compactMap { if case .embeddings(let t) = $0.content { return t } else { return nil } }))
        }
        out.inputMask = Tensor.concatenate(parts.map(\.inputMask))
        out.targetMask = Tensor.concatenate(parts.map(\.targetMask))
        let masks = parts.compactMap(\.decoderAttentionMask)
        out.decoderAttentionMask = masks.count == parts.count ? Tensor.concatenate(masks) : nil
        return out
    }
}
