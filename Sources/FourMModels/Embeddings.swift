import FourMTensor

/// Position table loaded from the file, or computed when absent (spec/model.md 1.6 / 3.2).
func loadPositionTable(_ store: some TensorSource, _ key: String, info: ModalityInfo, dim: Int) throws(WeightError) -> Tensor<Float> {
    switch info.kind {
    case .pixels, .imageTokens:
        let rows = info.tokenCount
        if info.learnedPositions {
            return try store.tensor(key, shape: [1, rows, dim]).reshaped([rows, dim])
        }
        if let stored = try store.optionalTensor(key, shape: [1, rows, dim]) { return stored.reshaped([rows, dim]) }
        return sinCosTable2D(gridHeight: info.gridSize, gridWidth: info.gridSize, dim: dim)
    case .sequence, .sequenceEmbedding:
        let rows = ModalityInfo.sequencePositionRows
        if let stored = try store.optionalTensor(key, shape: [1, rows, dim]) { return stored.reshaped([rows, dim]) }
        return sinCosTable1D(rows: rows, dim: dim)
    }
}

/// Position ids as ranks among unmasked positions (spec/model.md 3.5 / 3.7): for each row,
/// the k-th position with `mask == false` gets k; masked positions get −1 (a zero position
/// embedding). With `clip`, ranks ≥ clip map to 0.
func rankPositions(_ mask: Tensor<Bool>, clip: Int? = nil) -> Tensor<Int32> {
    let (batch, length) = (mask.shape[0], mask.shape[1])
    return Tensor(shape: [batch, length]) { out in
        mask.withUnsafeBufferPointer { m in
            for b in 0..<batch {
                var rank: Int32 = 0
                for j in 0..<length {
                    if m[b * length + j] {
                        out[b * length + j] = -1
                    } else {
                        var p = rank
                        if let clip, Int(p) >= clip { p = 0 }
                        out[b * length + j] = p
                        rank += 1
                    }
                }
            }
        }
    }
}

/// Adds `row` `[D]` to every row of `x` `[..., D]`.
func addRow(_ x: Tensor<Float>, _ row: Tensor<Float>) -> Tensor<Float> {
    var y = x
    let dim = row.count
    y.withUnsafeMutableBufferPointer { out in
        row.withUnsafeBufferPointer { r in
            for i in stride(from: 0, to: out.count, by: dim) {
                for j in 0..<dim { out[i + j] += r[j] }
            }
        }
    }
    return y
}

/// Checks token ids against a vocabulary.
func validateTokens(_ tokens: Tensor<Int32>, vocabulary: Int, modality: Modality) throws(ModelError) {
    let bad = tokens.withUnsafeBufferPointer { ids in ids.first { $0 < 0 || Int($0) >= vocabulary } }
    if let bad { throw .tokenOutOfRange(modality: modality.rawValue, id: bad, vocabularySize: vocabulary) }
}

/// One modality's encoder embedding (spec/model.md 3.3–3.6): produces `x` (content) and
/// `emb` (position + modality), each `[B, L, D]`.
struct EncoderEmbedding: Sendable {
    enum Content: Sendable {
        case pixels(proj: Linear)
        case tokens(table: EmbeddingTable)
        case vectors(proj: Linear)
    }

    let info: ModalityInfo
    let content: Content
    let positions: Tensor<Float>  // [P, D]
    let modalityEmbedding: Tensor<Float>  // [D]
    let dim: Int

    /// Loads `encoder_embeddings.<modality>.*` of a checkpoint source.
    init(_ source: some TensorSource, info: ModalityInfo, dim: Int, modalityEmbedding: Tensor<Float>) throws(WeightError) {
        let store = source.scoped("encoder_embeddings.\(info.modality.rawValue)")
        self.info = info
        self.dim = dim
        self.modalityEmbedding = modalityEmbedding
        switch info.kind {
        case .pixels:
            content = .pixels(proj: try Linear(store.scoped("proj"), inputs: info.patchSize * info.patchSize * info.channels, outputs: dim, bias: false))
        case .imageTokens, .sequence:
            content = .tokens(table: try EmbeddingTable(store, key: "token_emb.weight", shape: [info.vocabularySize, dim]))
        case .sequenceEmbedding:
            content = .vectors(proj: try Linear(store.scoped("emb_proj"), inputs: info.embeddingWidth, outputs: dim, bias: true))
        }
        positions = try loadPositionTable(store, "pos_emb", info: info, dim: dim)
    }

