import Foundation
import FourM
import FourMTestSupport
import Testing

/// End-to-end runs of the public API on a bundle made of fixture checkpoints: the 4M-21-style
/// model, the real WordPiece vocabulary and the small semseg VQ-VAE with its codebook widened
/// to the model's vocabulary (random extra rows; it decodes, it is not trained). Every size the
/// tests expect comes from the checkpoints: token counts and grids from the model's header and
/// tensor shapes, classes, channels and patch sizes from the tokenizers' headers.
@Suite struct PipelineTests {
    /// The model's token count and grid side for `modality`.
    static func grid(_ modality: String) throws -> (tokens: Int, side: Int) {
        let configuration = try #require(try FixtureBundle.modelConfiguration())
        let info = try #require(configuration.info(Modality(rawValue: modality)), "fm21 has no \(modality)")
        return (info.tokenCount, info.gridSize)
    }

    /// The decoded side in pixels of a `side × side` grid through tokenizer `name`: its decoder
    /// patch size (`patch_size_dec`, else `patch_size`) per token.
    static func pixels(side: Int, tokenizer name: String) throws -> Int {
        let metadata = try FixtureBundle.tokenizerMetadata(name)
        let patch = try Int(metadata["patch_size_dec"] ?? "") ?? FixtureBundle.tokenizerInt(name, "patch_size")
        return side * patch
    }

    @Test func generatesTextAndDecodesSegmentation() throws {
        guard let dir = try FixtureBundle.make() else { return }
        let semseg = Modality(rawValue: FixtureBundle.semsegTarget)
        let (tokens, side) = try Self.grid(semseg.rawValue)
        let pixels = try Self.pixels(side: side, tokenizer: "tok_vqvae_vit_semseg")
        let classes = try FixtureBundle.tokenizerInt("tok_vqvae_vit_semseg", "n_labels")
        let pipeline = try Pipeline(bundle: dir, outputs: ["det", semseg])
        let preset = SchedulePreset(targets: [
            TargetSettings(semseg, scheme: .maskGIT, tokens: tokens, steps: 2, temperature: 0),
            TargetSettings("det", scheme: .autoregressive, tokens: 12, temperature: 0),
            TargetSettings("caption", scheme: .autoregressive, tokens: 12, temperature: 0),  // given as input: skipped
        ])
        var steps = 0
        let result = try pipeline.generate(from: ["caption": .text("a dog on a couch")], preset: preset, seed: 7) { _ in steps += 1 }
        #expect(steps == 3)
        let generated = try #require(result.tokens(semseg))
        #expect(generated.shape == [1, tokens])
        let values = try #require(try result.decodedValues(semseg))
        #expect(values.shape == [1, classes, pixels, pixels])
        let segmentation = try #require(try result.segmentation(semseg))
        #expect(segmentation.labels.shape == [pixels, pixels] && !segmentation.classNames.isEmpty)
        // The caption was a condition: it is returned as given; det was generated (random model).
        #expect(try result.text("caption") == "a dog on a couch")
        #expect(try result.text("det") != nil)
    }

    @Test func boxesGoInAndComeBackOut() throws {
        guard let dir = try FixtureBundle.make() else { return }
        let pipeline = try Pipeline(bundle: dir, outputs: ["caption"])
        let boxes = [DetectedBox(xmin: 0.1, ymin: 0.2, xmax: 0.5, ymax: 0.8, className: "dog"), DetectedBox(xmin: 0.3, ymin: 0.1, xmax: 0.9, ymax: 0.6, className: "traffic light")]
        let preset = SchedulePreset(targets: [TargetSettings("caption", scheme: .autoregressive, tokens: 6, temperature: 0)])
        let result = try pipeline.generate(from: ["det": .boxes(boxes)], preset: preset, seed: 1)
        let parsed = try #require(try result.boxes("det"))
        #expect(parsed.issues.isEmpty)
        #expect(parsed.value.map(\.className) == ["dog", "traffic light"])
        let given = Dictionary(uniqueKeysWithValues: boxes.map { ($0.className, $0.xmin) })
        #expect(parsed.value.allSatisfy { abs($0.xmin - (given[$0.className] ?? -1)) < 1e-3 })
    }

