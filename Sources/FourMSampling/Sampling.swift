import Foundation
import FourMTensor

/// Top-k / top-p settings (spec/generation.md 2.5).
public struct SamplingFilter: Sendable, Equatable {
    /// How top-k is given.
    public enum TopK: Sendable, Equatable {
        /// Keep everything.
        case none
        /// Keep the `k` largest logits (ties with the k-th survive).
        case count(Int)
        /// Keep `floor(f·V)` logits (the reference's float `top_k`: a fraction of the vocabulary).
        case fraction(Double)
    }

    /// Top-k filter.
    public var topK: TopK
    /// Top-p mass (0 = off).
    public var topP: Double

    /// Creates a filter.
    public init(topK: TopK = .none, topP: Double = 0) {
        self.topK = topK
        self.topP = topP
    }
}

/// Greedy threshold: |τ| ≤ 1e-10 means argmax.
public let greedyTemperatureThreshold = 1e-10

/// Samples one token per row of `logits` `[R, V]` (spec/generation.md 2.5): top-k and top-p on
/// the raw logits, then `softmax(filtered / τ)`, then an inverse-CDF draw with the row's
/// uniform `u` (smallest i with cdf[i] > u·cdf[V−1], cdf in Double). Greedy at |τ| ≤ 1e-10
/// (first maximum, probability 1).
/// - Parameters:
///   - logits: raw logits `[R, V]`, one row per token to sample.
///   - temperature: the temperature τ; |τ| ≤ 1e-10 samples greedily.
///   - filter: the top-k / top-p filter applied to the raw logits.
///   - uniforms: one value in [0, 1) per row (ignored when greedy).
/// - Returns: the sampled ids and their (filtered, tempered) probabilities.
package func sampleTokens(_ logits: Tensor<Float>, temperature: Double, filter: SamplingFilter, uniforms: [Float]) -> (ids: [Int32], probabilities: [Float]) {
    let (rows, vocabulary) = (logits.shape[0], logits.shape[1])
    var ids = [Int32](repeating: 0, count: rows)
    var probabilities = [Float](repeating: 1, count: rows)
    // Rows are independent (each has its own uniform), so chunks of rows run in parallel; every
    // row's result is the same as sequentially.
    logits.withUnsafeBufferPointer { all in
        ids.withUnsafeMutableBufferPointer { idBuffer in
            probabilities.withUnsafeMutableBufferPointer { probabilityBuffer in
                guard let source = all.baseAddress, let idBase = idBuffer.baseAddress, let probabilityBase = probabilityBuffer.baseAddress
                else { return }
                let (input, idOut, probabilityOut) = (SendableConstPointer(source), SendablePointer(idBase), SendablePointer(probabilityBase))
                parallelChunks(rows, minimumPerChunk: max(1, 65_536 / max(vocabulary, 1))) { range in
                    sampleRows(input.base, range, vocabulary: vocabulary, temperature: temperature, filter: filter, uniforms: uniforms,
                               ids: idOut.base, probabilities: probabilityOut.base)
                }
            }
        }
    }
    return (ids, probabilities)
}

/// ``sampleTokens(_:temperature:filter:uniforms:)`` for the rows `range` of `all` (`[R, V]`).
private func sampleRows(
    _ all: UnsafePointer<Float>, _ range: Range<Int>, vocabulary: Int, temperature: Double, filter: SamplingFilter, uniforms: [Float],
    ids: UnsafeMutablePointer<Int32>, probabilities: UnsafeMutablePointer<Float>
) {
    var row = [Float](repeating: 0, count: vocabulary)
    var exps = [Double](repeating: 0, count: vocabulary)
    for r in range {
        for j in 0..<vocabulary { row[j] = all[r * vocabulary + j] }
        if abs(temperature) <= greedyTemperatureThreshold {
            ids[r] = Int32(firstMaximum(row))
            continue
        }
        samplingDistribution(&row, temperature: temperature, filter: filter, scratch: &exps)
        var cdf = 0.0
        var total = 0.0
        for j in 0..<vocabulary { total += Double(row[j]) }
        let threshold = Double(uniforms[r]) * total
        var chosen = vocabulary - 1
        for j in 0..<vocabulary {
            cdf += Double(row[j])
            if cdf > threshold {
                chosen = j
                break
            }
        }
        // Never pick a filtered token through rounding at the top of the CDF.
        while chosen > 0 && row[chosen] == 0 { chosen -= 1 }
        ids[r] = Int32(chosen)
        probabilities[r] = row[chosen]
    }
}

/// The index of the first maximum of `row` (0 for an empty row).
package func firstMaximum(_ row: [Float]) -> Int {
    var best = 0
    for j in 1..<max(row.count, 1) where row[j] > row[best] { best = j }
    return best
}

