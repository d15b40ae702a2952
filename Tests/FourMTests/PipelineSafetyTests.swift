import Foundation
@testable import FourM
import FourMTestSupport
import Testing

/// The Pipeline's public entry points throw one typed error for every caller mistake instead
/// of trapping (issue 12, item 4), decode each output once, and seed diffusion decoding from
/// the run's seed. Sizes come from the demo model's configuration.
@Suite struct PipelineSafetyTests {
    static let pipeline = Result { try Pipeline() }

    /// The demo's first image-like output with a tokenizer, its token count and vocabulary.
    static func imageOutput(_ pipeline: Pipeline) throws -> (modality: Modality, tokens: Int, vocabulary: Int) {
        let configuration = pipeline.model.configuration
        let modality = try #require(pipeline.model.outputModalities.first { configuration.info($0)?.kind == .imageTokens && pipeline.imageTokenizers[$0] != nil })
        let info = try #require(configuration.info(modality))
        return (modality, info.tokenCount, info.vocabularySize)
    }

    /// One generated row: the image output (1 ROAR step) and a short caption.
    static func result() throws -> (Pipeline, PipelineResult, Modality) {
        let pipeline = try Self.pipeline.get()
        let (image, tokens, _) = try imageOutput(pipeline)
        let preset = SchedulePreset(targets: [
            TargetSettings(image, scheme: .roar, tokens: tokens, steps: 1, temperature: 0.01),
            TargetSettings(.caption, scheme: .autoregressive, tokens: 8, temperature: 0.5),
        ])
        let input = try #require(pipeline.model.inputModalities.first { pipeline.model.configuration.info($0)?.kind == .pixels })
        let side = try #require(pipeline.model.configuration.info(input)).gridSize * (try #require(pipeline.model.configuration.info(input))).patchSize
        let photo = try Image(width: side, height: side, filledWith: Image.Color(red: 90, green: 140, blue: 200))
        return (pipeline, try pipeline.generate(from: [input: .image(photo)], preset: preset, seed: 5), image)
    }

    // MARK: - decode

