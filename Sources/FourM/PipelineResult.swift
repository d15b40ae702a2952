import Foundation
import FourMModels
import FourMSampling
import FourMTensor
import FourMTokenizers

/// What a ``Pipeline`` run produced: the final modality dictionary plus decoders for it.
///
/// Each image-like modality is decoded once, on first use, and kept: ``decodedValues(_:)``,
/// ``image(_:row:)``, ``segmentation(_:row:)`` and the other accessors share that decoding,
/// and may be called from several tasks at once. Diffusion decoders start from noise seeded
/// by ``diffusionSeed(for:)``, derived from the run's ``seed``, so one seed gives one picture.
///
/// Accessors return nil for a modality the model knows but the result does not hold, and
/// throw `.unknownModality` for one the model does not know and `.rowOutOfRange` for a row
/// outside the batch.
public struct PipelineResult: Sendable {
    /// Every modality after generation (conditions and targets).
    public let dictionary: ModalityDictionary
    /// What each step did.
    public let steps: [StepReport]
    /// The seed of the run: the caller's, or the one drawn for it when the caller gave none.
    public let seed: UInt64
    let pipeline: Pipeline
    let cache = DecodedValuesCache()

    init(dictionary: ModalityDictionary, steps: [StepReport], pipeline: Pipeline, seed: UInt64) {
        self.dictionary = dictionary
        self.steps = steps
        self.pipeline = pipeline
        self.seed = seed
    }

    /// The token ids of a modality `[B, L]`: for sequences only the content positions of row 0
    /// onward (padding removed per row in ``text(_:row:)``).
    public func tokens(_ modality: Modality) -> Tensor<Int32>? { dictionary[modality]?.tokens }

    /// The seed of a diffusion decoder's starting noise for `modality`: SplitMix64 of the run's
    /// ``seed`` XOR the 64-bit FNV-1a hash of the modality's raw value (`tok_rgb@224`). Stable
    /// across processes and platforms, so the same seed decodes the same picture, a different
    /// seed a different one, and two modalities of one run draw different noise.
    /// - Parameter modality: the decoded modality.
    /// - Returns: the seed ``Pipeline/decode(_:tokens:seed:)`` is given.
    public func diffusionSeed(for modality: Modality) -> UInt64 {
        Self.diffusionSeed(runSeed: seed, modality: modality)
    }

    static func diffusionSeed(runSeed: UInt64, modality: Modality) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in modality.rawValue.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        // SplitMix64 finaliser: spreads neighbouring run seeds over the whole range.
        var z = (runSeed ^ hash) &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// The state of `modality` after checking `row` against its batch.
    /// - Returns: nil when the model knows the modality but the result does not hold it.
    /// - Throws: `.unknownModality` for a modality the model does not know, `.rowOutOfRange`.
    func state(_ modality: Modality, row: Int) throws(FourMError) -> ModalityState? {
        guard let state = dictionary[modality] else {
            guard pipeline.model.configuration.info(modality) != nil else {
                let known = pipeline.model.inputModalities + pipeline.model.outputModalities
                throw .unknownModality(name: modality.rawValue, role: "result", available: Array(Set(known.map(\.rawValue))).sorted())
            }
            return nil
        }
        guard row >= 0, row < state.batchSize else { throw .rowOutOfRange(modality: modality.rawValue, row: row, batchSize: state.batchSize) }
        return state
    }

    /// The text of a sequence modality for one batch row (special tokens kept, as 4M's
    /// `decode_text` does; `[PAD]` and `[EOS]` tails removed).
    /// - Throws: `.rowOutOfRange`, `.unknownModality`, `.missingTokenizers` when there is no
    ///   text tokenizer, `.tokenizer` when an id is out of range.
    public func text(_ modality: Modality, row: Int = 0) throws(FourMError) -> String? {
        guard let state = try state(modality, row: row), let tokens = state.tokens else { return nil }
        guard let tokenizer = pipeline.textTokenizer else { throw .missingTokenizers(bundle: pipeline.bundleName, modalities: [modality.rawValue]) }
        let length = state.length
        let ids = (0..<length).filter { !state.inputMask[row, $0] }.map { tokens[row, $0] }.prefix { $0 != SpecialTokens.eos }
        do { return try tokenizer.decode(Array(ids), skipSpecialTokens: false) } catch { throw .tokenizer(error) }
    }

    /// The decoded values of an image-like modality through its tokenizer: `[B, C, H, W]`
    /// (RGB/normals in [-1, 1], depth standardised, semseg class logits, feature maps, or
    /// `[B, C, 1, 1]` global embeddings). Decoded once and kept (diffusion noise seeded by
    /// ``diffusionSeed(for:)``).
    /// - Throws: `.unknownModality`, `.missingTokenizers`, `.imageTokenizer` / `.diffusion`
    ///   for ids the tokenizer rejects.
    public func decodedValues(_ modality: Modality) throws(FourMError) -> Tensor<Float>? {
        guard try state(modality, row: 0) != nil, let tokens = tokens(modality) else { return nil }
        return try cache.value(for: modality) { () throws(FourMError) -> Tensor<Float> in
            try pipeline.decode(modality, tokens: tokens, seed: diffusionSeed(for: modality))
        }
    }

