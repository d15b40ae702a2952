import FourMTensor

/// Everything one denoising step produced, handed to the `observer` of
/// ``DiVAEDecoder/decode(condition:steps:scheduler:spacing:noise:varianceNoise:rng:progress:observer:isCancelled:)``.
public struct DiffusionStepRecord: Sendable {
    /// The step's position in the chain, from 0.
    public let index: Int
    /// The timestep t of this step.
    public let timestep: Int
    /// x_t fed to the network.
    public let sample: Tensor<Float>
    /// The network output at t.
    public let modelOutput: Tensor<Float>
    /// x₀ after thresholding / clipping.
    public let predOriginalSample: Tensor<Float>
    /// The step's result, the next step's `sample`.
    public let prevSample: Tensor<Float>
    /// The N(0, I) noise a DDPM step added (scaled by σ_t), nil for DDIM and for t = 0.
    public let varianceNoise: Tensor<Float>?
}

/// The diffusion decoder of a DiVAE tokenizer (rgb, depth, normal: patched UNet; edges: UViT):
/// turns the quantized condition `[B, latent, h, w]` into an image `[B, C, P·h, P·w]` by
/// running the sampler of spec/tokenizers.md 5.1.
///
/// It loads the `decoder.*` tensors of a DiVAE checkpoint strictly (every `decoder.*` key must
/// be used) and leaves the encoder side (`encoder.*`, `quant_proj.*`, `quantize.*`) in
/// ``unusedKeys`` for a tokenizer wrapper to account for. The architecture comes from
/// ``DiffusionPresets`` by the `dec_type` config key.
///
/// ```swift
/// let decoder = try DiVAEDecoder(path: "4M_tokenizers_rgb_16k_224-448.safetensors")
/// var rng = SeededGenerator(seed: 0)
/// let image = try decoder.decode(condition: quantized, steps: 25, rng: &rng)   // [B, 3, 224, 224]
/// let x0 = try decoder.denoise(sample: noisy, timestep: 999, condition: quantized)
/// ```
public struct DiVAEDecoder: Sendable {
    enum Network: Sendable {
        case unet(PatchedUNet)
        case uvit(UViT)
    }

    /// The configuration read from the checkpoint header.
    public let configuration: DiVAEConfiguration
    /// The decoder architecture `dec_type` selected.
    public let preset: DecoderPreset
    /// The scheduler the checkpoint configures; ``decode(condition:steps:scheduler:spacing:noise:varianceNoise:rng:progress:observer:isCancelled:)`` uses it unless told otherwise.
    public let scheduler: NoiseScheduler
    /// Keys of the file this decoder did not take, sorted: the encoder side of the tokenizer.
    public let unusedKeys: [String]
    /// The arithmetic the network's convolutions and linear layers run in: the precision it was
    /// loaded with, after `ComputePrecision.resolved` (bf16 falls back to fp32 where the CPU
    /// lacks AVX-512). Norms, attention products and the sampler stay fp32.
    public let precision: ComputePrecision
    let network: Network

