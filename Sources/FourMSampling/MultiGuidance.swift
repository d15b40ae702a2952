import FourMModels
import FourMTensor

/// Multi-condition classifier-free guidance (spec/generation.md 4.3): every step runs one pass
/// per condition dictionary and one over `unconditional`, combines
/// `uncond + Σ_k w_k·(cond_k − uncond)` (weights from the step's ``GuidanceScale/weights(_:)``,
/// zip-truncated), samples, and commits into the unconditional dictionary and every condition
/// dictionary. When the target changes, the finished target leaves the condition
/// dictionaries, is hidden from the unconditional one, and becomes a condition dictionary of
/// its own. Image-like targets (MaskGIT, ROAR) only.
///
/// By default FourM re-seeds with `seed + step` and commits ROAR tokens into the condition
/// dictionaries as MaskGIT does; `options.referenceMultiGuidanceQuirks` reproduces the
/// reference instead (the same seed every step, ROAR commits with inverted masks).
/// - Returns: the unconditional dictionary with every target generated.
/// - Throws: `GenerationError` for sequence targets, unknown modalities or states that do not fit.
package func generateMultiGuided(
    _ predictor: any TokenPredictor, unconditional: ModalityDictionary, conditions: [ModalityDictionary], schedule: [GenerationStep],
    options: GenerationOptions = GenerationOptions(), randomness: any GenerationRandomness = SeededRandomness(),
    progress: ((StepReport) -> Void)? = nil
) throws(GenerationError) -> ModalityDictionary {
    guard let first = schedule.first else { return unconditional }
    var u = unconditional
    var conds = conditions
    var current = first.target
    var randomness = randomness
    guard u[current] != nil else { throw .missingModality(modality: current.rawValue, role: "target in the unconditional dictionary") }
    for k in conds.indices { conds[k][current] = u[current] }
    let stepper = Stepper(predictor: predictor, options: options)
    for (index, step) in schedule.enumerated() {
        guard predictor.modalityInfo(step.target)?.kind == .imageTokens, step.scheme != .autoregressive else {
            throw .stepDoesNotFit(step: index, target: step.target.rawValue, reason: "multi-condition guidance supports image-like targets with MaskGIT or ROAR only")
        }
        guard let count = step.tokenCount, count >= 0 else {
            throw .stepDoesNotFit(step: index, target: step.target.rawValue, reason: "needs a non-negative token count")
        }
        if step.target != current {
            guard var finished = u[current], let next = u[step.target] else {
                throw .missingModality(modality: step.target.rawValue, role: "target in the unconditional dictionary")
            }
            for k in conds.indices {
                conds[k][current] = nil
                conds[k][step.target] = next
            }
            var asCondition = finished
            asCondition.inputMask = Tensor(repeating: false, shape: finished.inputMask.shape)
            asCondition.targetMask = Tensor(repeating: true, shape: finished.targetMask.shape)
            finished.inputMask = Tensor(repeating: true, shape: finished.inputMask.shape)
            u[current] = finished
            conds.append([current: asCondition, step.target: next])
            current = step.target
        }
        if Task.isCancelled { throw .cancelled(afterStep: index) }
        let seed = options.referenceMultiGuidanceQuirks ? options.seed : options.seed.map { $0 &+ UInt64(index) }
        randomness.beginStep(index, seed: seed)
        let weights: [Double]
        switch step.guidance {
        case .weights(let w): weights = w
        case .scale(let s): weights = [s]
        }
        guard let uState = u[step.target] else { throw .missingModality(modality: step.target.rawValue, role: "target") }
        // Slots: every dictionary its own (they coincide unless the reference quirk diverged them);
        // ROAR keys are drawn once and shared, like the reference's identical re-seeding.
        let slotsU: [[Int]]
        var slotsC: [[[Int]]] = []
        if step.scheme == .roar {
            let keys = randomness.orderKeys(count: uState.length, step: index)
            var fixed = FixedKeys(keys: keys)
            var source: any GenerationRandomness = fixed
            slotsU = try stepper.imageSlots(uState, step: step, index: index, count: count, randomness: &source)
            for c in conds {
                guard let s = c[step.target] else { throw .missingModality(modality: step.target.rawValue, role: "target in a condition dictionary") }
                fixed = FixedKeys(keys: keys)
                source = fixed
                slotsC.append(try stepper.imageSlots(s, step: step, index: index, count: count, randomness: &source))
            }
        } else {
            slotsU = try stepper.imageSlots(uState, step: step, index: index, count: count, randomness: &randomness)
            for c in conds {
                guard let s = c[step.target] else { throw .missingModality(modality: step.target.rawValue, role: "target in a condition dictionary") }
                slotsC.append(try stepper.imageSlots(s, step: step, index: index, count: count, randomness: &randomness))
            }
        }
        var report = StepReport(index: index, step: step)
        let perPass = try stepper.passLogits(conds + [u], target: step.target, positions: slotsC + [slotsU])
        let flat = perPass.map { $0.reshaped([-1, $0.shape[2]]) }
        let logits = guide(conditionals: Array(flat.dropLast()), unconditional: flat[flat.count - 1], weights: weights)
        let (ids, probabilities) = try stepper.draw(logits, temperature: step.temperature, step: index, target: step.target, iteration: nil, randomness: &randomness)
        let committed = stepper.committedPositions(step, index: index, slots: slotsU, probabilities: probabilities, count: count, randomness: &randomness)
        var updated = uState
        stepper.commit(&updated, positions: committed, slots: slotsU, ids: ids, inputMask: false)
        u[step.target] = updated
        let inverted = step.scheme == .roar && options.referenceMultiGuidanceQuirks
        for k in conds.indices {
            guard var s = conds[k][step.target] else { continue }
            stepper.commit(&s, positions: committed, slots: slotsU, ids: ids, inputMask: inverted)
            conds[k][step.target] = s
        }
        report.candidatePositions = slotsU
        report.committedPositions = committed
        if options.recordDetails {
            report.logits = logits
            report.samples = ids
            report.probabilities = probabilities
            report.passLogits = flat
        }
        progress?(report)
    }
    return u
}

