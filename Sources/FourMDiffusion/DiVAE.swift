import FourMTensor
import FourMTokenizers

/// Errors of a ``DiVAE`` tokenizer: its ViT encoder and quantizer, or its diffusion decoder.
public enum DiVAEError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The encoder side (config, weights, input shapes, ids).
    case encoder(VQTokenizerError)
    /// The diffusion decoder side (config, weights, condition shape, steps, cancellation).
    case decoder(DiffusionError)

    /// One line, from the wrapped error.
    public var description: String {
        switch self {
        case .encoder(let e): return e.description
        case .decoder(let e): return e.description
        }
    }
}

/// A released DiVAE tokenizer (RGB, depth, normals, edges; spec/tokenizers.md 5, 6.1–6.4): the
/// ViT encoder and lucid quantizer turn values into token ids, and the diffusion decoder turns
/// ids back into values, conditioned on their codebook vectors.
///
/// ```swift
/// let depth = try DiVAE(path: "4M_tokenizers_depth_8k_224-448/model.safetensors")
/// var rng = SeededGenerator(seed: 0)
/// let values = try depth.decode(ids: tokens, steps: 25, rng: &rng)   // [B, 1, 224, 224]
/// ```
public struct DiVAE: Sendable {
    /// The diffusion decoder.
    public let decoder: DiVAEDecoder
    /// The encoder configuration (image size, channels, codebook).
    public let configuration: VQConfiguration
    let encoder: VQEncoderStack

    /// Loads every tensor of a DiVAE checkpoint strictly (config from the header).
    /// - Parameters:
    ///   - path: the `model.safetensors` of the tokenizer.
    ///   - presets: ViT presets the `enc_type` may name beyond the released ones.
    ///   - diffusionPresets: decoder presets the `dec_type` may name beyond the released ones.
    ///   - precision: the arithmetic of the diffusion decoder's convolutions and linear layers
    ///     (default fp32, the parity path); the encoder always runs in fp32.
    /// - Throws: `.encoder` / `.decoder` naming the file, key, expected and actual values.
    public init(
        path: String, presets: [String: VQViTPreset] = [:], diffusionPresets: [String: DecoderPreset] = [:], precision: ComputePrecision = .fp32
    ) throws(DiVAEError) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .decoder(.weights(error)) }
        try self.init(file: file, presets: presets, diffusionPresets: diffusionPresets, precision: precision)
    }

    /// Loads a DiVAE from an already opened checkpoint (the header is not read again).
    /// - Parameters:
    ///   - file: the opened `model.safetensors` of the tokenizer.
    ///   - presets: ViT presets the `enc_type` may name beyond the released ones.
    ///   - diffusionPresets: decoder presets the `dec_type` may name beyond the released ones.
    ///   - precision: the arithmetic of the diffusion decoder (default fp32); the encoder
    ///     always runs in fp32.
    /// - Throws: as ``init(path:presets:diffusionPresets:precision:)``.
    public init(
        file: SafeTensorsFile, presets: [String: VQViTPreset] = [:], diffusionPresets: [String: DecoderPreset] = [:],
        precision: ComputePrecision = .fp32
    ) throws(DiVAEError) {
        let path = file.path
        let store = WeightStore(file)
        store.precision = precision
        do { decoder = try DiVAEDecoder(store: store, presets: diffusionPresets) } catch { throw .decoder(error) }
        store.precision = .fp32
        do {
            configuration = try VQConfiguration(metadata: file.metadata, file: path)
            encoder = try VQEncoderStack(store, configuration: configuration, presets: presets)
        } catch { throw .encoder(error) }
        do { try store.finish(ignoring: ["quantize._codebook.initted", "quantize._codebook.cluster_size", "quantize._codebook.embed_avg"]) } catch {
            throw .decoder(.weights(error))
        }
    }

    /// The number of codes.
    public var codebookSize: Int { configuration.codebookSize }

    /// Token ids `[B, h, w]` of values `[B, C, H, W]` (the tokenizer's input convention).
    public func encode(_ values: Tensor<Float>) throws(DiVAEError) -> Tensor<Int32> {
        do {
            let prepared = try encoder.prepare(image: values)
            return encoder.quantize(encoder.latents(encoder.encoderFeatures(prepared: prepared))).ids
        } catch { throw .encoder(error) }
    }

    /// The diffusion condition of ids `[B, h, w]`: their codebook vectors `[B, latent, h, w]`
    /// (DiVAE has no `post_quant_proj`).
    public func condition(ids: Tensor<Int32>) throws(DiVAEError) -> Tensor<Float> {
        do { return try encoder.codebookVectors(ids: ids).nchw } catch { throw .encoder(error) }
    }

    /// Decodes ids `[B, h, w]` by `steps` denoising steps of the checkpoint's own scheduler
    /// (DDIM "trailing" for the released ones).
    /// - Parameters:
    ///   - ids: token ids.
    ///   - steps: denoising steps.
    ///   - noise: the starting noise (drawn from `rng` when nil).
    ///   - rng: FourM's seeded generator for every draw not given.
    ///   - progress: called after each step with (done, total).
    ///   - isCancelled: polled between steps.
    /// - Returns: values `[B, C, H, W]` (RGB and normals in [-1, 1], depth standardised).
    /// - Throws: `.encoder` for ids outside the codebook, `.decoder` for bad steps, noise
    ///   shapes or cancellation.
    public func decode(ids: Tensor<Int32>, steps: Int, noise: Tensor<Float>? = nil, rng: inout SeededGenerator,
                       progress: ((Int, Int) -> Void)? = nil, isCancelled: () -> Bool = { Task.isCancelled }) throws(DiVAEError) -> Tensor<Float> {
        let condition = try condition(ids: ids)
        do { return try decoder.decode(condition: condition, steps: steps, noise: noise, rng: &rng, progress: progress, isCancelled: isCancelled) } catch {
            throw .decoder(error)
        }
    }
}