    @Test func decodeRejectsTokensOfTheWrongShape() throws {
        let pipeline = try Self.pipeline.get()
        let (m, tokens, _) = try Self.imageOutput(pipeline)
        let short = Tensor<Int32>(zeros: [1, tokens - 1])
        #expect(throws: FourMError.tokenShape(modality: m.rawValue, expected: [1, tokens], actual: [1, tokens - 1])) {
            try pipeline.decode(m, tokens: short)
        }
        let flat = Tensor<Int32>(zeros: [tokens])
        #expect(throws: FourMError.tokenShape(modality: m.rawValue, expected: [1, tokens], actual: [tokens])) {
            try pipeline.decode(m, tokens: flat)
        }
        let empty = Tensor<Int32>(zeros: [0, tokens])
        #expect(throws: FourMError.tokenShape(modality: m.rawValue, expected: [1, tokens], actual: [0, tokens])) {
            try pipeline.decode(m, tokens: empty)
        }
    }

    @Test func decodeRejectsIdsOutsideTheVocabulary() throws {
        let pipeline = try Self.pipeline.get()
        let (m, tokens, vocabulary) = try Self.imageOutput(pipeline)
        for (bad, position) in [(Int32(vocabulary), tokens / 2), (-1, 0)] {
            var scalars = [Int32](repeating: 0, count: tokens)
            scalars[position] = bad
            #expect(throws: FourMError.tokenOutOfRange(modality: m.rawValue, id: bad, position: position, vocabularySize: vocabulary)) {
                try pipeline.decode(m, tokens: Tensor(shape: [1, tokens], scalars: scalars))
            }
        }
    }

    @Test func decodeRejectsAnUnknownModality() throws {
        let pipeline = try Self.pipeline.get()
        let unknown = Modality(rawValue: "tok_unknown@7")
        #expect(throws: FourMError.unknownModality(name: unknown.rawValue, role: "output", available: pipeline.model.outputModalities.map(\.rawValue))) {
            try pipeline.decode(unknown, tokens: Tensor<Int32>(zeros: [1, 1]))
        }
    }

    /// Top-k values the sampler would turn into an `Int` by a trapping conversion.
    @Test(arguments: [Double.nan, .infinity, -.infinity, 2])
    func generationRejectsATopKFractionOutsideZeroToOne(_ fraction: Double) throws {
        let pipeline = try Self.pipeline.get()
        let (image, tokens, _) = try Self.imageOutput(pipeline)
        let preset = SchedulePreset(targets: [TargetSettings(image, scheme: .roar, tokens: tokens, steps: 1, temperature: 0.01)],
                                    filter: SamplingFilter(topK: .fraction(fraction)))
        let expected = FourMError.generation(.invalidSetting(target: "every step", setting: "top-k fraction", expected: "a fraction in 0…1", actual: "\(fraction)"))
        #expect(throws: expected) { try pipeline.generate(from: [:], preset: preset, seed: 1) }
    }

    @Test(arguments: [Double.nan, .infinity, 1e300])
    func demoGenerationRejectsATopKThatIsNoCount(_ topK: Double) throws {
        let pipeline = try Self.pipeline.get()
        let expected = FourMError.generation(.invalidSetting(target: "every step", setting: "topK", expected: "a finite number (0 = off, below 1 a share of the vocabulary)", actual: "\(topK)"))
        #expect(throws: expected) { try pipeline.generateAsDemo([], seed: 1, topK: topK) }
    }

    /// `DemoSetup.dictionary(patchSize:)` divided the pixel side by the caller's patch size.
    @Test(arguments: [0, -16])
    func demoSetupRejectsAPatchSizeBelowOne(_ patchSize: Int) throws {
        let pipeline = try Self.pipeline.get()
        let input = try #require(pipeline.model.inputModalities.first { pipeline.model.configuration.info($0)?.kind == .pixels })
        let info = try #require(pipeline.model.configuration.info(input))
        let side = info.gridSize * info.patchSize
        let setup = DemoSetup(sample: [(input, .pixels(Tensor(zeros: [1, info.channels, side, side])))], modelModalities: [input])
        #expect(throws: FourMError.invalidInput(modality: input.rawValue, expected: "a positive patch size", actual: "\(patchSize)")) {
            try setup.dictionary(textTokenizer: nil, patchSize: patchSize)
        }
    }

    // MARK: - Result accessors

    @Test(arguments: [-1, 1, Int.max, Int.min])
    func accessorsRejectRowsOutsideTheBatch(_ row: Int) throws {
        let (_, result, image) = try Self.result()
        let batch = try #require(result.dictionary[image]).batchSize
        let imageError = FourMError.rowOutOfRange(modality: image.rawValue, row: row, batchSize: batch)
        let captionError = FourMError.rowOutOfRange(modality: Modality.caption.rawValue, row: row, batchSize: batch)
        #expect(throws: captionError) { try result.text(.caption, row: row) }
        #expect(throws: captionError) { try result.mergedText(.caption, row: row) }
        #expect(throws: captionError) { try result.picture(.caption, row: row) }
        #expect(throws: imageError) { try result.image(image, row: row) }
        #expect(throws: imageError) { try result.segmentation(image, row: row) }
        #expect(throws: imageError) { try result.embedding(image, row: row) }
        #expect(throws: imageError) { try result.featurePCA(image, row: row) }
        #expect(throws: imageError) { try result.picture(image, row: row) }
        // The grid draws the inputs' modalities first: the first one names the row.
        let first = try #require(result.dictionary.modalities.first)
        #expect(throws: FourMError.rowOutOfRange(modality: first.rawValue, row: row, batchSize: batch)) { try result.grid(row: row) }
    }

    @Test func accessorsRejectAModalityTheModelDoesNotKnow() throws {
        let (pipeline, result, _) = try Self.result()
        let unknown = Modality(rawValue: "tok_unknown@7")
        let known = Array(Set((pipeline.model.inputModalities + pipeline.model.outputModalities).map(\.rawValue))).sorted()
        let error = FourMError.unknownModality(name: unknown.rawValue, role: "result", available: known)
        #expect(throws: error) { try result.text(unknown) }
        #expect(throws: error) { try result.decodedValues(unknown) }
        #expect(throws: error) { try result.image(unknown) }
        #expect(throws: error) { try result.boxes(unknown) }
    }

    @Test func accessorsReturnNilForAKnownModalityNotInTheResult() throws {
        let (pipeline, result, _) = try Self.result()
        let absent = try #require(pipeline.model.outputModalities.first { result.dictionary[$0] == nil && pipeline.imageTokenizers[$0] != nil })
        #expect(try result.decodedValues(absent) == nil)
        #expect(try result.image(absent, row: 5) == nil)
    }

    // MARK: - Decoded once, shared

    @Test func decodedValuesAreKeptAndEqualADirectDecode() throws {
        let (pipeline, result, image) = try Self.result()
        let first = try #require(try result.decodedValues(image))
        let again = try #require(try result.decodedValues(image))
        #expect(first.scalars == again.scalars)
        let direct = try pipeline.decode(image, tokens: try #require(result.tokens(image)), seed: result.diffusionSeed(for: image))
        #expect(first.scalars == direct.scalars)
    }

    @Test func theCacheDecodesOnceUnderConcurrentCallers() throws {
        let cache = DecodedValuesCache()
        let calls = Counter()
        let callers = 16
        let results = Counter()
        DispatchQueue.concurrentPerform(iterations: callers) { i in
            let m = Modality(rawValue: i % 2 == 0 ? "tok_a@1" : "tok_b@1")
            let value = try? cache.value(for: m) { () throws(FourMError) -> Tensor<Float> in
                calls.increment()
                return Tensor(shape: [1], scalars: [Float(i % 2)])
            }
            if value?.scalars == [Float(i % 2)] { results.increment() }
        }
        #expect(calls.value == 2, "each modality decoded once")
        #expect(results.value == callers)
        // A failed decoding is not kept: the next call tries again.
        let m = Modality(rawValue: "tok_c@1")
        #expect(throws: FourMError.self) {
            try cache.value(for: m) { () throws(FourMError) -> Tensor<Float> in throw .invalidInput(modality: "c", expected: "", actual: "") }
        }
        #expect(try cache.value(for: m) { () throws(FourMError) -> Tensor<Float> in Tensor(shape: [1], scalars: [3]) }.scalars == [3])
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func increment() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    // MARK: - Diffusion noise from the run's seed

    @Test func diffusionSeedsFollowTheRunSeedAndTheModality() {
        let rgb = Modality(rawValue: "tok_rgb@224"), depth = Modality(rawValue: "tok_depth@224")
        let seeds: [UInt64] = [0, 1, 2, 42, .max]
        let derived = seeds.map { PipelineResult.diffusionSeed(runSeed: $0, modality: rgb) }
        #expect(Set(derived).count == seeds.count, "different run seeds give different noise seeds")
        #expect(derived == seeds.map { PipelineResult.diffusionSeed(runSeed: $0, modality: rgb) }, "the same run seed gives the same noise seed")
        #expect(PipelineResult.diffusionSeed(runSeed: 7, modality: rgb) != PipelineResult.diffusionSeed(runSeed: 7, modality: depth))
    }

    /// With the fixture bundle's DiVAE (`tok_rgb@224`): the same run seed decodes the same
    /// values, another seed other values.
    @Test func diffusionDecodingFollowsTheRunSeed() throws {
        guard let dir = try FixtureBundle.make() else { return }
        var pipeline = try Pipeline(bundle: dir, outputs: ["tok_semseg@224"])
        pipeline.diffusionSteps = 2
        let rgb = Modality(rawValue: "tok_rgb@224")
        let tokenizer = try #require(pipeline.imageTokenizers[rgb])
        #expect(tokenizer.decodesByDiffusion)
        let info = try #require(pipeline.model.configuration.info(rgb))
        var rng = SeededGenerator(seed: 3)
        let ids = Tensor<Int32>(shape: [1, info.tokenCount], scalars: (0..<info.tokenCount).map { _ in Int32.random(in: 0..<Int32(info.vocabularySize), using: &rng) })
        func decoded(seed: UInt64) throws -> [Float] {
            let result = PipelineResult(dictionary: ModalityDictionary([(rgb, ModalityState(tokens: ids))]), steps: [], pipeline: pipeline, seed: seed)
            return try #require(try result.decodedValues(rgb)).scalars
        }
        let a = try decoded(seed: 11), b = try decoded(seed: 11), c = try decoded(seed: 12)
        #expect(a == b, "one run seed, one picture")
        #expect(a != c, "another run seed, another picture")
    }

    // MARK: - The factory

    /// ``ImageTokenizerFactory`` returns the implementation each fixture checkpoint names.
    @Test func theFactoryReturnsTheCheckpointsArchitecture() throws {
        guard let dir = try FixtureBundle.make(), let fixtures = Fixtures.directory else { return }
        let bundle = try ModelBundle(directory: dir)  // registers the fixtures' diffusion presets
        let expected: [(String, ImageTokenizerKind)] = [
            ("tok_vqvae_vit_semseg", .vit), ("tok_mlp_memcodes_global", .mlp), ("tok_divae", .diffusionUNet), ("tok_divae_uvit", .diffusionUViT),
        ]
        for (name, kind) in expected {
            let path = fixtures.appendingPathComponent("models/\(name).safetensors").path
            let tokenizer = try ImageTokenizerFactory.load(path: path, presets: bundle.tokenizerPresets)
            #expect(tokenizer.kind == kind, "\(name)")
            #expect(tokenizer.decodesByDiffusion == kind.decodesByDiffusion, "\(name)")
        }
        #expect(throws: FourMError.self) { try ImageTokenizerFactory.load(path: dir.appendingPathComponent("missing.safetensors").path) }
    }
}
