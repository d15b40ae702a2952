import Foundation
import FourMTensor
import FourMTestSupport
@_spi(Parity) import FourMTokenizers
import Testing

/// Behaviours the fixtures do not record directly, checked on modified copies of the fixture
/// tokenizers: the `undo_std` input mapping, recomputed position tables, the release presets.
@Suite struct VQBehaviourTests {
    static let hasFixtures = Fixtures.directory != nil

    /// The first `tokenizer_vqvae` case whose model takes 3-channel images through patches,
    /// with its stored input.
    func rgbCase() throws -> (path: String, input: Tensor<Float>, configuration: VQConfiguration) {
        try VQFixtureSupport.registerPresets()
        for name in Fixtures.caseNames(kinds: ["tokenizer_vqvae"]) {
            let fixture = try CaseTensors(name)
            guard fixture.dtype("input") == "float32" else { continue }
            let model = try VQFixtureSupport.text(fixture.object["model"], "\(name).model")
            let path = try VQFixtureSupport.modelPath(model)
            let c = try VQConfiguration(metadata: try SafeTensorsFile(path: path).metadata, file: path)
            if c.channels == 3 && c.patchProjection && !c.undoStandardization { return (path, try fixture.float("input"), c) }
        }
        throw FixtureError("no 3-channel patch tokenizer case")
    }

    @Test(.enabled(if: hasFixtures)) func vqUndoStdMapsImageNetInputToMinusOneOne() throws {
        let (source, input, _) = try rgbCase()
        let plain = try VQImageTokenizer(path: source)
        let undoing = try VQImageTokenizer(path: try VQFixtureSupport.rewrite(source, metadata: ["undo_std": "True"]))
        // An ImageNet-standardised image whose [-1, 1] form is `input`: x = ((input+1)/2 − mean)/std.
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let plane = input.shape[2] * input.shape[3]
        let standardized = Tensor(shape: input.shape, scalars: input.scalars.enumerated().map { i, v in
            let c = (i / plane) % 3
            return ((v + 1) / 2 - mean[c]) / std[c]
        })
        // Round trip of the affine map in float32: ≤ a few ulps of values in [-3, 3].
        expectClose(try undoing.latents(standardized), try plain.latents(input), atol: 1e-4, rtol: 1e-4, "undo_std latents")
    }

    @Test(.enabled(if: hasFixtures)) func vqRecomputesMissingPositionTables() throws {
        let (source, input, _) = try rgbCase()
        let stored = try VQImageTokenizer(path: source)
        let computed = try VQImageTokenizer(path: try VQFixtureSupport.rewrite(source, dropping: ["encoder.pos_emb", "decoder.pos_emb"]))
        // The stored tables are the same float32 sin-cos tables (spec 1.4, 3.2); sin/cos of the
        // same float32 angles may differ by an ulp between libm and torch.
        let a = try stored.encodeTrace(input), b = try computed.encodeTrace(input)
        expectClose(b.encoderFeatures, a.encoderFeatures, atol: 1e-5, rtol: 1e-4, "encoder features")
        #expect(b.quantization.ids == a.quantization.ids)
        expectClose(try computed.decode(ids: a.quantization.ids), try stored.decode(ids: a.quantization.ids), atol: 1e-5, rtol: 1e-4, "decoded")
    }

    @Test(.enabled(if: hasFixtures)) func vqEncodesEveryBatchElementIndependently() throws {
        let (source, input, _) = try rgbCase()
        let tokenizer = try VQImageTokenizer(path: source)
        let whole = try tokenizer.encodeTrace(input)
        for b in 0..<input.shape[0] {
            let single = try tokenizer.encodeTrace(input.slice(b..<(b + 1)))
            #expect(single.quantization.ids.scalars == whole.quantization.ids.slice(b..<(b + 1)).scalars, "ids of element \(b)")
            expectClose(single.latents, whole.latents.slice(b..<(b + 1)), atol: 1e-5, rtol: 1e-4, "latents of element \(b)")
        }
    }

    @Test func vqReleasePresetsAreBuiltIn() {
        #expect(VQPresets.vit(named: "vit_b_enc") == VQViTPreset(dim: 768, depth: 12, heads: 12))
        #expect(VQPresets.vit(named: "vit_b_dec")?.mlpHidden == 3072)
        #expect(VQPresets.vit(named: "vit_l_enc") == VQViTPreset(dim: 1024, depth: 24, heads: 16))
        #expect(VQPresets.vit(named: "vit_unknown") == nil)
        VQPresets.register(VQViTPreset(dim: 8, depth: 1, heads: 2), as: "vit_behaviour_test_enc")
        #expect(VQPresets.vit(named: "vit_behaviour_test_enc")?.heads == 2)
    }
}
