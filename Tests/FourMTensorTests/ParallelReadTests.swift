import Foundation
@testable import FourMTensor
import Testing

/// Reads from `FileReader.parallelReadThreshold` bytes on are split over threads: the bytes
/// must be exactly the file's, and a file cut short under a reader still gives the one typed
/// error naming the end the whole read needed. Sizes derive from the threshold.
@Suite struct ParallelReadTests {
    /// A file holding one F32 tensor of `count` values `i·0.5 − 7` and its path.
    private func largeFile(count: Int) throws -> (path: String, values: [Float]) {
        let values = (0..<count).map { Float($0 % 100_003) * 0.5 - 7 }
        var writer = SafeTensorsWriter()
        writer.add("big", Tensor(shape: [count], scalars: values))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("parallel-\(UUID().uuidString).safetensors").path
        try writer.write(to: path)
        return (path, values)
    }

    @Test func aLargeTensorIsReadExactly() throws {
        // 2.5 thresholds plus an odd tail: parts whose boundaries fall inside pages.
        let count = FileReader.parallelReadThreshold * 5 / 8 + 1_001
        let (path, values) = try largeFile(count: count)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SafeTensorsFile(path: path)
        let read = try file.floatTensor("big").scalars
        #expect(read.count == values.count)
        #expect(read == values, "a parallel read changed bytes")
    }

    @Test func aLargeTensorCutShortIsOneTypedError() throws {
        let count = FileReader.parallelReadThreshold * 5 / 8
        let (path, _) = try largeFile(count: count)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SafeTensorsFile(path: path)
        let cut = file.fileSize - count * 4 / 3  // inside the tensor's first third
        #expect(truncate(path, off_t(cut)) == 0)
        #expect(throws: WeightError.truncated(file: path, expectedAtLeast: file.fileSize, actual: cut)) { try file.floatTensor("big") }
    }
}
