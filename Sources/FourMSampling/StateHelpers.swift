import FourMModels
import FourMTensor

/// Special token ids of the 4M WordPiece vocabulary (spec/generation.md 0.2).
public enum SpecialTokens {
    /// `[PAD]`.
    public static let pad: Int32 = 0
    /// `[EOS]`.
    public static let eos: Int32 = 3
    /// `[S_0]`; `[S_k]` = 4 + k.
    public static let sentinelBase: Int32 = 4
    /// `[S_1]`.
    public static let s1: Int32 = 5
    /// `[S_2]`.
    public static let s2: Int32 = 6
    /// Number of sentinels (`[S_0]` … `[S_199]`).
    public static let sentinelCount: Int32 = 200

    /// True for `[S_0]` … `[S_199]`.
    public static func isSentinel(_ id: Int32) -> Bool { id >= sentinelBase && id < sentinelBase + sentinelCount }

    /// The id the sampler writes for a special token's text (`[PAD]`, `[EOS]`, `[S_k]`), nil for
    /// any other text. These literals hold for the reference vocabulary only; a loaded tokenizer
    /// is checked against them (`ModalitySpec.specialTokenIds(in:)` in FourM).
    public static func id(of text: String) -> Int32? {
        switch text {
        case "[PAD]": return pad
        case "[EOS]": return eos
        default:
            guard text.hasPrefix("[S_"), text.hasSuffix("]"), let k = Int32(text.dropFirst(3).dropLast()), k >= 0, k < sentinelCount else { return nil }
            return sentinelBase + k
        }
    }
}

extension ModalityState {
    /// An image-like target still to generate: `tensor` zeros `[B, n]`, nothing input,
    /// everything a target (spec/generation.md 1.2 `initEmptyTarget` for img).
    public static func emptyImageTarget(batch: Int, tokens: Int) -> ModalityState {
        ModalityState(content: .tokens(Tensor(zeros: [batch, tokens])), inputMask: Tensor(repeating: true, shape: [batch, tokens]),
                      targetMask: Tensor(repeating: false, shape: [batch, tokens]))
    }

    /// A sequence target still to generate: `[S_1, S_1, 0, …, 0, S_2]` of length
    /// `max(tokens, 2)`, the first `[S_1]` an encoder input, the rest targets (spec 1.2).
    public static func emptySequenceTarget(batch: Int, tokens: Int) -> ModalityState {
        let length = max(tokens, 2)
        var state = ModalityState(content: .tokens(Tensor(zeros: [batch, length])), inputMask: Tensor(repeating: true, shape: [batch, length]),
                                  targetMask: Tensor(repeating: false, shape: [batch, length]))
        state.emptySequence()
        return state
    }

    /// A full sequence condition from token ids (`initFullInput`, spec 1.2): everything up to
    /// and including the first `[EOS]` is input. Unlike the reference, the `[EOS]` column is
    /// found per row, and a row without `[EOS]` gets one appended instead of overwriting its
    /// first token.
    public static func sequenceCondition(_ rows: [[Int32]]) -> ModalityState {
        var prepared = rows.map { row -> [Int32] in
            if let e = row.firstIndex(of: SpecialTokens.eos) { return Array(row[...e]) }
            return row + [SpecialTokens.eos]
        }
        let length = prepared.map(\.count).max() ?? 1
        var mask: [Bool] = []
        for i in prepared.indices {
            let content = prepared[i].count
            prepared[i] += [Int32](repeating: SpecialTokens.pad, count: length - content)
            mask += (0..<length).map { $0 >= content }
        }
        let batch = prepared.count
        return ModalityState(content: .tokens(Tensor(shape: [batch, length], scalars: prepared.flatMap { $0 })),
                             inputMask: Tensor(shape: [batch, length], scalars: mask), targetMask: Tensor(repeating: true, shape: [batch, length]),
                             decoderAttentionMask: Tensor(zeros: [batch, length]))
    }

