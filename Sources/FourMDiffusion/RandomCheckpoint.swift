import Foundation
import FourMTensor

/// Random-weight DiVAE decoders for tests and benchmarks: the exact key set a checkpoint of a
/// preset holds (`decoder.*`, with the UViT's duplicated `downsample_mid` and its sin-cos
/// `mid_pos_emb`), built without any file.
package enum RandomDiVAE {
    /// A safetensors writer holding a random decoder for `preset` plus DiVAE metadata.
    ///
    /// The metadata names `presetName` as `dec_type` and defaults to the released DDIM setup
    /// (`ddim`, `linear`, `sample`, thresholding, zero terminal SNR); `metadata` entries
    /// override or add keys. Register `presetName` before loading the file.
    package static func checkpoint(
        presetName: String, preset: DecoderPreset, channels: Int, latentDim: Int = 32, patchSize: Int = 16,
        metadata extra: [String: String] = [:], seed: UInt64 = 0, std: Float = 0.02
    ) -> SafeTensorsWriter {
        var writer = SafeTensorsWriter(
            metadata: metadata(presetName: presetName, channels: channels, latentDim: latentDim, patchSize: patchSize, extra: extra))
        for (key, tensor) in tensors(preset: preset, channels: channels, latentDim: latentDim, seed: seed, std: std) {
            writer.add(key, tensor)
        }
        return writer
    }

    /// DiVAE header metadata (Python `str()` spellings) for a random decoder checkpoint.
    package static func metadata(presetName: String, channels: Int, latentDim: Int = 32, patchSize: Int = 16, extra: [String: String] = [:])
        -> [String: String]
    {
        var metadata = [
            "dec_type": presetName, "n_channels": String(channels), "latent_dim": String(latentDim), "patch_size": String(patchSize),
            "image_size": String(patchSize * 14), "scheduler": "ddim", "beta_schedule": "linear", "prediction_type": "sample",
            "thresholding": "True", "clip_sample": "False", "zero_terminal_snr": "True", "conditioning": "concat",
            "num_train_timesteps": "1000",
        ]
        for (key, value) in extra { metadata[key] = value }
        return metadata
    }

    /// Every `decoder.*` tensor of a checkpoint of `preset`, in load order, with random values
    /// (the UViT's fixed `mid_pos_emb` is the real sin-cos table; `downsample_mid` is stored
    /// under both names, as diffusers does).
    package static func tensors(preset: DecoderPreset, channels: Int, latentDim: Int = 32, seed: UInt64 = 0, std: Float = 0.02)
        -> [(key: String, tensor: Tensor<Float>)]
    {
        let source = RandomTensorSource(seed: seed, std: std)
        do {
            switch preset {
            case .patchedUNet(let p):
                _ = try PatchedUNet(source.scoped("decoder"), preset: p, channels: channels, conditionChannels: latentDim)
            case .uvit(let p):
                _ = try UViT(source.scoped("decoder"), preset: p, channels: channels, conditionChannels: latentDim)
            }
        } catch {
            preconditionFailure("random weights cannot fail to load: \(error)")
        }
        var out: [(key: String, tensor: Tensor<Float>)] = []
        for (key, tensor) in source.recorded {
            if key.hasSuffix("mid_pos_emb") {
                let (d, side) = (tensor.shape[1], tensor.shape[2])
                out.append((key, sinCosTable2D(gridHeight: side, gridWidth: side, dim: d).reshaped([1, side * side, d])
                    .transposedLastTwo().reshaped(tensor.shape)))
                continue
            }
            out.append((key, tensor))
            if key.contains(".downsample_mid.conv.") {
                out.append((key.replacingOccurrences(of: ".downsample_mid.conv.", with: ".downsample_mid.Conv2d_0."), tensor))
            }
        }
        return out
    }

    /// A decoder network with random weights, built in memory (no file, no strict loading),
    /// its convolutions and linear layers in `precision`.
    static func network(preset: DecoderPreset, channels: Int, latentDim: Int, seed: UInt64, precision: ComputePrecision = .fp32)
        -> DiVAEDecoder.Network
    {
        let source = RandomTensorSource(seed: seed)
        source.precision = precision
        do {
            switch preset {
            case .patchedUNet(let p):
                return .unet(try PatchedUNet(source.scoped("decoder"), preset: p, channels: channels, conditionChannels: latentDim))
            case .uvit(let p):
                return .uvit(try UViT(source.scoped("decoder"), preset: p, channels: channels, conditionChannels: latentDim))
            }
        } catch {
            preconditionFailure("random weights cannot fail to load: \(error)")
        }
    }
}

