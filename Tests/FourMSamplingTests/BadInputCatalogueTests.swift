import FourMModels
import FourMSampling
import FourMTensor
import Testing

/// A predictor whose logits are `value` everywhere but one entry per row (NaN or ∞ weights
/// end up like this).
final class NonFinitePredictor: TokenPredictor, @unchecked Sendable {
    let value: Float
    init(value: Float) { self.value = value }

    func modalityInfo(_ modality: Modality) -> ModalityInfo? { ModalityRegistry.info(for: modality) }

    func maskedLogits(_ states: ModalityDictionary, target: Modality, positions: [[Int]]) throws(ModelError) -> Tensor<Float> {
        let k = positions.first?.count ?? 0
        var values = [Float](repeating: 0, count: positions.count * k * 16)
        for row in 0..<(positions.count * k) { values[row * 16 + 3] = value }
        return Tensor(shape: [positions.count, k, 16], scalars: values)
    }

    func sequenceSession(_ states: ModalityDictionary, target: Modality) throws(ModelError) -> any SequenceSession {
        NonFiniteSession(value: value, batch: states[target]?.batchSize ?? 1)
    }
}

final class NonFiniteSession: SequenceSession {
    let value: Float
    let targetTokens: Tensor<Int32>
    init(value: Float, batch: Int) {
        self.value = value
        targetTokens = Tensor(shape: [batch, 3], scalars: (0..<batch).flatMap { _ in [Int32(5), 0, 6] })
    }
    func next(_ tokens: [Int32]) throws(ModelError) -> Tensor<Float> {
        var values = [Float](repeating: 0, count: tokens.count * 32)
        values[7] = value
        return Tensor(shape: [tokens.count, 32], scalars: values)
    }
}

/// The bad-input catalogue for generation (issue 15): non-finite logits, temperatures and
/// guidance scales are typed errors naming the step and the modality, never a silent
/// `vocabulary − 1` everywhere.
@Suite struct SamplingBadInputCatalogueTests {
    let depth: ModalityDictionary = [
        .rgb224: ModalityState(pixels: Tensor(zeros: [1, 3, 224, 224])), .tokDepth224: .emptyImageTarget(batch: 1, tokens: 196),
    ]

    @Test(arguments: [Float.nan, .infinity])
    func nonFiniteLogitsAreAnError(value: Float) throws {
        let steps = try buildChainedSchedule(
            conditions: [.rgb224], targets: [TargetSettings(.tokDepth224, scheme: .maskGIT, tokens: 196, steps: 2, temperature: 1)],
            growConditioning: false)
        #expect(throws: GenerationError.nonFinite(step: 0, target: "tok_depth@224", what: "logits row 0")) {
            try generate(NonFinitePredictor(value: value), dictionary: depth, schedule: steps)
        }
    }

    @Test func nonFiniteSequenceLogitsAreAnError() throws {
        let dictionary: ModalityDictionary = [
            .rgb224: ModalityState(pixels: Tensor(zeros: [1, 3, 224, 224])),
            .caption: ModalityState(
                content: .tokens(Tensor(shape: [1, 3], scalars: [5, 0, 6])), inputMask: Tensor(shape: [1, 3], scalars: [true, true, true]),
                targetMask: Tensor(shape: [1, 3], scalars: [false, false, false]), decoderAttentionMask: Tensor(zeros: [1, 3])),
        ]
        let steps = try buildChainedSchedule(
            conditions: [.rgb224], targets: [TargetSettings(.caption, scheme: .autoregressive, tokens: 3, temperature: 0.5)],
            growConditioning: false)
        #expect(throws: GenerationError.nonFinite(step: 0, target: "caption", what: "logits row 0")) {
            try generate(NonFinitePredictor(value: .nan), dictionary: dictionary, schedule: steps)
        }
    }

    /// 1e308 is a finite Double and an infinite Float: rejected when the schedule is built.
    @Test func temperatureAndGuidanceBeyondFloatAreErrors() {
        let range = "within the Float range (magnitude at most \(Float.greatestFiniteMagnitude))"
        #expect(throws: GenerationError.invalidSetting(target: "tok_depth@224", setting: "temperature", expected: "a number \(range)", actual: "1e+308")) {
            try buildChainedSchedule(
                conditions: [], targets: [TargetSettings(.tokDepth224, scheme: .maskGIT, tokens: 196, steps: 2, temperature: 1e308)],
                growConditioning: false)
        }
        #expect(throws: GenerationError.invalidSetting(target: "tok_depth@224", setting: "guidance", expected: "a scale \(range)", actual: "1e+308")) {
            try buildChainedSchedule(
                conditions: [], targets: [TargetSettings(.tokDepth224, scheme: .maskGIT, tokens: 196, steps: 2, guidance: .scale(1e308))],
                growConditioning: false)
        }
        #expect(throws: GenerationError.invalidSetting(target: "tok_depth@224", setting: "guidance weights", expected: "one or more finite weights \(range)", actual: "[1.0, 1e+308]")) {
            try buildChainedSchedule(
                conditions: [], targets: [TargetSettings(.tokDepth224, scheme: .maskGIT, tokens: 196, steps: 2, guidance: .weights([1, 1e308]))],
                growConditioning: false)
        }
    }

    /// A hand-built step (public `GenerationStep`) skips the schedule checks; the sampler's
    /// check still turns the overflow into an error at the step.
    @Test func handBuiltStepWithHugeGuidanceIsCaughtInSampling() throws {
        let predictor = NonFinitePredictor(value: 1)
        let step = GenerationStep(target: .tokDepth224, scheme: .maskGIT, tokenCount: 196, temperature: 1, guidance: .scale(1e308), guidanceConditions: [.rgb224])
        #expect(throws: GenerationError.self) {
            try generate(predictor, dictionary: depth, schedule: [step])
        }
        do {
            _ = try generate(predictor, dictionary: depth, schedule: [step])
        } catch {
            guard case .nonFinite(step: 0, target: "tok_depth@224", _) = error else {
                Issue.record("expected .nonFinite, got \(error)")
                return
            }
        }
    }
}
