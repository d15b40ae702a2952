import Foundation
import FourMSampling
import FourMTensor
import FourMTokenizers

/// Errors of the retrieval index.
public enum RetrievalError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A vector has the wrong width.
    case dimensionMismatch(expected: Int, actual: Int)
    /// `k` or another argument is out of range.
    case invalidArgument(name: String, expected: String, actual: String)
    /// A vector holds NaN or infinity.
    case nonFinite(index: Int)
    /// An index file could not be read or written.
    case file(path: String, reason: String)
    /// A search of a gallery that holds no vectors.
    case emptyIndex
    /// Generating the global tokens of an embedding failed.
    case generation(GenerationError)
    /// The global tokenizer could not decode the generated ids.
    case tokenizer(VQTokenizerError)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case let .dimensionMismatch(expected, actual): return "embedding width \(actual), expected \(expected)"
        case let .invalidArgument(name, expected, actual): return "\(name) is \(actual), expected \(expected)"
        case let .nonFinite(index): return "vector \(index) holds NaN or infinity"
        case let .file(path, reason): return "\(path): \(reason)"
        case .emptyIndex: return "the index holds no vectors; add some before searching"
        case let .generation(error): return error.description
        case let .tokenizer(error): return error.description
        }
    }
}

/// An exact nearest-neighbour index over embedding vectors (spec/generation.md 8): squared
/// Euclidean distance (the reference's `IndexFlatL2`) or cosine similarity. A query batch is
/// scored against the whole gallery with one sgemm.
///
/// ```swift
/// var index = EmbeddingIndex(dimension: 768, metric: .cosine)
/// try index.add(galleryVectors, labels: names)
/// let hits = try index.search(queryVectors, k: 5)    // per query: (label, score), best first
/// ```
public struct EmbeddingIndex: Sendable {
    /// How vectors are compared.
    public enum Metric: String, Sendable, CaseIterable {
        /// Squared Euclidean distance, ascending (reference-exact ranking).
        case l2
        /// Cosine similarity of L2-normalised vectors, descending.
        case cosine
    }

    /// One search result.
    public struct Hit: Sendable, Equatable {
        /// Position of the vector in the gallery.
        public var index: Int
        /// Its label.
        public var label: String
        /// Squared distance (`l2`) or cosine similarity (`cosine`).
        public var score: Float
    }

    /// The vector width.
    public let dimension: Int
    /// The metric.
    public let metric: Metric
    /// Gallery vectors `[count, dimension]` (normalised for cosine).
    public private(set) var vectors: [Float] = []
    /// Gallery labels.
    public private(set) var labels: [String] = []

    /// An empty index.
    public init(dimension: Int, metric: Metric = .l2) {
        self.dimension = dimension
        self.metric = metric
    }

    /// The number of gallery vectors.
    public var count: Int { labels.count }

    /// Adds vectors `[n, dimension]` with one label each (default: their positions).
    /// - Throws: `.invalidArgument` for an index of width 0 or a label count that differs,
    ///   `.dimensionMismatch`, `.nonFinite`.
    public mutating func add(_ batch: Tensor<Float>, labels newLabels: [String]? = nil) throws(RetrievalError) {
        guard dimension >= 1 else { throw .invalidArgument(name: "dimension", expected: "at least 1", actual: "\(dimension)") }
        guard batch.rank == 2, batch.shape[1] == dimension else { throw .dimensionMismatch(expected: dimension, actual: batch.shape.last ?? 0) }
        let n = batch.shape[0]
        if let newLabels, newLabels.count != n {
            throw .invalidArgument(name: "labels", expected: "\(n) labels", actual: "\(newLabels.count)")
        }
        var values = batch.scalars
        if let bad = (0..<n).first(where: { row in (0..<dimension).contains { !values[row * dimension + $0].isFinite } }) {
            throw .nonFinite(index: count + bad)
        }
        if metric == .cosine { normalizeRows(&values, dimension: dimension) }
        vectors += values
        labels += newLabels ?? (0..<n).map { String(count + $0) }
    }