/// Turns one row of raw logits into the distribution `sampleTokens(_:temperature:filter:uniforms:)`
/// draws from (spec/generation.md 2.5): top-k and top-p on the raw logits, then
/// `softmax(filtered / τ)` — the division in Float like the reference, the exponentials and
/// their sum in Double (see `applyTopP`), each probability rounded to Float. `scratch` is
/// reused between rows.
package func samplingDistribution(_ row: inout [Float], temperature: Double, filter: SamplingFilter, scratch exps: inout [Double]) {
    let vocabulary = row.count
    if exps.count < vocabulary { exps = [Double](repeating: 0, count: vocabulary) }
    applyTopK(&row, filter.topK)
    if filter.topP > 0 { applyTopP(&row, filter.topP) }
    let tau = Float(temperature)
    var maxValue = -Float.infinity
    for j in 0..<vocabulary {
        row[j] = row[j] / tau
        if row[j] > maxValue { maxValue = row[j] }
    }
    var sum = 0.0
    for j in 0..<vocabulary {
        let e = row[j] == -.infinity ? 0 : Foundation.exp(Double(row[j]) - Double(maxValue))
        exps[j] = e
        sum += e
    }
    for j in 0..<vocabulary { row[j] = Float(exps[j] / sum) }
}

/// Sets logits strictly below the k-th largest to −∞.
package func applyTopK(_ row: inout [Float], _ topK: SamplingFilter.TopK) {
    let vocabulary = row.count
    let k: Int
    switch topK {
    case .none: return
    case .count(let n): k = min(n, vocabulary)
    case .fraction(let f):
        // Int(_:) traps on NaN, ±∞ and values past Int.max; GenerationRun rejects such
        // fractions before sampling, and this stays total for direct callers.
        let product = f * Double(vocabulary)
        k = product >= Double(vocabulary) ? vocabulary : (product > 0 ? Int(product) : 0)
    }
    guard k > 0, k < vocabulary else { return }
    let threshold = row.sorted(by: >)[k - 1]
    for j in 0..<vocabulary where row[j] < threshold { row[j] = -.infinity }
}

/// Keeps the shortest prefix (by descending logit, ties by index) whose softmax mass exceeds
/// `topP`; the top token always stays. Like the reference, the running mass is accumulated in
/// Double, stored as Float and compared with `Float(topP)` (a float32 tensor against a scalar).
package func applyTopP(_ row: inout [Float], _ topP: Double) {
    let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
    // Softmax in Double, rounded to Float per entry: within an ulp of the reference's
    // vectorised float32 softmax (a sequential Float sum over 8k–30k entries drifts ~1e-5 and
    // flips tokens at the cut).
    let maxValue = Double(row[order[0]])
    var sum = 0.0
    var exps = [Double](repeating: 0, count: order.count)
    for (r, j) in order.enumerated() {
        exps[r] = row[j] == -.infinity ? 0 : Foundation.exp(Double(row[j]) - maxValue)
        sum += exps[r]
    }
    let threshold = Float(topP)
    var cumulative = 0.0
    var remove: [Int] = []
    for (r, j) in order.enumerated() {
        if r > 0 && Float(cumulative) > threshold { remove.append(j) }
        cumulative += Double(Float(exps[r] / sum))
    }
    for j in remove { row[j] = -.infinity }
}

/// Classifier-free guidance on raw logits: `uncond + (cond − uncond)·scale`.
package func guide(conditional: Tensor<Float>, unconditional: Tensor<Float>, scale: Double) -> Tensor<Float> {
    guide(conditionals: [conditional], unconditional: unconditional, weights: [scale])
}

/// Multi-condition guidance: `uncond + Σ_k w_k·(cond_k − uncond)` (zip truncates).
package func guide(conditionals: [Tensor<Float>], unconditional: Tensor<Float>, weights: [Double]) -> Tensor<Float> {
    var out = unconditional
    out.withUnsafeMutableBufferPointer { o in
        let u = unconditional.scalars
        for (cond, weight) in zip(conditionals, weights) {
            let w = Float(weight)
            cond.withUnsafeBufferPointer { c in
                for i in 0..<o.count { o[i] += (c[i] - u[i]) * w }
            }
        }
    }
    return out
}

extension SamplingFilter {
    /// Checks the filter before any sampling (spec/generation.md 1.3): a top-k count of at
    /// least 0, a top-k fraction within 0…1, a finite top-p.
    /// - Throws: `.invalidSetting` naming the setting, expected and actual values.
    package func validate() throws(GenerationError) {
        switch topK {
        case .none: break
        case .count(let n):
            guard n >= 0 else { throw .invalidSetting(target: "every step", setting: "topK", expected: "a count of at least 0", actual: "\(n)") }
        case .fraction(let f):
            guard f.isFinite, f >= 0, f <= 1 else { throw .invalidSetting(target: "every step", setting: "topK", expected: "a fraction within 0…1", actual: "\(f)") }
        }
        guard topP.isFinite else { throw .invalidSetting(target: "every step", setting: "topP", expected: "a finite number (0 = off)", actual: "\(topP)") }
    }
}