    /// Embeds one state. Token ids and shapes are validated (user data).
    func callAsFunction(_ state: ModalityState) throws(ModelError) -> (x: Tensor<Float>, emb: Tensor<Float>) {
        let m = info.modality
        let batch = state.batchSize, length = state.length
        guard state.targetMask.shape == state.inputMask.shape, state.inputMask.rank == 2 else {
            throw .invalidState(modality: m.rawValue, field: "target_mask", expected: "shape \(state.inputMask.shape)", actual: "\(state.targetMask.shape)")
        }
        switch (content, state.content) {
        case let (.pixels(proj), .pixels(pixels)):
            let p = info.patchSize, c = info.channels, side = info.gridSize * p
            guard pixels.shape == [batch, c, side, side] else {
                throw .invalidState(modality: m.rawValue, field: "tensor", expected: "pixels [\(batch), \(c), \(side), \(side)]", actual: "\(pixels.shape)")
            }
            guard length == info.tokenCount else {
                throw .invalidState(modality: m.rawValue, field: "input_mask", expected: "[\(batch), \(info.tokenCount)]", actual: "\(state.inputMask.shape)")
            }
            let patches = patchify(pixels, patch: p, grid: info.gridSize)
            let x = proj(patches)
            let emb = Tensor.concatenate(Array(repeating: addRow(positions, modalityEmbedding), count: batch)).reshaped([batch, length, dim])
            return (x, emb)
        case let (.tokens(table), .tokens(ids)):
            guard ids.shape == [batch, length] else {
                throw .invalidState(modality: m.rawValue, field: "tensor", expected: "ids [\(batch), \(length)]", actual: "\(ids.shape)")
            }
            try validateTokens(ids, vocabulary: info.vocabularySize, modality: m)
            let x = table.gatherRows(ids)
            if info.kind == .imageTokens {
                guard length == info.tokenCount else {
                    throw .invalidState(modality: m.rawValue, field: "tensor", expected: "\(info.tokenCount) tokens per row", actual: "\(length)")
                }
                let emb = Tensor.concatenate(Array(repeating: addRow(positions, modalityEmbedding), count: batch)).reshaped([batch, length, dim])
                return (x, emb)
            }
            return (x, try sequenceEmbedding(state.inputMask))
        case let (.vectors(proj), .embeddings(vectors)):
            guard vectors.shape == [batch, length, info.embeddingWidth] else {
                throw .invalidState(modality: m.rawValue, field: "tensor", expected: "[\(batch), \(length), \(info.embeddingWidth)]", actual: "\(vectors.shape)")
            }
            return (proj(vectors), try sequenceEmbedding(state.inputMask))
        default:
            throw .invalidState(modality: m.rawValue, field: "tensor", expected: "\(info.kind) content", actual: "\(state.content)")
        }
    }

    /// pos_emb at the rank of each input position (zero where masked) + mod_emb.
    private func sequenceEmbedding(_ inputMask: Tensor<Bool>) throws(ModelError) -> Tensor<Float> {
        let ranks = rankPositions(inputMask)
        let limit = positions.shape[0]
        if let over = ranks.scalars.max(), Int(over) >= limit {
            throw .tooManyPositions(modality: info.modality.rawValue, count: Int(over) + 1, limit: limit)
        }
        return addRow(positions.gatherRows(ranks), modalityEmbedding)
    }
}