/// Timing of one denoiser call (one diffusion step's network evaluation).
package struct DiffusionStepBenchmark: Sendable, CustomStringConvertible {
    /// `unet_patched` or `uvit_b_p4_f16`.
    package let network: String
    /// Image side.
    package let imageSize: Int
    /// Forward FLOPs (2·MAC) of one call, counted from the layer shapes.
    package let flops: Double
    /// Wall time of each timed call, seconds.
    package let seconds: [Double]
    /// Process CPU time (all threads) of each timed call, seconds.
    package let cpuSeconds: [Double]

    package var mean: Double { seconds.reduce(0, +) / Double(max(seconds.count, 1)) }
    package var minimum: Double { seconds.min() ?? 0 }
    package var standardDeviation: Double {
        let m = mean
        return (seconds.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(seconds.count - 1, 1))).squareRoot()
    }
    /// GFLOP/s at the best time.
    package var gflops: Double { flops / 1e9 / max(minimum, 1e-12) }

    package var description: String {
        String(format: "%@ @%d: %.1f GFLOP/step, mean %.3f s ± %.3f, min %.3f s, %.1f GFLOP/s (n=%d); CPU time min %.3f s",
               network, imageSize, flops / 1e9, mean, standardDeviation, minimum, gflops, seconds.count, cpuSeconds.min() ?? 0)
    }
}

/// Times one UNet denoiser call of the released RGB decoder's shapes (`unet_patched`, C = 3,
/// latent 32) at `imageSize`, with random weights built in memory (spec/tokenizers.md 5.7:
/// ~191 GFLOP at 224). Build with `-c release`.
/// - Parameters:
///   - imageSize: image side (a multiple of 32).
///   - iterations: timed calls after `warmup` untimed ones.
///   - precision: the arithmetic of the convolutions and linear layers.
package func benchmarkUNetStep(
    imageSize: Int = 224, iterations: Int = 3, warmup: Int = 1, seed: UInt64 = 0, precision: ComputePrecision = .fp32
) -> DiffusionStepBenchmark {
    benchmarkDiffusionStep(
        name: "unet_patched", imageSize: imageSize, channels: 3, iterations: iterations, warmup: warmup, seed: seed, precision: precision)
}

/// Times one UViT denoiser call of the released edge decoder's shapes (`uvit_b_p4_f16`, C = 1)
/// at `imageSize` (spec 5.7: ~65 GFLOP at 224).
package func benchmarkUViTStep(
    imageSize: Int = 224, iterations: Int = 3, warmup: Int = 1, seed: UInt64 = 0, precision: ComputePrecision = .fp32
) -> DiffusionStepBenchmark {
    benchmarkDiffusionStep(
        name: "uvit_b_p4_f16", imageSize: imageSize, channels: 1, iterations: iterations, warmup: warmup, seed: seed, precision: precision)
}

/// The networks ``benchmarkDiffusionStep(name:imageSize:channels:iterations:warmup:seed:precision:)``
/// times, one per precision, so a caller can interleave them.
package struct DiffusionStepBenchmarkCase {
    let name: String
    let network: DiVAEDecoder.Network
    let sample: Tensor<Float>
    let condition: Tensor<Float>
    package let flops: Double
    /// The precision the network runs in.
    package let precision: ComputePrecision

    /// A released preset (`unet_patched`, `uvit_b_p4_f16`) with random weights in `precision`.
    package init(name: String, imageSize: Int, channels: Int, seed: UInt64 = 0, precision: ComputePrecision) {
        guard let preset = DiffusionPresets.released[name] else { preconditionFailure("no released preset \(name)") }
        self.name = name
        network = RandomDiVAE.network(preset: preset, channels: channels, latentDim: 32, seed: seed, precision: precision)
        var rng = SeededGenerator(seed: seed &+ 1)
        sample = Tensor<Float>.randomNormal(shape: [1, channels, imageSize, imageSize], using: &rng)
        condition = Tensor<Float>.randomNormal(shape: [1, 32, imageSize / 16, imageSize / 16], using: &rng)
        switch network {
        case .unet(let u): flops = u.forwardFLOPs(height: imageSize, width: imageSize)
        case .uvit(let u): flops = u.forwardFLOPs(height: imageSize, width: imageSize)
        }
        self.precision = precision.resolved
    }

    /// One denoiser call at timestep `t`.
    package func call(_ t: Int) -> Tensor<Float> {
        switch network {
        case .unet(let u): return u(sample, timestep: t, condition: condition)
        case .uvit(let u): return u(sample, timestep: t, condition: condition)
        }
    }

    /// Wall and CPU seconds of one call.
    package func timedCall(_ t: Int) -> (seconds: Double, cpuSeconds: Double) {
        let cpuStart = clock()
        let start = DispatchTime.now().uptimeNanoseconds
        let out = call(t)
        let end = DispatchTime.now().uptimeNanoseconds
        precondition(out.count == sample.count)
        return (Double(end - start) / 1e9, Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC))
    }
}

