import FourMModels
import FourMTensor

// Non-finite values are errors, not outputs: NaN or infinite weights, or a guidance scale or
// temperature that overflows in Float, make every probability NaN, and the sampler would then
// fall back to the last id of the vocabulary for every token. One pass over the logits per
// step (outside the sampler's inner loops) turns that into a typed error.

/// Throws `.nonFinite` naming the first row of `logits` `[R, V]` that holds NaN or +∞, or
/// that is −∞ everywhere (nothing left to sample).
func checkFinite(_ logits: Tensor<Float>, step: Int, target: Modality) throws(GenerationError) {
    let vocabulary = logits.shape.count == 2 ? logits.shape[1] : logits.count
    guard vocabulary > 0 else { return }
    let badRow: Int? = logits.withUnsafeBufferPointer { values in
        var row = 0
        var start = 0
        while start < values.count {
            var anyFinite = false
            for j in start..<min(start + vocabulary, values.count) {
                let v = values[j]
                if v.isNaN || v == .infinity { return row }
                if v.isFinite { anyFinite = true }
            }
            if !anyFinite { return row }
            row += 1
            start += vocabulary
        }
        return nil
    }
    if let badRow {
        throw .nonFinite(step: step, target: target.rawValue, what: "logits row \(badRow)")
    }
}

/// Throws `.nonFinite` when a sampled probability is NaN or infinite.
func checkFinite(probabilities: [Float], step: Int, target: Modality) throws(GenerationError) {
    if let row = probabilities.firstIndex(where: { !$0.isFinite }) {
        throw .nonFinite(step: step, target: target.rawValue, what: "sampled probability of row \(row)")
    }
}
