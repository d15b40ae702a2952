import Foundation
import FourMDiffusion
import FourMTensor
import FourMTestSupport
import Testing

/// Loader failures (each asserting the exact error case), strict key accounting, argument
/// validation, cancellation and the sampling loop's bookkeeping, on tiny random decoders
/// written to a temporary directory (no fixtures needed).
@Suite struct DiVAELoaderTests {
    /// A UNet with two attention heads (exercises the legacy qkv reordering) and a UViT.
    static let unetName = "unet_loader_test_p2_c32"
    static let uvitName = "uvit_loader_test_p2_c32"
    static let unet = DecoderPreset.patchedUNet(PatchedUNetPreset(
        patchSize: 2, modelChannels: 32, numResBlocks: 1, attentionResolutions: [2], channelMult: [1, 2], numHeads: 2))
    static let uvit = DecoderPreset.uvit(UViTPreset(
        patchSize: 2, blockOutChannels: [32, 64], layersPerBlock: [1, 1], downsampleBeforeMid: true, midLayers: 1, midNumHeads: 2,
        midDim: 32, midPosEmbSide: 8))

    /// Random weights, made once per process (generation dominates these tests otherwise).
    static let unetTensors = RandomDiVAE.tensors(preset: unet, channels: 3, latentDim: 8, seed: 3)
    static let uvitTensors = RandomDiVAE.tensors(preset: uvit, channels: 1, latentDim: 8, seed: 3)

    /// The test presets, passed to every load (there is no process-wide registry).
    static var presets: [String: DecoderPreset] { [unetName: unet, uvitName: uvit] }

    /// Writes a checkpoint; `edit` may change the tensor list.
    static func write(
        _ preset: DecoderPreset = unet, name: String = unetName, channels: Int = 3, metadata: [String: String] = [:],
        edit: (inout [(key: String, tensor: Tensor<Float>)]) -> Void = { _ in }
    ) throws -> String {
        var tensors = preset == unet && channels == 3 ? unetTensors
            : preset == uvit && channels == 1 ? uvitTensors : RandomDiVAE.tensors(preset: preset, channels: channels, latentDim: 8, seed: 3)
        edit(&tensors)
        var writer = SafeTensorsWriter(metadata: RandomDiVAE.metadata(presetName: name, channels: channels, latentDim: 8, patchSize: 8,
                                                                      extra: metadata))
        for (key, tensor) in tensors { writer.add(key, tensor) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("divae-\(UUID().uuidString).safetensors").path
        try writer.write(to: path)
        return path
    }

    static func loadError(_ path: String) -> DiffusionError? {
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try DiVAEDecoder(path: path, presets: Self.presets)
            return nil
        } catch {
            return error
        }
    }

    @Test func loadsAndReportsEncoderKeysAsUnused() throws {
        let path = try Self.write { $0 += [("encoder.proj.weight", Tensor(zeros: [2])), ("quantize._codebook.embed", Tensor(zeros: [1]))] }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let decoder = try DiVAEDecoder(path: path, presets: Self.presets)
        #expect(decoder.unusedKeys == ["encoder.proj.weight", "quantize._codebook.embed"])
        #expect(decoder.preset == Self.unet)
        #expect(decoder.scheduler.kind == .ddim && decoder.scheduler.predictionType == .sample)
        #expect(decoder.sideMultiple == 4)
        #expect(decoder.outputShape(forCondition: [2, 8, 3, 5]) == [2, 3, 24, 40])
    }

    @Test(arguments: [
        ("beta_schedule", "cosine"), ("prediction_type", "x0"), ("scheduler", "pndm"), ("dec_type", "vit_b_dec"),
    ])
    func rejectsUnsupportedConfigValues(key: String, value: String) throws {
        let path = try Self.write(metadata: [key: value])
        #expect(Self.loadError(path) == .unsupported(file: path, key: key, value: value))
    }

    @Test func rejectsUnknownDecoderPreset() throws {
        let path = try Self.write(metadata: ["dec_type": "unet_not_registered_anywhere"])
        guard case let .unknownPreset(file, key, name, known)? = Self.loadError(path) else {
            Issue.record("expected .unknownPreset")
            return
        }
        #expect(file == path && key == "dec_type" && name == "unet_not_registered_anywhere")
        #expect(known.contains("unet_patched") && known.contains("uvit_b_p4_f16"))
    }

