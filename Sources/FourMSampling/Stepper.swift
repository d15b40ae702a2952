import Foundation
import FourMModels
import FourMTensor

/// One step of `generate` (spec/generation.md 3.1–3.3 with the guidance of 4.2).
struct Stepper {
    let predictor: any TokenPredictor
    let options: GenerationOptions

    init(predictor: any TokenPredictor, options: GenerationOptions) {
        self.predictor = predictor
        self.options = options
    }

    func model<T>(_ body: () throws(ModelError) -> T) throws(GenerationError) -> T {
        do { return try body() } catch { throw .model(error) }
    }

    mutating func run(_ step: GenerationStep, index: Int, dictionary: inout ModalityDictionary, randomness: inout any GenerationRandomness) throws(GenerationError) -> StepReport {
        guard let state = dictionary[step.target] else { throw .missingModality(modality: step.target.rawValue, role: "target of step \(index)") }
        guard let info = predictor.modalityInfo(step.target) else {
            throw .stepDoesNotFit(step: index, target: step.target.rawValue, reason: "the model does not know this modality")
        }
        guard case .scale(let scale) = step.guidance else {
            throw .stepDoesNotFit(step: index, target: step.target.rawValue, reason: "per-condition weights need generateMultiGuided")
        }
        let guided = scale != 1 && !step.guidanceConditions.isEmpty
        var passes = [dictionary]
        if guided {
            passes.append(unconditionalDictionary(dictionary, dropping: step.guidanceConditions, info: predictor.modalityInfo))
        }
        var report = StepReport(index: index, step: step)
        switch (info.kind, step.scheme) {
        case (.imageTokens, .maskGIT), (.imageTokens, .roar):
            guard let count = step.tokenCount, count >= 0 else {
                throw .stepDoesNotFit(step: index, target: step.target.rawValue, reason: "needs a non-negative token count, got \(String(describing: step.tokenCount))")
            }
            let slots = try imageSlots(state, step: step, index: index, count: count, randomness: &randomness)
            let logits = try guidedMaskedLogits(passes, target: step.target, positions: slots, weights: [scale], report: &report)
            let (ids, probabilities) = try draw(logits, temperature: step.temperature, step: index, target: step.target, iteration: nil, randomness: &randomness)
            let committed = committedPositions(step, index: index, slots: slots, probabilities: probabilities, count: count, randomness: &randomness)
            var updated = state
            commit(&updated, positions: committed, slots: slots, ids: ids, inputMask: false)
            dictionary[step.target] = updated
            report.candidatePositions = slots
            report.committedPositions = committed
            if options.recordDetails {
                report.logits = logits
                report.samples = ids
                report.probabilities = probabilities
            }
        case (.sequence, .autoregressive):
            try autoregressive(step, index: index, state: state, passes: passes, scale: scale, dictionary: &dictionary, randomness: &randomness, report: &report)
        default:
            throw .stepDoesNotFit(step: index, target: step.target.rawValue, reason: "scheme \(step.scheme.rawValue) cannot generate a \(info.kind) modality")
        }
        return report
    }

    /// The positions a step commits (spec/generation.md 3.1–3.2): every ROAR slot; for MaskGIT
    /// the `count` slots of each row with the highest sampled probability (ties to the lower
    /// slot), as the randomness's review leaves them.
    func committedPositions(_ step: GenerationStep, index: Int, slots: [[Int]], probabilities: [Float], count: Int,
                            randomness: inout any GenerationRandomness) -> [[Int]] {
        if step.scheme == .roar { return slots }
        let width = slots.first?.count ?? 0
        let chosen = slots.indices.map { b in
            let order = (0..<width).sorted { probabilities[b * width + $0] > probabilities[b * width + $1] || (probabilities[b * width + $0] == probabilities[b * width + $1] && $0 < $1) }
            return order.prefix(count).map { slots[b][$0] }
        }
        var selection = PositionSelection(step: index, slots: slots, probabilities: probabilities, count: count, selected: chosen)
        randomness.reviewSelection(&selection)
        return selection.selected
    }

