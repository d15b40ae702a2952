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
    /// Positions a MaskGIT step must commit (replaying a tie the reference decided), or nil.
    func replayedSelection(step: Int) -> [[Int]]?
}

extension GenerationRandomness {
    /// No replay.
    public func replayedSelection(step: Int) -> [[Int]]? { nil }
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