    /// The `k` best gallery vectors for every query `[q, dimension]`; ties go to the lower
    /// gallery index.
    /// - Throws: `.dimensionMismatch`, `.invalidArgument` for `k < 1` or `k` above ``count``,
    ///   `.nonFinite`, `.emptyIndex` for a gallery with no vectors.
    public func search(_ queries: Tensor<Float>, k: Int) throws(RetrievalError) -> [[Hit]] {
        guard queries.rank == 2, queries.shape[1] == dimension else { throw .dimensionMismatch(expected: dimension, actual: queries.shape.last ?? 0) }
        guard k >= 1 else { throw .invalidArgument(name: "k", expected: "at least 1", actual: "\(k)") }
        let q = queries.shape[0], n = count
        var queryValues = queries.scalars
        if let bad = (0..<q).first(where: { row in (0..<dimension).contains { !queryValues[row * dimension + $0].isFinite } }) {
            throw .nonFinite(index: bad)
        }
        if metric == .cosine { normalizeRows(&queryValues, dimension: dimension) }
        guard n > 0 else { throw .emptyIndex }
        guard k <= n else { throw .invalidArgument(name: "k", expected: "at most \(n) (the gallery size)", actual: "\(k)") }
        // scores[i, j] = query_i · gallery_j, one sgemm.
        let dots = linear(Tensor(shape: [q, dimension], scalars: queryValues), weight: Tensor(shape: [n, dimension], scalars: vectors)).scalars
        var galleryNorms = [Float](repeating: 0, count: n)
        if metric == .l2 {
            for j in 0..<n { galleryNorms[j] = (0..<dimension).reduce(0) { $0 + vectors[j * dimension + $1] * vectors[j * dimension + $1] } }
        }
        return (0..<q).map { i in
            let queryNorm = metric == .l2 ? (0..<dimension).reduce(Float(0)) { $0 + queryValues[i * dimension + $1] * queryValues[i * dimension + $1] } : 0
            let scores = (0..<n).map { j -> Float in
                metric == .l2 ? max(0, queryNorm + galleryNorms[j] - 2 * dots[i * n + j]) : dots[i * n + j]
            }
            let ascending = metric == .l2
            let order = (0..<n).sorted { (a: Int, b: Int) -> Bool in
                let (sa, sb) = (scores[a], scores[b])
                if sa == sb { return a < b }
                return ascending ? sa < sb : sa > sb
            }
            return order.prefix(k).map { Hit(index: $0, label: labels[$0], score: scores[$0]) }
        }
    }

    /// Writes the index as safetensors (`vectors` F32, metric and labels in the metadata).
    public func save(to path: String) throws(RetrievalError) {
        var writer = SafeTensorsWriter(metadata: ["metric": metric.rawValue, "dimension": String(dimension)])
        if let labelData = try? JSONSerialization.data(withJSONObject: labels), let text = String(data: labelData, encoding: .utf8) {
            writer.metadata["labels"] = text
        }
        writer.add("vectors", Tensor(shape: [count, dimension], scalars: vectors))
        do { try writer.write(to: path) } catch { throw .file(path: path, reason: error.description) }
    }

    /// Reads an index written by ``save(to:)``.
    /// - Throws: `.file` naming what is wrong with it.
    public static func load(from path: String) throws(RetrievalError) -> EmbeddingIndex {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .file(path: path, reason: error.description) }
        guard let metricName = file.metadata["metric"], let metric = Metric(rawValue: metricName) else {
            throw .file(path: path, reason: "metadata 'metric' is missing or not one of \(Metric.allCases.map(\.rawValue))")
        }
        guard let labelText = file.metadata["labels"], let labels = (try? JSONSerialization.jsonObject(with: Data(labelText.utf8))) as? [String] else {
            throw .file(path: path, reason: "metadata 'labels' is missing or not a JSON list of strings")
        }
        let vectors: Tensor<Float>
        do { vectors = try file.floatTensor("vectors") } catch { throw .file(path: path, reason: error.description) }
        guard vectors.rank == 2, vectors.shape[0] == labels.count else {
            throw .file(path: path, reason: "vectors \(vectors.shape) do not match \(labels.count) labels")
        }
        var index = EmbeddingIndex(dimension: vectors.shape[1], metric: metric)
        index.vectors = vectors.scalars
        index.labels = labels
        return index
    }
}

/// L2-normalises rows of width `dimension` in place (zero rows stay zero).
func normalizeRows(_ values: inout [Float], dimension: Int) {
    guard dimension > 0 else { return }
    for row in 0..<(values.count / dimension) {
        var sum: Float = 0
        for j in 0..<dimension { sum += values[row * dimension + j] * values[row * dimension + j] }
        let norm = sum.squareRoot()
        if norm > 0 { for j in 0..<dimension { values[row * dimension + j] /= norm } }
    }
}
