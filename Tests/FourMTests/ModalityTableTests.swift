import Foundation
import FourM
import FourMModels
import FourMSampling
import FourMTensor
import FourMTokenizers
import FourMTestSupport
import Testing

/// The modality table (issue 12's "done when"): a new image modality with a VQ tokenizer is one
/// table entry plus its tokenizer file. A random 4M checkpoint naming the new domain and a
/// random ViT VQ-VAE for it are written, loaded through a bundle and run through the unchanged
/// `Pipeline`; every size comes from the table entry or the checkpoints.
@Suite struct ModalityTableTests {
    /// The new domain: one table entry (its vocabulary and patch are what define it).
    static let toy = ModalitySpec(
        imageTokens: "tok_toy", vocabulary: 64, patch: 8, tokenizer: .vq, renderer: .rgb,
        defaults: [.xToRGB: .roar(steps: 2, temperature: 1, guidance: 1)], aliases: ["toy"])

    /// The ViT preset of the toy tokenizer, declared in the bundle (`tokenizer_presets`).
    static let preset = (name: "vit_toy", dim: 16, depth: 1, heads: 2, latent: 8)

    /// The patch of a grid spec.
    static func patch(_ spec: ModalitySpec) throws -> Int {
        guard case .grid(let patch, _) = spec.layout else { throw FixtureError("\(spec.name) is not a grid modality") }
        return patch
    }

    /// A resolution both the pixel input and the toy grid divide (two patches of their lcm).
    static func resolution(_ table: ModalityTable) throws -> Int {
        let rgb = try patch(try #require(table["rgb"])), toy = try patch(try #require(table[Self.toy.name]))
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        return 2 * (rgb / gcd(rgb, toy) * toy)
    }

    /// A random ViT VQ-VAE for `spec` at `resolution` (lucid quantizer, one block each side).
    static func writeTokenizer(for spec: ModalitySpec, resolution: Int, to url: URL) throws {
        let (d, latent, patch, channels) = (preset.dim, preset.latent, try Self.patch(spec), 3)
        let hidden = 4 * d
        var rng = SeededGenerator(seed: 11)
        var w = SafeTensorsWriter(metadata: [
            "image_size": String(resolution), "n_channels": String(channels), "n_labels": "None", "enc_type": "\(preset.name)_enc",
            "dec_type": "\(preset.name)_dec", "out_conv": "False", "post_mlp": "False", "patch_proj": "True", "patch_size": String(patch),
            "quant_type": "lucid", "codebook_size": String(spec.vocabularySize), "num_codebooks": "1", "latent_dim": String(latent),
            "norm_codes": "True", "norm_latents": "False", "undo_std": "False",
        ])
        func random(_ shape: [Int]) -> Tensor<Float> { Tensor.randomUniform(shape: shape, low: -0.1, high: 0.1, using: &rng) }
        func block(_ prefix: String) {
            for norm in ["norm1", "norm2"] {
                w.add("\(prefix).\(norm).weight", Tensor<Float>(repeating: 1, shape: [d]))
                w.add("\(prefix).\(norm).bias", Tensor<Float>(zeros: [d]))
            }
            w.add("\(prefix).attn.qkv.weight", random([3 * d, d]))
            w.add("\(prefix).attn.qkv.bias", random([3 * d]))
            w.add("\(prefix).attn.proj.weight", random([d, d]))
            w.add("\(prefix).attn.proj.bias", random([d]))
            w.add("\(prefix).mlp.fc1.weight", random([hidden, d]))
            w.add("\(prefix).mlp.fc1.bias", random([hidden]))
            w.add("\(prefix).mlp.fc2.weight", random([d, hidden]))
            w.add("\(prefix).mlp.fc2.bias", random([d]))
        }
        w.add("encoder.proj.weight", random([d, channels, patch, patch]))
        w.add("encoder.proj.bias", random([d]))
        for i in 0..<preset.depth { block("encoder.blocks.\(i)") }
        w.add("quant_proj.weight", random([latent, d, 1, 1]))
        w.add("quant_proj.bias", random([latent]))
        w.add("quantize._codebook.embed", random([spec.vocabularySize, latent]))
        w.add("quantize._codebook.cluster_size", Tensor<Float>(zeros: [spec.vocabularySize]))
        w.add("quantize._codebook.initted", Tensor<Float>(repeating: 1, shape: [1]))
        w.add("post_quant_proj.weight", random([d, latent, 1, 1]))
        w.add("post_quant_proj.bias", random([d]))
        for i in 0..<preset.depth { block("decoder.blocks.\(i)") }
        w.add("decoder.out_proj.weight", random([patch * patch * channels, d]))
        w.add("decoder.out_proj.bias", random([patch * patch * channels]))
        try w.write(to: url.path)
    }

    /// A bundle folder with a random 4M (`rgb@R` in, the toy domain in and out), the toy
    /// tokenizer, and a `bundle.json` naming both; with `declaring`, the bundle also declares the
    /// toy domain under `modalities`.
    static func writeBundle(table: ModalityTable, declaring: Bool) throws -> (directory: URL, modality: Modality, pixels: Modality) {
        let side = try resolution(table)
        let rgbSpec = try #require(table["rgb"])
        let pixels = rgbSpec.modality(resolution: side), modality = toy.modality(resolution: side)
        let configuration = try #require(
            RandomCheckpoint.configuration(dim: 16, depth: 1, heads: 2, domainsIn: [pixels, modality], domainsOut: [modality], modalities: table))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fourm-modality-table-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try RandomCheckpoint.writer(for: configuration, seed: 7).write(to: dir.appendingPathComponent("model.safetensors").path)
        try writeTokenizer(for: toy, resolution: side, to: dir.appendingPathComponent("toy_tokenizer.safetensors"))
        var manifest: [String: Any] = [
            "model": "model.safetensors", "tokenizers": [modality.rawValue: "toy_tokenizer.safetensors"],
            "tokenizer_presets": ["\(preset.name)_enc": ["dim_tokens": preset.dim, "depth": preset.depth, "num_heads": preset.heads],
                                  "\(preset.name)_dec": ["dim_tokens": preset.dim, "depth": preset.depth, "num_heads": preset.heads]],
        ]
        if declaring {
            manifest["modalities"] = [toy.name: ["kind": "image_tokens", "vocabulary": toy.vocabularySize, "patch": try patch(toy), "tokenizer": "vq",
                                                 "renderer": toy.renderer.rawValue, "aliases": toy.aliases]]
        }
        try JSONSerialization.data(withJSONObject: manifest).write(to: dir.appendingPathComponent("bundle.json"))
        return (dir, modality, pixels)
    }