/// Hands out one pre-drawn key vector (so several dictionaries order positions alike).
struct FixedKeys: GenerationRandomness {
    let keys: [Float]
    func beginStep(_ step: Int, seed: UInt64?) {}
    func uniforms(count: Int, step: Int, iteration: Int?) -> [Float] { [Float](repeating: 0.5, count: count) }
    func orderKeys(count: Int, step: Int) -> [Float] { keys }
}

/// Dense SAM instances (spec/generation.md 6.1): the single-row dictionary is repeated to
/// `batchSize` rows, only the `key` steps of the schedule run, and every row's generated
/// content is concatenated into one `(1, total)` sequence under `key`, all input.
package func generateSamDense(
    _ predictor: any TokenPredictor, dictionary: ModalityDictionary, schedule: [GenerationStep], batchSize: Int = 16,
    key: Modality = .samInstance, options: GenerationOptions = GenerationOptions(), randomness: any GenerationRandomness = SeededRandomness(),
    progress: ((StepReport) -> Void)? = nil
) throws(GenerationError) -> ModalityDictionary {
    guard batchSize > 0 else { throw .invalidSetting(target: key.rawValue, setting: "batchSize", expected: "a positive number", actual: "\(batchSize)") }
    var expanded = ModalityDictionary()
    for (m, s) in dictionary {
        guard s.batchSize == 1 || s.batchSize == batchSize else {
            throw .invalidSetting(target: m.rawValue, setting: "batch size", expected: "1 or \(batchSize)", actual: "\(s.batchSize)")
        }
        expanded[m] = s.expanded(toBatch: batchSize)
    }
    let steps = schedule.filter { $0.target == key }
    let result = try generate(predictor, dictionary: expanded, schedule: steps, options: options, randomness: randomness, progress: progress)
    guard let generated = result[key], let tokens = generated.tokens?.scalars else { return dictionary }
    let length = generated.length
    let input = generated.inputMask.scalars, target = generated.targetMask.scalars
    var all: [Int32] = []
    for b in 0..<generated.batchSize {
        let given = (0..<length).filter { !input[b * length + $0] }.map { tokens[b * length + $0] }
        let predicted = (0..<length).filter { !target[b * length + $0] }.map { tokens[b * length + $0] }
        all += mergeSpans(input: given, prediction: predicted)
    }
    var out = dictionary
    out[key] = ModalityState(content: .tokens(Tensor(shape: [1, all.count], scalars: all)), inputMask: Tensor(repeating: false, shape: [1, all.count]),
                             targetMask: Tensor(repeating: true, shape: [1, all.count]), decoderAttentionMask: Tensor(zeros: [1, all.count]))
    return out
}