    /// A text condition with a span to fill (`customText`, spec 1.2): `ids ++ [S_1] [PAD]… [EOS]`
    /// (`targetLength` slots), the text an encoder input, the tail a target.
    public static func textCondition(_ ids: [Int32], targetLength: Int = 50) -> ModalityState {
        let tail = [SpecialTokens.s1] + [Int32](repeating: SpecialTokens.pad, count: max(targetLength - 2, 0)) + [SpecialTokens.eos]
        let all = ids + tail
        let length = all.count
        return ModalityState(content: .tokens(Tensor(shape: [1, length], scalars: all)),
                             inputMask: Tensor(shape: [1, length], scalars: (0..<length).map { $0 >= ids.count }),
                             targetMask: Tensor(shape: [1, length], scalars: (0..<length).map { $0 < ids.count }),
                             decoderAttentionMask: Tensor(zeros: [1, length]))
    }

    /// Drops an image-like (or pixel) modality from the encoder: nothing input, everything a
    /// target (`emptyImage`, spec 1.2; used for the unconditional pass).
    public mutating func emptyImage() {
        inputMask = Tensor(repeating: true, shape: inputMask.shape)
        targetMask = Tensor(repeating: false, shape: targetMask.shape)
    }

    /// Resets a sequence to `[S_1, S_1, 0, …, 0, S_2]` (`emptySequence`, spec 1.2).
    public mutating func emptySequence() {
        let (batch, length) = (batchSize, self.length)
        var ids = [Int32](repeating: 0, count: batch * length)
        var input = [Bool](repeating: true, count: batch * length)
        for b in 0..<batch {
            ids[b * length] = SpecialTokens.s1
            if length > 1 { ids[b * length + 1] = SpecialTokens.s1 }
            if length > 1 { ids[b * length + length - 1] = SpecialTokens.s2 }
            input[b * length] = false
        }
        content = .tokens(Tensor(shape: [batch, length], scalars: ids))
        inputMask = Tensor(shape: [batch, length], scalars: input)
        targetMask = Tensor(shape: [batch, length], scalars: input.map { !$0 })
        decoderAttentionMask = Tensor(shape: [batch, length], scalars: input.enumerated().map { $0.offset % length == 0 ? 0 : 1 })
    }

    /// Resets a T5-embedding modality to its unconditional form: zeros, one input vector
    /// (`emptySeqEmb`, spec 1.2).
    public mutating func emptyEmbeddingSequence() {
        let (batch, length) = (batchSize, self.length)
        if case .embeddings(let e) = content { content = .embeddings(Tensor(zeros: e.shape)) }
        inputMask = Tensor(shape: [batch, length], scalars: (0..<(batch * length)).map { $0 % length != 0 })
        targetMask = Tensor(repeating: true, shape: [batch, length])
        decoderAttentionMask = Tensor(zeros: [batch, length])
    }

    /// The state with every row repeated to `batch` rows (`expandToBatch`; rows of 1 only).
    public func expanded(toBatch batch: Int) -> ModalityState {
        func rep<T>(_ t: Tensor<T>) -> Tensor<T> { t.shape[0] == batch ? t : Tensor.concatenate(Array(repeating: t, count: batch)) }
        var out = self
        switch content {
        case .tokens(let t): out.content = .tokens(rep(t))
        case .pixels(let t): out.content = .pixels(rep(t))
        case .embeddings(let t): out.content = .embeddings(rep(t))
        }
        out.inputMask = rep(inputMask)
        out.targetMask = rep(targetMask)
        out.decoderAttentionMask = decoderAttentionMask.map(rep)
        return out
    }
}

/// Splits a predicted sequence at sentinels: tokens after `[S_k]` go to key k; tokens before
/// the first sentinel are dropped (spec/generation.md 3.3).
package func splitBySentinel(_ sequence: [Int32]) -> [Int32: [Int32]] {
    var spans: [Int32: [Int32]] = [:]
    var current: Int32? = nil
    for id in sequence {
        if SpecialTokens.isSentinel(id) {
            current = id
            if spans[id] == nil { spans[id] = [] }
        } else if let current {
            spans[current, default: []].append(id)
        }
    }
    return spans
}

/// Replaces each sentinel of `input` by the span the prediction gave it (empty if none)
/// (`merge_span_masking`).
package func mergeSpans(input: [Int32], prediction: [Int32]) -> [Int32] {
    let spans = splitBySentinel(prediction)
    return input.flatMap { SpecialTokens.isSentinel($0) ? spans[$0] ?? [] : [$0] }
}
