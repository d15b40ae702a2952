import FourMTensor

/// One modality's entry in the model's input dictionary (spec/generation.md 1.1, mask
/// polarity of 0.1): its values and three masks.
///
/// `inputMask[b, i] == true` means position *i* is **not** given to the encoder;
/// `targetMask[b, i] == true` means it is **not** a decoder target.
///
/// ```swift
/// var depth = ModalityState(tokens: Tensor(zeros: [1, 196]))
/// depth.inputMask = Tensor(repeating: true, shape: [1, 196])   // nothing known yet
/// depth.targetMask = Tensor(repeating: false, shape: [1, 196]) // everything to predict
/// ```
public struct ModalityState: Sendable {
    /// What the modality holds.
    public enum Content: Sendable {
        /// Token ids `[B, L]` (image tokens or sequences).
        case tokens(Tensor<Int32>)
        /// Pixels `[B, C, H, W]`, already normalised.
        case pixels(Tensor<Float>)
        /// Precomputed vectors `[B, L, E]` (T5 caption states).
        case embeddings(Tensor<Float>)
    }

    /// The values.
    public var content: Content
    /// `[B, L]`: true = not an encoder input.
    public var inputMask: Tensor<Bool>
    /// `[B, L]`: true = not a decoder target.
    public var targetMask: Tensor<Bool>
    /// `[B, L]`: the compressed decoder attention pattern, used only by `FourMModel.trainingForward(_:encoderTokens:decoderTokens:decoderOrder:)`.
    public var decoderAttentionMask: Tensor<Int32>?

    /// Creates a state with explicit masks.
    public init(content: Content, inputMask: Tensor<Bool>, targetMask: Tensor<Bool>, decoderAttentionMask: Tensor<Int32>? = nil) {
        self.content = content
        self.inputMask = inputMask
        self.targetMask = targetMask
        self.decoderAttentionMask = decoderAttentionMask
    }

    /// A fully known token input: `inputMask` all false, `targetMask` all true.
    public init(tokens: Tensor<Int32>) {
        let shape = tokens.shape
        self.init(content: .tokens(tokens), inputMask: Tensor(repeating: false, shape: shape), targetMask: Tensor(repeating: true, shape: shape))
    }

    /// A fully known pixel input `[B, C, H, W]` with patch size `patchSize`.
    public init(pixels: Tensor<Float>, patchSize: Int = 16) {
        // A patch size below 1 gives no positions (the model then names the mismatch) rather
        // than dividing by zero.
        let tokens = pixels.rank == 4 && patchSize > 0 ? (pixels.shape[2] / patchSize) * (pixels.shape[3] / patchSize) : 0
        let shape = [pixels.shape.first ?? 0, tokens]
        self.init(content: .pixels(pixels), inputMask: Tensor(repeating: false, shape: shape), targetMask: Tensor(repeating: true, shape: shape))
    }

    /// The batch size (leading extent of the masks).
    public var batchSize: Int { inputMask.shape.first ?? 0 }

    /// The number of positions (second extent of the masks).
    public var length: Int { inputMask.shape.count > 1 ? inputMask.shape[1] : 0 }

    /// The token ids, if the content is tokens.
    public var tokens: Tensor<Int32>? { if case .tokens(let t) = content { return t } else { return nil } }
}