    @Test func rejectsMistypedConfigValues() throws {
        let path = try Self.write(metadata: ["n_channels": "three"])
        #expect(Self.loadError(path) == .invalidValue(file: path, key: "n_channels", expected: "an integer", actual: "'three'"))
        let flag = try Self.write(metadata: ["thresholding": "maybe"])
        #expect(Self.loadError(flag) == .invalidValue(file: flag, key: "thresholding", expected: "True or False", actual: "'maybe'"))
    }

    @Test func rejectsCrossAttentionConditioningForTheUViT() throws {
        let path = try Self.write(Self.uvit, name: Self.uvitName, channels: 1, metadata: ["conditioning": "xattn"])
        #expect(Self.loadError(path) == .unsupported(file: path, key: "conditioning", value: "xattn"))
    }

    @Test func rejectsMissingExtraAndMisshapenDecoderTensors() throws {
        let missingKey = "decoder.middle_block.1.qkv.bias"
        let missing = try Self.write { $0.removeAll { $0.key == missingKey } }
        #expect(Self.loadError(missing) == .weights(.missingTensor(file: missing, key: missingKey)))

        let extra = try Self.write { $0.append(("decoder.extra.weight", Tensor(zeros: [3]))) }
        #expect(Self.loadError(extra) == .weights(.unusedTensors(file: extra, keys: ["decoder.extra.weight"], total: 1)))

        let key = "decoder.out.2.bias"
        let misshapen = try Self.write { list in
            if let i = list.firstIndex(where: { $0.key == key }) { list[i].tensor = Tensor(zeros: [5]) }
        }
        #expect(Self.loadError(misshapen) == .weights(.shapeMismatch(file: misshapen, key: key, expected: [12], actual: [5])))
    }

