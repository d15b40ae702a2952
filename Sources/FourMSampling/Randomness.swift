import FourMTensor

/// The source of every random number generation uses, so a test can replay recorded draws
/// (spec/generation.md 6.3).
public protocol GenerationRandomness {
    /// Called at the start of every step with its index and `seed + index` (or nil).
    mutating func beginStep(_ step: Int, seed: UInt64?)
    /// Uniforms in [0, 1) for categorical draws: one per sampled row (b-major). `iteration` is
    /// the token index of an autoregressive step, nil otherwise.
    mutating func uniforms(count: Int, step: Int, iteration: Int?) -> [Float]
    /// One key per position of a ROAR target; positions are ordered by `mask + 1e-6·key`.
    mutating func orderKeys(count: Int, step: Int) -> [Float]
    /// Sees every categorical draw before it is committed and may change it (a parity replay
    /// substitutes the recorded draw where float32 rounding cannot decide between two
    /// categories). The default keeps the draw.
    mutating func reviewDraw(_ draw: inout CategoricalDraw)
    /// Sees the positions a MaskGIT step is about to commit, per row, and may change them (a
    /// parity replay substitutes the recorded choice at a near-tie of sampled probabilities).
    /// The default keeps them.
    mutating func reviewSelection(_ selection: inout PositionSelection)
}

extension GenerationRandomness {
    /// Keeps the draw.
    public mutating func reviewDraw(_ draw: inout CategoricalDraw) {}
    /// Keeps the selection.
    public mutating func reviewSelection(_ selection: inout PositionSelection) {}
}

/// One batch of categorical draws of a step, as ``GenerationRandomness/reviewDraw(_:)`` sees it.
public struct CategoricalDraw: Sendable {
    /// The step's index in the schedule.
    public let step: Int
    /// The token index of an autoregressive step, nil otherwise.
    public let iteration: Int?
    /// The final (guided) logits `[R, V]` the draw used, one row per drawn id.
    public let logits: Tensor<Float>
    /// The step's temperature (|τ| ≤ 1e-10 draws greedily).
    public let temperature: Double
    /// The top-k / top-p filter applied to the raw logits.
    public let filter: SamplingFilter
    /// One uniform per row (zeros when greedy).
    public let uniforms: [Float]
    /// The drawn ids, one per row; a review may replace them.
    public var ids: [Int32]
    /// The probabilities of ``ids`` under the filtered, tempered distribution; a review that
    /// replaces an id replaces its probability too.
    public var probabilities: [Float]

    /// Creates a draw record (the sampler builds these; tests of a review build their own).
    public init(step: Int, iteration: Int?, logits: Tensor<Float>, temperature: Double, filter: SamplingFilter, uniforms: [Float],
                ids: [Int32], probabilities: [Float]) {
        self.step = step
        self.iteration = iteration
        self.logits = logits
        self.temperature = temperature
        self.filter = filter
        self.uniforms = uniforms
        self.ids = ids
        self.probabilities = probabilities
    }

    /// The distribution row `r` was drawn from (all zeros but the first maximum when greedy).
    public func distribution(row r: Int) -> [Float] {
        let v = logits.shape[1]
        var values = Array(logits.scalars[(r * v)..<((r + 1) * v)])
        if abs(temperature) <= greedyTemperatureThreshold {
            let best = firstMaximum(values)
            return values.indices.map { $0 == best ? 1 : 0 }
        }
        var scratch: [Double] = []
        samplingDistribution(&values, temperature: temperature, filter: filter, scratch: &scratch)
        return values
    }
}

/// The positions a MaskGIT step commits, as ``GenerationRandomness/reviewSelection(_:)`` sees them.
public struct PositionSelection: Sendable {
    /// The step's index in the schedule.
    public let step: Int
    /// Per row, the candidate positions in decoder order.
    public let slots: [[Int]]
    /// Per candidate (b-major), the probability of its sampled token.
    public let probabilities: [Float]
    /// How many positions each row commits.
    public let count: Int
    /// Per row, the positions to commit; a review may replace them.
    public var selected: [[Int]]

    /// Creates a selection record (the sampler builds these; tests of a review build their own).
    public init(step: Int, slots: [[Int]], probabilities: [Float], count: Int, selected: [[Int]]) {
        self.step = step
        self.slots = slots
        self.probabilities = probabilities
        self.count = count
        self.selected = selected
    }
}

/// FourM's seeded randomness: re-seeded with `seed + step` at every step (as the reference
/// re-seeds torch), or one unseeded stream.
public struct SeededRandomness: GenerationRandomness {
    var generator: SeededGenerator

    /// Creates the source; `fallbackSeed` drives the stream when steps carry no seed.
    public init(fallbackSeed: UInt64 = 0x5eed) {
        generator = SeededGenerator(seed: fallbackSeed)
    }

    /// Re-seeds when a seed is given.
    public mutating func beginStep(_ step: Int, seed: UInt64?) {
        if let seed { generator = SeededGenerator(seed: seed) }
    }

    /// Uniform draws.
    public mutating func uniforms(count: Int, step: Int, iteration: Int?) -> [Float] {
        (0..<count).map { _ in generator.nextUniform() }
    }

    /// Uniform keys.
    public mutating func orderKeys(count: Int, step: Int) -> [Float] {
        (0..<count).map { _ in generator.nextUniform() }
    }
}
