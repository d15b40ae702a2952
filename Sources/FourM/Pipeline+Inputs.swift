import FourMModels
import FourMTensor
import FourMTokenizers

// MARK: - Any image-like modality in (spec/tokenizers.md 6, 8.1, 8.2)

extension Pipeline {
    /// The values an image-like modality's tokenizer takes for a picture, with the reference's
    /// preprocessing (spec/tokenizers.md 8.1): centre-cropped to a square and resized to the
    /// tokenizer's side for the model's grid, then RGB and normals in [−1, 1] (mean = std =
    /// 0.5), edges as one channel in [−1, 1], depth as one channel robustly standardised (8.2).
    /// - Parameters:
    ///   - modality: a `tok_rgb`, `tok_normal`, `tok_depth`, `tok_canny_edge` or `tok_sam_edge` domain.
    ///   - image: the picture (8-bit; for 16-bit depth use ``DepthMap`` and `.tensor`).
    /// - Returns: `[1, C, side, side]`.
    /// - Throws: `.invalidInput` for modalities whose tokenizer does not take pictures (feature
    ///   maps need their teacher network; semseg takes `.labels`), `.image` for a bad picture.
    public func tokenizerValues(_ modality: Modality, image: Image) throws(FourMError) -> Tensor<Float> {
        guard let info = model.configuration.info(modality), info.kind == .imageTokens else {
            throw .invalidInput(modality: modality.rawValue, expected: "an image-token modality", actual: "a picture")
        }
        let patch = imageTokenizers[modality]?.patchSize ?? info.patchSize
        let side = info.gridSize * patch
        do {
            // How a picture becomes tokenizer values follows how the table draws the domain.
            let renderer = model.configuration.modalities.spec(for: modality)?.renderer
            switch renderer {
            case .rgb?, .normals?:
                return try image.normalizedTensor(size: side, normalization: .symmetric)
            case .edges?:
                let gray = try image.preprocessed(size: side).grayscale()
                return Tensor(shape: [1, 1, side, side], scalars: gray.pixels.map { Float($0) / 255 * 2 - 1 })
            case .depth?:
                let gray = try image.preprocessed(size: side).grayscale()
                return DepthMap.standardized(Tensor(shape: [1, 1, side, side], scalars: gray.pixels.map { Float($0) / 255 }))
            default:
                throw FourMError.invalidInput(modality: modality.rawValue,
                                              expected: renderer == .semanticSegmentation ? "a label map (.labels)" : "token ids or the tokenizer's feature map (.tensor): pictures need the teacher network",
                                              actual: "a picture")
            }
        } catch let error as FourMError { throw error } catch let error as ImageError { throw .image(error) } catch {
            throw .invalidInput(modality: modality.rawValue, expected: "a picture", actual: "\(error)")
        }
    }

    /// Token ids `[1, N]` of tokenizer values through the modality's tokenizer, whatever its
    /// kind (``ImageTokenizer/tokenize(_:)``: ViT VQ-VAE, MLP, or the DiVAE's ViT VQ encoder).
    /// - Throws: `.missingTokenizers`, `.imageTokenizer` / `.diffusion` for values of the wrong
    ///   shape, `.invalidInput` when they do not tokenize to the model's token count.
    public func tokenize(_ modality: Modality, values: Tensor<Float>) throws(FourMError) -> Tensor<Int32> {
        guard let info = model.configuration.info(modality) else { throw .unknownModality(name: modality.rawValue, role: "input", available: model.inputModalities.map(\.rawValue)) }
        guard let tokenizer = imageTokenizers[modality] else { throw .missingTokenizers(bundle: bundleName, modalities: [modality.rawValue]) }
        let ids = try tokenizer.tokenize(values)
        guard ids.count == info.tokenCount else {
            throw .invalidInput(modality: modality.rawValue, expected: "values that tokenize to \(info.tokenCount) tokens (\(info.gridSize)×\(info.gridSize))", actual: "\(ids.count) tokens from \(values.shape)")
        }
        return ids.reshaped([1, ids.count])
    }

    /// Token ids `[1, N]` of a semantic label map `[H, W]` or `[1, H, W]` (the tokenizer's class
    /// ids, 0 = void) through the segmentation tokenizer.
    /// - Throws: `.imageTokenizer(.labelOutOfRange)` for ids beyond the tokenizer's classes,
    ///   `.invalidInput` for a map that does not tokenize to the model's token count.
    public func tokenize(_ modality: Modality, labels: Tensor<Int32>) throws(FourMError) -> Tensor<Int32> {
        guard let info = model.configuration.info(modality) else { throw .unknownModality(name: modality.rawValue, role: "input", available: model.inputModalities.map(\.rawValue)) }
        guard let tokenizer = imageTokenizers[modality] else { throw .missingTokenizers(bundle: bundleName, modalities: [modality.rawValue]) }
        let map = labels.rank == 2 ? labels.reshaped([1] + labels.shape) : labels
        let ids = try tokenizer.tokenize(labels: map)
        guard ids.count == info.tokenCount else {
            throw .invalidInput(modality: modality.rawValue, expected: "a label map that tokenizes to \(info.tokenCount) tokens", actual: "\(ids.count) tokens from \(labels.shape)")
        }
        return ids.reshaped([1, ids.count])
    }
}
