import Foundation
import FourMModels
import FourMSampling
import FourMTensor
import FourMTestSupport
import Testing

/// A deterministic stand-in model: the logit of token v at position p is
/// `-|v - (p + visible) mod V|`, where `visible` counts the encoder inputs of the dictionary
/// row, so conditions change the result and argmax is predictable.
final class MockPredictor: TokenPredictor, @unchecked Sendable {
    let vocabulary = 16
    var maskedCalls = 0

    func modalityInfo(_ modality: Modality) -> ModalityInfo? { ModalityRegistry.info(for: modality) }

    func visible(_ states: ModalityDictionary, row: Int) -> Int {
        states.entries.reduce(0) { acc, e in
            let l = e.state.length
            return acc + (0..<l).filter { !e.state.inputMask[row, $0] }.count
        }
    }

    func maskedLogits(_ states: ModalityDictionary, target: Modality, positions: [[Int]]) throws(ModelError) -> Tensor<Float> {
        maskedCalls += 1
        let k = positions.first?.count ?? 0
        var values: [Float] = []
        for (b, row) in positions.enumerated() {
            let shift = visible(states, row: b)
            for p in row { values += (0..<vocabulary).map { Float(-abs($0 - (p + shift) % vocabulary)) } }
        }
        return Tensor(shape: [positions.count, k, vocabulary], scalars: values)
    }

    func sequenceSession(_ states: ModalityDictionary, target: Modality) throws(ModelError) -> any SequenceSession {
        guard let state = states[target], let tokens = state.tokens else { throw .invalidState(modality: target.rawValue, field: "state", expected: "tokens", actual: "none") }
        let l = state.length
        let slots = (0..<state.batchSize).map { b in (0..<l).filter { !state.targetMask[b, $0] }.map { tokens[b, $0] } }
        return MockSession(targets: Tensor(shape: [slots.count, slots.first?.count ?? 0], scalars: slots.flatMap { $0 }),
                           shifts: (0..<state.batchSize).map { visible(states, row: $0) }, vocabulary: 30000)
    }
}

/// Emits 300, 301, 302 (+ the visible count) then `[S_2]` at the 4th token.
final class MockSession: SequenceSession {
    let targetTokens: Tensor<Int32>
    let shifts: [Int]
    let vocabulary: Int
    var position = 0
    init(targets: Tensor<Int32>, shifts: [Int], vocabulary: Int) {
        targetTokens = targets
        self.shifts = shifts
        self.vocabulary = vocabulary
    }
    func next(_ tokens: [Int32]) throws(ModelError) -> Tensor<Float> {
        defer { position += 1 }
        var values = [Float](repeating: 0, count: tokens.count * vocabulary)
        for b in tokens.indices {
            let token = position == 3 ? 6 : 300 + position + shifts[b]
            values[b * vocabulary + token] = 10
        }
        return Tensor(shape: [tokens.count, vocabulary], scalars: values)
    }
}

@Suite struct SchemeTests {
    func rgbCondition(batch: Int = 1) -> ModalityState {
        ModalityState(pixels: Tensor(zeros: [batch, 3, 224, 224]))
    }

    @Test func maskGITCommitsTheScheduledCountsGreedily() throws {
        let mock = MockPredictor()
        let dict: ModalityDictionary = [.rgb224: rgbCondition(), .tokDepth224: .emptyImageTarget(batch: 1, tokens: 196)]
        let steps = try buildChainedSchedule(conditions: [.rgb224], targets: [TargetSettings(.tokDepth224, scheme: .maskGIT, tokens: 196, steps: 4, temperature: 0)], growConditioning: false)
        var committed: [Int] = []
        let result = try generate(mock, dictionary: dict, schedule: steps) { committed.append($0.committedPositions[0].count) }
        #expect(committed == [29, 69, 69, 29])
        let depth = try #require(result[.tokDepth224])
        #expect(depth.inputMask.scalars.allSatisfy { !$0 } && depth.targetMask.scalars.allSatisfy { $0 })
        // Step 1 sees 196 rgb patches: position p gets (p + 196) mod 16 at greedy temperature.
        #expect(depth.tokens?[0, 5] == Int32((5 + 196) % 16))
    }

