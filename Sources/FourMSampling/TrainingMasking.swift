import Foundation
import FourMModels
import FourMTensor

/// One modality's share of the training-time masking (spec/generation.md 7.1).
@_spi(Parity) public struct MaskedModality: Sendable, Equatable {
    /// How a sequence's kept tokens are chosen before span masking.
    public enum Keep: String, Sendable {
        /// Keep probability drawn from U(0, 1).
        case random
        /// Keep everything that fits.
        case all
        /// Keep probability 0 or 1 with equal odds.
        case binary
    }

    /// The modality.
    public var modality: Modality
    /// True for image-like modalities (random subsets), false for sequences (span masking).
    public var isImage: Bool
    /// Token budget ceiling (`max_tokens`).
    public var maxTokens: Int
    /// Dirichlet concentration of the input budget, one per mixture component.
    public var inputAlphas: [Double]
    /// Dirichlet concentration of the target budget, one per mixture component.
    public var targetAlphas: [Double]
    /// Keep rule per component (sequences).
    public var keep: [Keep]

    /// Creates a modality entry.
    public init(_ modality: Modality, isImage: Bool, maxTokens: Int, inputAlphas: [Double], targetAlphas: [Double], keep: [Keep]? = nil) {
        self.modality = modality
        self.isImage = isImage
        self.maxTokens = maxTokens
        self.inputAlphas = inputAlphas
        self.targetAlphas = targetAlphas
        self.keep = keep ?? Array(repeating: .random, count: inputAlphas.count)
    }
}

/// The symmetric-Dirichlet input/target budgets and per-modality masks of 4M training
/// (`UnifiedMasking`, spec/generation.md 7).
///
/// ```swift
/// var masking = try TrainingMasking(modalities: [...], inputTokens: 256...256, targetTokens: 256...256)
/// var rng = SeededGenerator(seed: 1)
/// let plan = masking.budgets(using: &rng)          // component, input and target budgets
/// let (input, target) = masking.imagePositions(count: 196, inputBudget: plan.input[0], targetBudget: plan.target[0], using: &rng)
/// ```
@_spi(Parity) public struct TrainingMasking: Sendable {
    /// The modalities, in the order budgets are reported.
    public let modalities: [MaskedModality]
    /// Range of the total input budget.
    public let inputTokens: ClosedRange<Int>
    /// Range of the total target budget.
    public let targetTokens: ClosedRange<Int>
    /// Mixture weights (normalised), or nil for uniform.
    public let samplingWeights: [Double]?

    /// Validates the configuration.
    /// - Throws: `.invalidSetting` when alpha lists disagree in length, budgets are negative,
    ///   or weights are not positive and finite.
    public init(modalities: [MaskedModality], inputTokens: ClosedRange<Int>, targetTokens: ClosedRange<Int>, samplingWeights: [Double]? = nil) throws(GenerationError) {
        let components = modalities.first?.inputAlphas.count ?? 0
        for m in modalities where m.inputAlphas.count != components || m.targetAlphas.count != components || m.keep.count != components {
            throw .invalidSetting(target: m.modality.rawValue, setting: "alphas", expected: "\(components) per list (one per mixture component)",
                                  actual: "\(m.inputAlphas.count)/\(m.targetAlphas.count)/\(m.keep.count)")
        }
        for m in modalities where (m.inputAlphas + m.targetAlphas).contains(where: { !$0.isFinite || $0 < 0 }) {
            throw .invalidSetting(target: m.modality.rawValue, setting: "alphas", expected: "finite non-negative values", actual: "\(m.inputAlphas) / \(m.targetAlphas)")
        }
        guard inputTokens.lowerBound >= 0, targetTokens.lowerBound >= 0 else {
            throw .invalidSetting(target: "masking", setting: "token ranges", expected: "non-negative", actual: "\(inputTokens), \(targetTokens)")
        }
        if let w = samplingWeights, w.count != components || w.contains(where: { !$0.isFinite || $0 < 0 }) || w.reduce(0, +) <= 0 {
            throw .invalidSetting(target: "masking", setting: "sampling weights", expected: "\(components) non-negative weights with a positive sum", actual: "\(w)")
        }
        self.modalities = modalities
        self.inputTokens = inputTokens
        self.targetTokens = targetTokens
        self.samplingWeights = samplingWeights
    }

