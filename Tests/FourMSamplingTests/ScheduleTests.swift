import Foundation
import FourMModels
import FourMSampling
import FourMTensor
import FourMTestSupport
import Testing

/// Deterministic helpers of spec/generation.md 2 and 3.3, against the spec's golden values and
/// the `sequence_helpers` fixture. Integer schedules are exact; temperatures to 1e-12 relative
/// (the reference computes them in Double with the same operation order).
@Suite struct ScheduleTests {
    @Test func tokenSchedulesMatchTheSpecGoldenRows() {
        #expect(TokenSchedule.cosine.counts(steps: 8, tokens: 784) == [30, 85, 127, 150, 150, 127, 85, 30])
        #expect(TokenSchedule.cosine.counts(steps: 8, tokens: 256) == [10, 28, 42, 49, 49, 42, 28, 8])
        #expect(TokenSchedule.cosine.counts(steps: 10, tokens: 196) == [5, 14, 22, 27, 30, 30, 27, 22, 14, 5])
        #expect(TokenSchedule.cosine.counts(steps: 4, tokens: 16) == [2, 6, 6, 2])
        #expect(TokenSchedule.cosine.counts(steps: 5, tokens: 16) == [2, 4, 5, 4, 1])
        #expect(TokenSchedule.cosine.counts(steps: 3, tokens: 10) == [2, 5, 3])
        #expect(TokenSchedule.cosine.counts(steps: 8, tokens: 16) == [1, 2, 3, 3, 3, 3, 2, -1])
        #expect(TokenSchedule.cosine.counts(steps: 1, tokens: 196) == [196])
        #expect(TokenSchedule.linear.counts(steps: 49, tokens: 196) == Array(repeating: 4, count: 49))
        #expect(TokenSchedule.linear.counts(steps: 50, tokens: 196) == Array(repeating: 4, count: 46) + Array(repeating: 3, count: 4))
        #expect(TokenSchedule.linear.counts(steps: 3, tokens: 10) == [4, 3, 3])
        #expect(TokenSchedule.linear.counts(steps: 32, tokens: 16) == Array(repeating: 1, count: 16))
        #expect(TokenSchedule.linear.counts(steps: 1, tokens: 16) == [16])
    }

    @Test func temperatureSchedulesMatchTheSpec() {
        let linear = TemperatureSchedule.linear.temperatures(5, counts: TokenSchedule.cosine.counts(steps: 8, tokens: 784))
        expectRelative(linear, [5.0, 4.808673469387755, 4.266581632653061, 3.456632653061225, 2.5, 1.5433673469387754, 0.7334183673469388, 0.19132653061224492])
        let onex = TemperatureSchedule.onex(minimum: 0.5, power: 0.5).temperatures(3, counts: TokenSchedule.linear.counts(steps: 8, tokens: 196))
        expectRelative(onex, [2.681122448979592, 1.9782314146468472, 1.536461597739193, 1.2204851169165627, 0.9840939600086107, 0.7936119272593163, 0.635081670068907, 0.5])
        let onex49 = TemperatureSchedule.onex(minimum: 0.5, power: 0.5).temperatures(6, counts: TokenSchedule.linear.counts(steps: 49, tokens: 196))
        expectRelative(Array(onex49.prefix(4)), [5.887755102040816, 4.687647349985863, 3.967435163345665, 3.4720011072808203])
        expectRelative(Array(onex49.suffix(2)), [0.5125410173647316, 0.5])
        #expect(TemperatureSchedule.linear.temperatures(1, counts: [4, 4, 4, 4]) == [1, 0.75, 0.5, 0.25])
    }

