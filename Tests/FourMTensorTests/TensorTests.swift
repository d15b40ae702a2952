import FourMTensor
import Testing

@Suite struct TensorTests {
    @Test func reshapeIsAViewAndWritesCopy() {
        var x = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let y = x.reshaped([3, 2])
        #expect(y.shape == [3, 2])
        x.withUnsafeMutableBufferPointer { $0[0] = 10 }
        #expect(y[0, 0] == 1)
        #expect(x[0, 0] == 10)
        #expect(x.reshaped([-1]).shape == [6])
    }

    @Test func sliceAndConcatenate() {
        let x = Tensor<Int32>(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        #expect(x.slice(1..<3).scalars == [3, 4, 5, 6])
        #expect(Tensor.concatenate([x.slice(2..<3), x.slice(0..<1)]).scalars == [5, 6, 1, 2])
    }

    @Test func seededGeneratorIsDeterministic() {
        var a = SeededGenerator(seed: 11), b = SeededGenerator(seed: 11), c = SeededGenerator(seed: 12)
        let first = (0..<5).map { _ in a.next() }
        #expect(first == (0..<5).map { _ in b.next() })
        #expect(first != (0..<5).map { _ in c.next() })
        var u = SeededGenerator(seed: 1)
        let uniforms = (0..<1000).map { _ in u.nextUniform() }
        #expect(uniforms.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = uniforms.reduce(0, +) / 1000
        #expect(abs(mean - 0.5) < 0.05)
    }
}
