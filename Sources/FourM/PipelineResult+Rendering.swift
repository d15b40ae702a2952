import FourMModels
import FourMTensor
import FourMTokenizers

// MARK: - Pictures of image-like outputs (spec/tokenizers.md 9)

extension PipelineResult {
    /// A picture of an image-like output, decoded by its tokenizer and rendered as the
    /// reference shows it (spec/tokenizers.md 9): RGB, surface normals, a depth colormap,
    /// edges, or a segmentation palette. Nil for modalities without a picture (features,
    /// sequences) or not in the result.
    /// - Throws: `.rowOutOfRange`, `.unknownModality`, `.missingTokenizers`,
    ///   `.imageTokenizer`, `.diffusion`, `.image`.
    public func image(_ modality: Modality, row: Int = 0) throws(FourMError) -> Image? {
        // The model's modality table says how a domain is drawn.
        guard let renderer = pipeline.model.configuration.modalities.spec(for: modality)?.renderer, renderer.drawsDecodedValues else {
            _ = try state(modality, row: row)
            return nil
        }
        guard let values = try decodedRow(modality, row: row) else { return nil }
        do { return try renderer.picture(of: values, semanticClassNames: pipeline.semanticClassNames) } catch { throw .image(error) }
    }

    /// Colours for class lists other than COCO's: black background, then well-separated hues
    /// (red, green, blue, yellow, …), repeating after 12.
    static let distinctColors: [Image.Color] = [
        (0, 0, 0), (230, 25, 75), (60, 180, 75), (0, 130, 200), (255, 225, 25), (240, 50, 230),
        (70, 240, 240), (245, 130, 48), (145, 30, 180), (210, 245, 60), (250, 190, 212), (128, 128, 128),
    ].map { Image.Color(red: $0.0, green: $0.1, blue: $0.2) }
}
