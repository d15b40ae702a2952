import FourMTensor

/// What a quantizer returns for a latent map: the code vectors and their ids
/// (spec/tokenizers.md 4.2 and 4.3).
public struct VQQuantization: Sendable, Equatable {
    /// Quantized latents `[B, latent, h, w]`: raw stored codebook rows for the lucid quantizer
    /// (after `project_out` when the quantizer has one), concatenated per-head values for Memcodes.
    public var quantized: Tensor<Float>
    /// Token ids: `[B, h, w]` with one codebook head, `[B, heads, h, w]` with several.
    public var ids: Tensor<Int32>

    /// Creates a result.
    /// - Parameters:
    ///   - quantized: `[B, latent, h, w]`.
    ///   - ids: `[B, h, w]` or `[B, heads, h, w]`.
    public init(quantized: Tensor<Float>, ids: Tensor<Int32>) {
        self.quantized = quantized
        self.ids = ids
    }
}

/// Checks that every id lies in `0..<upperBound`.
/// - Throws: `.idOutOfRange` naming the first offending id.
func vqValidateIDs(_ ids: Tensor<Int32>, codebookSize: Int) throws(VQTokenizerError) {
    let bad: Int32? = ids.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress,
            let index = vqFirstOutOfRange(base, count: buffer.count, upperBound: codebookSize)
        else { return nil }
        return buffer[index]
    }
    if let bad { throw .idOutOfRange(id: bad, codebookSize: codebookSize) }
}

/// Ids laid out `[B, N, heads]` (search order) as the reference returns them: `[B, h, w]` for one
/// head, `[B, heads, h, w]` otherwise.
func vqReferenceIDLayout(_ ids: Tensor<Int32>, batch: Int, height: Int, width: Int, heads: Int) -> Tensor<Int32> {
    if heads == 1 { return ids.reshaped([batch, height, width]) }
    return vqSwapLastTwo(ids.reshaped([batch, height * width, heads])).reshaped([batch, heads, height, width])
}

/// Checks a latent map `[B, channels, h, w]` handed to a quantizer or decoder.
func vqValidateLatentMap(_ x: Tensor<Float>, channels: Int, argument: String) throws(VQTokenizerError) {
    guard x.rank == 4, x.shape[0] > 0, x.shape[1] == channels, x.shape[2] > 0, x.shape[3] > 0 else {
        throw .invalidInput(argument: argument, expected: "[B, \(channels), h, w] with B, h, w ≥ 1", actual: "shape \(x.shape)")
    }
}
