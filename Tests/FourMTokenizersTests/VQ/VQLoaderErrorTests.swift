import Foundation
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// Loader and input failures of the VQ tokenizers, each asserting the exact typed error case.
/// Broken checkpoints are modified copies of a fixture tokenizer written to a temporary folder
/// with `SafeTensorsWriter`. The source model is looked up by the manifest (the model of the
/// first `tokenizer_vqvae` case with an `out_conv` head, so the decoder has ConvNeXt blocks).
@Suite struct VQLoaderErrorTests {
    static let hasFixtures = Fixtures.directory != nil

    /// A ViT tokenizer checkpoint of the fixtures and its configuration.
    func vitCheckpoint() throws -> (path: String, configuration: VQConfiguration) {
        for name in Fixtures.caseNames(kinds: ["tokenizer_vqvae"]) {
            let model = try VQFixtureSupport.text(try Fixtures.caseObject(name)["model"], "\(name).model")
            let path = try VQFixtureSupport.modelPath(model)
            let file = try SafeTensorsFile(path: path)
            let configuration = try VQConfiguration(metadata: file.metadata, file: path)
            if configuration.outConv && configuration.labels == nil { return (path, configuration) }
        }
        throw FixtureError("no tokenizer_vqvae case with out_conv")
    }

    /// The label-map tokenizer of the fixtures.
    func semsegCheckpoint() throws -> (path: String, configuration: VQConfiguration) {
        for name in Fixtures.caseNames(kinds: ["tokenizer_vqvae"]) {
            let model = try VQFixtureSupport.text(try Fixtures.caseObject(name)["model"], "\(name).model")
            let path = try VQFixtureSupport.modelPath(model)
            let configuration = try VQConfiguration(metadata: try SafeTensorsFile(path: path).metadata, file: path)
            if configuration.labels != nil { return (path, configuration) }
        }
        throw FixtureError("no tokenizer_vqvae case with n_labels")
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsLatentDimThatDisagreesWithTensors() throws {
        let (source, c) = try vitCheckpoint()
        let path = try VQFixtureSupport.rewrite(source, metadata: ["latent_dim": String(c.latentDim + 8)])
        let encoderWidth = try SafeTensorsFile(path: source).entries["quant_proj.weight"]?.shape[1] ?? -1
        #expect(throws: VQTokenizerError.weights(.shapeMismatch(
            file: path, key: "quant_proj.weight", expected: [c.latentDim + 8, encoderWidth, 1, 1],
            actual: [c.latentDim, encoderWidth, 1, 1]))) {
            _ = try VQFixtureSupport.tokenizer(path: path)
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsMissingTensor() throws {
        let (source, _) = try vitCheckpoint()
        let path = try VQFixtureSupport.rewrite(source, dropping: ["decoder.out_conv.1.gamma"])
        #expect(throws: VQTokenizerError.weights(.missingTensor(file: path, key: "decoder.out_conv.1.gamma"))) {
            _ = try VQFixtureSupport.tokenizer(path: path)
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsExtraTensor() throws {
        let (source, _) = try vitCheckpoint()
        let path = try VQFixtureSupport.rewrite(source, adding: ["decoder.extra.weight": Tensor(zeros: [2, 2])])
        #expect(throws: VQTokenizerError.weights(.unusedTensors(file: path, keys: ["decoder.extra.weight"], total: 1))) {
            _ = try VQFixtureSupport.tokenizer(path: path)
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsOutConvFlagWithoutItsTensors() throws {
        let (source, _) = try vitCheckpoint()
        let path = try VQFixtureSupport.rewrite(source, metadata: ["out_conv": "False"])
        let error = #expect(throws: VQTokenizerError.self) { _ = try VQFixtureSupport.tokenizer(path: path) }
        guard case .weights(.unusedTensors(let file, let keys, let total))? = error else {
            Issue.record("expected unusedTensors, got \(String(describing: error))")
            return
        }
        #expect(file == path)
        #expect(keys.allSatisfy { $0.hasPrefix("decoder.out_conv.") } && total == 18, "\(keys) \(total)")
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsUnknownQuantType() throws {
        let (source, _) = try vitCheckpoint()
        let path = try VQFixtureSupport.rewrite(source, metadata: ["quant_type": "fsq"])
        #expect(throws: VQTokenizerError.unsupported(file: path, key: "quant_type", value: "fsq", hint: "supported: lucid, memcodes")) {
            _ = try VQFixtureSupport.tokenizer(path: path)
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsUnknownEncoderAndDecoderTypes() throws {
        let (source, _) = try vitCheckpoint()
        for (key, value) in [("enc_type", "vit_unregistered_enc"), ("dec_type", "resnet_dec"), ("enc_type", "BottleneckMLP/B_x")] {
            let path = try VQFixtureSupport.rewrite(source, metadata: [key: value])
            let error = #expect(throws: VQTokenizerError.self) { _ = try VQFixtureSupport.tokenizer(path: path) }
            guard case .unsupported(let file, let errorKey, let errorValue, _)? = error else {
                Issue.record("\(key)=\(value): expected unsupported, got \(String(describing: error))")
                continue
            }
            #expect(file == path && errorKey == key && errorValue == value)
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsMistypedMetadata() throws {
        let (source, _) = try vitCheckpoint()
        let path = try VQFixtureSupport.rewrite(source, metadata: ["latent_dim": "thirty-two"])
        #expect(throws: VQTokenizerError.invalidConfiguration(file: path, key: "latent_dim", expected: "a positive integer", actual: "'thirty-two'")) {
            _ = try VQFixtureSupport.tokenizer(path: path)
        }
        let flag = try VQFixtureSupport.rewrite(source, metadata: ["post_mlp": "7"])
        #expect(throws: VQTokenizerError.invalidConfiguration(file: flag, key: "post_mlp", expected: "True or False", actual: "7")) {
            _ = try VQFixtureSupport.tokenizer(path: flag)
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsPresetWidthThatDisagreesWithTensors() throws {
        let (source, c) = try vitCheckpoint()
        let file = try SafeTensorsFile(path: source)
        let proj = file.entries["encoder.proj.weight"]?.shape ?? []
        let wrong = VQViTPreset(dim: proj[0] / 2, depth: 1, heads: 1)
        #expect(throws: VQTokenizerError.weights(.shapeMismatch(
            file: source, key: "encoder.proj.weight", expected: [proj[0] / 2] + proj.dropFirst(), actual: proj))) {
            _ = try VQFixtureSupport.tokenizer(path: source, presets: [c.encoderType: wrong])
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsDiffusionCheckpoint() throws {
        for model in (Fixtures.manifest?["models"] as? [[String: Any]] ?? []) {
            guard (model["cls"] as? String)?.hasSuffix("DiVAE") == true, let name = model["name"] as? String else { continue }
            let path = try VQFixtureSupport.modelPath(name)
            let decoder = (model["config"] as? [String: Any])?["dec_type"] as? String ?? ""
            let error = #expect(throws: VQTokenizerError.self) { _ = try VQFixtureSupport.tokenizer(path: path) }
            guard case .unsupported(path, "dec_type", decoder, _)? = error else {
                Issue.record("\(name): expected unsupported dec_type, got \(String(describing: error))")
                continue
            }
        }
    }

    @Test func vqRejectsUnreadableFile() {
        let path = "/nonexistent/vq.safetensors"
        let error = #expect(throws: VQTokenizerError.self) { _ = try VQFixtureSupport.tokenizer(path: path) }
        guard case .weights(.unreadable(path, _))? = error else {
            Issue.record("expected unreadable, got \(String(describing: error))")
            return
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsOutOfRangeIDs() throws {
        let (source, c) = try vitCheckpoint()
        let tokenizer = try VQFixtureSupport.tokenizer(path: source)
        let size = Int32(c.codebookSize)
        #expect(throws: VQTokenizerError.idOutOfRange(id: size, codebookSize: c.codebookSize)) {
            _ = try tokenizer.decode(ids: Tensor(shape: [1, 2, 2], scalars: [0, 1, size, 2]))
        }
        #expect(throws: VQTokenizerError.idOutOfRange(id: -1, codebookSize: c.codebookSize)) {
            _ = try tokenizer.codebookVectors(ids: Tensor(shape: [1, 1, 2], scalars: [-1, 0]))
        }
        let error = #expect(throws: VQTokenizerError.self) {
            _ = try tokenizer.decode(ids: Tensor<Int32>(shape: [4], scalars: [0, 1, 2, 3]))
        }
        guard case .invalidInput("ids", _, _)? = error else {
            Issue.record("expected invalidInput(ids), got \(String(describing: error))")
            return
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsInputsThatDoNotFit() throws {
        let (source, c) = try vitCheckpoint()
        let tokenizer = try VQFixtureSupport.tokenizer(path: source)
        let p = c.patchSize
        let shapes: [[Int]] = [
            [1, c.channels, p + 1, p],  // not a multiple of the patch
            [1, c.channels + 1, p, p],  // wrong channel count
            [c.channels, p, p],  // missing batch axis
            [0, c.channels, p, p],  // empty batch
        ]
        for shape in shapes {
            let error = #expect(throws: VQTokenizerError.self) { _ = try tokenizer.encode(Tensor(zeros: shape)) }
            guard case .invalidInput("input", _, "shape \(shape)")? = error else {
                Issue.record("\(shape): expected invalidInput(input), got \(String(describing: error))")
                continue
            }
        }
        let latents = #expect(throws: VQTokenizerError.self) { _ = try tokenizer.decode(quantized: Tensor(zeros: [1, c.latentDim + 1, 2, 2])) }
        guard case .invalidInput("quantized", _, _)? = latents else {
            Issue.record("expected invalidInput(quantized), got \(String(describing: latents))")
            return
        }
        let labels = #expect(throws: VQTokenizerError.self) { _ = try tokenizer.encode(labels: Tensor(zeros: [1, p, p])) }
        guard case .invalidInput("labels", _, _)? = labels else {
            Issue.record("expected invalidInput(labels), got \(String(describing: labels))")
            return
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqRejectsOutOfRangeLabels() throws {
        let (source, c) = try semsegCheckpoint()
        let tokenizer = try VQFixtureSupport.tokenizer(path: source)
        let labelCount = try #require(c.labels)
        let side = c.patchSize
        var scalars = [Int32](repeating: 0, count: side * side)
        scalars[5] = Int32(labelCount)
        #expect(throws: VQTokenizerError.labelOutOfRange(label: Int32(labelCount), labelCount: labelCount)) {
            _ = try tokenizer.encode(labels: Tensor(shape: [1, side, side], scalars: scalars))
        }
        let error = #expect(throws: VQTokenizerError.self) {
            _ = try tokenizer.encode(Tensor(zeros: [1, c.channels, side, side]))
        }
        guard case .invalidInput("image", _, _)? = error else {
            Issue.record("expected invalidInput(image), got \(String(describing: error))")
            return
        }
    }

    @Test(.enabled(if: hasFixtures)) func vqMemcodesRejectsBadIDLayout() throws {
        for name in Fixtures.caseNames(kinds: ["tokenizer_mlp"]) {
            let model = try VQFixtureSupport.text(try Fixtures.caseObject(name)["model"], "\(name).model")
            let tokenizer = try VQFixtureSupport.tokenizer(path: try VQFixtureSupport.modelPath(model))
            let heads = tokenizer.codebookCount
            let error = #expect(throws: VQTokenizerError.self) {
                _ = try tokenizer.decode(ids: Tensor(zeros: [1, heads + 1]))
            }
            guard case .invalidInput("ids", _, _)? = error else {
                Issue.record("expected invalidInput(ids), got \(String(describing: error))")
                continue
            }
            // The flattened (B, heads) form 4M uses decodes like (B, heads, 1, 1).
            let ids = Tensor<Int32>(zeros: [2, heads])
            #expect(try tokenizer.decode(ids: ids) == tokenizer.decode(ids: ids.reshaped([2, heads, 1, 1])))
            #expect(throws: VQTokenizerError.idOutOfRange(id: Int32(tokenizer.codebookSize), codebookSize: tokenizer.codebookSize)) {
                _ = try tokenizer.decode(ids: Tensor(repeating: Int32(tokenizer.codebookSize), shape: [1, heads]))
            }
        }
    }
}