    @Test func roarDrawsOneOrderForAllRowsAndCommitsEverySlot() throws {
        let mock = MockPredictor()
        let dict: ModalityDictionary = [.rgb224: rgbCondition(batch: 2), .tokNormal224: .emptyImageTarget(batch: 2, tokens: 196)]
        let steps = try buildChainedSchedule(conditions: [.rgb224], targets: [TargetSettings(.tokNormal224, scheme: .roar, tokens: 196, steps: 3, temperature: 1)], growConditioning: false)
        let run = GenerationRun(predictor: mock, dictionary: dict, schedule: steps, options: GenerationOptions(seed: 3))
        var seen = Set<Int>()
        while let report = try run.next() {
            #expect(report.candidatePositions[0] == report.candidatePositions[1])
            #expect(report.committedPositions == report.candidatePositions)
            seen.formUnion(report.committedPositions[0])
        }
        #expect(seen.count == 196)
    }

    /// A sampling filter whose top-k fraction or top-p cannot be used (it trapped in `Int(_:)`
    /// before) is an `.invalidSetting` error from the run, before any sampling.
    @Test(arguments: [SamplingFilter(topK: .fraction(.nan)), SamplingFilter(topK: .fraction(1e300)), SamplingFilter(topK: .fraction(-0.5)),
                      SamplingFilter(topK: .count(-1)), SamplingFilter(topP: .infinity)])
    func runRejectsAnUnusableFilter(_ filter: SamplingFilter) throws {
        let mock = MockPredictor()
        let dict: ModalityDictionary = [.rgb224: rgbCondition(), .tokNormal224: .emptyImageTarget(batch: 1, tokens: 196)]
        let steps = try buildChainedSchedule(conditions: [.rgb224], targets: [TargetSettings(.tokNormal224, scheme: .roar, tokens: 196, steps: 1, temperature: 1)], growConditioning: false)
        let run = GenerationRun(predictor: mock, dictionary: dict, schedule: steps, options: GenerationOptions(filter: filter, seed: 3))
        do {
            _ = try run.next()
            Issue.record("\(filter) was accepted")
        } catch {
            guard case .invalidSetting(_, let setting, _, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(setting == "topK" || setting == "topP")
        }
        #expect(run.completedSteps == 0)
    }

    @Test func batchedGuidanceEqualsSequentialPasses() throws {
        let dict: ModalityDictionary = [.rgb224: rgbCondition(), .caption: .emptySequenceTarget(batch: 1, tokens: 8), .tokDepth224: .emptyImageTarget(batch: 1, tokens: 196)]
        let steps = try buildChainedSchedule(conditions: [.rgb224], targets: [TargetSettings(.tokDepth224, scheme: .roar, tokens: 196, steps: 2, temperature: 0.7, guidance: .scale(2))], growConditioning: false)
        let batched = MockPredictor(), sequential = MockPredictor()
        let a = try generate(batched, dictionary: dict, schedule: steps, options: GenerationOptions(seed: 5, batchGuidancePasses: true))
        let b = try generate(sequential, dictionary: dict, schedule: steps, options: GenerationOptions(seed: 5, batchGuidancePasses: false))
        #expect(a[.tokDepth224]?.tokens == b[.tokDepth224]?.tokens)
        #expect(batched.maskedCalls == 2 && sequential.maskedCalls == 4)
    }

    @Test func autoregressiveStopsAtTheStopTokenAndMerges() throws {
        let mock = MockPredictor()
        let dict: ModalityDictionary = [.caption: .emptySequenceTarget(batch: 1, tokens: 20)]
        let steps = [GenerationStep(target: .caption, scheme: .autoregressive, tokenCount: nil, temperature: 0)]
        var report: StepReport? = nil
        let result = try generate(mock, dictionary: dict, schedule: steps) { report = $0 }
        // Only [S_1] is visible: tokens 301, 302, 303 then [S_2] (6).
        #expect(report?.generatedSequence == [[5, 301, 302, 303, 6]])
        #expect(result[.caption]?.tokens?.scalars == [301, 302, 303])
        #expect(result[.caption]?.inputMask.scalars == [false, false, false])
    }

    @Test func guidedAutoregressiveCombinesBothPasses() throws {
        let mock = MockPredictor()
        let dict: ModalityDictionary = [.rgb224: rgbCondition(), .caption: .emptySequenceTarget(batch: 1, tokens: 20)]
        let steps = [GenerationStep(target: .caption, scheme: .autoregressive, tokenCount: nil, temperature: 0, guidance: .scale(2), guidanceConditions: [.rgb224])]
        var report: StepReport? = nil
        _ = try generate(mock, dictionary: dict, schedule: steps, options: GenerationOptions(recordDetails: true)) { report = $0 }
        // cond peaks at 300+197, uncond at 300+1; guidance 2·cond − uncond keeps the cond peak.
        #expect(report?.generatedSequence.first?[1] == 497)
    }

    @Test func multiGuidanceUsesEveryCondition() throws {
        let mock = MockPredictor()
        var uncond: ModalityDictionary = [.rgb224: rgbCondition(), .tokCLIP224: .emptyImageTarget(batch: 1, tokens: 196)]
        uncond[.rgb224]?.emptyImage()
        let cond: ModalityDictionary = [.rgb224: rgbCondition()]
        let steps = [GenerationStep(target: .tokCLIP224, scheme: .maskGIT, tokenCount: 196, temperature: 0, guidance: .weights([1]))]
        let result = try generateMultiGuided(mock, unconditional: uncond, conditions: [cond], schedule: steps)
        // weight 1 → exactly the conditional logits: (p + 196) mod 16.
        #expect(result[.tokCLIP224]?.tokens?[0, 3] == Int32((3 + 196) % 16))
    }

    @Test func cancellationStopsBetweenSteps() throws {
        let mock = MockPredictor()
        let dict: ModalityDictionary = [.rgb224: rgbCondition(), .tokDepth224: .emptyImageTarget(batch: 1, tokens: 196)]
        let steps = try buildChainedSchedule(conditions: [.rgb224], targets: [TargetSettings(.tokDepth224, scheme: .maskGIT, tokens: 196, steps: 4, temperature: 0)], growConditioning: false)
        let flag = CancelFlag()
        let run = GenerationRun(predictor: mock, dictionary: dict, schedule: steps, isCancelled: { flag.value })
        _ = try run.next()
        flag.value = true
        #expect(throws: GenerationError.cancelled(afterStep: 1)) { try run.next() }
    }

    @Test func stepsThatDoNotFitThrow() throws {
        let mock = MockPredictor()
        let dict: ModalityDictionary = [.tokDepth224: .emptyImageTarget(batch: 1, tokens: 196)]
        #expect(throws: GenerationError.stepDoesNotFit(step: 0, target: "tok_depth@224", reason: "asks for 197 tokens, 196 remain")) {
            try generate(mock, dictionary: dict, schedule: [GenerationStep(target: .tokDepth224, scheme: .maskGIT, tokenCount: 197, temperature: 0)])
        }
        #expect(throws: GenerationError.missingModality(modality: "caption", role: "target of step 0")) {
            try generate(mock, dictionary: dict, schedule: [GenerationStep(target: .caption, scheme: .autoregressive, tokenCount: nil, temperature: 0)])
        }
        #expect(throws: GenerationError.self) {
            try generate(mock, dictionary: dict, schedule: [GenerationStep(target: .tokDepth224, scheme: .autoregressive, tokenCount: nil, temperature: 0)])
        }
    }

    @Test func helpersBuildTheReferenceLayouts() {
        let seq = ModalityState.emptySequenceTarget(batch: 2, tokens: 5)
        #expect(seq.tokens?.scalars == [5, 5, 0, 0, 6, 5, 5, 0, 0, 6])
        #expect(seq.inputMask.scalars == [false, true, true, true, true, false, true, true, true, true])
        let text = ModalityState.textCondition([4321, 4224], targetLength: 4)
        #expect(text.tokens?.scalars == [4321, 4224, 5, 0, 0, 3])
        #expect(text.inputMask.scalars == [false, false, true, true, true, true])
        let condition = ModalityState.sequenceCondition([[7, 8, 3, 0], [9]])
        #expect(condition.tokens?.scalars == [7, 8, 3, 9, 3, 0])
        #expect(condition.inputMask.scalars == [false, false, false, false, false, true])
        #expect(mergeSpans(input: [5], prediction: [5, 300, 301, 3, 6, 302]) == [300, 301, 3])
        #expect(mergeSpans(input: [900, 5, 902, 6], prediction: [5, 300, 301, 6, 303, 7]) == [900, 300, 301, 902, 303])
        #expect(mergeSpans(input: [900, 901], prediction: [5, 300]) == [900, 901])
    }
}

final class CancelFlag: @unchecked Sendable {
    var value = false
}