    /// The positions a MaskGIT (all remaining, ascending) or ROAR (a random subset, in random
    /// order, drawn once and shared by every pass) step decodes, per row.
    func imageSlots(_ state: ModalityState, step: GenerationStep, index: Int, count: Int, randomness: inout any GenerationRandomness) throws(GenerationError) -> [[Int]] {
        let (batch, length) = (state.batchSize, state.length)
        let mask = state.targetMask.scalars
        let remaining = (0..<batch).map { b in (0..<length).filter { !mask[b * length + $0] } }
        guard Set(remaining.map(\.count)).count <= 1 else {
            throw .model(.unequalTargetCounts(modality: step.target.rawValue, counts: remaining.map(\.count)))
        }
        let left = remaining.first?.count ?? 0
        if step.scheme == .maskGIT {
            guard count <= left else {
                throw .stepDoesNotFit(step: index, target: step.target.rawValue, reason: "asks for \(count) tokens, \(left) remain")
            }
            return remaining
        }
        let keys = randomness.orderKeys(count: length, step: index)
        let take = min(count, left)
        return (0..<batch).map { b in
            let sortKeys = (0..<length).map { j in Float(mask[b * length + j] ? 1 : 0) + Float(1e-6) * keys[j] }
            let order = (0..<length).sorted { sortKeys[$0] < sortKeys[$1] || (sortKeys[$0] == sortKeys[$1] && $0 < $1) }
            return Array(order.prefix(take))
        }
    }

    /// Logits `[B·K, V]` of the first pass, guided with the others when there are several.
    func guidedMaskedLogits(_ passes: [ModalityDictionary], target: Modality, positions: [[Int]], weights: [Double], report: inout StepReport) throws(GenerationError) -> Tensor<Float> {
        let perPass = try passLogits(passes, target: target, positions: Array(repeating: positions, count: passes.count))
        let flat = perPass.map { $0.reshaped([-1, $0.shape[2]]) }
        if options.recordDetails && passes.count > 1 { report.passLogits = flat }
        guard flat.count > 1 else { return flat[0] }
        return guide(conditionals: Array(flat.dropLast()), unconditional: flat[flat.count - 1], weights: weights)
    }

    /// One masked pass per dictionary (batched into one model call when allowed).
    func passLogits(_ passes: [ModalityDictionary], target: Modality, positions: [[[Int]]]) throws(GenerationError) -> [Tensor<Float>] {
        if passes.count > 1 && options.batchGuidancePasses {
            let stacked = try stackDictionaries(passes)
            let all = try model { () throws(ModelError) in try predictor.maskedLogits(stacked, target: target, positions: positions.flatMap { $0 }) }
            var offset = 0
            return passes.map { pass in
                let rows = pass.batchSize
                defer { offset += rows }
                return all.slice(offset..<(offset + rows))
            }
        }
        var out: [Tensor<Float>] = []
        for (pass, p) in zip(passes, positions) {
            out.append(try model { () throws(ModelError) in try predictor.maskedLogits(pass, target: target, positions: p) })
        }
        return out
    }

    /// Samples every row (greedy at |τ| ≤ 1e-10, drawing no uniforms then), as the
    /// randomness's review leaves the draw.
    /// - Throws: `.nonFinite` when a logit or a sampled probability is NaN or infinite.
    func draw(_ logits: Tensor<Float>, temperature: Double, step: Int, target: Modality, iteration: Int?, randomness: inout any GenerationRandomness) throws(GenerationError) -> ([Int32], [Float]) {
        let rows = logits.shape[0]
        try checkFinite(logits, step: step, target: target)
        let greedy = abs(temperature) <= greedyTemperatureThreshold
        let uniforms = greedy ? [Float](repeating: 0, count: rows) : randomness.uniforms(count: rows, step: step, iteration: iteration)
        let (ids, probabilities) = sampleTokens(logits, temperature: temperature, filter: options.filter, uniforms: uniforms)
        try checkFinite(probabilities: probabilities, step: step, target: target)
        var drawn = CategoricalDraw(step: step, iteration: iteration, logits: logits, temperature: temperature, filter: options.filter,
                                    uniforms: uniforms, ids: ids, probabilities: probabilities)
        randomness.reviewDraw(&drawn)
        return (drawn.ids, drawn.probabilities)
    }