    /// One sample's mixture component and budgets (spec 7.2 steps 1–4): Dirichlet shares of a
    /// uniform total, floored, the remainder handed out one token at a time to the argmax of
    /// fresh Dirichlet draws, then clamped to each modality's ceiling (targets of images also
    /// to what the input left).
    public func budgets(using rng: inout SeededGenerator) -> (component: Int, input: [Int], target: [Int]) {
        let components = modalities.first?.inputAlphas.count ?? 1
        var component = Int(rng.nextUniform() * Float(components)) % max(components, 1)
        if let w = samplingWeights {
            let total = w.reduce(0, +)
            var u = Double(rng.nextUniform()) * total
            component = w.count - 1
            for (i, weight) in w.enumerated() {
                if u < weight { component = i; break }
                u -= weight
            }
        }
        let nIn = Int.random(in: inputTokens, using: &rng)
        let nT = Int.random(in: targetTokens, using: &rng)
        let inputAlphas = modalities.map { max($0.inputAlphas[component], 1e-9) }
        let targetAlphas = modalities.map { max($0.targetAlphas[component], 1e-9) }
        let input = zip(distribute(nIn, alphas: inputAlphas, using: &rng), modalities).map { min($0, $1.maxTokens) }
        let caps = zip(modalities, input).map { m, b in max(0, m.isImage ? m.maxTokens - b : m.maxTokens) }
        let target = zip(distribute(nT, alphas: targetAlphas, using: &rng), caps).map { min($0, $1) }
        return (component, input, target)
    }

    /// Splits `total` by a Dirichlet draw (floor), topping up the remainder by argmax draws.
    func distribute(_ total: Int, alphas: [Double], using rng: inout SeededGenerator) -> [Int] {
        var shares = dirichlet(alphas, using: &rng).map { Int(($0 * Double(total)).rounded(.down)) }
        var remainder = total - shares.reduce(0, +)
        while remainder > 0 {
            let draw = dirichlet(alphas, using: &rng)
            if let best = draw.indices.max(by: { draw[$0] < draw[$1] }) { shares[best] += 1 }
            remainder -= 1
        }
        return shares
    }

    /// Disjoint uniformly random input and target positions of an image-like modality with
    /// `count` tokens (spec 7.2 step 5, img).
    public func imagePositions(count: Int, inputBudget: Int, targetBudget: Int, using rng: inout SeededGenerator) -> (input: [Int], target: [Int]) {
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        let inputCount = min(inputBudget, count)
        let targetCount = min(targetBudget, count - inputCount)
        return (order.prefix(inputCount).sorted(), order.dropFirst(inputCount).prefix(targetCount).sorted())
    }
}

/// Span masking of a token sequence given which tokens are kept (spec 7.2, [EXACT] given the
/// mask): each maximal run of dropped tokens becomes `[S_k]` in the input and `[S_k] run…`
/// in the target; the target ends with `[S_{k+1}]`.
@_spi(Parity) public func spanMask(_ ids: [Int32], keep: [Bool]) -> (input: [Int32], target: [Int32]) {
    var input: [Int32] = [], target: [Int32] = []
    var count: Int32 = 0
    var inSpan = false
    for (id, kept) in zip(ids, keep) {
        if kept {
            input.append(id)
            inSpan = false
        } else {
            if !inSpan {
                count += 1
                input.append(SpecialTokens.sentinelBase + count)
                target.append(SpecialTokens.sentinelBase + count)
                inSpan = true
            }
            target.append(id)
        }
    }
    target.append(SpecialTokens.sentinelBase + count + 1)
    return (input, target)
}