    @Test func fixtureSchedulesMatch() throws {
        guard Fixtures.directory != nil else { return }
        let object = try Fixtures.caseObject("sequence_helpers")
        let file = try #require(object["json_file"] as? String)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url(file))) as? [String: Any])
        let schedules = try #require(json["schedules"] as? [String: [NSNumber]])
        #expect(!schedules.isEmpty)
        for (call, values) in schedules {
            // Calls look like `cosine_schedule(8,196)`, `linear_temp_schedule(2.0, [np.int64(49), …])`
            // and `onex_temp_schedule(max_t=2.0, min_t=0.5, power=0.5, [np.int64(49), …])`.
            let head = call.split(separator: "[", maxSplits: 1)
            let numbers = head[0].split(whereSeparator: { !"0123456789.".contains($0) }).compactMap { Double($0) }
            let counts = head.count > 1
                ? head[1].split(separator: ",").compactMap { Int($0.filter(\.isNumber).dropFirst($0.contains("int64") ? 2 : 0)) } : []
            if call.hasPrefix("cosine_schedule") || call.hasPrefix("linear_schedule") {
                let schedule: TokenSchedule = call.hasPrefix("cosine") ? .cosine : .linear
                #expect(schedule.counts(steps: Int(numbers[0]), tokens: Int(numbers[1])) == values.map(\.intValue), "\(call)")
            } else if call.hasPrefix("linear_temp_schedule") {
                expectRelative(TemperatureSchedule.linear.temperatures(numbers[0], counts: counts), values.map(\.doubleValue))
            } else if call.hasPrefix("onex_temp_schedule") {
                // onex_temp_schedule(max_t=…, min_t=…, power=…, [counts])
                expectRelative(TemperatureSchedule.onex(minimum: numbers[1], power: numbers[2]).temperatures(numbers[0], counts: counts), values.map(\.doubleValue))
            } else {
                Issue.record("unknown schedule call \(call)")
            }
        }
        for entry in try #require(json["merge_span_masking"] as? [[String: [NSNumber]]]) {
            let input = (entry["input"] ?? []).map { Int32($0.intValue) }
            let decoder = (entry["decoder"] ?? []).map { Int32($0.intValue) }
            #expect(mergeSpans(input: input, prediction: decoder) == (entry["merged"] ?? []).map { Int32($0.intValue) })
        }
    }

    @Test func chainedScheduleSnapshotsConditions() throws {
        let steps = try buildChainedSchedule(
            conditions: [.caption],
            targets: [TargetSettings(.tokCLIP224, scheme: .roar, tokens: 196, steps: 2, temperature: 3, temperatureSchedule: .onex(minimum: 0.5, power: 0.5), guidance: .scale(3)),
                      TargetSettings(.tokRGB224, scheme: .maskGIT, tokens: 196, steps: 3, tokenSchedule: .cosine, guidance: .scale(2)),
                      TargetSettings(.det, scheme: .autoregressive, tokens: 20, temperature: 0, guidance: .scale(1.5)),
                      TargetSettings(.tokDepth224, scheme: .maskGIT, tokens: 196, steps: 1)],
            growConditioning: true)
        #expect(steps.map(\.tokenCount) == [98, 98, 49, 98, 49, nil, 196])
        #expect(steps.map(\.guidanceConditions) == [[.caption], [.caption], [.caption, .tokCLIP224], [.caption, .tokCLIP224], [.caption, .tokCLIP224],
                                                   [.caption, .tokCLIP224, .tokRGB224], [.caption, .tokCLIP224, .tokRGB224]])
        #expect(steps[0].temperature == 1.75 && steps[1].temperature == 0.5)
    }

    @Test func invalidSchedulesThrowNamingTheSetting() {
        #expect(throws: GenerationError.self) {
            try buildChainedSchedule(conditions: [], targets: [TargetSettings(.tokDepth224, scheme: .maskGIT, tokens: 16, steps: 8, tokenSchedule: .cosine)], growConditioning: false)
        }
        #expect(throws: GenerationError.invalidSetting(target: "tok_depth@224", setting: "steps", expected: "a positive number", actual: "-1")) {
            try buildChainedSchedule(conditions: [], targets: [TargetSettings(.tokDepth224, scheme: .maskGIT, tokens: 196, steps: -1)], growConditioning: false)
        }
        #expect(throws: GenerationError.invalidSetting(target: "caption", setting: "temperature", expected: "a finite number", actual: "nan")) {
            try buildChainedSchedule(conditions: [], targets: [TargetSettings(.caption, scheme: .autoregressive, tokens: 256, temperature: .nan)], growConditioning: false)
        }
        #expect(throws: GenerationError.unknownName(setting: "temperature schedule", value: "cosine", known: ["constant", "linear", "onex:{min}:{power}"])) {
            try TemperatureSchedule(parsing: "cosine")
        }
        #expect(throws: GenerationError.self) {
            try buildChainedSchedule(conditions: [], targets: [TargetSettings(.tokDepth224, scheme: .roar, tokens: 1, steps: 1, temperatureSchedule: .onex(minimum: 0.5, power: 0))], growConditioning: false)
        }
    }

    func expectRelative(_ actual: [Double], _ expected: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, sourceLocation: sourceLocation)
        for (a, e) in zip(actual, expected) {
            #expect(abs(a - e) <= 1e-12 * max(abs(e), 1), "\(a) vs \(e)", sourceLocation: sourceLocation)
        }
    }
}

