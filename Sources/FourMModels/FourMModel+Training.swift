import FourMTensor

extension FourMModel {
    /// The training-style forward `FourM.forward(..., return_logits=True)` (spec/model.md 5.6):
    /// encoder selection as in `encoderInput(_:tokenCount:)` with `encoderTokens` slots;
    /// decoder records in `decoderOrder` (the reference shuffles them; with the separate-modality
    /// mask every order gives the same logits), image targets queried by the mask token,
    /// sequence targets teacher-forced (inputs `x[:-1]`, targets `ids[1:]`); the self-attention
    /// mask is rebuilt from the cumulative `decoder_attention_mask` (or causal) and restricted
    /// to the same modality. A decoder slot whose keys are all blocked (a padding slot of a
    /// modality without targets, e.g. when that modality comes first in `decoderOrder`) attends
    /// uniformly over them, as the reference's softmax does, so the padding rows of
    /// `decoderOutput` match the reference too.
    /// - Parameters:
    ///   - states: the input dictionary, in order.
    ///   - encoderTokens: `num_encoder_tokens`.
    ///   - decoderTokens: `num_decoder_tokens`.
    ///   - decoderOrder: the order of decoder modalities (default: state order).
    /// - Throws: `ModelError` for states that do not fit the model.
    @_spi(Parity) public func trainingForward(
        _ states: ModalityDictionary, encoderTokens: Int, decoderTokens: Int, decoderOrder: [Modality]? = nil
    ) throws(ModelError) -> TrainingForwardResult {
        let d = configuration.dim
        let input = try encoderInput(states, tokenCount: encoderTokens)
        let encoded = encode(input)
        let context = context(encoded: encoded, input: input)
        let batch = input.tokens.shape[0]

        // Decoder records in the requested order.
        let present = states.entries.filter { decoderEmbeddings[$0.modality] != nil }.map { ($0.modality, $0.state) }
        var ordered: [(Modality, ModalityState)] = []
        for m in decoderOrder ?? present.map(\.0) {
            if let entry = present.first(where: { $0.0 == m }) { ordered.append(entry) }
        }
        var queryParts: [Tensor<Float>] = [], embParts: [Tensor<Float>] = []
        var invalid: [[Bool]] = [], targets: [[Int32]] = [], attention: [[Int32]] = [], mods: [Int32] = []
        var lengths: [Int] = []
        for (m, state) in ordered {
            let embedding = try decoderEmbedding(m)
            guard state.batchSize == batch else { throw .batchMismatch(modality: m.rawValue, expected: batch, actual: state.batchSize) }
            guard let ids = state.tokens else {
                throw .invalidState(modality: m.rawValue, field: "tensor", expected: "token ids for a decoder target", actual: "\(state.content)")
            }
            guard ids.shape == state.targetMask.shape else {
                throw .invalidState(modality: m.rawValue, field: "tensor", expected: "shape \(state.targetMask.shape)", actual: "\(ids.shape)")
            }
            try validateTokens(ids, vocabulary: embedding.info.vocabularySize, modality: m)
            let length = state.length
            let targetMask = state.targetMask.scalars
            let dam = state.decoderAttentionMask?.scalars ?? [Int32](repeating: 0, count: batch * length)
            let idValues = ids.scalars
            if embedding.info.kind == .imageTokens {
                guard length == embedding.info.tokenCount else {
                    throw .invalidState(modality: m.rawValue, field: "tensor", expected: "\(embedding.info.tokenCount) tokens per row", actual: "\(length)")
                }
                let all = Tensor(shape: [batch, length], scalars: (0..<(batch * length)).map { Int32($0 % length) })
                embParts.append(embedding.embedding(at: all))
                queryParts.append(Tensor.concatenate(Array(repeating: maskToken, count: batch * length)).reshaped([batch, length, d]))
                invalid.append(targetMask)
                targets.append(idValues)
                attention.append(dam)
                lengths.append(length)
            } else {
                guard length >= 2 else {
                    throw .invalidState(modality: m.rawValue, field: "tensor", expected: "at least 2 positions for a sequence target", actual: "\(length)")
                }
                let emb = embedding.embedding(at: embedding.sequencePositions(targetMask: state.targetMask))
                let x = embedding.tokenEmbedding.gatherRows(ids)
                let shifted = length - 1
                let keep = Tensor(shape: [batch, shifted], scalars: (0..<batch).flatMap { b in (0..<shifted).map { Int32(b * length + $0) } })
                queryParts.append(x.reshaped([batch * length, d]).gatherRows(keep))
                embParts.append(emb.reshaped([batch * length, d]).gatherRows(keep))
                var mask: [Bool] = [], tgt: [Int32] = [], att: [Int32] = []
                for b in 0..<batch {
                    for j in 0..<shifted {
                        mask.append(targetMask[b * length + j + 1] || targetMask[b * length + j])
                        tgt.append(idValues[b * length + j + 1])
                        att.append(dam[b * length + j])
                    }
                }
                invalid.append(mask)
                targets.append(tgt)
                attention.append(att)
                lengths.append(shifted)
            }
            mods.append(m.id)
        }
        let total = lengths.reduce(0, +)
        let allQ = concatenateTokens(queryParts, batch: batch, total: total, dim: d)
        let allE = concatenateTokens(embParts, batch: batch, total: total, dim: d)
        let m = min(decoderTokens, total)
        var pick = [Int32](repeating: -1, count: batch * m)
        var padding = [Bool](repeating: true, count: batch * m)
        var targetIDs = [Int32](repeating: 0, count: batch * m)
        var modIDs = [Int32](repeating: -1, count: batch * m)
        var sepIDs = [Int32](repeating: -1, count: batch * m)
        var compressed = [Int32](repeating: 0, count: batch * m)
        for b in 0..<batch {
            var valid: [(Int, Int, Int)] = [], masked: [(Int, Int, Int)] = []  // (record, index, concatenated position)
            var offset = 0
            for (k, length) in lengths.enumerated() {
                for j in 0..<length {
                    if invalid[k][b * length + j] { masked.append((k, j, offset + j)) } else { valid.append((k, j, offset + j)) }
                }
                offset += length
            }
            for (slot, (k, j, position)) in (valid + masked).prefix(m).enumerated() {
                let length = lengths[k]
                let isValid = slot < valid.count
                sepIDs[b * m + slot] = mods[k]  // the separate-modality mask sees padding's modality too
                compressed[b * m + slot] = attention[k][b * length + j]
                if isValid {
                    pick[b * m + slot] = Int32(b * total + position)
                    padding[b * m + slot] = false
                    targetIDs[b * m + slot] = targets[k][b * length + j]
                    modIDs[b * m + slot] = mods[k]
                }
            }
        }
        // Blocked pairs (spec/model.md 5.6 step 4).
        var blocked = [Bool](repeating: false, count: batch * m * m)
        for b in 0..<batch {
            var cumulative = [Int](repeating: 0, count: m)
            var running = 0
            for i in 0..<m {
                running += Int(compressed[b * m + i])
                cumulative[i] = running
            }
            for i in 0..<m {
                for j in 0..<m {
                    var block = configuration.decoderCausalMask ? j > i : j >= cumulative[i]
                    if configuration.decoderSepMask && sepIDs[b * m + i] != sepIDs[b * m + j] { block = true }
                    blocked[(b * m + i) * m + j] = block
                }
            }
        }
        let pickTensor = Tensor(shape: [batch, m], scalars: pick)
        let decoder = DecoderInput(
            tokens: allQ.gatherRows(pickTensor), embeddings: allE.gatherRows(pickTensor),
            paddingMask: Tensor(shape: [batch, m], scalars: padding), targetIDs: Tensor(shape: [batch, m], scalars: targetIDs),
            modalityIDs: Tensor(shape: [batch, m], scalars: modIDs), selfAttentionMask: Tensor(shape: [batch, m, m], scalars: blocked))
        let output = decode(
            queries: decoder.tokens + decoder.embeddings, context: context, contextPadding: input.paddingMask,
            selfMask: .fullReference(decoder.selfAttentionMask))
        var logits: [Modality: ModalityLogits] = [:]
        let flat = output.reshaped([batch * m, d])
        for (modality, _) in ordered {
            let id = modality.id
            var rows: [Int32] = [], where_: [Int32] = [], tgt: [Int32] = []
            for b in 0..<batch {
                for j in 0..<m where modIDs[b * m + j] == id {
                    rows.append(Int32(b * m + j))
                    where_ += [Int32(b), Int32(j)]
                    tgt.append(targetIDs[b * m + j])
                }
            }
            if rows.isEmpty { continue }
            let hidden = flat.gatherRows(Tensor(shape: [rows.count], scalars: rows))
            logits[modality] = ModalityLogits(
                positions: Tensor(shape: [rows.count, 2], scalars: where_), values: try self.logits(modality, hidden: hidden),
                targetIDs: Tensor(shape: [rows.count], scalars: tgt))
        }
        return TrainingForwardResult(
            encoder: input, encoderOutput: encoded, context: context, decoder: decoder, decoderOutput: output, logits: logits)
    }
}
