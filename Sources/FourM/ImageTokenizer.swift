import FourMDiffusion
import FourMTensor
import FourMTokenizers

/// The architecture behind an ``ImageTokenizer`` (spec/tokenizers.md 2–6): what
/// ``ImageTokenizerFactory`` found in the checkpoint.
public enum ImageTokenizerKind: String, Sendable, Equatable, CaseIterable {
    /// A ViT VQ-VAE (`dec_type` a ViT preset): segmentation, feature maps, SAM instances.
    case vit
    /// A bottleneck-MLP + Memcodes tokenizer (`dec_type` `BottleneckMLP/…`): global
    /// embeddings, human poses.
    case mlp
    /// A DiVAE whose decoder is ml-4m's patched UNet (`unet_*`): RGB, depth, normals.
    case diffusionUNet
    /// A DiVAE whose decoder is ml-4m's UViT (`uvit_*`): the edge tokenizers.
    case diffusionUViT

    /// True for the DiVAE kinds, whose decoder runs denoising steps from seeded noise.
    public var decodesByDiffusion: Bool { self == .diffusionUNet || self == .diffusionUViT }
}

/// One image-like tokenizer of 4M, whatever its architecture (spec/tokenizers.md 2–6): values
/// or label maps to token ids, and ids back to values. ``ImageTokenizerFactory`` opens a
/// checkpoint and returns the right implementation (``VQImageTokenizer`` for ViT and MLP,
/// ``DiVAE`` for UNet and UViT diffusion decoders).
///
/// ```swift
/// let tokenizer = try ImageTokenizerFactory.load(path: "tok_depth.safetensors")
/// let ids = try tokenizer.tokenize(values)                       // [B, h, w]
/// let depth = try tokenizer.detokenize(ids, diffusionSteps: 25, seed: 7)
/// ```
public protocol ImageTokenizer: Sendable {
    /// The architecture (decides whether ``detokenize(_:diffusionSteps:seed:)`` uses its steps and seed).
    var kind: ImageTokenizerKind { get }
    /// The checkpoint's encoder-side configuration (image size, channels, patch size, codebook).
    var configuration: VQConfiguration { get }
    /// Token ids of values `[B, C, H, W]` in the tokenizer's input convention.
    /// - Returns: `[B, h, w]` (one codebook) or `[B, heads, h, w]` (Memcodes).
    /// - Throws: `.imageTokenizer` or `.diffusion` for values the encoder cannot take.
    func tokenize(_ values: Tensor<Float>) throws(FourMError) -> Tensor<Int32>
    /// Token ids of a semantic label map `[B, H, W]` (segmentation tokenizers only).
    /// - Throws: `.imageTokenizer(.labelOutOfRange)` for a class id beyond the tokenizer's,
    ///   `.imageTokenizer(.invalidInput)` for a tokenizer without labels or a bad shape.
    func tokenize(labels: Tensor<Int32>) throws(FourMError) -> Tensor<Int32>
    /// Values of token ids in the tokenizer's layout (`[B, h, w]`, or `[B, heads]` /
    /// `[B, heads, h, w]` for Memcodes).
    /// - Parameters:
    ///   - ids: the token ids.
    ///   - diffusionSteps: denoising steps of a diffusion decoder (ignored otherwise).
    ///   - seed: the seed of the diffusion decoder's starting noise (ignored otherwise).
    /// - Returns: `[B, C, H, W]` (RGB and normals in [-1, 1], depth standardised, segmentation
    ///   logits, feature maps, or `[B, C, 1, 1]` global embeddings).
    /// - Throws: `.imageTokenizer` / `.diffusion` for ids of the wrong layout or outside the codebook.
    func detokenize(_ ids: Tensor<Int32>, diffusionSteps: Int, seed: UInt64) throws(FourMError) -> Tensor<Float>
}

extension ImageTokenizer {
    /// Codes per codebook: ids lie in `0..<vocabularySize`.
    public var vocabularySize: Int { configuration.codebookSize }
    /// Ids per grid position (`num_codebooks`: Memcodes heads, 1 otherwise).
    public var codebookCount: Int { configuration.codebookCount }
    /// The side in pixels the encoder was built for (`image_size_enc`).
    public var imageSize: Int { configuration.imageSizeEncoder }
    /// The encoder's patch size in pixels.
    public var patchSize: Int { configuration.patchSize }
    /// True when ids decode by denoising steps from seeded noise (DiVAE).
    public var decodesByDiffusion: Bool { kind.decodesByDiffusion }
}

extension VQImageTokenizer: ImageTokenizer {
    /// ``ImageTokenizerKind/vit`` or ``ImageTokenizerKind/mlp``, by `dec_type` (the rule
    /// `VQImageTokenizer` loads by: a name containing `vit` is a ViT preset).
    public var kind: ImageTokenizerKind { configuration.decoderType.contains("vit") ? .vit : .mlp }

    /// `encode(_:)` with `FourMError`.
    public func tokenize(_ values: Tensor<Float>) throws(FourMError) -> Tensor<Int32> {
        do { return try encode(values) } catch { throw .imageTokenizer(error) }
    }

    /// `encode(labels:)` with `FourMError`.
    public func tokenize(labels: Tensor<Int32>) throws(FourMError) -> Tensor<Int32> {
        do { return try encode(labels: labels) } catch { throw .imageTokenizer(error) }
    }

    /// `decode(ids:)` with `FourMError`; `diffusionSteps` and `seed` are unused.
    public func detokenize(_ ids: Tensor<Int32>, diffusionSteps: Int, seed: UInt64) throws(FourMError) -> Tensor<Float> {
        do { return try decode(ids: ids) } catch { throw .imageTokenizer(error) }
    }
}

extension DiVAE: ImageTokenizer {
    /// ``ImageTokenizerKind/diffusionUNet`` or ``ImageTokenizerKind/diffusionUViT``, by the
    /// decoder the checkpoint loaded.
    public var kind: ImageTokenizerKind {
        switch decoder.preset {
        case .patchedUNet: return .diffusionUNet
        case .uvit: return .diffusionUViT
        }
    }

    /// `encode(_:)` (the DiVAE's ViT VQ encoder) with `FourMError`.
    public func tokenize(_ values: Tensor<Float>) throws(FourMError) -> Tensor<Int32> {
        do { return try encode(values) } catch { throw .diffusion(error) }
    }

    /// DiVAE tokenizers take pictures, not label maps.
    /// - Throws: `.imageTokenizer(.invalidInput)` always.
    public func tokenize(labels: Tensor<Int32>) throws(FourMError) -> Tensor<Int32> {
        throw .imageTokenizer(.invalidInput(argument: "labels", expected: "values [B, \(configuration.channels), H, W] (a diffusion tokenizer has no classes)", actual: "a label map \(labels.shape)"))
    }

    /// `decode(ids:steps:noise:rng:progress:isCancelled:)` from noise drawn with
    /// `SeededGenerator(seed: seed)`, with `FourMError`.
    public func detokenize(_ ids: Tensor<Int32>, diffusionSteps: Int, seed: UInt64) throws(FourMError) -> Tensor<Float> {
        var rng = SeededGenerator(seed: seed)
        do { return try decode(ids: ids, steps: diffusionSteps, rng: &rng) } catch { throw .diffusion(error) }
    }
}
