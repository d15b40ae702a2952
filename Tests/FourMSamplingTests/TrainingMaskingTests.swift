import Foundation
import FourMModels
@_spi(Parity) import FourMSampling
import FourMTensor
import Testing

/// Training-time masking (spec/generation.md 7): exact span masking, and statistical checks
/// of the Dirichlet budgets (2 000 samples; bounds are ≥ 5 standard errors wide, so the
/// seeded test is stable and still catches a wrong distribution).
@Suite struct TrainingMaskingTests {
    @Test func spanMaskingMatchesTheSpecExample() {
        // ids = a b c d [EOS], mask 0 1 1 0 1 → input a [S_1] d [S_2], target [S_1] b c [S_2] [EOS] [S_3]
        let (input, target) = spanMask([900, 901, 902, 903, 3], keep: [true, false, false, true, false])
        #expect(input == [900, 5, 903, 6])
        #expect(target == [5, 901, 902, 6, 3, 7])
    }

    @Test func budgetMeansFollowTheAlphas() throws {
        let alphas = [1.0, 2.0, 5.0]
        let modalities = alphas.enumerated().map { i, a in
            MaskedModality(Modality(rawValue: "tok_depth@\(224 + 16 * i)"), isImage: true, maxTokens: 1000, inputAlphas: [a], targetAlphas: [a])
        }
        let masking = try TrainingMasking(modalities: modalities, inputTokens: 128...128, targetTokens: 64...64)
        var rng = SeededGenerator(seed: 2024)
        let n = 2000
        var sums = [0.0, 0.0, 0.0]
        for _ in 0..<n {
            let plan = masking.budgets(using: &rng)
            #expect(plan.input.reduce(0, +) == 128)
            for i in 0..<3 { sums[i] += Double(plan.input[i]) }
        }
        let total = alphas.reduce(0, +)
        for i in 0..<3 {
            let expected = 128 * alphas[i] / total
            // Dirichlet share variance a(A−a)/(A²(A+1)); standard error of the mean over n.
            let sd = 128 * (alphas[i] * (total - alphas[i]) / (total * total * (total + 1))).squareRoot() / Double(n).squareRoot()
            #expect(abs(sums[i] / Double(n) - expected) < 6 * sd + 0.5, "modality \(i): mean \(sums[i] / Double(n)), expected \(expected)")
        }
    }

    @Test func imagePositionsAreDisjointAndSized() throws {
        let masking = try TrainingMasking(modalities: [MaskedModality(.tokDepth224, isImage: true, maxTokens: 196, inputAlphas: [1], targetAlphas: [1])],
                                          inputTokens: 10...10, targetTokens: 10...10)
        var rng = SeededGenerator(seed: 1)
        let (input, target) = masking.imagePositions(count: 196, inputBudget: 50, targetBudget: 30, using: &rng)
        #expect(input.count == 50 && target.count == 30 && Set(input).isDisjoint(with: target))
    }

    @Test func gammaMeanIsAlpha() {
        var rng = SeededGenerator(seed: 5)
        for alpha in [0.3, 1.0, 4.0] {
            let n = 4000
            let mean = (0..<n).reduce(0.0) { acc, _ in acc + gamma(alpha, using: &rng) } / Double(n)
            #expect(abs(mean - alpha) < 6 * alpha.squareRoot() / Double(n).squareRoot(), "alpha \(alpha): mean \(mean)")
        }
    }

    @Test func rejectsInconsistentAlphas() {
        #expect(throws: GenerationError.self) {
            try TrainingMasking(modalities: [MaskedModality(.caption, isImage: false, maxTokens: 256, inputAlphas: [1, 2], targetAlphas: [1])],
                                inputTokens: 1...1, targetTokens: 1...1)
        }
    }
}

@Suite struct SequenceMaskingTests {
    @Test func inputFitsItsBudgetAndSpansMatchTheTarget() {
        var rng = SeededGenerator(seed: 21)
        let ids: [Int32] = (0..<30).map { 900 + $0 }
        for _ in 0..<200 {
            let inputBudget = Int(rng.next() % 12) + 1, targetBudget = Int(rng.next() % 40) + 2
            let state = TrainingMasking.sequenceState(ids, inputBudget: inputBudget, targetBudget: targetBudget, keep: .random, maxTokens: 40, using: &rng)
            let tokens = state.tokens?.scalars ?? []
            let input = (0..<tokens.count).filter { !state.inputMask[0, $0] }.map { tokens[$0] }
            let target = (0..<tokens.count).filter { !state.targetMask[0, $0] }.map { tokens[$0] }
            #expect(input.count <= inputBudget && target.count <= targetBudget)
            #expect(state.inputMask.shape == [1, 82])
            // Targets start at the input budget; the non-sentinel input tokens are a subsequence
            // of ids + [EOS].
            #expect(state.targetMask.scalars.firstIndex(of: false) == inputBudget)
            var source = (ids + [3]).makeIterator()
            #expect(input.filter { !SpecialTokens.isSentinel($0) }.allSatisfy { token in
                while let next = source.next() { if next == token { return true } }
                return false
            })
        }
    }

    @Test func emptyInputBudgetGivesTheWholeSequenceAsTarget() {
        var rng = SeededGenerator(seed: 2)
        let state = TrainingMasking.sequenceState([900, 901], inputBudget: 0, targetBudget: 10, keep: .all, maxTokens: 8, using: &rng)
        let tokens = state.tokens?.scalars ?? []
        #expect(Array(tokens.prefix(5)) == [5, 900, 901, 3, 6])
        #expect(state.inputMask.scalars.allSatisfy { $0 })
    }

    @Test func keepAllWithRoomKeepsEverything() {
        var rng = SeededGenerator(seed: 3)
        let state = TrainingMasking.sequenceState([900, 901, 902], inputBudget: 10, targetBudget: 10, keep: .all, maxTokens: 8, using: &rng)
        let tokens = state.tokens?.scalars ?? []
        #expect(Array(tokens.prefix(4)) == [900, 901, 902, 3])
        #expect(tokens[10] == 5)  // the target holds the lone closing sentinel [S_1]
    }
}