    /// Writes `ids` (one per slot, b-major) at `positions` and moves them to the encoder side
    /// (`inputMask` false, `targetMask` true), or with `inputMask` true the reference's
    /// inverted ROAR commit of multi-guidance.
    func commit(_ state: inout ModalityState, positions: [[Int]], slots: [[Int]], ids: [Int32], inputMask inverted: Bool) {
        let length = state.length
        var tokens = state.tokens?.scalars ?? [Int32](repeating: 0, count: state.batchSize * length)
        var input = state.inputMask.scalars, target = state.targetMask.scalars
        let width = slots.first?.count ?? 0
        for (b, row) in positions.enumerated() {
            for p in row {
                guard let slot = slots[b].firstIndex(of: p) else { continue }
                tokens[b * length + p] = ids[b * width + slot]
                input[b * length + p] = inverted
                target[b * length + p] = !inverted
            }
        }
        state.content = .tokens(Tensor(shape: [state.batchSize, length], scalars: tokens))
        state.inputMask = Tensor(shape: [state.batchSize, length], scalars: input)
        state.targetMask = Tensor(shape: [state.batchSize, length], scalars: target)
    }

    // MARK: autoregressive (spec/generation.md 3.3)

    func autoregressive(_ step: GenerationStep, index: Int, state: ModalityState, passes: [ModalityDictionary], scale: Double,
                        dictionary: inout ModalityDictionary, randomness: inout any GenerationRandomness, report: inout StepReport) throws(GenerationError) {
        let batch = state.batchSize
        let stacked = try stackDictionaries(passes)
        let session = try model { () throws(ModelError) in try predictor.sequenceSession(stacked, target: step.target) }
        let slots = session.targetTokens.shape[1]
        guard slots > 0 else { throw .stepDoesNotFit(step: index, target: step.target.rawValue, reason: "has no target positions") }
        let targets = session.targetTokens.scalars
        let eos = targets[slots - 1]
        var out = (0..<batch).map { [targets[$0 * slots]] }
        if out.allSatisfy({ $0[0] == eos }) { return }  // nothing to generate (reference quirk: it returns early)
        let maxTokens = predictor.modalityInfo(step.target)?.tokenCount ?? slots
        let limit = min(maxTokens, slots)
        var recorded: [Tensor<Float>] = []
        for iteration in 0..<limit {
            let feed = (0..<passes.count).flatMap { _ in out.map { $0[$0.count - 1] } }
            let all = try model { () throws(ModelError) in try session.next(feed) }
            var logits = all.slice(0..<batch)
            if passes.count > 1 {
                logits = guide(conditional: logits, unconditional: all.slice(batch..<(2 * batch)), scale: scale)
            }
            if options.recordDetails { recorded.append(logits) }
            let (ids, _) = try draw(logits, temperature: step.temperature, step: index, target: step.target, iteration: iteration, randomness: &randomness)
            for b in 0..<batch { out[b].append(ids[b]) }
            if out.allSatisfy({ $0.contains(eos) }) { break }
        }
        // Merge the prediction into the input part of every row (mergeSequencesBatched).
        let length = state.length
        let tokens = state.tokens?.scalars ?? []
        let input = state.inputMask.scalars
        var merged: [[Int32]] = []
        for b in 0..<batch {
            var given = (0..<length).filter { !input[b * length + $0] }.map { tokens[b * length + $0] }
            if given.isEmpty { given = [SpecialTokens.s1] }
            merged.append(mergeSpans(input: given, prediction: out[b]))
        }
        let width = max(merged.map(\.count).max() ?? 0, 1)
        var ids: [Int32] = [], mask: [Bool] = []
        for row in merged {
            ids += row + [Int32](repeating: SpecialTokens.pad, count: width - row.count)
            mask += (0..<width).map { $0 >= row.count }
        }
        dictionary[step.target] = ModalityState(
            content: .tokens(Tensor(shape: [batch, width], scalars: ids)), inputMask: Tensor(shape: [batch, width], scalars: mask),
            targetMask: Tensor(shape: [batch, width], scalars: mask), decoderAttentionMask: Tensor(zeros: [batch, width]))
        report.generatedSequence = out
        if options.recordDetails, !recorded.isEmpty {
            // rows (b, iteration), b-major
            let v = recorded[0].shape[1]
            let perIteration = recorded.map(\.scalars)
            var rows: [Float] = []
            for b in 0..<batch { for it in perIteration { rows += it[(b * v)..<((b + 1) * v)] } }
            report.logits = Tensor(shape: [batch * recorded.count, v], scalars: rows)
        }
    }
}
