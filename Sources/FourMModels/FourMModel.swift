import Foundation
import FourMTensor

/// The selected encoder tokens of one pass (spec/model.md 5.3).
package struct EncoderInput: Sendable {
    /// `[B, N, D]` content embeddings (zero at padding).
    package var tokens: Tensor<Float>
    /// `[B, N, D]` position + modality embeddings (zero at padding).
    package var embeddings: Tensor<Float>
    /// `[B, N]`: true = padding slot, blocked as a key.
    package var paddingMask: Tensor<Bool>
    /// `[B, N]`: modality id per slot, −1 at padding.
    package var modalityIDs: Tensor<Int32>

    /// The number of selected tokens `N`.
    package var count: Int { tokens.shape[1] }
}

/// The decoder side of a training-style pass (spec/model.md 5.6).
@_spi(Parity) public struct DecoderInput: Sendable {
    /// `[B, M, D]` query content (mask token or shifted sequence embeddings).
    public var tokens: Tensor<Float>
    /// `[B, M, D]` position + modality embeddings.
    public var embeddings: Tensor<Float>
    /// `[B, M]`: true = padding slot.
    public var paddingMask: Tensor<Bool>
    /// `[B, M]`: target id per slot (0 at padding).
    public var targetIDs: Tensor<Int32>
    /// `[B, M]`: modality id per slot, −1 at padding.
    public var modalityIDs: Tensor<Int32>
    /// `[B, M, M]`: blocked pairs of decoder self-attention.
    public var selfAttentionMask: Tensor<Bool>
}

/// Logits of one output modality, rows picked by modality id (spec/model.md 5.5).
@_spi(Parity) public struct ModalityLogits: Sendable {
    /// `[R, 2]`: the (batch, slot) of each row, b-major.
    public var positions: Tensor<Int32>
    /// `[R, V]` raw logits.
    public var values: Tensor<Float>
    /// `[R]` target ids of the rows.
    public var targetIDs: Tensor<Int32>
}

/// Everything one training-style forward computes (spec/model.md 5.6).
@_spi(Parity) public struct TrainingForwardResult: Sendable {
    /// The selected encoder tokens.
    package var encoder: EncoderInput
    /// `[B, N, D]` encoder output after `encoder_norm`.
    public var encoderOutput: Tensor<Float>
    /// `[B, N, D]` decoder context: `decoder_proj_context(encoderOutput) + encoder.embeddings`.
    public var context: Tensor<Float>
    /// The selected decoder tokens.
    public var decoder: DecoderInput
    /// `[B, M, D]` decoder output after `decoder_norm`.
    public var decoderOutput: Tensor<Float>
    /// Logits per output modality that has target rows.
    public var logits: [Modality: ModalityLogits]
}

/// Everything one MaskGIT/ROAR decoder pass over an image-like target computes
/// (spec/model.md 5.7 (a)).
public struct MaskedTargetPass: Sendable {
    /// The selected encoder tokens.
    package var encoder: EncoderInput
    /// `[B, N, D]` encoder output after `encoder_norm`.
    public var encoderOutput: Tensor<Float>
    /// `[B, N, D]` decoder context.
    public var context: Tensor<Float>
    /// `[B, M, D]` decoder queries: the mask token at every decoded position.
    public var decoderTokens: Tensor<Float>
    /// `[B, M, D]` position + modality embeddings of the decoded positions.
    public var decoderEmbeddings: Tensor<Float>
    /// `[B, M]` decoded positions inside the target modality.
    public var positions: Tensor<Int32>
    /// `[B, M, D]` decoder output after `decoder_norm`.
    public var decoderOutput: Tensor<Float>
    /// `[B, M, V]` raw logits.
    public var logits: Tensor<Float>
}

