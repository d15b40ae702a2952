import FourMDiffusion
import FourMTensor
import FourMTokenizers

/// Opens an image-like tokenizer checkpoint once and returns the implementation its metadata
/// names (spec/tokenizers.md 1.3, 5.5): a ``DiVAE`` when `VQConfiguration.isDiffusion` (a
/// `unet_*` / `uvit_*` `dec_type` or a `beta_schedule` key), else a ``VQImageTokenizer`` (ViT
/// or bottleneck MLP). This is the one place FourM decides "diffusion or not".
///
/// ```swift
/// let tokenizer = try ImageTokenizerFactory.load(path: url.path, presets: bundle.tokenizerPresets, diffusionPresets: bundle.diffusionPresets)
/// print(tokenizer.kind, tokenizer.vocabularySize)
/// ```
public enum ImageTokenizerFactory {
    /// Opens `path` (header read once) and loads the tokenizer in it.
    /// - Parameters:
    ///   - path: the `.safetensors` checkpoint.
    ///   - presets: ViT presets its `enc_type` / `dec_type` may name beyond the released ones.
    ///   - diffusionPresets: diffusion decoder presets its `dec_type` may name beyond the
    ///     released ones (a bundle's `diffusionPresets`).
    ///   - precision: the arithmetic of a diffusion decoder's convolutions and linear layers
    ///     (default fp32); VQ tokenizers and DiVAE encoders stay fp32.
    /// - Returns: the loaded tokenizer.
    /// - Throws: `.weights` for an unreadable file, then the errors of ``load(file:presets:diffusionPresets:precision:)``.
    public static func load(
        path: String, presets: [String: VQViTPreset] = [:], diffusionPresets: [String: DecoderPreset] = [:],
        precision: ComputePrecision = .fp32
    ) throws(FourMError) -> any ImageTokenizer {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .weights(error) }
        return try load(file: file, presets: presets, diffusionPresets: diffusionPresets, precision: precision)
    }

    /// Loads the tokenizer of an opened checkpoint (its header is not read again).
    /// - Parameters:
    ///   - file: the opened checkpoint.
    ///   - presets: ViT presets its `enc_type` / `dec_type` may name beyond the released ones.
    ///   - diffusionPresets: diffusion decoder presets its `dec_type` may name beyond the
    ///     released ones (a bundle's `diffusionPresets`).
    ///   - precision: the arithmetic of a diffusion decoder (default fp32); VQ tokenizers and
    ///     DiVAE encoders stay fp32.
    /// - Returns: a ``DiVAE`` or a ``VQImageTokenizer``.
    /// - Throws: `.imageTokenizer` for a configuration or weights the VQ loader rejects,
    ///   `.diffusion` for a DiVAE that does not load.
    public static func load(
        file: SafeTensorsFile, presets: [String: VQViTPreset] = [:], diffusionPresets: [String: DecoderPreset] = [:],
        precision: ComputePrecision = .fp32
    ) throws(FourMError) -> any ImageTokenizer {
        let configuration: VQConfiguration
        do { configuration = try VQConfiguration(metadata: file.metadata, file: file.path) } catch { throw .imageTokenizer(error) }
        if configuration.isDiffusion {
            do { return try DiVAE(file: file, presets: presets, diffusionPresets: diffusionPresets, precision: precision) } catch {
                throw .diffusion(error)
            }
        }
        do { return try VQImageTokenizer(file: file, presets: presets) } catch { throw .imageTokenizer(error) }
    }
}
