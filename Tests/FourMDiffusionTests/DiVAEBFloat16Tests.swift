import Foundation
import FourMDiffusion
import FourMTensor
import FourMTestSupport
import Testing

/// A DiVAE decoder loaded in bf16 (convolutions and linear layers through oneDNN) against the
/// same decoder in fp32, on every `tokenizer_divae` fixture case (the whole sampling chain
/// from the recorded initial noise, DDPM noises replayed). Prints the max abs error and the
/// PSNR of the decoded image (peak-to-peak 2: outputs live in [-1, 1]).
///
/// Bound asserted: max |bf16 − fp32| ≤ 0.05 (PSNR ≥ ~32 dB at worst). Why: bf16 keeps 8
/// significant bits, so each convolution or linear layer rounds its input and weight by up to
/// 2⁻⁹ relative each (~0.4% of a product term); through the ~20 rounded layers of a fixture
/// UNet/UViT and a few denoising steps these add roughly like a random walk to ~1% of the
/// activation scale, and dynamic thresholding keeps outputs in [-1, 1], so an element's error
/// stays around 0.01–0.02. A real defect (wrong weight layout, lost bias, a transposed
/// image) moves outputs by O(1). The fp32 parity suites (`DiVAEParityTests`) are unchanged:
/// fp32 decoders do not use oneDNN.
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
        let (a, b) = (reduced.scalars, reference.scalars)
        var maxAbs: Float = 0, squares = 0.0
        for i in a.indices {
            let d = abs(a[i] - b[i])
            maxAbs = max(maxAbs, d)
            squares += Double(d) * Double(d)
        }
        let mse = squares / Double(max(a.count, 1))
        let psnr = mse > 0 ? 10 * log10(4 / mse) : .infinity
        print(String(format: "[bf16] %@: decoded image bf16 vs fp32: max |diff| %.5f, PSNR %.1f dB (peak-to-peak 2)", name, maxAbs, psnr))
        #expect(maxAbs > 0, "\(name): bf16 decode equals fp32 bit for bit: the bf16 path did not run")
        #expect(maxAbs <= 0.05, "\(name): bf16 decode differs from fp32 by \(maxAbs)")
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
