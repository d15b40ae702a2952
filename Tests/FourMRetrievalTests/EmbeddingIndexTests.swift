import Foundation
import FourMRetrieval
import FourMTensor
import Testing

@Suite struct EmbeddingIndexTests {
    let gallery = Tensor<Float>(shape: [4, 2], scalars: [1, 0, 0, 1, 3, 0, 1, 1])

    @Test func l2RanksBySquaredDistance() throws {
        var index = EmbeddingIndex(dimension: 2, metric: .l2)
        try index.add(gallery, labels: ["a", "b", "c", "d"])
        let hits = try index.search(Tensor(shape: [1, 2], scalars: [2, 0]), k: 3)
        #expect(hits[0].map(\.label) == ["a", "c", "d"])   // distances 1, 1 (tie → lower index), 2
        #expect(hits[0].map(\.score) == [1, 1, 2])
    }

    @Test func cosineRanksByAngle() throws {
        var index = EmbeddingIndex(dimension: 2, metric: .cosine)
        try index.add(gallery)
        let hits = try index.search(Tensor(shape: [2, 2], scalars: [5, 5, 0, 2]), k: 2)
        #expect(hits[0].first?.index == 3)
        #expect(hits[1].map(\.index) == [1, 3])
    }

    @Test func savesAndLoads() throws {
        var index = EmbeddingIndex(dimension: 2, metric: .cosine)
        try index.add(gallery, labels: ["a", "b", "c", "d"])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("index-\(UUID()).safetensors").path
        try index.save(to: path)
        let loaded = try EmbeddingIndex.load(from: path)
        #expect(loaded.labels == index.labels && loaded.vectors == index.vectors && loaded.metric == .cosine)
    }

    @Test func rejectsBadInput() throws {
        var index = EmbeddingIndex(dimension: 2)
        #expect(throws: RetrievalError.dimensionMismatch(expected: 2, actual: 3)) { try index.add(Tensor(zeros: [1, 3])) }
        #expect(throws: RetrievalError.nonFinite(index: 0)) { try index.add(Tensor(shape: [1, 2], scalars: [.nan, 0])) }
        #expect(throws: RetrievalError.invalidArgument(name: "k", expected: "at least 1", actual: "0")) { try index.search(Tensor(zeros: [1, 2]), k: 0) }
        #expect(throws: RetrievalError.self) { try EmbeddingIndex.load(from: "/nonexistent.safetensors") }
    }

    @Test func agreesWithBruteForceOnRandomData() throws {
        var rng = SeededGenerator(seed: 4)
        let g = Tensor<Float>.randomNormal(shape: [50, 7], using: &rng)
        let q = Tensor<Float>.randomNormal(shape: [3, 7], using: &rng)
        var index = EmbeddingIndex(dimension: 7, metric: .l2)
        try index.add(g)
        let hits = try index.search(q, k: 5)
        for i in 0..<3 {
            let brute = (0..<50).map { j in (j, (0..<7).reduce(Float(0)) { $0 + (q[i, $1] - g[j, $1]) * (q[i, $1] - g[j, $1]) }) }
                .sorted { $0.1 < $1.1 }.prefix(5).map(\.0)
            #expect(hits[i].map(\.index) == Array(brute))
        }
    }
}