/// A 4M encoder-decoder transformer loaded from a released checkpoint (spec/model.md).
///
/// ```swift
/// let model = try FourMModel(path: "4M-21_B/model.safetensors")
/// var target = ModalityState(tokens: Tensor(zeros: [1, 196]))
/// target.inputMask = Tensor(repeating: true, shape: [1, 196])
/// target.targetMask = Tensor(repeating: false, shape: [1, 196])
/// let pass = try model.maskedTargetPass([.rgb224: photo, .tokDepth224: target], target: .tokDepth224)
/// ```
public struct FourMModel: Sendable {
    /// The configuration the model was built from.
    public let configuration: FourMConfiguration
    let encoderEmbeddings: [Modality: EncoderEmbedding]
    let decoderEmbeddings: [Modality: DecoderEmbedding]
    let encoderBlocks: [TransformerBlock]
    let encoderNorm: LayerNorm
    let decoderProjContext: Linear
    let decoderBlocks: [DecoderBlock]
    let decoderNorm: LayerNorm
    let maskToken: Tensor<Float>  // [D]
    /// The precision the model's linear layers compute in: the one asked for at load, after
    /// `ComputePrecision.resolved` (bf16 falls back to fp32 where the CPU lacks AVX-512).
    public let precision: ComputePrecision
    /// Compact (bf16/int8) copies of the decoder's weights for autoregressive steps; nil
    /// unless made by `withCompactDecoderWeights(_:)` (SequenceDecoder.swift).
    package var compactDecoderWeights: CompactWeightTable? = nil