    @Test func aNewImageModalityIsOneTableEntryEndToEnd() throws {
        let table = ModalityTable.reference.adding(Self.toy)
        let (dir, modality, pixels) = try Self.writeBundle(table: table, declaring: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try ModelBundle(directory: dir)
        let bundle = ModelBundle(directory: files.directory, model: files.model, textTokenizer: nil, tokenizers: files.tokenizers,
                                 tokenizerPresets: files.tokenizerPresets, modalities: table)
        #expect(bundle.missingDecoders(for: [modality]).isEmpty)
        #expect(ModelBundle(directory: dir, model: files.model, textTokenizer: nil, tokenizers: [:], modalities: table).missingDecoders(for: [modality]) == [modality])

        // The reference table does not know the domain: the checkpoint is refused by name.
        #expect(throws: ModelError.self) { try FourMModel(path: bundle.model.path) }
        let model = try FourMModel(path: bundle.model.path, modalities: bundle.modalities)
        let info = try #require(model.configuration.info(modality))
        let spec = try #require(table.spec(for: modality))
        #expect(info.vocabularySize == spec.vocabularySize && info.kind == .imageTokens)

        let pipeline = try Pipeline(bundle: bundle, outputs: [modality], model: model)
        let pixelInfo = try #require(model.configuration.info(pixels))
        let side = pixelInfo.gridSize * pixelInfo.patchSize
        let photo = Tensor<Float>(zeros: [1, pixelInfo.channels, side, side])
        // The demo's caption → all recipe picks the new domain up from the model's table.
        let preset = SchedulePreset.captionToAll(model, excluding: [pixels])
        #expect(preset.targets.map(\.modality) == [modality])
        let result = try pipeline.generate(from: [pixels: .tensor(photo)], preset: preset, seed: 1)
        let tokens = try #require(result.tokens(modality))
        #expect(tokens.shape == [1, info.tokenCount])
        #expect(tokens.scalars.allSatisfy { $0 >= 0 && Int($0) < spec.vocabularySize })

        let values = try #require(try result.decodedValues(modality))
        #expect(values.shape == [1, 3, info.gridSize * info.patchSize, info.gridSize * info.patchSize])
        let picture = try #require(try spec.renderer.picture(of: values))
        #expect(picture.width == info.gridSize * info.patchSize && picture.height == picture.width)
    }

    @Test func aBundleDeclaresItsExtraModalities() throws {
        let (dir, modality, _) = try Self.writeBundle(table: ModalityTable.reference.adding(Self.toy), declaring: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bundle = try ModelBundle(directory: dir)
        var expected = Self.toy
        expected.defaults = [:]  // bundle.json declares sizes, tokenizer, renderer and aliases
        #expect(bundle.modalities[Self.toy.name] == expected)
        #expect(bundle.missingDecoders(for: [modality]).isEmpty)
        let model = try FourMModel(path: bundle.model.path, modalities: bundle.modalities)
        #expect(model.outputModalities == [modality])
        _ = try Pipeline(bundle: bundle, outputs: [modality], model: model)
    }

    @Test func badModalityDeclarationsNameTheKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fourm-modality-decl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(FileManager.default.createFile(atPath: dir.appendingPathComponent("model.safetensors").path, contents: Data()))
        for (entry, key) in [(["kind": "image_tokens", "patch": 16], "vocabulary"), (["vocabulary": 8, "patch": 0], "patch"),
                             (["vocabulary": 8, "patch": 16, "tokenizer": "text"], "tokenizer"),
                             (["vocabulary": 8, "patch": 16, "renderer": "sparkles"], "renderer"), (["kind": "sequence"], "kind")] as [([String: Any], String)] {
            let manifest: [String: Any] = ["model": "model.safetensors", "modalities": ["tok_bad": entry]]
            try JSONSerialization.data(withJSONObject: manifest).write(to: dir.appendingPathComponent("bundle.json"))
            do {
                _ = try ModelBundle(directory: dir)
                Issue.record("accepted \(entry)")
            } catch {
                #expect(error.description.contains("modalities.tok_bad.\(key)"), "\(error.description)")
            }
        }
    }

    @Test func theReferenceTableGivesTheDemoKeysAndOrder() {
        let table = ModalityTable.reference
        // DEFAULT_ORDER_SR is the 448 twin of every DEFAULT_ORDER entry the SR recipe has settings for.
        let twins = Set(table.defaultOrder.compactMap { table.spec(for: $0)?.defaults[.superResolution] != nil ? table.spec(for: $0)?.name : nil })
        #expect(Set(DemoSetup.defaultOrderSuperResolution.map(\.baseName)) == twins)
        // Each entry of a recipe's table is found again by every domain of its key.
        for recipe in [GenerationRecipe.rgbToX, .xToRGB, .superResolution] {
            let demo = DemoDefaultsTable(recipe, modalities: table)
            for entry in demo.entries {
                for domain in entry.domains.split(separator: "/") { #expect(demo.defaults(for: Modality(rawValue: String(domain))) == entry.defaults) }
            }
        }
        // Adding a spec leaves the reference untouched and replacing one keeps its place.
        let added = table.adding(Self.toy)
        #expect(added.specs.count == table.specs.count + 1 && table[Self.toy.name] == nil)
        guard var depth = table["tok_depth"] else {
            Issue.record("the reference table has no tok_depth")
            return
        }
        depth.aliases = ["d"]
        let replaced = table.adding(depth)
        #expect(replaced.specs.map(\.name) == table.specs.map(\.name) && replaced.baseNames(matching: "d") == ["tok_depth"])
    }

    @Test func specialTokensAreReadFromTheTextTokenizer() throws {
        let tokenizer = try WordPieceTokenizer(contentsOf: try Fixtures.url("text_tokenizer_4m_wordpiece_30k.json"))
        let table = ModalityTable.reference
        for spec in table.specs where spec.needsTextTokenizer {
            let ids = try spec.specialTokenIds(in: tokenizer)
            #expect(ids.count == spec.specialTokens.count && !ids.isEmpty, "\(spec.name)")
            for (text, id) in ids { #expect(SpecialTokens.id(of: text).map { $0 == id } ?? true, "\(spec.name) \(text)") }
        }
        var caption = try #require(table["caption"])
        caption.specialTokens.append("[NOT_A_TOKEN]")
        #expect(throws: FourMError.specialToken(modality: "caption", token: "[NOT_A_TOKEN]", expected: "a token of the vocabulary", actual: "missing")) {
            try caption.specialTokenIds(in: tokenizer)
        }
    }
}
