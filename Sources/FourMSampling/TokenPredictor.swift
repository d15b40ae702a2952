import FourMModels
import FourMTensor

/// What generation needs from a model (spec/generation.md 3.6); `FourMModel` conforms, and
/// tests drive every scheme with a mock.
public protocol TokenPredictor: Sendable {
    /// Registry information for a modality the model knows, or nil.
    func modalityInfo(_ modality: Modality) -> ModalityInfo?
    /// Raw logits `[B, K, V]` of an image-like target at `positions` (K per row, equal counts),
    /// decoded with mask tokens and full self-attention over an encoder pass of `states`.
    func maskedLogits(_ states: ModalityDictionary, target: Modality, positions: [[Int]]) throws(ModelError) -> Tensor<Float>
    /// An incremental decoder for a sequence target.
    func sequenceSession(_ states: ModalityDictionary, target: Modality) throws(ModelError) -> any SequenceSession
}

/// Incremental decoding of one sequence target (see `SequenceDecoder`).
public protocol SequenceSession: AnyObject {
    /// `[B, T]` ids of the target slots (first: start token, last: stop token).
    var targetTokens: Tensor<Int32> { get }
    /// Feeds one token per row at the next slot; returns that slot's logits `[B, V]`.
    func next(_ tokens: [Int32]) throws(ModelError) -> Tensor<Float>
}

extension SequenceDecoder: SequenceSession {}

extension FourMModel: TokenPredictor {
    /// Registry information under this model's configuration.
    public func modalityInfo(_ modality: Modality) -> ModalityInfo? { configuration.info(modality) }

    /// The logits of `maskedTargetPass(_:target:positions:)`.
    public func maskedLogits(_ states: ModalityDictionary, target: Modality, positions: [[Int]]) throws(ModelError) -> Tensor<Float> {
        try maskedTargetPass(states, target: target, positions: positions).logits
    }

    /// An incremental decoder for `target`, from `sequenceDecoder(_:target:)`.
    public func sequenceSession(_ states: ModalityDictionary, target: Modality) throws(ModelError) -> any SequenceSession {
        try sequenceDecoder(states, target: target)
    }
}
