import FourMTensor
import FourMTokenizers

/// A value a user hands to the ``Pipeline`` for one modality.
public enum PipelineInput: Sendable {
    /// A photo for `rgb@N` (resized, centre-cropped and ImageNet-normalised), or a picture for
    /// `tok_rgb`, `tok_normal`, `tok_depth` or an edge modality, encoded through its tokenizer
    /// (VQ-VAE or DiVAE) with the reference's preprocessing (``Pipeline/tokenizerValues(_:image:)``).
    case image(Image)
    /// Text for a sequence modality. `caption` and `det` are conditioned as the reference demo
    /// does (``Pipeline/textConditioning``, default `custom_text`); other sequences get `[EOS]`.
    case text(String)
    /// Ready token ids of one row (image tokens row-major, or sequence ids).
    case tokens([Int32])
    /// Precomputed pixels or feature maps `[1, C, H, W]` for a modality's input (`rgb@N`
    /// pixels already normalised) or its tokenizer.
    case tensor(Tensor<Float>)
    /// Bounding boxes for `det` (serialised as `v0=… v1=… v2=… v3=… class`, spec/tokenizers.md 8.4).
    case boxes([DetectedBox])
    /// A semantic label map `[H, W]` of the segmentation tokenizer's class ids (0 = void).
    case labels(Tensor<Int32>)
}
