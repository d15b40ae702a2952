import Foundation
import FourMTensor
import Testing

/// The strict safetensors reader: every structural problem is a typed error naming the file
/// and key (spec/model.md 1.1, STYLE 5).
@Suite struct SafeTensorsTests {
    func temporaryFile(_ bytes: [UInt8], _ name: String = UUID().uuidString) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A file with the given JSON header (unpadded) and `dataSize` data bytes.
    func rawFile(header: String, dataSize: Int) throws -> String {
        let json = Array(header.utf8)
        var bytes: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) }
        bytes += json
        bytes += [UInt8](repeating: 0, count: dataSize)
        return try temporaryFile(bytes)
    }

    @Test func roundTripsEveryDType() throws {
        var writer = SafeTensorsWriter(metadata: ["dim": "8", "flag": "True"])
        let values = Tensor<Float>(shape: [2, 3], scalars: [0, 1, -2.5, 3.25, 1e-3, -65504])
        writer.add("f32", values)
        writer.add("f16", values, as: .f16)
        writer.add("bf16", values, as: .bf16)
        writer.add("i64", Tensor<Int32>(shape: [3], scalars: [-1, 0, 2_000_000_000]))
        writer.add("i32", Tensor<Int32>(shape: [2], scalars: [7, -7]), as: .i32)
        writer.add("u8", Tensor<Int32>(shape: [2], scalars: [0, 255]), as: .u8)
        writer.add("bool", Tensor<Bool>(shape: [3], scalars: [true, false, true]))
        let path = try temporaryFile(writer.serialized())
        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == ["dim": "8", "flag": "True"])
        let f32 = try file.floatTensor("f32")
        #expect(f32 == values)
        #expect(f32.borrowsStorage, "F32 tensors must be read straight into the bytes they borrow, not converted into a copy")
        #expect(try file.floatTensor("f16").scalars == [0, 1, -2.5, 3.25, 0.0010004044, -65504])
        #expect(try file.floatTensor("bf16").scalars.enumerated().allSatisfy { abs($0.element - values.scalars[$0.offset]) <= abs(values.scalars[$0.offset]) / 128 })
        #expect(try file.intTensor("i64").scalars == [-1, 0, 2_000_000_000])
        #expect(try file.intTensor("i32").scalars == [7, -7])
        #expect(try file.intTensor("u8").scalars == [0, 255])
        #expect(try file.boolTensor("bool").scalars == [true, false, true])
        #expect(throws: WeightError.dtypeMismatch(file: path, key: "i64", expected: "F32, F16 or BF16", actual: "I64")) { try file.floatTensor("i64") }
    }

    @Test func rejectsTruncatedFile() throws {
        let path = try temporaryFile([1, 2, 3])
        #expect(throws: WeightError.truncated(file: path, expectedAtLeast: 8, actual: 3)) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsHeaderLongerThanFile() throws {
        let path = try temporaryFile([100, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8))
        #expect(throws: WeightError.headerPastEnd(file: path, headerLength: 100, fileSize: 10)) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsInvalidJSON() throws {
        let path = try rawFile(header: "{\"a\": [1, 2", dataSize: 0)
        #expect { try SafeTensorsFile(path: path) } throws: { error in
            guard case WeightError.invalidHeader(let file, _) = error else { return false }
            return file == path
        }
    }

    @Test func rejectsOffsetsOutsideTheFile() throws {
        let path = try rawFile(header: #"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, dataSize: 8)
        #expect(throws: WeightError.offsetsOutOfBounds(file: path, key: "w", end: 16, dataSize: 8)) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsOverlappingTensors() throws {
        let header = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#
        let path = try rawFile(header: header, dataSize: 12)
        #expect(throws: WeightError.overlappingTensors(file: path, first: "a", second: "b")) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsUnknownDType() throws {
        let path = try rawFile(header: #"{"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}"#, dataSize: 2)
        #expect(throws: WeightError.unknownDType(file: path, key: "w", dtype: "F8_E4M3")) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsSizeThatDisagreesWithShape() throws {
        let path = try rawFile(header: #"{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, dataSize: 8)
        #expect(throws: WeightError.sizeMismatch(file: path, key: "w", expectedBytes: 12, actualBytes: 8)) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsI64OutsideInt32() throws {
        var writer = SafeTensorsWriter()
        writer.add("x", Tensor<Float>(zeros: [1]))
        var bytes = writer.serialized()
        // Re-declare the 4 data bytes as half of an I64 is not possible; build one by hand.
        let header = #"{"ids": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}"#
        let json = Array(header.utf8)
        bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) } + json + [0, 0, 0, 0, 1, 0, 0, 0]
        let path = try temporaryFile(bytes)
        let file = try SafeTensorsFile(path: path)
        #expect(throws: WeightError.valueOutOfRange(file: path, key: "ids", value: 1 << 32)) { try file.intTensor("ids") }
    }

    @Test func missingFileIsUnreadable() {
        #expect { try SafeTensorsFile(path: "/nonexistent/model.safetensors") } throws: { error in
            guard case WeightError.unreadable(let file, _) = error else { return false }
            return file == "/nonexistent/model.safetensors"
        }
    }

    @Test func storeReportsShapeMissingAndUnused() throws {
        var writer = SafeTensorsWriter()
        writer.add("a", Tensor<Float>(zeros: [2, 3]))
        writer.add("b", Tensor<Float>(zeros: [4]))
        let path = try temporaryFile(writer.serialized())
        let store = WeightStore(try SafeTensorsFile(path: path))
        #expect(throws: WeightError.shapeMismatch(file: path, key: "a", expected: [3, 2], actual: [2, 3])) { try store.tensor("a", shape: [3, 2]) }
        #expect(throws: WeightError.missingTensor(file: path, key: "c")) { try store.tensor("c", shape: [1]) }
        _ = try store.tensor("a", shape: [2, 3])
        #expect(throws: WeightError.unusedTensors(file: path, keys: ["b"], total: 1)) { try store.finish() }
        try store.finish(ignoring: ["b"])
    }
}
