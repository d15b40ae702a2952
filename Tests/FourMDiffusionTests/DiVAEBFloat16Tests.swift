import Foundation
import FourMDiffusion
import FourMTensor
import FourMTestSupport
import Testing

/// A DiVAE decoder loaded in bf16 (convolutions and linear layers through oneDNN) against the
/// same decoder in fp32, on every `tokenizer_divae` fixture case: each recorded denoiser call
/// (from the recorded sample) and the whole sampling chain from the recorded initial noise
/// (DDPM noises replayed). Prints the errors and the PSNR of the decoded image (peak-to-peak 2:
/// outputs live in [-1, 1]).
///
/// Bounds asserted:
/// - **One denoiser call:** max |bf16 − fp32| ≤ 5% of the call's largest |fp32 output|. bf16
///   keeps 8 significant bits, so each convolution or linear layer rounds its input and weight
///   by up to 2⁻⁹ relative each; through the ~20 rounded layers of a fixture UNet/UViT these add
///   roughly like a random walk to ~1% of the activation scale (the same argument, and bound, as
///   the 4M `BFloat16FidelityTests`). A real defect (wrong weight layout, lost bias, a
///   transposed image) moves outputs by O(100%) of their scale.
/// - **The whole chain:** PSNR ≥ 25 dB. The chain feeds each step's rounded output into the
///   next; with the fixtures' random-weight denoisers (not contractive like trained ones) the
///   per-step differences grow over the steps, so the largest element is no bound (0.05–0.23
///   measured on an AVX-512-BF16 machine, PSNR 34–49 dB), but the image as a whole stays close.
///   A defect gives an unrelated image: PSNR below ~15 dB.
/// The fp32 parity suites (`DiVAEParityTests`) are unchanged: fp32 decoders do not use oneDNN
/// unless asked.
@Suite struct DiVAEBFloat16Tests {
    static let chainCases = Fixtures.caseNames(kinds: ["tokenizer_divae"])

    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"), arguments: chainCases)
    func bf16DecodeStaysCloseToFP32(_ name: String) throws {
        let fixture = try CaseTensors(name)
        let presets = try FixtureModels.presets.get()
        guard let model = fixture.object["model"] as? String else { throw FixtureError("case has no 'model'") }
        guard let file = try Fixtures.modelObject(model)["file"] as? String else { throw FixtureError("model \(model) has no 'file'") }
        let path = try Fixtures.url(file).path
        let fp32 = try DiVAEDecoder(path: path, presets: presets)
        let bf16 = try DiVAEDecoder(path: path, presets: presets, precision: .bf16)
        #expect(fp32.precision == .fp32)
        #expect(bf16.precision == .bf16)

        let settings = fixture.settings
        let scheduler = try FixtureModels.scheduler(settings: settings)
        let spacing = try FixtureModels.spacing(settings: settings, kind: scheduler.kind)
        let steps = try FixtureModels.int(settings["num_inference_steps"], "settings.num_inference_steps")
        let condition = try fixture.float("quantized")

        // Every recorded denoiser call, from the recorded sample.
        let timesteps = try fixture.int("timesteps").scalars.map(Int.init)
        #expect(!timesteps.isEmpty, "\(name): no recorded denoiser calls")
        var worstStep: Float = 0
        for (i, t) in timesteps.enumerated() {
            let sample = try fixture.float("step\(i).sample")
            let reference = try fp32.denoise(sample: sample, timestep: t, condition: condition)
            let reduced = try bf16.denoise(sample: sample, timestep: t, condition: condition)
            let scale = reference.scalars.reduce(Float(0)) { max($0, abs($1)) }
            let relative = Self.difference(reduced, reference).maxAbs / max(scale, .leastNormalMagnitude)
            worstStep = max(worstStep, relative)
            #expect(relative <= 0.05, "\(name): step \(i) (t \(t)): bf16 differs from fp32 by \(relative) of the output's scale")
        }

        // The whole chain.
        let noise = try fixture.float("initial_noise")
        let varianceNoise = try fixture.keys.filter { $0.hasSuffix(".variance_noise") }.sorted().map { try fixture.float($0) }
        func decode(_ decoder: DiVAEDecoder) throws -> Tensor<Float> {
            var rng = SeededGenerator(seed: 0)
            return try decoder.decode(condition: condition, steps: steps, scheduler: scheduler, spacing: spacing, noise: noise,
                                      varianceNoise: varianceNoise, rng: &rng)
        }
        let reference = try decode(fp32)
        let reduced = try decode(bf16)
        #expect(reduced.shape == reference.shape)
        let (maxAbs, psnr) = Self.difference(reduced, reference)
        print(String(format: "[bf16] %@: worst denoiser call %.4f of its scale; decoded image bf16 vs fp32: max |diff| %.5f, PSNR %.1f dB (peak-to-peak 2)",
                     name, worstStep, maxAbs, psnr))
        #expect(maxAbs > 0, "\(name): bf16 decode equals fp32 bit for bit: the bf16 path did not run")
        #expect(psnr >= 25, "\(name): bf16 decode's PSNR against fp32 is \(psnr) dB")
    }

