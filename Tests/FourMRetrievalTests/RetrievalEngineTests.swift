import Foundation
import FourMModels
import FourMRetrieval
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// The index's answers to calls that cannot be served.
@Suite struct EmbeddingIndexBadInputTests {
    let gallery = Tensor<Float>(shape: [3, 2], scalars: [1, 0, 0, 1, 1, 1])

    @Test func emptyIndexAndOutOfRangeKThrow() throws {
        let empty = EmbeddingIndex(dimension: 2)
        #expect(throws: RetrievalError.emptyIndex) { try empty.search(Tensor(zeros: [1, 2]), k: 1) }
        var index = EmbeddingIndex(dimension: 2, metric: .cosine)
        try index.add(gallery)
        #expect(throws: RetrievalError.invalidArgument(name: "k", expected: "at least 1", actual: "-1")) { try index.search(Tensor(zeros: [1, 2]), k: -1) }
        #expect(throws: RetrievalError.invalidArgument(name: "k", expected: "at most 3 (the gallery size)", actual: "4")) {
            try index.search(Tensor(shape: [1, 2], scalars: [1, 0]), k: 4)
        }
        #expect(try index.search(Tensor(shape: [1, 2], scalars: [1, 0]), k: 3)[0].count == 3)
    }

    @Test func wrongWidthsAndNonFiniteQueriesThrow() throws {
        var index = EmbeddingIndex(dimension: 2)
        try index.add(gallery)
        #expect(throws: RetrievalError.dimensionMismatch(expected: 2, actual: 5)) { try index.search(Tensor(zeros: [1, 5]), k: 1) }
        #expect(throws: RetrievalError.dimensionMismatch(expected: 2, actual: 2)) { try index.search(Tensor(zeros: [2]), k: 1) }
        #expect(throws: RetrievalError.nonFinite(index: 1)) { try index.search(Tensor(shape: [2, 2], scalars: [0, 0, .infinity, 0]), k: 1) }
        #expect(throws: RetrievalError.invalidArgument(name: "labels", expected: "1 labels", actual: "2")) {
            try index.add(Tensor(zeros: [1, 2]), labels: ["a", "b"])
        }
        var zeroWidth = EmbeddingIndex(dimension: 0)
        #expect(throws: RetrievalError.invalidArgument(name: "dimension", expected: "at least 1", actual: "0")) { try zeroWidth.add(Tensor(zeros: [1, 0])) }
    }
}

/// Retrieval by predicted embeddings on the fixture 4M-21 model and its global tokenizer
/// (the fixture bundle widens the tokenizer's codebook to the model's vocabulary).
@Suite struct RetrievalEngineTests {
    struct Setup {
        let model: FourMModel
        let tokenizer: VQImageTokenizer
        let bundle: URL
        let target = Modality.tokDINOv2Global
    }

