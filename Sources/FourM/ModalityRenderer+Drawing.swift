import FourMImage
import FourMModels
import FourMTensor
import FourMTokenizers

extension ModalityRenderer {
    /// Whether decoded tokenizer values of this renderer make a picture (`picture(of:semanticClassNames:)`).
    public var drawsDecodedValues: Bool {
        switch self {
        case .rgb, .depth, .normals, .edges, .semanticSegmentation: return true
        default: return false
        }
    }

    /// The picture of one row of decoded tokenizer values `[1, C, H, W]`, drawn as the reference
    /// shows it (spec/tokenizers.md 9): RGB, a depth colormap, surface normals, edges or a
    /// segmentation palette (the COCO palette when `semanticClassNames` are COCO's, else one
    /// well-separated colour per class). Nil for renderers without a picture of decoded values
    /// (features, embeddings, sequences).
    /// - Throws: `ImageError` for values of the wrong shape.
    public func picture(of values: Tensor<Float>, semanticClassNames: [String] = COCOSemanticClasses.names) throws(ImageError) -> Image? {
        switch self {
        case .rgb: return try Visualization.rgb(values)
        case .normals: return try Visualization.surfaceNormals(values)
        case .depth: return try Visualization.depth(values)
        case .edges: return try Visualization.edges(values)
        case .semanticSegmentation:
            if semanticClassNames == COCOSemanticClasses.names { return try Visualization.semanticSegmentation(logits: values) }
            // One colour per class the tokenizer predicts, named or not.
            let classes = values.shape.count >= 3 ? values.shape[values.shape.count - 3] : 0
            let colors = (0..<max(classes, semanticClassNames.count)).map { PipelineResult.distinctColors[$0 % PipelineResult.distinctColors.count] }
            return try Visualization.semanticSegmentation(labels: try Visualization.semanticSegmentationLabels(logits: values), colors: colors)
        default: return nil
        }
    }
}