func benchmarkDiffusionStep(
    name: String, imageSize: Int, channels: Int, iterations: Int, warmup: Int, seed: UInt64, precision: ComputePrecision = .fp32
) -> DiffusionStepBenchmark {
    guard let preset = DiffusionPresets.released[name] else { preconditionFailure("no released preset \(name)") }
    let network = RandomDiVAE.network(preset: preset, channels: channels, latentDim: 32, seed: seed, precision: precision)
    var rng = SeededGenerator(seed: seed &+ 1)
    let sample = Tensor<Float>.randomNormal(shape: [1, channels, imageSize, imageSize], using: &rng)
    let condition = Tensor<Float>.randomNormal(shape: [1, 32, imageSize / 16, imageSize / 16], using: &rng)
    func call(_ t: Int) -> Tensor<Float> {
        switch network {
        case .unet(let u): return u(sample, timestep: t, condition: condition)
        case .uvit(let u): return u(sample, timestep: t, condition: condition)
        }
    }
    let flops: Double
    switch network {
    case .unet(let u): flops = u.forwardFLOPs(height: imageSize, width: imageSize)
    case .uvit(let u): flops = u.forwardFLOPs(height: imageSize, width: imageSize)
    }
    for i in 0..<warmup { _ = call(999 - i) }
    var times: [Double] = [], cpu: [Double] = []
    for i in 0..<iterations {
        let cpuStart = clock()
        let start = DispatchTime.now().uptimeNanoseconds
        let out = call(500 - i)
        let end = DispatchTime.now().uptimeNanoseconds
        cpu.append(Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC))
        precondition(out.count == sample.count)
        times.append(Double(end - start) / 1e9)
    }
    return DiffusionStepBenchmark(network: name, imageSize: imageSize, flops: flops, seconds: times, cpuSeconds: cpu)
}

// MARK: - FLOP counts (2·MAC of convolutions, linear layers and attention products)

extension Conv2d {
    /// FLOPs on a `[1, C, h, w]` input; updates `h`, `w` to the output size.
    func flops(_ h: inout Int, _ w: inout Int) -> Double {
        let (o, c, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        h = (h + 2 * padding - k) / stride + 1
        w = (w + 2 * padding - weight.shape[3]) / stride + 1
        return 2 * Double(o * c * k * weight.shape[3]) * Double(h * w)
    }
}

extension ResNetBlock {
    /// Forward FLOPs of the block's convolutions at `height × width` (batch 1).
    func flops(height: Int, width: Int) -> Double {
        var (h, w) = (height, width)
        var total = conv1.flops(&h, &w) + conv2.flops(&h, &w)
        if let s = shortcut { total += s.flops(&h, &w) }
        return total
    }
}

extension PatchedUNet {
    /// Forward FLOPs of one call at `height × width` (batch 1).
    func forwardFLOPs(height: Int, width: Int) -> Double {
        var (h, w) = (height / preset.patchSize, width / preset.patchSize)
        var total = 0.0
        func run(_ layer: UNetLayer) {
            switch layer {
            case .conv(let c): total += c.flops(&h, &w)
            case .upsample(let u):
                h *= 2
                w *= 2
                total += u.conv.flops(&h, &w)
            case .residual(let r): total += r.flops(height: h, width: w)
            case .attention(let a):
                let (t, c) = (Double(h * w), Double(a.proj.outputs))
                total += 2 * t * c * 3 * c + 4 * t * t * c + 2 * t * c * c
            }
        }
        for block in inputBlocks { block.forEach(run) }
        middleBlock.forEach(run)
        for block in outputBlocks { block.forEach(run) }
        total += outConv.flops(&h, &w)
        return total
    }
}

extension UViT {
    /// Forward FLOPs of one call at `height × width` (batch 1).
    func forwardFLOPs(height: Int, width: Int) -> Double {
        var (h, w) = (height / preset.patchSize, width / preset.patchSize)
        var total = 2 * Double(convIn.weight.shape[0] * convIn.weight.shape[1]) * Double(h * w)
        for block in downBlocks {
            for r in block.resnets { total += r.flops(height: h, width: w) }
            if let d = block.downsampler { total += d.flops(&h, &w) }
        }
        if let d = downsampleMid { total += d.flops(&h, &w) }
        let n = Double(h * w)
        let d = Double(preset.midDim)
        let hidden = Double(Int(Double(preset.midDim) * preset.midMLPRatio))
        total += 2 * n * d * Double(midBlock.projIn.inputs + midBlock.conditionProjection.inputs + midBlock.projOut.outputs)
        total += Double(midBlock.blocks.count) * (2 * n * d * 3 * d + 4 * n * n * d + 2 * n * d * d + 4 * n * d * hidden)
        if let u = upsampleMid {
            h *= 2
            w *= 2
            total += u.conv.flops(&h, &w)
        }
        for block in upBlocks {
            for r in block.resnets { total += r.flops(height: h, width: w) }
            if let u = block.upsampler {
                h *= 2
                w *= 2
                total += u.conv.flops(&h, &w)
            }
        }
        total += 2 * Double(convOutWeight.count) * Double(h * w)
        return total
    }
}
