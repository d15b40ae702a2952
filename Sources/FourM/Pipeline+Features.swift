import FourMModels
import FourMTensor

/// Encoder embeddings of a set of inputs, for transfer (the paper's linear probes and the
/// reference's encoder-only use of 4M).
public struct EncoderFeatures: Sendable {
    /// Every encoder token after `encoder_norm` `[B, N, D]` (valid tokens first, then padding).
    public var tokens: Tensor<Float>
    /// `[B, N]`: true where the token is padding (not an input).
    public var paddingMask: Tensor<Bool>
    /// The mean of the valid tokens of each row `[B, D]`.
    public var pooled: Tensor<Float>
}

extension Pipeline {
    /// Encodes `inputs` and returns the encoder's per-token and pooled embeddings
    /// (spec/model.md 5: embeddings, encoder blocks, `encoder_norm`; no decoder pass).
    ///
    /// ```swift
    /// let features = try pipeline.features(from: [.rgb224: .image(photo)])
    /// let vector = features.pooled.scalars      // D values, e.g. for a linear probe
    /// ```
    /// - Parameter inputs: conditions by modality, as for ``generate(from:preset:seed:progress:)``.
    /// - Returns: the encoder output of every input token and their mean.
    /// - Throws: `.invalidInput` for no inputs, plus the errors of ``condition(_:_:)`` and
    ///   `.model` for states the model cannot encode.
    public func features(from inputs: [Modality: PipelineInput]) throws(FourMError) -> EncoderFeatures {
        guard !inputs.isEmpty else { throw .invalidInput(modality: "features", expected: "at least one input", actual: "none") }
        var dictionary = ModalityDictionary()
        for m in inputs.keys.sorted() {
            guard let value = inputs[m] else { continue }
            dictionary[m] = try condition(m, value)
        }
        let input: EncoderInput
        do { input = try model.encoderInput(dictionary) } catch { throw .model(error) }
        let encoded = model.encode(input)
        let (batch, count, width) = (encoded.shape[0], encoded.shape[1], encoded.shape[2])
        let values = encoded.scalars
        var pooled = [Float](repeating: 0, count: batch * width)
        for b in 0..<batch {
            var valid = 0
            for n in 0..<count where !input.paddingMask[b, n] {
                valid += 1
                for d in 0..<width { pooled[b * width + d] += values[(b * count + n) * width + d] }
            }
            for d in 0..<width { pooled[b * width + d] /= Float(max(valid, 1)) }
        }
        return EncoderFeatures(tokens: encoded, paddingMask: input.paddingMask, pooled: Tensor(shape: [batch, width], scalars: pooled))
    }
}