    /// The decoded values of one row, `[1, C, H, W]`, after checking the row.
    func decodedRow(_ modality: Modality, row: Int) throws(FourMError) -> Tensor<Float>? {
        guard try state(modality, row: row) != nil, let values = try decodedValues(modality) else { return nil }
        guard row < values.shape[0] else { throw .rowOutOfRange(modality: modality.rawValue, row: row, batchSize: values.shape[0]) }
        return values.slice(row..<(row + 1))
    }
}

/// The decoded values of one ``PipelineResult``, by modality, each computed once.
///
/// `@unchecked Sendable`: `slots` is read and written only while `lock` is held, and each
/// slot's value only while that slot's lock is held, so concurrent accessors are safe; the
/// per-slot lock makes a second caller of the same modality wait for the first decoding
/// instead of repeating it, while other modalities decode in parallel.
final class DecodedValuesCache: @unchecked Sendable {
    private final class Slot: @unchecked Sendable {
        let lock = NSLock()
        var value: Tensor<Float>?
    }

    private let lock = NSLock()
    private var slots: [Modality: Slot] = [:]

    /// The kept value of `modality`, or `decode`'s, kept when it succeeds (an error is not
    /// kept: the next call tries again).
    func value(for modality: Modality, decode: () throws(FourMError) -> Tensor<Float>) throws(FourMError) -> Tensor<Float> {
        let slot = lock.withLock { () -> Slot in
            if let slot = slots[modality] { return slot }
            let slot = Slot()
            slots[modality] = slot
            return slot
        }
        slot.lock.lock()
        defer { slot.lock.unlock() }
        if let value = slot.value { return value }
        let value = try decode()
        slot.value = value
        return value
    }
}

extension PipelineResult {
    /// The boxes of a `det` sequence (one batch row), parsed with ``DetectionCodec``; what
    /// could not be parsed is reported in `issues`, never dropped silently.
    /// - Throws: `.rowOutOfRange`, `.unknownModality`, `.missingTokenizers` without a text tokenizer.
    public func boxes(_ modality: Modality = .det, row: Int = 0) throws(FourMError) -> SequenceDecoding<[DetectedBox]>? {
        guard let state = try state(modality, row: row), let tokens = state.tokens else { return nil }
        guard let tokenizer = pipeline.textTokenizer else { throw .missingTokenizers(bundle: pipeline.bundleName, modalities: [modality.rawValue]) }
        let ids = (0..<state.length).filter { !state.inputMask[row, $0] }.map { tokens[row, $0] }
        return DetectionCodec().decode(ids: ids, using: tokenizer)
    }
}

extension PipelineResult {
    /// A semantic segmentation output as a class map `[H, W]` (argmax of the tokenizer's class
    /// logits) with the class name of every label present (``Pipeline/semanticClassNames``).
    /// - Parameters:
    ///   - modality: the semseg modality; nil picks the result's first modality drawn as a
    ///     segmentation in the model's table (`tok_semseg@N`).
    ///   - row: the batch row.
    /// - Throws: `.rowOutOfRange`, `.unknownModality`, `.missingTokenizers`, `.imageTokenizer`, `.image`.
    public func segmentation(_ modality: Modality? = nil, row: Int = 0) throws(FourMError) -> (labels: Tensor<Int32>, classNames: [Int32: String])? {
        let table = pipeline.model.configuration.modalities
        guard let modality = modality ?? dictionary.modalities.first(where: { table.spec(for: $0)?.renderer == .semanticSegmentation }) else { return nil }
        guard let values = try decodedRow(modality, row: row) else { return nil }
        let labels: Tensor<Int32>
        do {
            let map = try Visualization.semanticSegmentationLabels(logits: values)
            labels = map.reshaped(Array(map.shape.dropFirst()))
        } catch { throw .image(error) }
        var names: [Int32: String] = [:]
        let known = pipeline.semanticClassNames
        for label in Set(labels.scalars) where label >= 0 && Int(label) < known.count { names[label] = known[Int(label)] }
        return (labels, names)
    }

    /// A global embedding output (`tok_dinov2_global`, `tok_imagebind_global`) decoded to its
    /// feature vector.
    /// - Throws: `.rowOutOfRange`, `.unknownModality`, `.missingTokenizers`, `.imageTokenizer`.
    public func embedding(_ modality: Modality = .tokDINOv2Global, row: Int = 0) throws(FourMError) -> [Float]? {
        try decodedRow(modality, row: row)?.scalars
    }
}
