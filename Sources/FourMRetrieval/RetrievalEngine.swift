import FourMModels
import FourMTensor

/// Retrieval by predicted global embeddings (spec/generation.md 8): a gallery indexed by the
/// embedding an ``EmbeddingPredictor`` predicts for each item, queried by the embedding of any
/// other input (a caption, another image), ranked by an ``EmbeddingIndex``.
///
/// ```swift
/// var engine = RetrievalEngine(predictor: predictor, metric: .cosine)
/// for (name, pixels) in photos { try engine.add([.rgb224: ModalityState(pixels: pixels)], label: name) }
/// let hits = try engine.search([.caption: captionState], k: 5)   // best first
/// ```
public struct RetrievalEngine: Sendable {
    /// What predicts the embeddings.
    public let predictor: EmbeddingPredictor
    /// How vectors are compared.
    public let metric: EmbeddingIndex.Metric
    /// The gallery; nil until the first ``add(_:label:)`` fixes the embedding width.
    public private(set) var index: EmbeddingIndex?

    /// An empty gallery.
    public init(predictor: EmbeddingPredictor, metric: EmbeddingIndex.Metric = .cosine) {
        self.predictor = predictor
        self.metric = metric
        index = nil
    }

    /// A gallery read earlier (``EmbeddingIndex/load(from:)``); its metric is kept.
    public init(predictor: EmbeddingPredictor, index: EmbeddingIndex) {
        self.predictor = predictor
        metric = index.metric
        self.index = index
    }

    /// The number of gallery items.
    public var count: Int { index?.count ?? 0 }

    /// Predicts the embedding of `conditions` and adds it to the gallery under `label`.
    /// - Returns: the embedding `[1, D]`.
    /// - Throws: the errors of ``EmbeddingPredictor/embedding(_:)``, and
    ///   `.dimensionMismatch` when the width differs from the gallery's.
    @discardableResult
    public mutating func add(_ conditions: [Modality: ModalityState], label: String) throws(RetrievalError) -> Tensor<Float> {
        let vector = try predictor.embedding(conditions)
        var gallery = index ?? EmbeddingIndex(dimension: vector.shape[1], metric: metric)
        try gallery.add(vector, labels: [label])
        index = gallery
        return vector
    }

    /// The `k` gallery items closest to the embedding of `conditions`, best first.
    /// - Throws: `.emptyIndex` before anything was added, `.invalidArgument` for `k` outside
    ///   `1...count`, and the errors of ``EmbeddingPredictor/embedding(_:)`` and
    ///   ``EmbeddingIndex/search(_:k:)``.
    public func search(_ conditions: [Modality: ModalityState], k: Int) throws(RetrievalError) -> [EmbeddingIndex.Hit] {
        guard let index, index.count > 0 else { throw .emptyIndex }
        guard (1...index.count).contains(k) else { throw .invalidArgument(name: "k", expected: "1...\(index.count) (the gallery size)", actual: "\(k)") }
        return try index.search(try predictor.embedding(conditions), k: k).first ?? []
    }
}