/// A Dirichlet draw from independent Gamma(α, 1) variates (Marsaglia–Tsang).
@_spi(Parity) public func dirichlet(_ alphas: [Double], using rng: inout SeededGenerator) -> [Double] {
    let draws = alphas.map { gamma($0, using: &rng) }
    let total = draws.reduce(0, +)
    guard total > 0, total.isFinite else {
        // Every alpha tiny: all mass on one uniformly chosen component, as the limit implies.
        var out = [Double](repeating: 0, count: alphas.count)
        if !out.isEmpty { out[Int(rng.nextUniform() * Float(out.count)) % out.count] = 1 }
        return out
    }
    return draws.map { $0 / total }
}

/// A Gamma(α, 1) variate (Marsaglia–Tsang; α < 1 through the U^(1/α) boost).
@_spi(Parity) public func gamma(_ alpha: Double, using rng: inout SeededGenerator) -> Double {
    if alpha < 1 {
        let u = max(Double(rng.nextUniform()), 1e-300)
        return gamma(alpha + 1, using: &rng) * pow(u, 1 / alpha)
    }
    let d = alpha - 1.0 / 3.0
    let c = 1 / (9 * d).squareRoot()
    while true {
        var x = 0.0, v = 0.0
        repeat {
            x = Double(rng.nextNormal())
            v = 1 + c * x
        } while v <= 0
        v = v * v * v
        let u = Double(rng.nextUniform())
        if u < 1 - 0.0331 * x * x * x * x || log(max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
    }
}

extension ModalityState {
    /// `TransferMasking`'s input sequence (spec/generation.md 7.4): `ids + [EOS]` (truncated to
    /// `maxTokens`) as encoder input at the start of a `2·(maxTokens+1)` row, and a lone
    /// `[S_1]` target at offset `maxTokens`.
    public static func transferInputSequence(_ ids: [Int32], maxTokens: Int) -> ModalityState {
        let length = 2 * (maxTokens + 1)
        let content = Array((ids + [SpecialTokens.eos]).prefix(maxTokens))
        var tokens = [Int32](repeating: SpecialTokens.pad, count: length)
        var input = [Bool](repeating: true, count: length), target = input
        var attention = [Int32](repeating: 0, count: length)
        for (i, id) in content.enumerated() {
            tokens[i] = id
            input[i] = false
        }
        tokens[maxTokens] = SpecialTokens.s1
        target[maxTokens] = false
        attention[maxTokens] = 1
        return ModalityState(content: .tokens(Tensor(shape: [1, length], scalars: tokens)), inputMask: Tensor(shape: [1, length], scalars: input),
                             targetMask: Tensor(shape: [1, length], scalars: target), decoderAttentionMask: Tensor(shape: [1, length], scalars: attention))
    }

    /// `TransferMasking`'s target sequence (spec 7.4): nothing input, `[S_1] ids [EOS] [S_2]`
    /// (content truncated to `maxTokens`) as causal targets from offset `maxTokens`.
    public static func transferTargetSequence(_ ids: [Int32], maxTokens: Int) -> ModalityState {
        let length = 2 * (maxTokens + 1)
        let content = [SpecialTokens.s1] + Array((ids + [SpecialTokens.eos]).prefix(maxTokens)) + [SpecialTokens.s2]
        var tokens = [Int32](repeating: SpecialTokens.pad, count: length)
        let input = [Bool](repeating: true, count: length)
        var target = input
        var attention = [Int32](repeating: 0, count: length)
        for (i, id) in content.enumerated() where maxTokens + i < length {
            tokens[maxTokens + i] = id
            target[maxTokens + i] = false
            attention[maxTokens + i] = 1
        }
        return ModalityState(content: .tokens(Tensor(shape: [1, length], scalars: tokens)), inputMask: Tensor(shape: [1, length], scalars: input),
                             targetMask: Tensor(shape: [1, length], scalars: target), decoderAttentionMask: Tensor(shape: [1, length], scalars: attention))
    }

    /// The reference's empty target of a T5-embedding modality (`initEmptyTarget` for seq_emb,
    /// spec/generation.md 1.2): a `[B, max(n, 2)]` zero tensor, only position 0 given to the
    /// encoder. (It cannot be generated; it exists for the unconditional pass.)
    public static func emptyEmbeddingTarget(batch: Int, tokens: Int) -> ModalityState {
        let length = max(tokens, 2)
        var state = ModalityState(content: .tokens(Tensor(zeros: [batch, length])), inputMask: Tensor(repeating: true, shape: [batch, length]),
                                  targetMask: Tensor(repeating: true, shape: [batch, length]))
        state.emptyEmbeddingSequence()
        return state
    }
}

extension TrainingMasking {
    /// One sequence modality's training masks (spec/generation.md 7.2 step 5, seq): span masking
    /// of `ids + [EOS]` (truncated to `maxTokens`) with a keep probability from `keep`, lowered
    /// by 10% until the input fits `inputBudget`; the target cut to `targetBudget` at a
    /// sentinel; laid out in a row of `2·(maxTokens + 1)` with the input at 0 and the target at
    /// offset `inputBudget` (causal: `decoder_attention_mask` 1 on it).
    /// - Returns: a one-row state.
    public static func sequenceState(
        _ ids: [Int32], inputBudget: Int, targetBudget: Int, keep: MaskedModality.Keep, maxTokens: Int, using rng: inout SeededGenerator
    ) -> ModalityState {
        let content = Array((ids + [SpecialTokens.eos]).prefix(maxTokens))
        var input: [Int32] = [], target: [Int32] = []
        if inputBudget <= 0 {
            (_, target) = spanMask(content, keep: [Bool](repeating: false, count: content.count))
        } else {
            var q: Double
            switch keep {
            case .random: q = Double(rng.nextUniform())
            case .all: q = 1
            case .binary: q = rng.nextUniform() < 0.5 ? 0 : 1
            }
            var attempts = 0
            repeat {
                let kept = content.map { _ in Double(rng.nextUniform()) <= q }
                (input, target) = spanMask(content, keep: kept)
                q *= 0.9
                attempts += 1
                if attempts > 1000 { q = 0 }  // guarantees termination: everything masked is one sentinel
            } while input.count > inputBudget
        }
        if target.count > targetBudget {
            let sentinels = target.indices.filter { SpecialTokens.isSentinel(target[$0]) }
            let pick = Int(rng.next() % UInt64(max(1, sentinels.count - 1)))
            if target.count - sentinels[pick] >= targetBudget {
                target = Array(target[sentinels[pick]..<(sentinels[pick] + targetBudget)])
            } else if let start = sentinels.first(where: { target.count - $0 <= targetBudget }) {
                target = Array(target[start...])
            }
        }
        let length = 2 * (maxTokens + 1)
        var tokens = [Int32](repeating: SpecialTokens.pad, count: length)
        var inputMask = [Bool](repeating: true, count: length), targetMask = inputMask
        var attention = [Int32](repeating: 0, count: length)
        for (i, id) in input.enumerated() where i < length {
            tokens[i] = id
            inputMask[i] = false
        }
        let offset = max(inputBudget, 0)
        for (i, id) in target.enumerated() where offset + i < length {
            tokens[offset + i] = id
            targetMask[offset + i] = false
            attention[offset + i] = 1
        }
        return ModalityState(content: .tokens(Tensor(shape: [1, length], scalars: tokens)), inputMask: Tensor(shape: [1, length], scalars: inputMask),
                             targetMask: Tensor(shape: [1, length], scalars: targetMask), decoderAttentionMask: Tensor(shape: [1, length], scalars: attention))
    }
}
