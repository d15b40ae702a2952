import FourMTensor

/// Incremental (key/value cached) decoding of one sequence target (spec/model.md 5.7 (b)).
///
/// The encoder and the per-block cross-attention keys/values of the context are computed
/// once; each call of ``next(_:)`` embeds one token per batch row at the next target
/// position, runs it through the decoder against the cached prefix, and returns that
/// position's logits. This equals the reference's loop that recomputes the whole prefix with a
/// causal mask at every token.
///
/// ```swift
/// let decoder = try model.sequenceDecoder(dict, target: .caption)
/// var token = decoder.startTokens               // [S_1] per row
/// for _ in 0..<decoder.capacity {
///     let logits = try decoder.next(token)      // [B, V]
///     token = argmaxRows(logits)
/// }
/// ```
public final class SequenceDecoder {
    /// The modality being decoded.
    public let target: Modality
    /// `[B, T]` ids at the target positions (`dec_ids`): the first is the start token, the
    /// last the stop token of the initialised sequence.
    public let targetTokens: Tensor<Int32>
    /// `[B, T, D]` position + modality embeddings of the target slots (ranks clipped at
    /// `max_length`).
    public let targetEmbeddings: Tensor<Float>
    /// The number of target slots `T`.
    public var capacity: Int { targetTokens.shape[1] }
    /// Positions fed so far.
    public private(set) var count = 0

    let embedding: DecoderEmbedding
    let model: FourMModel
    let contextKV: [(k: Tensor<Float>, v: Tensor<Float>)]
    let crossMask: AttentionMask
    var caches: [KeyValueCache]

    init(model: FourMModel, target: Modality, embedding: DecoderEmbedding, targetTokens: Tensor<Int32>, targetEmbeddings: Tensor<Float>,
         contextKV: [(k: Tensor<Float>, v: Tensor<Float>)], crossMask: AttentionMask) {
        self.model = model
        self.target = target
        self.embedding = embedding
        self.targetTokens = targetTokens
        self.targetEmbeddings = targetEmbeddings
        self.contextKV = contextKV
        self.crossMask = crossMask
        let (batch, slots) = (targetTokens.shape[0], targetTokens.shape[1])
        caches = Array(repeating: KeyValueCache(batch: batch, capacity: max(slots, 1), dim: model.configuration.dim), count: model.decoderBlocks.count)
    }

    /// The first target token of every row (`[S_1]` for an empty target).
    public var startTokens: [Int32] {
        (0..<targetTokens.shape[0]).map { targetTokens[$0, 0] }
    }

    /// Feeds one token per batch row at position ``count`` and returns that position's raw
    /// logits `[B, V]`.
    /// - Throws: `.positionOutOfRange` past the last slot, `.tokenOutOfRange` for bad ids,
    ///   `.batchMismatch` for a wrong number of tokens.
    public func next(_ tokens: [Int32]) throws(ModelError) -> Tensor<Float> {
        let (batch, slots) = (targetTokens.shape[0], targetTokens.shape[1])
        let d = model.configuration.dim
        guard tokens.count == batch else { throw .batchMismatch(modality: target.rawValue, expected: batch, actual: tokens.count) }
        guard count < slots else { throw .positionOutOfRange(modality: target.rawValue, position: count, length: slots) }
        let ids = Tensor(shape: [batch, 1], scalars: tokens)
        try validateTokens(ids, vocabulary: embedding.info.vocabularySize, modality: target)
        let rows = Tensor(shape: [batch], scalars: (0..<batch).map { Int32($0 * slots + count) })
        let positionEmbedding = targetEmbeddings.reshaped([batch * slots, d]).gatherRows(rows).reshaped([batch, 1, d])
        // With compact decoder weights, every few-row product below streams them (bf16/int8).
        let logits = CompactWeights.withTable(model.compactDecoderWeights) { () -> Tensor<Float> in
            var y = embedding.tokenEmbedding.gatherRows(ids) + positionEmbedding
            for (i, block) in model.decoderBlocks.enumerated() {
                y = block(step: y, cache: &caches[i], contextKV: contextKV[i], crossMask: crossMask)
            }
            return embedding.logitsHead(model.decoderNorm(y).reshaped([batch, d]))
        }
        count += 1
        return logits
    }
}

