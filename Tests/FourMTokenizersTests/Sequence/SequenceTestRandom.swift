/// A small seeded generator (SplitMix64) for the sequence codec property tests; every seed is
/// explicit at the call site.
struct SequenceTestRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    /// A uniform double in [0, 1].
    mutating func unit() -> Double { Double.random(in: 0...1, using: &self) }

    /// A uniform double in `range`.
    mutating func double(_ range: ClosedRange<Double>) -> Double {
        Double.random(in: range, using: &self)
    }

    /// A random element.
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }
}
