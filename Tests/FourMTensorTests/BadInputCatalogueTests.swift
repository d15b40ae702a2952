import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import FourMTensor
import FourMTestSupport
import Testing

/// The bad-input catalogue for safetensors files (issue 15): every hostile file is generated
/// here, in a temporary folder, and each must throw its exact `WeightError` case.
@Suite struct SafeTensorsBadInputCatalogueTests {
    /// A temporary file holding an 8-byte little-endian header length, `header`, then `data`.
    func file(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) throws -> String {
        let json = Array(header.utf8)
        return try file(headerBytes: json, data: data, declaredLength: declaredLength)
    }

    func file(headerBytes json: [UInt8], data: [UInt8] = [], declaredLength: UInt64? = nil) throws -> String {
        let length = declaredLength ?? UInt64(json.count)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) }
        bytes += json
        bytes += data
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("bad-\(UUID().uuidString).safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func shapeTimesDTypeOverflowIsAnError() throws {
        // 88 bytes in all: 2^62 × 2 elements of 4 bytes do not fit in Int (this trapped).
        let path = try file(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,2],"data_offsets":[0,0]}}"#)
        #expect(throws: WeightError.shapeOverflow(file: path, key: "a", shape: [4_611_686_018_427_387_904, 2], dtype: "F32")) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func rejectsDuplicateTensorKeys() throws {
        let entry = #"{"dtype":"U8","shape":[1],"data_offsets":[0,1]}"#
        let path = try file(header: #"{"a":\#(entry),"a":\#(entry)}"#, data: [7])
        #expect(throws: WeightError.duplicateKey(file: path, key: "a")) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsDuplicateMetadata() throws {
        let path = try file(header: #"{"__metadata__":{"a":"1"},"__metadata__":{"a":"2"}}"#)
        #expect(throws: WeightError.duplicateKey(file: path, key: "__metadata__")) { try SafeTensorsFile(path: path) }
        let inner = try file(header: #"{"__metadata__":{"a":"1","a":"2"}}"#)
        #expect(throws: WeightError.duplicateKey(file: inner, key: "__metadata__.a")) { try SafeTensorsFile(path: inner) }
    }

    @Test func rejectsDuplicateFieldsInAnEntry() throws {
        let path = try file(header: #"{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}"#, data: [1])
        #expect(throws: WeightError.duplicateKey(file: path, key: "a.dtype")) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsFloatAndBooleanOffsets() throws {
        let float = try file(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0.0,1]}}"#, data: [1])
        #expect(throws: WeightError.invalidEntry(file: float, key: "a", reason: "'data_offsets' holds number 0.0, expected an integer")) {
            try SafeTensorsFile(path: float)
        }
        let boolean = try file(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[false,true]}}"#, data: [1])
        #expect(throws: WeightError.invalidEntry(file: boolean, key: "a", reason: "'data_offsets' holds false, expected an integer")) {
            try SafeTensorsFile(path: boolean)
        }
        let floatExtent = try file(header: #"{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}"#, data: [1])
        #expect(throws: WeightError.invalidEntry(file: floatExtent, key: "a", reason: "shape extent is number 1.0, expected a non-negative integer")) {
            try SafeTensorsFile(path: floatExtent)
        }
    }

    @Test func rejectsNonStringMetadataValues() throws {
        let path = try file(header: #"{"__metadata__":{"dim":8}}"#)
        #expect(throws: WeightError.invalidEntry(file: path, key: "__metadata__.dim", reason: "is number 8, expected a string")) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func rejectsHolesBetweenTensors() throws {
        let path = try file(
            header: #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}"#,
            data: [1, 2, 0, 0, 3, 4])
        #expect(throws: WeightError.hole(file: path, key: "b", expectedBegin: 2, actualBegin: 4)) { try SafeTensorsFile(path: path) }
        let leading = try file(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: [0, 1])
        #expect(throws: WeightError.hole(file: leading, key: "a", expectedBegin: 0, actualBegin: 1)) { try SafeTensorsFile(path: leading) }
    }

    @Test func rejectsTrailingBytes() throws {
        let header = #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#
        let path = try file(header: header, data: [1, 2, 9])
        let dataEnd = 8 + header.utf8.count + 2
        #expect(throws: WeightError.trailingBytes(file: path, dataEnd: dataEnd, fileSize: dataEnd + 1)) { try SafeTensorsFile(path: path) }
    }

    @Test func rejectsOverlappingTensors() throws {
        let path = try file(
            header: #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#,
            data: [1, 2, 3])
        #expect(throws: WeightError.overlappingTensors(file: path, first: "a", second: "b")) { try SafeTensorsFile(path: path) }
    }

    @Test func capsTheHeaderAt100MB() throws {
        // The length field alone is checked: nothing of that size is read or allocated.
        let path = try file(header: "{}", declaredLength: UInt64(InputLimits.maximumSafeTensorsHeaderBytes) + 1)
        #expect(
            throws: WeightError.limitExceeded(
                file: path, what: "header length", limit: 100_000_000, actual: 100_000_001)
        ) { try SafeTensorsFile(path: path) }
        let huge = try file(header: "{}", declaredLength: UInt64.max)
        #expect(throws: WeightError.limitExceeded(file: huge, what: "header length", limit: 100_000_000, actual: Int.max)) {
            try SafeTensorsFile(path: huge)
        }
    }

    @Test func capsTheTensorCount() throws {
        let count = InputLimits.maximumTensorCount + 1
        var header = "{"
        header.reserveCapacity(count * 48)
        for i in 0..<count {
            if i > 0 { header += "," }
            header += #""t\#(i)":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}"#
        }
        header += "}"
        let path = try file(header: header)
        #expect(throws: WeightError.limitExceeded(file: path, what: "tensor count", limit: 100_000, actual: count)) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func capsTheRank() throws {
        let path = try file(header: #"{"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}}"#, data: [1])
        #expect(throws: WeightError.limitExceeded(file: path, what: "rank of tensor 'a'", limit: 8, actual: 9)) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func badJSONNamesTheFileByteOffset() throws {
        // The header starts at byte 8 of the file; the stray ',' is header byte 1.
        let path = try file(header: "{,}")
        #expect(throws: WeightError.invalidHeader(file: path, reason: "JSON: unexpected character ',', expected a string key at byte 9")) {
            try SafeTensorsFile(path: path)
        }
        let notObject = try file(header: "[1]")
        #expect(throws: WeightError.invalidHeader(file: notObject, reason: "the header is an array of 1 elements, expected a JSON object")) {
            try SafeTensorsFile(path: notObject)
        }
    }

    @Test func badUTF8NamesTheFileByteOffset() throws {
        let path = try file(headerBytes: [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])
        #expect(throws: WeightError.invalidHeader(file: path, reason: "JSON: the text is not valid UTF-8 at byte 10")) {
            try SafeTensorsFile(path: path)
        }
        let description = WeightError.invalidHeader(file: "m.safetensors", reason: "JSON: the text is not valid UTF-8 at byte 10").description
        #expect(!description.contains("The data"), "no generic Foundation text: \(description)")
    }

    @Test func writerOutputStillLoads() throws {
        var writer = SafeTensorsWriter(metadata: ["dim": "8"])
        writer.add("w", Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
        writer.add("empty", Tensor<Float>(zeros: [0, 4]))
        writer.add("ids", Tensor<Int32>(shape: [2], scalars: [5, 6]))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ok-\(UUID().uuidString).safetensors").path
        try writer.write(to: path)
        let file = try SafeTensorsFile(path: path)
        #expect(file.names == ["empty", "ids", "w"])
        #expect(try file.floatTensor("w").scalars == [1, 2, 3, 4, 5, 6])
    }

    /// The released-format fixtures (written by the reference) and the shipped demo model are
    /// read by the strict reader unchanged.
    @Test func everyFixtureCheckpointStillLoads() throws {
        guard let directory = Fixtures.directory else { return }
        let models = directory.appendingPathComponent("models")
        let names = try FileManager.default.contentsOfDirectory(atPath: models.path).filter { $0.hasSuffix(".safetensors") }
        #expect(!names.isEmpty)
        for name in names {
            #expect(throws: Never.self, "\(name)") { try SafeTensorsFile(path: models.appendingPathComponent(name).path) }
        }
        let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/FourM/Resources/DemoModel")
        let demoFiles = (try? FileManager.default.contentsOfDirectory(atPath: demo.path))?.filter { $0.hasSuffix(".safetensors") } ?? []
        #expect(!demoFiles.isEmpty)
        for name in demoFiles {
            #expect(throws: Never.self, "\(name)") { try SafeTensorsFile(path: demo.appendingPathComponent(name).path) }
        }
    }

    /// A checkpoint shortened by another process after it was opened (this raised SIGBUS when
    /// the file was memory-mapped): the tensors past the new end throw `.truncated` naming the
    /// end they needed, the ones before it still load, and the process lives on.
    @Test func aFileTruncatedAfterOpeningIsAnErrorNotASignal() throws {
        var writer = SafeTensorsWriter()
        let first = Tensor<Float>(shape: [256], scalars: (0..<256).map(Float.init))
        writer.add("a", first)
        writer.add("b", Tensor<Float>(shape: [4096], scalars: [Float](repeating: 1, count: 4096)))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shrunk-\(UUID().uuidString).safetensors").path
        try writer.write(to: path)
        let file = try SafeTensorsFile(path: path)
        guard let entryA = file.entries["a"], let entryB = file.entries["b"] else {
            Issue.record("the writer's tensors are missing")
            return
        }
        // Cut the file in the middle of the later tensor (in place, as `truncate` would).
        let dataStart = file.fileSize - max(entryA.byteRange.upperBound, entryB.byteRange.upperBound)
        let (later, earlier) = entryA.byteRange.lowerBound > entryB.byteRange.lowerBound ? ("a", entryB) : ("b", entryA)
        let cut = dataStart + earlier.byteRange.upperBound + 100
        #expect(truncate(path, off_t(cut)) == 0)
        let laterEnd = dataStart + (file.entries[later]?.byteRange.upperBound ?? 0)
        #expect(throws: WeightError.truncated(file: path, expectedAtLeast: laterEnd, actual: cut)) { try file.floatTensor(later) }
        #expect(try file.floatTensor(earlier.name).scalars == (earlier.name == "a" ? first.scalars : [Float](repeating: 1, count: 4096)))
    }

    /// Writing over a file that a reader has open replaces it in one rename: the reader keeps
    /// the old bytes, a new reader sees the new ones, and no temporary file is left behind.
    @Test func writesAreAtomic() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("m.safetensors").path
        var first = SafeTensorsWriter()
        first.add("w", Tensor<Float>(shape: [4], scalars: [1, 2, 3, 4]))
        try first.write(to: path)
        let opened = try SafeTensorsFile(path: path)
        var second = SafeTensorsWriter()
        second.add("w", Tensor<Float>(shape: [2], scalars: [9, 9]))
        try second.write(to: path)
        #expect(try opened.floatTensor("w").scalars == [1, 2, 3, 4])
        #expect(try SafeTensorsFile(path: path).floatTensor("w").scalars == [9, 9])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["m.safetensors"])
        #expect(throws: WeightError.self) { try second.write(to: folder.appendingPathComponent("missing/m.safetensors").path) }
    }
}