    @Test func acceptsEitherDownsampleMidAliasAndChecksThatCopiesAgree() throws {
        let onlyAlias = try Self.write(Self.uvit, name: Self.uvitName, channels: 1) { $0.removeAll { $0.key.contains("downsample_mid.conv.") } }
        #expect(Self.loadError(onlyAlias) == nil)
        let onlyConv = try Self.write(Self.uvit, name: Self.uvitName, channels: 1) { $0.removeAll { $0.key.contains("downsample_mid.Conv2d_0.") } }
        #expect(Self.loadError(onlyConv) == nil)
        let differ = try Self.write(Self.uvit, name: Self.uvitName, channels: 1) { list in
            if let i = list.firstIndex(where: { $0.key == "decoder.downsample_mid.Conv2d_0.bias" }) {
                list[i].tensor = Tensor(repeating: 1, shape: list[i].tensor.shape)
            }
        }
        #expect(Self.loadError(differ) == .weights(.tiedTensorsDiffer(
            file: differ, first: "decoder.downsample_mid.conv.bias", second: "decoder.downsample_mid.Conv2d_0.bias")))
    }

    @Test func validatesConditionSampleAndNoiseShapes() throws {
        let path = try Self.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let decoder = try DiVAEDecoder(path: path, presets: Self.presets)
        var rng = SeededGenerator(seed: 1)
        let condition = Tensor<Float>.randomNormal(shape: [1, 8, 2, 2], using: &rng)
        let badCondition = Tensor<Float>.randomNormal(shape: [1, 7, 2, 2], using: &rng)
        #expect(throws: DiffusionError.shapeMismatch(argument: "condition", expected: "[B, 8, h, w]", actual: [1, 7, 2, 2])) {
            try decoder.decode(condition: badCondition, steps: 2, rng: &rng)
        }
        #expect(throws: DiffusionError.shapeMismatch(argument: "condition", expected: "[B, 8, h, w]", actual: [8, 2, 2])) {
            try decoder.decode(condition: Tensor<Float>(zeros: [8, 2, 2]), steps: 2, rng: &rng)
        }
        let sample = Tensor<Float>.randomNormal(shape: [1, 3, 16, 16], using: &rng)
        #expect(throws: DiffusionError.shapeMismatch(argument: "condition", expected: "[1, 8, h, w]", actual: [2, 8, 2, 2])) {
            try decoder.denoise(sample: sample, timestep: 10, condition: Tensor.concatenate([condition, condition]))
        }
        #expect(throws: DiffusionError.shapeMismatch(argument: "sample", expected: "[B, 3, H, W] with H, W positive multiples of 4",
                                                     actual: [1, 3, 18, 16])) {
            try decoder.denoise(sample: Tensor(zeros: [1, 3, 18, 16]), timestep: 10, condition: condition)
        }
        #expect(throws: DiffusionError.shapeMismatch(argument: "noise", expected: "[1, 3, 16, 16] (outputShape(forCondition:))",
                                                     actual: [1, 3, 8, 8])) {
            try decoder.decode(condition: condition, steps: 2, noise: Tensor(zeros: [1, 3, 8, 8]), rng: &rng)
        }
        #expect(throws: DiffusionError.invalidStepCount(requested: 0, maximum: 1000)) { try decoder.decode(condition: condition, steps: 0, rng: &rng) }
    }

    @Test func cancellationStopsBetweenSteps() throws {
        let path = try Self.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let decoder = try DiVAEDecoder(path: path, presets: Self.presets)
        var rng = SeededGenerator(seed: 2)
        let condition = Tensor<Float>.randomNormal(shape: [1, 8, 1, 1], using: &rng)
        var completed = 0
        #expect(throws: DiffusionError.cancelled(completedSteps: 2, totalSteps: 4)) {
            try decoder.decode(condition: condition, steps: 3, rng: &rng, progress: { done, _ in completed = done }, isCancelled: { completed >= 2 })
        }
        #expect(completed == 2)
        #expect(throws: DiffusionError.cancelled(completedSteps: 0, totalSteps: 1)) {
            try decoder.decode(condition: condition, steps: 1, rng: &rng, isCancelled: { true })
        }
    }

    @Test(arguments: [unetName, uvitName])
    func decodeEqualsAManualLoopAndIsSeedDeterministic(_ name: String) throws {
        let preset = name == Self.unetName ? Self.unet : Self.uvit
        let channels = name == Self.unetName ? 3 : 1
        let path = try Self.write(preset, name: name, channels: channels, metadata: ["scheduler": "ddpm", "prediction_type": "epsilon"])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let decoder = try DiVAEDecoder(path: path, presets: Self.presets)
        #expect(decoder.scheduler.kind == .ddpm && decoder.scheduler.predictionType == .epsilon)
        var rng = SeededGenerator(seed: 5)
        let condition = Tensor<Float>.randomNormal(shape: [2, 8, 2, 2], using: &rng)
        var records: [DiffusionStepRecord] = []
        var first = SeededGenerator(seed: 9), second = SeededGenerator(seed: 9)
        let a = try decoder.decode(condition: condition, steps: 2, rng: &first, observer: { records.append($0) })
        let b = try decoder.decode(condition: condition, steps: 2, rng: &second)
        // Equal up to sgemm rounding: tests running in parallel may change OpenBLAS's thread
        // count (process-wide) between two runs, which changes its blocking; 1e-5 bounds that.
        expectClose(a, b, atol: 1e-5, "same seed, same image")
        #expect(a.shape == [2, channels, 16, 16])
        #expect(records.map(\.timestep) == [500, 0])
        #expect(records[0].varianceNoise != nil && records[1].varianceNoise == nil)
        // Replaying the recorded noises through denoise + step gives the same chain.
        var x = records[0].sample
        for record in records {
            let m = try decoder.denoise(sample: x, timestep: record.timestep, condition: condition)
            expectClose(m, record.modelOutput, atol: 1e-5, "replayed model output")
            x = try decoder.scheduler.step(modelOutput: m, timestep: record.timestep, sample: x, steps: 2, varianceNoise: record.varianceNoise).prevSample
        }
        expectClose(x, a, atol: 1e-5, "replayed chain")
        // Injected noise is used as given.
        var unused = SeededGenerator(seed: 123)
        let replay = try decoder.decode(condition: condition, steps: 2, noise: records[0].sample,
                                        varianceNoise: records.compactMap(\.varianceNoise), rng: &unused)
        expectClose(replay, a, atol: 1e-5, "decode with injected noise")
    }

    @Test(arguments: [unetName, uvitName])
    func batchElementsAreIndependent(_ name: String) throws {
        // A batch of two equals two batches of one (catches batch strides in every kernel).
        let preset = name == Self.unetName ? Self.unet : Self.uvit
        let channels = name == Self.unetName ? 3 : 1
        let path = try Self.write(preset, name: name, channels: channels)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let decoder = try DiVAEDecoder(path: path, presets: Self.presets)
        var rng = SeededGenerator(seed: 21)
        let sample = Tensor<Float>.randomNormal(shape: [2, channels, 16, 24], using: &rng)
        let condition = Tensor<Float>.randomNormal(shape: [2, 8, 2, 3], std: 3, using: &rng)
        let both = try decoder.denoise(sample: sample, timestep: 321, condition: condition)
        for b in 0..<2 {
            let one = try decoder.denoise(sample: sample.slice(b..<(b + 1)), timestep: 321, condition: condition.slice(b..<(b + 1)))
            // Same arithmetic per element except sgemm blocking: 1e-5.
            expectClose(both.slice(b..<(b + 1)), one, atol: 1e-5, "\(name) batch element \(b)")
        }
    }

    @Test func registersPresetsFromReferenceDescriptions() throws {
        let unet: [String: Any] = [
            "cls": "PatchedUNetCondCat", "module": "fourm.vq.models.unet.unet", "patch_size": 4, "model_channels": 32,
            "num_res_blocks": 1, "attention_resolutions": [2], "channel_mult": [1, 1], "num_heads": 1, "num_head_channels": -1,
            "use_scale_shift_norm": false, "resblock_updown": false, "use_new_attention_order": false, "dropout": 0,
        ]
        #expect(try DiffusionPresets.decoderPreset(name: "u", description: unet) == .patchedUNet(PatchedUNetPreset(
            patchSize: 4, modelChannels: 32, numResBlocks: 1, attentionResolutions: [2], channelMult: [1, 1])))
        let uvit: [String: Any] = [
            "cls": "UViT", "patch_size": 4, "block_out_channels": [32, 64], "layers_per_block": 2, "downsample_before_mid": true,
            "mid_layers": 2, "mid_num_heads": 4, "mid_dim": 64, "mid_mlp_ratio": 4, "mid_qkv_bias": true, "mid_hw_posemb": 32,
            "mid_use_long_skip": false, "norm_num_groups": 32, "norm_eps": 1e-05, "act_fn": "silu", "time_embedding_type": "positional",
            "time_embedding_dim": 128, "flip_sin_to_cos": true, "freq_shift": 0,
        ]
        #expect(try DiffusionPresets.decoderPreset(name: "v", description: uvit) == .uvit(UViTPreset(
            patchSize: 4, blockOutChannels: [32, 64], layersPerBlock: [2, 2], midLayers: 2, midNumHeads: 4, midDim: 64,
            timeEmbeddingDim: 128)))
        #expect(DiffusionPresets.released["unet_patched"] == .patchedUNet(PatchedUNetPreset()))
        #expect(DiffusionPresets.preset(named: "uvit_b_p4_f16") == .uvit(UViTPreset()))
        #expect(DiffusionPresets.preset(named: Self.unetName) == nil)
        #expect(DiffusionPresets.preset(named: Self.unetName, in: Self.presets) == Self.unet)

        var bad = unet
        bad["use_scale_shift_norm"] = true
        #expect(throws: DiffusionError.invalidPreset(name: "u", key: "use_scale_shift_norm", reason: "= true is not supported")) {
            try DiffusionPresets.decoderPreset(name: "u", description: bad)
        }
        bad = unet
        bad["channel_mult"] = "1,2"
        #expect(throws: DiffusionError.invalidPreset(name: "u", key: "channel_mult", reason: "is 1,2, expected a list of integers")) {
            try DiffusionPresets.decoderPreset(name: "u", description: bad)
        }
        #expect(throws: DiffusionError.invalidPreset(name: "x", key: "cls", reason: "= 'ViTEncoder' is not PatchedUNetCondCat or UViT")) {
            try DiffusionPresets.decoderPreset(name: "x", description: ["cls": "ViTEncoder"])
        }
        var longSkip = uvit
        longSkip["mid_use_long_skip"] = true
        #expect(throws: DiffusionError.invalidPreset(name: "v", key: "mid_use_long_skip", reason: "= true is not supported")) {
            try DiffusionPresets.decoderPreset(name: "v", description: longSkip)
        }
    }

    @Test func errorMessagesFitOnOneLine() {
        let errors: [DiffusionError] = [
            .unsupported(file: "m.safetensors", key: "beta_schedule", value: "cosine"),
            .unknownPreset(file: "m.safetensors", key: "dec_type", name: "unet_x", known: ["unet_patched"]),
            .shapeMismatch(argument: "condition", expected: "[B, 32, h, w]", actual: [1, 3]),
            .cancelled(completedSteps: 3, totalSteps: 25),
            .weights(.missingTensor(file: "m.safetensors", key: "decoder.out.2.weight")),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
            #expect(error.description.count > 10)
        }
        #expect(DiffusionError.unsupported(file: "m.safetensors", key: "beta_schedule", value: "cosine").description
            == "m.safetensors: config key 'beta_schedule' = cosine is not supported")
    }
}