    /// Loads a checkpoint: the config from its `__metadata__` (or a sibling `config.json`
    /// when the header has none), every tensor checked, every tensor used.
    /// - Parameters:
    ///   - path: the `.safetensors` checkpoint.
    ///   - precision: the arithmetic of the linear layers (default fp32, the parity path); see
    ///     `ComputePrecision` for bf16 and its fallback rule.
    ///   - modalities: the table the config's domain lists are read against (default: the
    ///     released domains); a bundle passes its own so that extra domains load.
    /// - Throws: `ModelError.weights` or `.configuration` naming the file and key.
    public init(path: String, precision: ComputePrecision = .fp32, modalities: ModalityTable = .reference) throws(ModelError) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .weights(error) }
        var configuration: FourMConfiguration
        do {
            let configURL = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("config.json")
            if file.metadata["domains_in"] == nil, let json = try? Data(contentsOf: configURL) {
                configuration = try FourMConfiguration(jsonData: json, file: configURL.path, modalities: modalities)
            } else {
                configuration = try FourMConfiguration(metadata: file.metadata, file: path, modalities: modalities)
            }
            configuration = try configuration.adoptingTensorShapes(of: file)
        } catch { throw .configuration(error) }
        do { try self.init(file: file, configuration: configuration, precision: precision) } catch { throw .weights(error) }
    }

    /// Builds the model from an opened file and a configuration, strictly.
    /// - Throws: `WeightError` for missing, mis-shaped or unused tensors.
    ///
    /// Vocabulary sizes and token grids come from the file's shapes where they differ from the
    /// registry (``FourMConfiguration/adoptingTensorShapes(of:)``); a shape that contradicts
    /// its modality name is then reported by the strict tensor checks.
    /// - Parameters:
    ///   - file: the opened checkpoint.
    ///   - base: the configuration (vocabulary sizes and grids are adopted from the file).
    ///   - precision: the arithmetic of the linear layers (default fp32); see `ComputePrecision`.
    public init(file: SafeTensorsFile, configuration base: FourMConfiguration, precision: ComputePrecision = .fp32) throws(WeightError) {
        let c = (try? base.adoptingTensorShapes(of: file)) ?? base
        configuration = c
        let store = WeightStore(file)
        // The store gets the precision asked for: its layers hold bf16 weights where
        // `holdsBFloat16Weights` says so; the model reports the arithmetic it runs.
        store.precision = precision
        self.precision = precision.resolved
        let d = c.dim
        var encoders: [Modality: EncoderEmbedding] = [:]
        var decoders: [Modality: DecoderEmbedding] = [:]
        for m in c.domainsIn {
            guard let info = c.info(m) else { continue }  // validated by the configuration
            let emb = try Self.modalityEmbedding(store, m, encoder: true, share: c.shareModalityEmbeddings, domainsOut: c.domainsOut, dim: d)
            encoders[m] = try EncoderEmbedding(store, info: info, dim: d, modalityEmbedding: emb)
        }
        for m in c.domainsOut {
            guard let info = c.info(m) else { continue }
            let emb = try Self.modalityEmbedding(store, m, encoder: false, share: c.shareModalityEmbeddings && c.domainsIn.contains(m), domainsOut: c.domainsOut, dim: d)
            decoders[m] = try DecoderEmbedding(store, info: info, dim: d, modalityEmbedding: emb)
        }
        encoderEmbeddings = encoders
        decoderEmbeddings = decoders
        let options = BlockOptions(
            dim: d, heads: c.numHeads, mlpHidden: c.mlpHiddenWidth, gatedMLP: c.gatedMLP, activation: c.activation,
            qkvBias: c.qkvBias, projBias: c.projBias, mlpBias: c.mlpBias, qkNorm: c.qkNorm)
        var blocks: [TransformerBlock] = []
        for i in 0..<c.encoderDepth { blocks.append(try TransformerBlock(store.scoped("encoder.\(i)"), options)) }
        encoderBlocks = blocks
        encoderNorm = try LayerNorm(store.scoped("encoder_norm"), dim: d)
        decoderProjContext = try Linear(store.scoped("decoder_proj_context"), inputs: d, outputs: d, bias: true)
        var decoderBlocks: [DecoderBlock] = []
        for i in 0..<c.decoderDepth { decoderBlocks.append(try DecoderBlock(store.scoped("decoder.\(i)"), options)) }
        self.decoderBlocks = decoderBlocks
        decoderNorm = try LayerNorm(store.scoped("decoder_norm"), dim: d)
        maskToken = try store.tensor("mask_token", shape: [1, 1, d]).reshaped([d])
        try store.finish()
    }

    /// `mod_emb` of one module, with the sharing and fallbacks of spec/model.md 1.6 / 3.1.
    private static func modalityEmbedding(
        _ store: some TensorSource, _ m: Modality, encoder: Bool, share: Bool, domainsOut: [Modality], dim: Int
    ) throws(WeightError) -> Tensor<Float> {
        let own = "\(encoder ? "encoder" : "decoder")_embeddings.\(m.rawValue).mod_emb"
        let other = "\(encoder ? "decoder" : "encoder")_embeddings.\(m.rawValue).mod_emb"
        let shape = [1, 1, dim]
        if !encoder && share, let shared = try store.optionalTensor(other, shape: shape) {
            store.markUsed([own])  // the same tensor under a second name
            return shared.reshaped([dim])
        }
        if let value = try store.optionalTensor(own, shape: shape) { return value.reshaped([dim]) }
        if let value = try store.optionalTensor(other, shape: shape) { return value.reshaped([dim]) }
        throw .missingTensor(file: store.name, key: own)
    }

    /// The modalities this model can take as input.
    public var inputModalities: [Modality] { configuration.domainsIn }
    /// The modalities this model can predict.
    public var outputModalities: [Modality] { configuration.domainsOut }

    // MARK: - Encoder (spec/model.md 5.3, 5.4)

    /// Embeds every state whose modality has an encoder and selects the encoder tokens:
    /// valid tokens first in state order, then padding; keeps `tokenCount` slots
    /// (default: the largest valid count of the batch).
    /// - Throws: `ModelError` for states that do not fit the model.
    package func encoderInput(_ states: ModalityDictionary, tokenCount: Int? = nil) throws(ModelError) -> EncoderInput {
        let d = configuration.dim
        var batch: Int? = nil
        var xs: [Tensor<Float>] = [], es: [Tensor<Float>] = [], masks: [Tensor<Bool>] = [], ids: [Int32] = []
        var lengths: [Int] = []
        for (m, state) in states {
            guard let embedding = encoderEmbeddings[m] else { continue }
            if let batch, batch != state.batchSize { throw .batchMismatch(modality: m.rawValue, expected: batch, actual: state.batchSize) }
            batch = state.batchSize
            let (x, e) = try embedding(state)
            xs.append(x)
            es.append(e)
            masks.append(state.inputMask)
            ids.append(m.id)
            lengths.append(state.length)
        }
        let b = batch ?? (states.batchSize > 0 ? states.batchSize : 1)
        let total = lengths.reduce(0, +)
        // Per batch row: the concatenated positions, valid ones first, then masked ones.
        var order = [[Int]](repeating: [], count: b)
        var validCounts = [Int](repeating: 0, count: b)
        var modOf = [Int32](repeating: -1, count: total)
        var base = 0
        for (k, length) in lengths.enumerated() { for j in 0..<length { modOf[base + j] = ids[k] }; base += length }
        let allMasks = masks.map(\.scalars)
        for row in 0..<b {
            var valid: [Int] = [], invalid: [Int] = []
            var offset = 0
            for (k, length) in lengths.enumerated() {
                for j in 0..<length {
                    if allMasks[k][row * length + j] { invalid.append(offset + j) } else { valid.append(offset + j) }
                }
                offset += length
            }
            validCounts[row] = valid.count
            order[row] = valid + invalid
        }
        let n = min(tokenCount ?? (validCounts.max() ?? 0), total)
        // Source rows in the [B * total, D] concatenation; −1 = padding (zeros).
        var pick = [Int32](repeating: -1, count: b * n)
        var padding = [Bool](repeating: true, count: b * n)
        var mods = [Int32](repeating: -1, count: b * n)
        for row in 0..<b {
            for slot in 0..<n {
                let source = order[row][slot]
                if slot < validCounts[row] {
                    pick[row * n + slot] = Int32(row * total + source)
                    padding[row * n + slot] = false
                    mods[row * n + slot] = modOf[source]
                }
            }
        }
        let pickTensor = Tensor(shape: [b, n], scalars: pick)
        let allX = concatenateTokens(xs, batch: b, total: total, dim: d)
        let allE = concatenateTokens(es, batch: b, total: total, dim: d)
        return EncoderInput(
            tokens: allX.gatherRows(pickTensor), embeddings: allE.gatherRows(pickTensor),
            paddingMask: Tensor(shape: [b, n], scalars: padding), modalityIDs: Tensor(shape: [b, n], scalars: mods))
    }

    /// Runs the encoder blocks and `encoder_norm` over `tokens + embeddings`: `[B, N, D]`.
    package func encode(_ input: EncoderInput) -> Tensor<Float> {
        var h = input.tokens + input.embeddings
        let mask = keyMask(input.paddingMask)
        for block in encoderBlocks { h = block(h, mask: mask) }
        return encoderNorm(h)
    }

    /// The decoder context: `decoder_proj_context(encoded) + embeddings` (spec/model.md 5.4).
    package func context(encoded: Tensor<Float>, input: EncoderInput) -> Tensor<Float> {
        decoderProjContext(encoded) + input.embeddings
    }

    // MARK: - Decoder (spec/model.md 5.5)

    /// Per-block cross-attention keys and values of a context; reuse them across the steps of
    /// an autoregressive decode.
    package func contextKeysValues(_ context: Tensor<Float>) -> [(k: Tensor<Float>, v: Tensor<Float>)] {
        decoderBlocks.map { $0.contextKeysValues(context) }
    }

    /// Runs the decoder blocks and `decoder_norm`.
    /// - Parameters:
    ///   - queries: `[B, M, D]`, already including their position + modality embeddings.
    ///   - context: `[B, N, D]`.
    ///   - contextPadding: `[B, N]`, true = blocked.
    ///   - selfMask: blocked query pairs (none for MaskGIT/ROAR, causal for sequences).
    /// - Returns: `[B, M, D]`.
    public func decode(queries: Tensor<Float>, context: Tensor<Float>, contextPadding: Tensor<Bool>, selfMask: AttentionMask = .none) -> Tensor<Float> {
        let kv = contextKeysValues(context)
        return decode(queries: queries, contextKV: kv, contextPadding: contextPadding, selfMask: selfMask)
    }

    package func decode(queries: Tensor<Float>, contextKV: [(k: Tensor<Float>, v: Tensor<Float>)], contextPadding: Tensor<Bool>, selfMask: AttentionMask) -> Tensor<Float> {
        var y = queries
        let crossMask = keyMask(contextPadding)
        for (block, kv) in zip(decoderBlocks, contextKV) { y = block(y, contextKV: kv, selfMask: selfMask, crossMask: crossMask) }
        return decoderNorm(y)
    }

    /// Raw logits of `modality` for decoder outputs `[..., D]` → `[..., V]` (no bias).
    /// - Throws: `.notInModel` when the model cannot output the modality.
    public func logits(_ modality: Modality, hidden: Tensor<Float>) throws(ModelError) -> Tensor<Float> {
        try decoderEmbedding(modality).logitsHead(hidden)
    }

    func decoderEmbedding(_ modality: Modality) throws(ModelError) -> DecoderEmbedding {
        guard let embedding = decoderEmbeddings[modality] else {
            throw .notInModel(modality: modality.rawValue, role: "decoder", available: configuration.domainsOut.map(\.rawValue))
        }
        return embedding
    }

    /// A key-padding mask, or none when nothing is padded (same result, less work).
    func keyMask(_ padding: Tensor<Bool>) -> AttentionMask {
        padding.withUnsafeBufferPointer { $0.contains(true) } ? .keyPadding(padding) : .none
    }

    // MARK: - MaskGIT / ROAR pass (spec/model.md 5.7 (a))

    /// One encoder + parallel decoder pass over an image-like target: every position with
    /// `targetMask == false` (or the given `positions`) is queried with the mask token;
    /// self-attention among queries is unmasked.
    /// - Parameters:
    ///   - states: the input dictionary, in order (conditions and the target itself).
    ///   - target: the modality to decode; must be an image-like output of the model.
    ///   - positions: per batch row, the positions to query (ROAR); default: all targets.
    /// - Throws: `ModelError` for states or targets that do not fit the model.
    public func maskedTargetPass(_ states: ModalityDictionary, target: Modality, positions: [[Int]]? = nil) throws(ModelError) -> MaskedTargetPass {
        let embedding = try decoderEmbedding(target)
        guard embedding.info.kind == .imageTokens else {
            throw .invalidState(modality: target.rawValue, field: "target", expected: "an image-like target for a MaskGIT/ROAR pass", actual: "\(embedding.info.kind)")
        }
        guard let state = states[target] else {
            throw .invalidState(modality: target.rawValue, field: "state", expected: "an entry for the target", actual: "none")
        }
        let b = state.batchSize, length = state.length
        let selected: [[Int]]
        if let positions {
            guard positions.count == b else { throw .batchMismatch(modality: target.rawValue, expected: b, actual: positions.count) }
            for row in positions { for p in row where p < 0 || p >= length { throw .positionOutOfRange(modality: target.rawValue, position: p, length: length) } }
            selected = positions
        } else {
            let mask = state.targetMask.scalars
            selected = (0..<b).map { row in (0..<length).filter { !mask[row * length + $0] } }
        }
        let counts = selected.map(\.count)
        guard Set(counts).count <= 1 else { throw .unequalTargetCounts(modality: target.rawValue, counts: counts) }
        let m = counts.first ?? 0
        let d = configuration.dim
        let positionTensor = Tensor(shape: [b, m], scalars: selected.flatMap { $0.map(Int32.init) })
        let input = try encoderInput(states)
        let encoded = encode(input)
        let context = context(encoded: encoded, input: input)
        let decoderTokens = Tensor.concatenate(Array(repeating: maskToken, count: b * m)).reshaped([b, m, d])
        let decoderEmb = embedding.embedding(at: positionTensor)
        let output = decode(queries: decoderTokens + decoderEmb, context: context, contextPadding: input.paddingMask)
        let logits = embedding.logitsHead(output)
        return MaskedTargetPass(
            encoder: input, encoderOutput: encoded, context: context, decoderTokens: decoderTokens,
            decoderEmbeddings: decoderEmb, positions: positionTensor, decoderOutput: output, logits: logits)
    }
}

/// Concatenates per-modality `[B, L_k, D]` tensors along the token axis as `[B·total, D]` rows.
func concatenateTokens(_ parts: [Tensor<Float>], batch: Int, total: Int, dim: Int) -> Tensor<Float> {
    Tensor(shape: [batch * total, dim]) { out in
        var offset = 0
        for part in parts {
            let length = part.shape[1]
            part.withUnsafeBufferPointer { src in
                for b in 0..<batch {
                    (out.baseAddress! + (b * total + offset) * dim).initialize(from: src.baseAddress! + b * length * dim, count: length * dim)
                }
            }
            offset += length
        }
    }
}