    /// The largest |a − b| and the PSNR of `a` against `b` for values in [-1, 1] (peak-to-peak 2).
    static func difference(_ a: Tensor<Float>, _ b: Tensor<Float>) -> (maxAbs: Float, psnr: Double) {
        let (x, y) = (a.scalars, b.scalars)
        var maxAbs: Float = 0, squares = 0.0
        for i in x.indices {
            let d = abs(x[i] - y[i])
            maxAbs = max(maxAbs, d)
            squares += Double(d) * Double(d)
        }
        let mse = squares / Double(max(x.count, 1))
        return (maxAbs, mse > 0 ? 10 * log10(4 / mse) : .infinity)
    }
}

/// The fp32 DiVAE decoders with their convolutions on oneDNN's f32 primitive instead of
/// im2col + sgemm, against the golden fixtures at each case's UNCHANGED tolerance (the same
/// checks as `DiVAEParityTests`: every step's model output from the recorded input, and the
/// whole chain). Only accumulation order differs from the im2col path.
@Suite struct DiVAEOneDNNFP32ParityTests {
    @Test(.enabled(if: OneDNNConvolution.isAvailable(.f32), "oneDNN makes no f32 convolution here"),
          arguments: DiVAEBFloat16Tests.chainCases)
    func oneDNNF32ChainMatchesReference(_ name: String) throws {
        let fixture = try CaseTensors(name)
        let decoder = try Conv2d.$fp32Backend.withValue(.oneDNN) { try FixtureModels.decoder(for: fixture) }
        let report = ParityReport("\(name) (convs on oneDNN f32)", tolerance: fixture.tolerance)
        defer { report.summary() }
        let settings = fixture.settings
        let scheduler = try FixtureModels.scheduler(settings: settings)
        let spacing = try FixtureModels.spacing(settings: settings, kind: scheduler.kind)
        let steps = try FixtureModels.int(settings["num_inference_steps"], "settings.num_inference_steps")
        let condition = try fixture.float("quantized")
        let timesteps = try fixture.int("timesteps").scalars.map(Int.init)
        for (i, t) in timesteps.enumerated() {
            let output = try decoder.denoise(sample: try fixture.float("step\(i).sample"), timestep: t, condition: condition)
            report.check(output, try fixture.float("step\(i).model_output"), "step\(i).model_output (from recorded sample)")
        }
        let varianceNoise = try fixture.keys.filter { $0.hasSuffix(".variance_noise") }.sorted().map { try fixture.float($0) }
        var rng = SeededGenerator(seed: 0)
        let output = try decoder.decode(condition: condition, steps: steps, scheduler: scheduler, spacing: spacing,
                                        noise: try fixture.float("initial_noise"), varianceNoise: varianceNoise, rng: &rng)
        report.check(output, try fixture.float("output"), "output")
    }

    @Test(.enabled(if: OneDNNConvolution.isAvailable(.f32), "oneDNN makes no f32 convolution here"),
          arguments: DiVAEParityTests.forwardCases)
    func oneDNNF32UViTCallsMatchReference(_ name: String) throws {
        let fixture = try CaseTensors(name)
        let decoder = try Conv2d.$fp32Backend.withValue(.oneDNN) { try FixtureModels.decoder(for: fixture) }
        let report = ParityReport("\(name) (convs on oneDNN f32)", tolerance: fixture.tolerance)
        defer { report.summary() }
        let condition = try fixture.float("condition")
        var call = 0
        while fixture.has("t\(call).timestep") {
            let t = Int(try fixture.int("t\(call).timestep").scalars[0])
            let output = try decoder.denoise(sample: try fixture.float("t\(call).sample"), timestep: t, condition: condition)
            report.check(output, try fixture.float("t\(call).output"), "t\(call).output")
            call += 1
        }
        #expect(call > 0)
    }
}