    /// Opens a DiVAE checkpoint and loads its decoder.
    /// - Parameters:
    ///   - path: a `.safetensors` file with `__metadata__` config.
    ///   - presets: decoder presets the `dec_type` may name beyond ``DiffusionPresets/released``.
    ///   - precision: the arithmetic of the network's convolutions and linear layers (default
    ///     fp32, the parity path; bf16 runs them through oneDNN with f32 accumulation).
    /// - Throws: `.weights` for file, key or shape problems (including unused `decoder.*`
    ///   keys), `.invalidValue` / `.unsupported` / `.unknownPreset` naming the config key.
    public init(path: String, presets: [String: DecoderPreset] = [:], precision: ComputePrecision = .fp32) throws(DiffusionError) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .weights(error) }
        let store = WeightStore(file)
        store.precision = precision
        try self.init(store: store, presets: presets)
    }

    /// Loads the decoder from a store (a tokenizer wrapper then takes the encoder keys from
    /// the same store and calls `finish()`), in the store's `precision`.
    /// - Parameters:
    ///   - store: the opened checkpoint; its `decoder.*` keys are marked used.
    ///   - presets: decoder presets the `dec_type` may name beyond ``DiffusionPresets/released``.
    /// - Throws: as ``init(path:presets:precision:)``.
    public init(store: WeightStore, presets: [String: DecoderPreset] = [:]) throws(DiffusionError) {
        let file = store.file.path
        let config = try DiVAEConfiguration(metadata: store.file.metadata, file: file)
        guard let preset = DiffusionPresets.preset(named: config.decoderType, in: presets) else {
            throw .unknownPreset(file: file, key: "dec_type", name: config.decoderType, known: DiffusionPresets.names(with: presets))
        }
        if case .uvit = preset, config.conditioning != "concat" {
            throw .unsupported(file: file, key: "conditioning", value: config.conditioning)
        }
        // Presets built in memory skip the description parser: check them here too, so a
        // zero head width or an overflowing channel count is an error, not a trap.
        switch preset {
        case .patchedUNet(let p): try DiffusionPresets.validate(p, name: config.decoderType)
        case .uvit(let p): try DiffusionPresets.validate(p, name: config.decoderType)
        }
        do throws(WeightError) {
            switch preset {
            case .patchedUNet(let p):
                network = .unet(try PatchedUNet(store.scoped("decoder"), preset: p, channels: config.channels,
                                                conditionChannels: config.latentDim))
            case .uvit(let p):
                network = .uvit(try UViT(store.scoped("decoder"), preset: p, channels: config.channels,
                                         conditionChannels: config.latentDim))
            }
        } catch {
            throw .weights(error)
        }
        let leftover = store.unusedKeys.filter { $0.hasPrefix("decoder.") }
        guard leftover.isEmpty else {
            throw .weights(.unusedTensors(file: file, keys: Array(leftover.prefix(5)), total: leftover.count))
        }
        configuration = config
        self.preset = preset
        precision = store.precision.resolved
        scheduler = config.defaultScheduler
        unusedKeys = store.unusedKeys
    }

    /// The side multiple the network needs (`P·2^(levels−1)` for the UNet, `P·2^(blocks−1)·2`
    /// for the UViT with `downsample_mid`).
    public var sideMultiple: Int {
        switch network {
        case .unet(let u): return u.sideMultiple
        case .uvit(let u): return u.sideMultiple
        }
    }

    /// The image shape `decode` produces for a condition shape: `[B, C, P·h, P·w]` with P the
    /// encoder patch size (spec/tokenizers.md 5.1: the output size derives from the grid).
    public func outputShape(forCondition shape: [Int]) -> [Int] {
        [shape.first ?? 1, configuration.channels, (shape.count > 2 ? shape[2] : 1) * configuration.patchSize,
         (shape.count > 3 ? shape[3] : 1) * configuration.patchSize]
    }

    /// One call of the denoising network (no scheduler): the model output at `timestep`.
    /// - Parameters:
    ///   - sample: x_t, `[B, C, H, W]` with H, W multiples of ``sideMultiple``.
    ///   - timestep: t (the same for the whole batch).
    ///   - condition: `[B, latent, h, w]` (any grid; it is nearest-resized as in the reference).
    /// - Returns: `[B, C, H, W]` (x₀ for `prediction_type: sample`).
    /// - Throws: `.shapeMismatch` naming the argument.
    public func denoise(sample: Tensor<Float>, timestep: Int, condition: Tensor<Float>) throws(DiffusionError) -> Tensor<Float> {
        try validate(sample: sample, condition: condition)
        return run(sample, timestep: timestep, condition: condition, stages: nil)
    }

    /// ``denoise(sample:timestep:condition:)`` reporting named intermediate tensors (UViT: the
    /// fixtures' `t0.uvit.*` stages; the UNet reports none).
    package func denoise(
        sample: Tensor<Float>, timestep: Int, condition: Tensor<Float>, stages: (String, Tensor<Float>) -> Void
    ) throws(DiffusionError) -> Tensor<Float> {
        try validate(sample: sample, condition: condition)
        return withoutActuallyEscaping(stages) { run(sample, timestep: timestep, condition: condition, stages: $0) }
    }

    func run(_ sample: Tensor<Float>, timestep: Int, condition: Tensor<Float>, stages: ((String, Tensor<Float>) -> Void)?) -> Tensor<Float> {
        switch network {
        case .unet(let unet): return unet(sample, timestep: timestep, condition: condition)
        case .uvit(let uvit): return uvit(sample, timestep: timestep, condition: condition, stages: stages)
        }
    }

    func validate(sample: Tensor<Float>, condition: Tensor<Float>) throws(DiffusionError) {
        let m = sideMultiple
        let c = configuration.channels
        guard sample.rank == 4, sample.shape[1] == c, sample.shape[0] >= 1, sample.shape[2] >= m, sample.shape[3] >= m,
            sample.shape[2] % m == 0, sample.shape[3] % m == 0
        else {
            throw .shapeMismatch(argument: "sample", expected: "[B, \(c), H, W] with H, W positive multiples of \(m)", actual: sample.shape)
        }
        try validate(condition: condition, batch: sample.shape[0])
    }

    func validate(condition: Tensor<Float>, batch: Int?) throws(DiffusionError) {
        let latent = configuration.latentDim
        guard condition.rank == 4, condition.shape[1] == latent, condition.shape[0] >= 1, condition.shape[2] >= 1,
            condition.shape[3] >= 1, batch == nil || condition.shape[0] == batch
        else {
            throw .shapeMismatch(argument: "condition", expected: "[\(batch.map(String.init) ?? "B"), \(latent), h, w]", actual: condition.shape)
        }
    }

    /// Decodes a quantized condition into an image with the DiVAE sampling loop
    /// (spec/tokenizers.md 5.1): x_T ~ N(0, I), then for each t of the scheduler's timesteps
    /// `x ← step(model(x, t, condition), t, x)`; no final clamp.
    ///
    /// - Parameters:
    ///   - condition: the codebook vectors `[B, latent, h, w]`.
    ///   - steps: requested denoising steps (1...T); DDIM "trailing" may run one more (spec 5.3).
    ///   - scheduler: the sampler; nil uses the checkpoint's ``scheduler``.
    ///   - spacing: DDIM timestep layout (DDPM always uses leading spacing).
    ///   - noise: x_T of shape ``outputShape(forCondition:)``; drawn from `rng` when nil.
    ///   - varianceNoise: DDPM noise per step index (entries past the end, and all when empty,
    ///     are drawn from `rng` when a step needs them).
    ///   - rng: the source of the noise not given.
    ///   - progress: called after each step with (completed, total).
    ///   - observer: receives every step's tensors.
    ///   - isCancelled: polled before every step (default: `Task.isCancelled`).
    /// - Returns: x₀ `[B, C, P·h, P·w]`.
    /// - Throws: `.shapeMismatch` for a bad condition or noise, `.invalidStepCount`, and
    ///   `.cancelled` when `isCancelled` returns true between steps.
    public func decode(
        condition: Tensor<Float>, steps: Int, scheduler: NoiseScheduler? = nil, spacing: TimestepSpacing = .trailing,
        noise: Tensor<Float>? = nil, varianceNoise: [Tensor<Float>] = [], rng: inout SeededGenerator,
        progress: ((Int, Int) -> Void)? = nil, observer: ((DiffusionStepRecord) -> Void)? = nil,
        isCancelled: () -> Bool = { Task.isCancelled }
    ) throws(DiffusionError) -> Tensor<Float> {
        try validate(condition: condition, batch: nil)
        let shape = outputShape(forCondition: condition.shape)
        let sampler = scheduler ?? self.scheduler
        let timesteps = try sampler.timesteps(steps: steps, spacing: spacing)
        var x: Tensor<Float>
        if let noise {
            guard noise.shape == shape else {
                throw .shapeMismatch(argument: "noise", expected: "\(shape) (outputShape(forCondition:))", actual: noise.shape)
            }
            x = noise
        } else {
            x = Tensor.randomNormal(shape: shape, using: &rng)
        }
        try validate(sample: x, condition: condition)
        for (index, t) in timesteps.enumerated() {
            if isCancelled() { throw .cancelled(completedSteps: index, totalSteps: timesteps.count) }
            let output = run(x, timestep: t, condition: condition, stages: nil)
            var stepNoise: Tensor<Float>? = nil
            if sampler.needsVarianceNoise(at: t) {
                stepNoise = index < varianceNoise.count ? varianceNoise[index] : Tensor.randomNormal(shape: shape, using: &rng)
            }
            let result = try sampler.step(modelOutput: output, timestep: t, sample: x, steps: steps, varianceNoise: stepNoise)
            observer?(DiffusionStepRecord(index: index, timestep: t, sample: x, modelOutput: output,
                                          predOriginalSample: result.predOriginalSample, prevSample: result.prevSample,
                                          varianceNoise: stepNoise))
            x = result.prevSample
            progress?(index + 1, timesteps.count)
        }
        return x
    }
}
