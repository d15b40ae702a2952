import FourMModels
import FourMSampling
import FourMTensor
import FourMTokenizers

// MARK: - User values to conditions (spec/generation.md 1.2, 1.3)

extension Pipeline {
    /// Turns user values into the modality states of a full condition (spec/generation.md 1.3).
    /// - Throws: `.unknownModality`, `.invalidInput`, `.image`, `.imageTokenizer`.
    public func condition(_ modality: Modality, _ input: PipelineInput) throws(FourMError) -> ModalityState {
        guard model.inputModalities.contains(modality), let info = model.configuration.info(modality) else {
            throw .unknownModality(name: modality.rawValue, role: "input", available: model.inputModalities.map(\.rawValue))
        }
        switch (info.kind, input) {
        case (.pixels, .image(let image)):
            let side = info.gridSize * info.patchSize
            do { return ModalityState(pixels: try image.normalizedTensor(size: side), patchSize: info.patchSize) } catch { throw .image(error) }
        case (.pixels, .tensor(let pixels)):
            guard pixels.shape == [1, info.channels, info.gridSize * info.patchSize, info.gridSize * info.patchSize] else {
                throw .invalidInput(modality: modality.rawValue, expected: "pixels [1, \(info.channels), \(info.gridSize * info.patchSize), \(info.gridSize * info.patchSize)]", actual: "\(pixels.shape)")
            }
            return ModalityState(pixels: pixels, patchSize: info.patchSize)
        case (.sequence, .text(let text)):
            guard let tokenizer = textTokenizer else { throw .missingTokenizers(bundle: bundleName, modalities: [modality.rawValue]) }
            let ids = tokenizer.encode(text)
            guard !ids.isEmpty else { throw .invalidInput(modality: modality.rawValue, expected: "non-empty text", actual: "empty text") }
            guard ids.count < ModalityInfo.sequencePositionRows else {
                throw .invalidInput(modality: modality.rawValue, expected: "at most \(ModalityInfo.sequencePositionRows - 1) tokens", actual: "\(ids.count) tokens")
            }
            if textConditioning == .customText, model.configuration.modalities.spec(for: modality)?.customTextCondition == true {
                return .textCondition(ids, targetLength: DemoSetup.customTextTargetLength)
            }
            return .sequenceCondition([ids])
        case (.sequence, .boxes(let boxes)):
            let text: String
            do { text = try DetectionCodec().encode(boxes) } catch { throw .invalidInput(modality: modality.rawValue, expected: "encodable boxes", actual: error.description) }
            return try condition(modality, .text(text))
        case (.sequence, .tokens(let ids)):
            guard !ids.isEmpty, ids.allSatisfy({ $0 >= 0 && Int($0) < info.vocabularySize }) else {
                throw .invalidInput(modality: modality.rawValue, expected: "non-empty ids in 0..<\(info.vocabularySize)", actual: "\(ids.count) ids")
            }
            return .sequenceCondition([ids])
        case (.imageTokens, .tokens(let ids)):
            guard ids.count == info.tokenCount, ids.allSatisfy({ $0 >= 0 && Int($0) < info.vocabularySize }) else {
                throw .invalidInput(modality: modality.rawValue, expected: "\(info.tokenCount) ids in 0..<\(info.vocabularySize)", actual: "\(ids.count) ids")
            }
            return ModalityState(tokens: Tensor(shape: [1, ids.count], scalars: ids))
        case (.imageTokens, .tensor(let values)):
            return ModalityState(tokens: try tokenize(modality, values: values))
        case (.imageTokens, .image(let image)):
            return ModalityState(tokens: try tokenize(modality, values: try tokenizerValues(modality, image: image)))
        case (.imageTokens, .labels(let labels)):
            return ModalityState(tokens: try tokenize(modality, labels: labels))
        default:
            throw .invalidInput(modality: modality.rawValue, expected: "a value for a \(info.kind) modality", actual: "\(input)")
        }
    }

    /// Generates `preset`'s targets from `inputs`.

    /// Stacks one-row states; shorter rows (sequences) are padded with `[PAD]`, hidden from the
    /// encoder and not targets.
    static func stack(_ rows: [ModalityState]) -> ModalityState {
        if rows.count == 1 { return rows[0] }
        let length = rows.map(\.length).max() ?? 0
        let padded = rows.map { row -> ModalityState in
            guard row.length < length, let tokens = row.tokens else { return row }
            let extra = length - row.length
            return ModalityState(
                content: .tokens(Tensor(shape: [1, length], scalars: tokens.scalars + [Int32](repeating: SpecialTokens.pad, count: extra))),
                inputMask: Tensor(shape: [1, length], scalars: row.inputMask.scalars + [Bool](repeating: true, count: extra)),
                targetMask: Tensor(shape: [1, length], scalars: row.targetMask.scalars + [Bool](repeating: true, count: extra)),
                decoderAttentionMask: Tensor(zeros: [1, length]))
        }
        var out = ModalityState.concatenated(padded)
        out.decoderAttentionMask = Tensor(zeros: out.inputMask.shape)
        return out
    }
}