/// Sampling primitives of spec/generation.md 2.5 on fixed logits.
@Suite struct SamplingTests {
    @Test func topPKeepsTheCrossingToken() {
        let logits = Tensor<Float>(shape: [1, 4], scalars: [2, 1, 0, -1])
        // u just below 1 picks the last kept token.
        #expect(sampleTokens(logits, temperature: 1, filter: SamplingFilter(topP: 0.8), uniforms: [0.9999]).ids == [1])
        #expect(sampleTokens(logits, temperature: 1, filter: SamplingFilter(topP: 0.5), uniforms: [0.9999]).ids == [0])
        #expect(sampleTokens(logits, temperature: 1, filter: SamplingFilter(topP: 0.95), uniforms: [0.9999]).ids == [2])
        let (_, probability) = sampleTokens(logits, temperature: 0.5, filter: SamplingFilter(topP: 0.8), uniforms: [0.0])
        #expect(abs(probability[0] - 0.88079708) < 1e-6)
    }

    @Test func topKKeepsTies() {
        let logits = Tensor<Float>(shape: [1, 4], scalars: [2, 1, 1, 0])
        #expect(sampleTokens(logits, temperature: 1, filter: SamplingFilter(topK: .count(2)), uniforms: [0.9999]).ids == [2])
        #expect(sampleTokens(logits, temperature: 1, filter: SamplingFilter(topK: .fraction(0.25)), uniforms: [0.9999]).ids == [0])
    }

    @Test func greedyBelowThreshold() {
        let logits = Tensor<Float>(shape: [2, 3], scalars: [0, 5, 5, 1, 0, -1])
        let (ids, probabilities) = sampleTokens(logits, temperature: 1e-11, filter: SamplingFilter(), uniforms: [0.3, 0.3])
        #expect(ids == [1, 0] && probabilities == [1, 1])
    }

    @Test func categoricalFrequenciesFollowTheProbabilities() {
        // Chi-square over 20 000 draws of softmax([1, 0, -1, 2]) at τ = 1 (3 d.o.f.; 16.27 = p 0.001).
        let logits = Tensor<Float>(shape: [1, 4], scalars: [1, 0, -1, 2])
        var rng = SeededGenerator(seed: 99)
        var counts = [0, 0, 0, 0]
        let n = 20_000
        for _ in 0..<n { counts[Int(sampleTokens(logits, temperature: 1, filter: SamplingFilter(), uniforms: [rng.nextUniform()]).ids[0])] += 1 }
        let e = [1.0, 0, -1, 2].map { Foundation.exp($0) }
        let s = e.reduce(0, +)
        let chi = zip(counts, e).reduce(0.0) { acc, pair in let expected = Double(n) * pair.1 / s; return acc + pow(Double(pair.0) - expected, 2) / expected }
        #expect(chi < 16.27, "chi-square \(chi) for counts \(counts)")
    }

    @Test func guidanceCombinesRowWise() {
        let cond = Tensor<Float>(shape: [1, 2], scalars: [3, 1]), uncond = Tensor<Float>(shape: [1, 2], scalars: [1, 1])
        #expect(guide(conditional: cond, unconditional: uncond, scale: 2).scalars == [5, 1])
        #expect(guide(conditionals: [cond, cond], unconditional: uncond, weights: [1, 0.5, 9]).scalars == [4, 1])
    }
}