extension FourMModel {
    /// The linear layers an autoregressive step reads per token: per decoder block the
    /// self-attention `qkv` and `proj`, the cross-attention `q` and `proj` (its `kv` runs once
    /// per generation, over the context) and the MLP; then the logits heads of the targets
    /// `heads` selects (default: the sequence targets).
    package func autoregressiveLayers(heads: (ModalityInfo) -> Bool = { $0.kind == .sequence }) -> [Linear] {
        var layers: [Linear] = []
        for block in decoderBlocks {
            layers += [block.selfAttn.qkv, block.selfAttn.proj, block.crossAttn.q, block.crossAttn.proj, block.mlp.fc1, block.mlp.fc2]
            if let fc3 = block.mlp.fc3 { layers.append(fc3) }
        }
        for (_, embedding) in decoderEmbeddings.sorted(by: { $0.key.rawValue < $1.key.rawValue })
        where heads(embedding.info) {
            layers.append(embedding.logitsHead)
        }
        return layers
    }

    /// This model with compact copies of the decoder weights an autoregressive step reads
    /// (``autoregressiveLayers(heads:)``; every head when `allHeads`), made once here: its sequence decoders' steps
    /// stream them instead of the fp32 (or bf16) weights. Everything else (the encoder, the
    /// cross-attention keys/values, MaskGIT/ROAR passes) is unchanged. `nil` removes them.
    /// Accuracy and speed: `Documentation/Performance.md` (autoregressive decoding).
    package func withCompactDecoderWeights(_ format: CompactWeightFormat?, allHeads: Bool) -> FourMModel {
        var model = self
        model.compactDecoderWeights = format.map { CompactWeightTable(autoregressiveLayers { allHeads || $0.kind == .sequence }, format: $0) }
        return model
    }

    /// This model with compact (bf16 or int8) copies of the weights an autoregressive step reads:
    /// the decoder blocks and the sequence targets' logits heads, made once here. Autoregressive
    /// decoding (captions, boxes, metadata: `SequenceDecoder`) then streams 2 or 1 bytes per weight
    /// instead of 4, which is what a token costs on a CPU; everything else (the encoder, MaskGIT
    /// and ROAR passes) is unchanged, and `nil` removes the copies. The copies add their bytes to
    /// the model's memory (a quarter or half of the decoder's fp32 size).
    ///
    /// Accuracy and speed are measured in `Documentation/Performance.md` (autoregressive
    /// decoding): on the fixture cases the max relative logit error was ≤ 0.7% (bf16) and
    /// ≤ 1.4% (int8), and every decided argmax kept.
    public func withCompactDecoderWeights(_ format: CompactWeightFormat?) -> FourMModel {
        withCompactDecoderWeights(format, allHeads: false)
    }

    /// Prepares incremental decoding of the sequence target `target`: runs the encoder over
    /// `states` (the target's own input positions, e.g. its leading `[S_1]`, included) and
    /// gathers the target slots (positions with `targetMask == false`, ascending).
    /// - Throws: `ModelError` when the target is not a sequence output of the model, or rows
    ///   have different numbers of target slots.
    public func sequenceDecoder(_ states: ModalityDictionary, target: Modality) throws(ModelError) -> SequenceDecoder {
        let embedding = try decoderEmbedding(target)
        guard embedding.info.kind == .sequence else {
            throw .invalidState(modality: target.rawValue, field: "target", expected: "a sequence target for autoregressive decoding", actual: "\(embedding.info.kind)")
        }
        guard let state = states[target], let tokens = state.tokens else {
            throw .invalidState(modality: target.rawValue, field: "state", expected: "token ids for the target", actual: "none")
        }
        let (batch, length) = (state.batchSize, state.length)
        guard tokens.shape == [batch, length] else {
            throw .invalidState(modality: target.rawValue, field: "tensor", expected: "[\(batch), \(length)]", actual: "\(tokens.shape)")
        }
        let mask = state.targetMask.scalars, ids = tokens.scalars
        let slots = (0..<batch).map { b in (0..<length).filter { !mask[b * length + $0] } }
        let counts = slots.map(\.count)
        guard Set(counts).count <= 1 else { throw .unequalTargetCounts(modality: target.rawValue, counts: counts) }
        let t = counts.first ?? 0
        let targetTokens = Tensor(shape: [batch, t], scalars: slots.enumerated().flatMap { b, row in row.map { ids[b * length + $0] } })
        let ranks = Tensor(shape: [batch, t], scalars: (0..<(batch * t)).map { Int32(($0 % max(t, 1)) < embedding.info.maxLength ? $0 % max(t, 1) : 0) })
        let targetEmbeddings = embedding.embedding(at: ranks)
        let input = try encoderInput(states)
        let context = context(encoded: encode(input), input: input)
        return SequenceDecoder(
            model: self, target: target, embedding: embedding, targetTokens: targetTokens, targetEmbeddings: targetEmbeddings,
            contextKV: contextKeysValues(context), crossMask: keyMask(input.paddingMask))
    }
}