/// Patch vectors of `[B, C, H, W]` pixels in (row, col, channel) order (spec/model.md 3.3):
/// `[B, G·G, p·p·C]`.
func patchify(_ pixels: Tensor<Float>, patch: Int, grid: Int) -> Tensor<Float> {
    let (batch, channels, height, width) = (pixels.shape[0], pixels.shape[1], pixels.shape[2], pixels.shape[3])
    let vector = patch * patch * channels
    return Tensor(shape: [batch, grid * grid, vector]) { out in
        pixels.withUnsafeBufferPointer { src in
            var o = 0
            for b in 0..<batch {
                for row in 0..<grid {
                    for col in 0..<grid {
                        for py in 0..<patch {
                            for px in 0..<patch {
                                let y = row * patch + py, x = col * patch + px
                                for c in 0..<channels {
                                    out[o] = src[((b * channels + c) * height + y) * width + x]
                                    o += 1
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One modality's decoder embedding and output head (spec/model.md 3.7).
struct DecoderEmbedding: Sendable {
    let info: ModalityInfo
    let positions: Tensor<Float>  // [P, D]
    let modalityEmbedding: Tensor<Float>  // [D]
    /// Embeds previously generated tokens (sequences); loaded but unused for image tokens.
    /// In bf16 with a BF16 file it holds the stored bf16 values, and shares the head's matrix
    /// when the file's `token_emb` and `to_logits` are the same (tied) bits.
    let tokenEmbedding: EmbeddingTable  // [V, D]
    /// Output head, no bias, in the store's precision (bf16 copy of the weight when bf16).
    let logitsHead: Linear  // weight [V, D]
    /// The output head's weight `[V, D]`.
    var toLogits: Tensor<Float> { logitsHead.weight }

    /// Loads `decoder_embeddings.<modality>.*` of a checkpoint source.
    init(_ source: some TensorSource, info: ModalityInfo, dim: Int, modalityEmbedding: Tensor<Float>) throws(WeightError) {
        let store = source.scoped("decoder_embeddings.\(info.modality.rawValue)")
        self.info = info
        self.modalityEmbedding = modalityEmbedding
        positions = try loadPositionTable(store, "pos_emb", info: info, dim: dim)
        let shape = [info.vocabularySize, dim]
        // spec/model.md 1.6: either of the tied pair may stand in for the other.
        let (tokensKey, logitsKey) = ("token_emb.weight", "to_logits.weight")
        let (hasTokens, hasLogits) = (store.contains(tokensKey), store.contains(logitsKey))
        guard hasTokens || hasLogits else {
            // A source that makes tensors on demand (random weights) answers neither `contains`.
            let tokens = try store.optionalTensor(tokensKey, shape: shape)
            let logits = try store.optionalTensor(logitsKey, shape: shape)
            guard let head = logits ?? tokens else { throw .missingTensor(file: store.name, key: store.key(logitsKey)) }
            logitsHead = Linear(weight: head, bias: nil, precision: store.precision)
            tokenEmbedding = EmbeddingTable(tokens ?? head)
            return
        }
        let headKey = hasLogits ? logitsKey : tokensKey
        guard store.precision.holdsBFloat16Weights else {
            // fp32 (the parity path): floats, as always.
            let head = try store.tensor(headKey, shape: shape)
            logitsHead = Linear(weight: head, bias: nil)
            tokenEmbedding = EmbeddingTable(hasLogits && hasTokens ? try store.tensor(tokensKey, shape: shape) : head)
            return
        }
        // bf16: the head keeps only its bf16 matrix. The token table is the stored BF16 values
        // (the head's own matrix when the tied pair holds the same bits), else the file's floats.
        let head = try store.bfloat16Matrix(headKey, shape: shape)
        logitsHead = Linear(bfloat16Weight: head, bias: nil)
        let tableKey = hasTokens ? tokensKey : logitsKey
        if store.dtype(of: tableKey) == .bf16 {
            var tied = tableKey == headKey
            if !tied { tied = try Self.sameBits(store, tableKey, head) }
            if tied {
                tokenEmbedding = EmbeddingTable(bfloat16: head)
            } else {
                tokenEmbedding = try EmbeddingTable(store, key: tableKey, shape: shape)
            }
        } else {
            tokenEmbedding = EmbeddingTable(try store.tensor(tableKey, shape: shape))
        }
    }

    /// True when the BF16 tensor `key` holds exactly `matrix`'s bits (marks `key` used).
    private static func sameBits(_ store: some TensorSource, _ key: String, _ matrix: BFloat16Matrix) throws(WeightError) -> Bool {
        let count = matrix.rows * matrix.columns
        let scratch = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: max(1, count))
        defer { scratch.deallocate() }
        let bits = UnsafeMutableBufferPointer(rebasing: scratch[0..<count])
        try store.readStoredBytes(key, shape: [matrix.rows, matrix.columns], into: UnsafeMutableRawBufferPointer(bits))
        for i in 0..<count where bits[i] != matrix.storage[i] { return false }
        return true
    }

    /// pos_emb rows at `positions` (−1 → zero) + mod_emb: `[B, M, D]`.
    func embedding(at positionIDs: Tensor<Int32>) -> Tensor<Float> {
        addRow(positions.gatherRows(positionIDs), modalityEmbedding)
    }

    /// Sequence decoder position ids: ranks among targets, clipped at `max_length` (spec 3.7).
    func sequencePositions(targetMask: Tensor<Bool>) -> Tensor<Int32> {
        rankPositions(targetMask, clip: info.maxLength)
    }
}
