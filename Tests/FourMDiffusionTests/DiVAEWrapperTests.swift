import Foundation
import FourMDiffusion
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// The whole DiVAE tokenizer from one checkpoint: encoder ids and codebook conditions against
/// every `tokenizer_divae` case, and a full decode where the case used the checkpoint's own
/// scheduler. Tolerances: the manifest's per case (ids exact).
@Suite struct DiVAEWrapperTests {
    static let cases = Fixtures.caseNames(kinds: ["tokenizer_divae"])

    /// Loads a fixture DiVAE with the manifest's ViT and diffusion presets.
    static func divae(path: String) throws -> DiVAE {
        try DiVAE(path: path, presets: try FixturePresets.vitPresets(), diffusionPresets: try FixtureModels.presets.get())
    }

    @Test(arguments: cases)
    func encodesConditionsAndDecodes(_ name: String) throws {
        let f = try CaseTensors(name)
        let (atol, rtol) = f.tolerance
        let modelName = try #require(f.object["model"] as? String)
        let divae = try Self.divae(path: try Fixtures.url(try #require(try Fixtures.modelObject(modelName)["file"] as? String)).path)
        let ids = try f.int("token_ids")
        #expect(try divae.encode(try f.float("input")).scalars == ids.scalars, "\(name) token_ids")
        expectClose(try divae.condition(ids: ids), try f.float("quantized"), atol: atol, rtol: rtol, "\(name) quantized")
        // A full decode through the public API replays the case when it used the checkpoint's
        // own scheduler and no per-step noise (the DDIM cases built from the config).
        if !f.has("step0.variance_noise"), f.settings["scheduler_class"] as? String == "DDIMScheduler",
            divae.decoder.scheduler.kind == .ddim, let steps = (f.settings["num_inference_steps"] as? NSNumber)?.intValue
        {
            var rng = SeededGenerator(seed: 0)
            let output = try divae.decode(ids: ids, steps: steps, noise: try f.float("initial_noise"), rng: &rng)
            expectClose(output, try f.float("output"), atol: atol, rtol: rtol, "\(name) output")
        }
    }

    @Test func rejectsIdsOutsideTheCodebook() throws {
        guard let fixtures = Fixtures.directory else { return }
        let path = fixtures.appendingPathComponent("models/tok_divae.safetensors").path
        let divae = try Self.divae(path: path)
        // A grid of the checkpoint's own size (image_size / patch_size from its header), so only
        // the ids are wrong.
        let metadata = try SafeTensorsFile(path: path).metadata
        let size = try #require(Int(metadata["image_size_enc"] ?? "") ?? Int(metadata["image_size"] ?? ""))
        let side = size / (try #require(Int(metadata["patch_size"] ?? "")))
        var rng = SeededGenerator(seed: 1)
        var inRange = SeededGenerator(seed: 1)
        _ = try divae.decode(ids: Tensor(repeating: Int32(divae.codebookSize - 1), shape: [1, side, side]), steps: 1, rng: &inRange)
        #expect(throws: DiVAEError.self) { try divae.decode(ids: Tensor(repeating: Int32(divae.codebookSize), shape: [1, side, side]), steps: 2, rng: &rng) }
    }
}
