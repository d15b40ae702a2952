import FourMModels
import FourMSampling
import FourMTensor
import FourMTokenizers

/// Predicts the global embedding of a set of conditions, the way the 4M-21 retrieval notebook
/// does (spec/generation.md 8): the model generates the target's global tokens
/// (`tok_dinov2_global`, `tok_imagebind_global`, …) from the conditions, and the target's MLP
/// tokenizer decodes them to one vector.
///
/// ```swift
/// let predictor = try EmbeddingPredictor(model: model, tokenizer: dinoTokenizer, target: .tokDINOv2Global)
/// let vector = try predictor.embedding([.rgb224: ModalityState(pixels: pixels)])   // [1, D]
/// ```
///
/// The conditions are model-level `ModalityState`s; `Pipeline.conditions(_:)` in `FourM`
/// builds them from photos and captions.
public struct EmbeddingPredictor: Sendable {
    /// How the global tokens are generated.
    public struct Settings: Sendable, Equatable {
        /// The decoding scheme of the global tokens.
        public var scheme: GenerationScheme
        /// Decoding steps.
        public var steps: Int
        /// Sampling temperature (constant).
        public var temperature: Double
        /// Top-k / top-p of every step.
        public var filter: SamplingFilter
        /// The seed of the generation (every embedding is drawn with the same seed, so equal
        /// conditions give equal vectors).
        public var seed: UInt64

        /// Creates settings; the defaults are the reference notebook's.
        public init(scheme: GenerationScheme = .roar, steps: Int = 1, temperature: Double = 0.1, filter: SamplingFilter = SamplingFilter(topP: 0.8), seed: UInt64 = 0) {
            self.scheme = scheme
            self.steps = steps
            self.temperature = temperature
            self.filter = filter
            self.seed = seed
        }

        /// The reference notebook's settings: ROAR, 1 step, τ 0.1, top-p 0.8, seed 0.
        public static let reference = Settings()
    }

    /// The model that predicts the global tokens.
    public let model: FourMModel
    /// The MLP tokenizer that decodes them.
    public let tokenizer: VQImageTokenizer
    /// The global-embedding modality.
    public let target: Modality
    /// Generation settings.
    public let settings: Settings
    /// The target's token count (from the model's configuration).
    public let tokenCount: Int
    let gridSize: Int

    /// A predictor of `target`'s embedding.
    /// - Throws: `.invalidArgument` when `target` is not an image-token output of `model` or
    ///   the tokenizer's codebook does not match the model's vocabulary of `target`.
    public init(model: FourMModel, tokenizer: VQImageTokenizer, target: Modality, settings: Settings = .reference) throws(RetrievalError) {
        guard model.outputModalities.contains(target), let info = model.configuration.info(target) else {
            throw .invalidArgument(name: "target", expected: "an output of the model (\(model.outputModalities.map(\.rawValue).joined(separator: ", ")))", actual: target.rawValue)
        }
        guard info.kind == .imageTokens else {
            throw .invalidArgument(name: "target", expected: "an image-token (global embedding) output", actual: "\(target.rawValue), a \(info.kind) modality")
        }
        guard tokenizer.codebookSize == info.vocabularySize else {
            throw .invalidArgument(name: "tokenizer", expected: "\(info.vocabularySize) codes (the model's \(target.rawValue) vocabulary)", actual: "\(tokenizer.codebookSize) codes")
        }
        self.model = model
        self.tokenizer = tokenizer
        self.target = target
        self.settings = settings
        tokenCount = info.tokenCount
        gridSize = info.gridSize
    }

    /// The schedule of one prediction from `conditions`.
    func schedule(conditions: [Modality]) throws(RetrievalError) -> [GenerationStep] {
        let settings = TargetSettings(target, scheme: self.settings.scheme, tokens: tokenCount, steps: self.settings.steps, temperature: self.settings.temperature)
        do { return try buildChainedSchedule(conditions: conditions, targets: [settings], growConditioning: true) } catch { throw .generation(error) }
    }

    /// The predicted embedding `[1, D]` of one set of conditions (one batch row each).
    /// - Throws: `.invalidArgument` for no conditions, a condition that is the target itself or
    ///   holds more than one row; `.generation` when the model rejects them; `.tokenizer` when
    ///   the tokenizer cannot decode the ids; `.nonFinite` for a vector with NaN or infinity.
    public func embedding(_ conditions: [Modality: ModalityState]) throws(RetrievalError) -> Tensor<Float> {
        guard !conditions.isEmpty else { throw .invalidArgument(name: "conditions", expected: "at least one modality", actual: "none") }
        guard conditions[target] == nil else {
            throw .invalidArgument(name: "conditions", expected: "modalities other than the target \(target.rawValue)", actual: target.rawValue)
        }
        let order = conditions.keys.sorted()
        for m in order where conditions[m]?.batchSize != 1 {
            throw .invalidArgument(name: "conditions[\(m.rawValue)]", expected: "one batch row", actual: "\(conditions[m]?.batchSize ?? 0) rows")
        }
        var dictionary = ModalityDictionary(order.compactMap { m in conditions[m].map { (m, $0) } })
        dictionary[target] = .emptyImageTarget(batch: 1, tokens: tokenCount)
        let steps = try schedule(conditions: order)
        let result: ModalityDictionary
        do {
            result = try generate(model, dictionary: dictionary, schedule: steps, options: GenerationOptions(filter: settings.filter, seed: settings.seed),
                                  randomness: SeededRandomness(fallbackSeed: settings.seed))
        } catch { throw .generation(error) }
        guard let tokens = result[target]?.tokens, tokens.rank == 2, tokens.shape[0] == 1 else {
            throw .generation(.missingModality(modality: target.rawValue, role: "generated target"))
        }
        return try decode(tokens)
    }

    /// Decodes global tokens `[B, N]` to embeddings `[B, D]`.
    /// - Throws: `.invalidArgument` for a shape other than `[B, tokenCount]`, `.tokenizer` for
    ///   ids the tokenizer rejects, `.nonFinite` for a decoded vector with NaN or infinity.
    public func decode(_ tokens: Tensor<Int32>) throws(RetrievalError) -> Tensor<Float> {
        guard tokens.rank == 2, tokens.shape[0] >= 1, tokens.shape[1] == tokenCount else {
            throw .invalidArgument(name: "tokens", expected: "[B, \(tokenCount)] with B ≥ 1", actual: "\(tokens.shape)")
        }
        let rows = tokens.shape[0]
        // Memcodes tokenizers take one id per head, `[B, heads]`; the others a grid `[B, h, w]`.
        let ids: Tensor<Int32>
        if tokenizer.codebookCount > 1 {
            ids = tokens
        } else {
            guard gridSize * gridSize == tokenCount else {
                throw .invalidArgument(name: "tokens", expected: "a \(gridSize)×\(gridSize) grid", actual: "\(tokenCount) tokens")
            }
            ids = tokens.reshaped([rows, gridSize, gridSize])
        }
        let values: Tensor<Float>
        do { values = try tokenizer.decode(ids: ids) } catch { throw .tokenizer(error) }
        let width = values.count / rows
        guard width >= 1, width * rows == values.count else {
            throw .invalidArgument(name: "decoded values", expected: "\(rows) rows of equal width", actual: "\(values.shape)")
        }
        let vectors = values.reshaped([rows, width])
        if let bad = (0..<rows).first(where: { r in (0..<width).contains { !vectors[r, $0].isFinite } }) { throw .nonFinite(index: bad) }
        return vectors
    }
}