    /// The fixture bundle's model and `tok_dinov2_global` tokenizer; nil without fixtures.
    static func setup() throws -> Setup? {
        guard let bundle = try FixtureBundle.make() else { return nil }
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: bundle.appendingPathComponent("bundle.json"))) as? [String: Any])
        let modelPath = try #require(manifest["model"] as? String)
        let tokenizers = try #require(manifest["tokenizers"] as? [String: String])
        let tokenizerFile = try #require(tokenizers[Modality.tokDINOv2Global.rawValue])
        return Setup(model: try FourMModel(path: modelPath), tokenizer: try VQImageTokenizer(path: bundle.appendingPathComponent(tokenizerFile).path), bundle: bundle)
    }

    /// Pixels of the model's first `rgb@N` input, with values from `seed`.
    static func pixels(_ model: FourMModel, seed: UInt64, rows: Int = 1) throws -> (Modality, ModalityState) {
        let rgb = try #require(model.inputModalities.first { $0.baseName == "rgb" && model.configuration.info($0)?.kind == .pixels })
        let info = try #require(model.configuration.info(rgb))
        var rng = SeededGenerator(seed: seed)
        let side = info.gridSize * info.patchSize
        let values = Tensor<Float>.randomNormal(shape: [rows, info.channels, side, side], using: &rng)
        return (rgb, ModalityState(pixels: values, patchSize: info.patchSize))
    }

    @Test func predictsOneFiniteDeterministicVector() throws {
        guard let s = try Self.setup() else { return }
        let predictor = try EmbeddingPredictor(model: s.model, tokenizer: s.tokenizer, target: s.target)
        let (rgb, state) = try Self.pixels(s.model, seed: 3)
        let first = try predictor.embedding([rgb: state])
        let again = try predictor.embedding([rgb: state])
        #expect(first.rank == 2 && first.shape[0] == 1 && first.shape[1] >= 1)
        #expect(first.scalars == again.scalars)
        #expect(first.scalars.allSatisfy { $0.isFinite })
        // decode(_:) of the generated ids is what embedding(_:) returns.
        let ids = Tensor<Int32>(zeros: [2, predictor.tokenCount])
        #expect(try predictor.decode(ids).shape == [2, first.shape[1]])
    }

    @Test func rejectsTargetsTokenizersAndConditionsThatDoNotFit() throws {
        guard let s = try Self.setup() else { return }
        let (rgb, state) = try Self.pixels(s.model, seed: 3)
        #expect(throws: RetrievalError.self) { try EmbeddingPredictor(model: s.model, tokenizer: s.tokenizer, target: "not_a_modality") }
        if let sequence = s.model.outputModalities.first(where: { s.model.configuration.info($0)?.kind == .sequence }) {
            #expect(throws: RetrievalError.self) { try EmbeddingPredictor(model: s.model, tokenizer: s.tokenizer, target: sequence) }
        }
        // The fixture tokenizer before widening has fewer codes than the model's vocabulary.
        if let fixtures = Fixtures.directory {
            let narrow = try VQImageTokenizer(path: fixtures.appendingPathComponent("models/tok_mlp_memcodes_global.safetensors").path)
            if narrow.codebookSize != s.tokenizer.codebookSize {
                #expect(throws: RetrievalError.self) { try EmbeddingPredictor(model: s.model, tokenizer: narrow, target: s.target) }
            }
        }
        let predictor = try EmbeddingPredictor(model: s.model, tokenizer: s.tokenizer, target: s.target)
        #expect(throws: RetrievalError.invalidArgument(name: "conditions", expected: "at least one modality", actual: "none")) { try predictor.embedding([:]) }
        #expect(throws: RetrievalError.self) { try predictor.embedding([rgb: state, s.target: ModalityState(tokens: Tensor(zeros: [1, predictor.tokenCount]))]) }
        let twoRows = try Self.pixels(s.model, seed: 4, rows: 2).1
        #expect(throws: RetrievalError.self) { try predictor.embedding([rgb: twoRows]) }
        #expect(throws: RetrievalError.self) { try predictor.decode(Tensor(zeros: [1, predictor.tokenCount + 1])) }
        #expect(throws: RetrievalError.self) { try predictor.decode(Tensor(zeros: [predictor.tokenCount])) }
        #expect(throws: RetrievalError.self) { try predictor.decode(Tensor(repeating: -1, shape: [1, predictor.tokenCount])) }
    }

    @Test func ranksTheGalleryAndRejectsBadSearches() throws {
        guard let s = try Self.setup() else { return }
        let predictor = try EmbeddingPredictor(model: s.model, tokenizer: s.tokenizer, target: s.target)
        var engine = RetrievalEngine(predictor: predictor, metric: .l2)
        let (rgb, _) = try Self.pixels(s.model, seed: 0)
        #expect(throws: RetrievalError.emptyIndex) { try engine.search([rgb: try Self.pixels(s.model, seed: 1).1], k: 1) }
        var vectors: [Tensor<Float>] = []
        for seed in 1...3 { vectors.append(try engine.add([rgb: try Self.pixels(s.model, seed: UInt64(seed)).1], label: "scene \(seed)")) }
        #expect(engine.count == 3 && engine.index?.dimension == vectors[0].shape[1])
        // A gallery item's own conditions find it at distance 0 (or tied with an equal vector).
        let hits = try engine.search([rgb: try Self.pixels(s.model, seed: 2).1], k: 3)
        #expect(hits.count == 3 && hits[0].score == 0)
        #expect(hits.contains { $0.label == "scene 2" && $0.score == 0 })
        #expect(zip(hits, hits.dropFirst()).allSatisfy { $0.score <= $1.score })
        let query = [rgb: try Self.pixels(s.model, seed: 2).1]
        #expect(throws: RetrievalError.invalidArgument(name: "k", expected: "1...3 (the gallery size)", actual: "0")) { try engine.search(query, k: 0) }
        #expect(throws: RetrievalError.invalidArgument(name: "k", expected: "1...3 (the gallery size)", actual: "4")) { try engine.search(query, k: 4) }
        // A saved and reloaded gallery answers the same.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("engine-\(UUID()).safetensors").path
        try #require(engine.index).save(to: path)
        let reloaded = RetrievalEngine(predictor: predictor, index: try EmbeddingIndex.load(from: path))
        #expect(try reloaded.search(query, k: 3) == hits)
    }
}
