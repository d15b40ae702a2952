import FourMTensor

/// The sinusoidal features of a timestep as a `[1, dim]` tensor (spec/tokenizers.md 5.5, 5.6).
func timestepEmbedding(_ t: Int, dim: Int, cosineFirst: Bool = true, frequencyShift: Float = 0) -> Tensor<Float> {
    Tensor(shape: [1, dim], scalars: timestepFeatures(timestep: Float(t), dim: dim, cosineFirst: cosineFirst, frequencyShift: frequencyShift))
}

/// Repeats a `[1, ...]` tensor `batch` times along axis 0.
func repeatedBatch(_ x: Tensor<Float>, _ batch: Int) -> Tensor<Float> {
    batch == 1 ? x : Tensor.concatenate(Array(repeating: x, count: batch))
}