    @Test func batchRowsMatchSingleRuns() throws {
        guard let dir = try FixtureBundle.make() else { return }
        let pipeline = try Pipeline(bundle: dir, outputs: ["tok_semseg@224", "det"])
        let preset = SchedulePreset(targets: [TargetSettings("tok_semseg@224", scheme: .maskGIT, tokens: try Self.grid("tok_semseg@224").tokens, steps: 2, temperature: 0),
                                              TargetSettings("det", scheme: .autoregressive, tokens: 8, temperature: 0)])
        let captions = ["a dog on a couch", "two red buses parked next to a tall brick building"]
        let batched = try pipeline.generate(batch: captions.map { ["caption": .text($0)] }, preset: preset, seed: 5)
        for (row, caption) in captions.enumerated() {
            let single = try pipeline.generate(from: ["caption": .text(caption)], preset: preset, seed: 5)
            #expect(batched.tokens("tok_semseg@224")?.slice(row..<(row + 1)).scalars == single.tokens("tok_semseg@224")?.scalars, "row \(row)")
            #expect(try batched.text("det", row: row) == (try single.text("det")), "row \(row)")
        }
        #expect(throws: FourMError.self) { try pipeline.generate(batch: [["caption": .text("a")], ["det": .text("b")]], preset: preset) }
    }

    @Test func decodesRGBTokensThroughTheDiffusionTokenizer() throws {
        guard let dir = try FixtureBundle.make() else { return }
        let rgb = Modality(rawValue: FixtureBundle.rgbTarget)
        let (tokens, side) = try Self.grid(rgb.rawValue)
        let pixels = try Self.pixels(side: side, tokenizer: "tok_divae")
        let channels = try FixtureBundle.tokenizerInt("tok_divae", "n_channels")
        var pipeline = try Pipeline(bundle: dir, outputs: [rgb])
        pipeline.diffusionSteps = 2
        let preset = SchedulePreset(targets: [TargetSettings(rgb, scheme: .maskGIT, tokens: tokens, steps: 1, temperature: 0)])
        let result = try pipeline.generate(from: ["caption": .text("a red bus")], preset: preset, seed: 2)
        let picture = try #require(try result.image(rgb))
        #expect(picture.width == pixels && picture.height == pixels && picture.channels == channels)
    }

    @Test func missingTokenizersAreNamedAtLoad() throws {
        guard let dir = try FixtureBundle.make() else { return }
        #expect { try Pipeline(bundle: dir) } throws: { error in
            guard case FourMError.missingTokenizers(_, let modalities) = error else { return false }
            return modalities.contains("tok_depth@224") && !modalities.contains("tok_semseg@224") && !modalities.contains("tok_rgb@224") && !modalities.contains("caption")
        }
    }

    @Test func badInputsThrowTypedErrors() throws {
        guard let dir = try FixtureBundle.make() else { return }
        let pipeline = try Pipeline(bundle: dir, outputs: ["caption"])
        let preset = SchedulePreset(targets: [TargetSettings("caption", scheme: .autoregressive, tokens: 8, temperature: 0)])
        #expect(throws: FourMError.invalidInput(modality: "det", expected: "non-empty text", actual: "empty text")) {
            try pipeline.generate(from: ["det": .text("")], preset: preset)
        }
        #expect { try pipeline.generate(from: ["tok_smell@224": .text("x")], preset: preset) } throws: { error in
            if case FourMError.unknownModality("tok_smell@224", "input", _) = error { return true }
            return false
        }
        let unknownTarget = SchedulePreset(targets: [TargetSettings("rgb@224", scheme: .maskGIT, tokens: try Self.grid("rgb@224").tokens)])
        #expect(throws: FourMError.self) { try pipeline.generate(from: ["caption": .text("a cat")], preset: unknownTarget) }
        #expect(throws: FourMError.self) { try Pipeline(bundle: URL(fileURLWithPath: "/nonexistent-bundle")) }
    }
}
