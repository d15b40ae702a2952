import Foundation
@testable import FourMTensor
import Testing

/// Big models in bf16 (issue 14 item 4): a bf16 `Linear` and embedding table keep one copy,
/// and safetensors files are streamed tensor by tensor.
///
/// Tolerances: none. A bf16 layer now holds only the rounded weight, which is exactly what the
/// old layer multiplied (its bf16 copy), so the outputs must be bit-identical; widening bf16 to
/// fp32 is exact; streamed files must be byte-identical to the in-memory writer's.
@Suite struct BigModelMemoryTests {
    func temporaryPath(_ tag: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString).safetensors").path
    }

    /// One copy: the bf16 layer holds 2 bytes per weight, and gives bit for bit the product of
    /// the fp32 weight rounded to bf16 (the path a layer with both copies took).
    @Test(.enabled(if: ComputePrecision.bf16Supported, "oneDNN has no bf16 on this CPU"))
    func bf16LinearKeepsOneCopyWithIdenticalOutputs() {
        var rng = SeededGenerator(seed: 21)
        let w = Tensor<Float>.randomNormal(shape: [48, 96], std: 0.05, using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [48], using: &rng)
        let x = Tensor<Float>.randomNormal(shape: [3, 7, 96], using: &rng)
        let layer = Linear(weight: w, bias: b, precision: .bf16)
        #expect(layer.weightBytes == 48 * 96 * 2)
        #expect(layer.inputs == 96 && layer.outputs == 48)
        let before = linearBFloat16(x, weight: BFloat16Matrix(w), bias: b)
        #expect(before != nil)
        #expect(layer(x).scalars == before?.scalars)
        // The fp32 view (readers of `weight`, the fp32 fallback) is the rounded weight, exactly.
        #expect(layer.weight.shape == [48, 96])
        #expect(layer.weight.scalars == w.scalars.map { floatFromBFloat16Bits(bfloat16Bits(of: $0)) })
        // The fallback's product: the fp32 product of the widened weight.
        let fallback = linear(x, weight: layer.weight, bias: b)
        #expect(fallback.shape == [3, 7, 48])
        // fp32 layers are untouched: the weight itself, 4 bytes each.
        let fp32 = Linear(weight: w, bias: b)
        #expect(fp32.weightBF16 == nil && fp32.weightBytes == 48 * 96 * 4)
        #expect(fp32.weight.scalars == w.scalars)
        #expect(fp32(x).scalars == linear(x, weight: w, bias: b).scalars)
    }

    /// On any CPU: a layer holding only a bf16 matrix gives the oneDNN bf16 product where
    /// oneDNN runs it, and otherwise (this fallback is every call on a CPU without AVX-512) the
    /// fp32 product of the widened weight, bit for bit.
    @Test func bf16OnlyLayerFallsBackToTheWidenedWeight() {
        var rng = SeededGenerator(seed: 22)
        let w = Tensor<Float>.randomNormal(shape: [20, 33], std: 0.05, using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [20], using: &rng)
        let x = Tensor<Float>.randomNormal(shape: [5, 33], using: &rng)
        let matrix = BFloat16Matrix(w)
        let layer = Linear(bfloat16Weight: matrix, bias: b)
        #expect(layer.precision == .bf16 && layer.weightBytes == 20 * 33 * 2 && layer.inputs == 33 && layer.outputs == 20)
        let expected = linearBFloat16(x, weight: matrix, bias: b) ?? linear(x, weight: matrix.widened(), bias: b)
        #expect(layer(x).scalars == expected.scalars)
    }

    /// A BF16 entry is read straight into a bf16 matrix (bits as stored); an F32 one is rounded.
    @Test func bfloat16MatrixReadsStoredBitsOrRounds() throws {
        var rng = SeededGenerator(seed: 23)
        let w = Tensor<Float>.randomNormal(shape: [7, 9], using: &rng)
        var writer = SafeTensorsWriter()
        writer.add("a", w, as: .bf16)
        writer.add("b", w)
        let path = temporaryPath("matrix")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writer.write(to: path)
        let store = WeightStore(try SafeTensorsFile(path: path))
        for key in ["a", "b"] {
            let matrix = try store.bfloat16Matrix(key, shape: [7, 9])
            #expect((0..<63).allSatisfy { matrix.storage[$0] == bfloat16Bits(of: w.scalars[$0]) }, "\(key)")
        }
        #expect(store.unusedKeys.isEmpty)
        #expect(throws: WeightError.self) { try store.bfloat16Matrix("a", shape: [9, 7]) }
        #expect(throws: WeightError.self) { try store.bfloat16Matrix("missing", shape: [7, 9]) }
    }

    /// Widening is exact for every bit pattern class (normals, subnormals, zeros, infinities).
    @Test func widenedMatchesTheScalarConversion() {
        let bits: [UInt16] = [0x0000, 0x8000, 0x0001, 0x807F, 0x3F80, 0xBF81, 0x7F7F, 0x7F80, 0xFF80, 0x4049]
        let matrix = BFloat16Matrix(rows: 2, columns: 5) { out in for i in 0..<10 { out[i] = bits[i] } }
        #expect(matrix.widened().scalars.map(\.bitPattern) == bits.map { floatFromBFloat16Bits($0).bitPattern })
        // Large enough to split across threads.
        let big = BFloat16Matrix(rows: 300, columns: 700) { out in for i in 0..<out.count { out[i] = UInt16(truncatingIfNeeded: i &* 2_654_435_761 >> 7) & 0x7F7F } }
        let wide = big.widened()
        #expect((0..<(300 * 700)).allSatisfy { wide.scalars[$0].bitPattern == floatFromBFloat16Bits(big.storage[$0]).bitPattern })
    }

    /// Loading in bf16: an F32 file's weight is rounded once, a BF16 file's is taken as stored,
    /// neither keeps floats; fp32 loading keeps the floats.
    @Test func loadsOneCopyFromF32AndBF16Files() throws {
        var rng = SeededGenerator(seed: 5)
        let w = Tensor<Float>.randomNormal(shape: [6, 10], using: &rng)
        for dtype in [DType.f32, .bf16] {
            var writer = SafeTensorsWriter()
            writer.add("layer.weight", w, as: dtype)
            writer.add("table", w, as: dtype)
            let path = temporaryPath("linear-\(dtype.rawValue)")
            defer { try? FileManager.default.removeItem(atPath: path) }
            try writer.write(to: path)
            let store = WeightStore(try SafeTensorsFile(path: path))
            store.precision = .bf16
            guard store.precision.resolved == .bf16 else { continue }
            let layer = try Linear(store.scoped("layer"), inputs: 10, outputs: 6, bias: false)
            let bits = try #require(layer.weightBF16)
            #expect(layer.weightBytes == 60 * 2)
            #expect((0..<60).allSatisfy { bits.storage[$0] == bfloat16Bits(of: w.scalars[$0]) })
            // Tables: bf16 only when stored as BF16 (exact), floats otherwise.
            let table = try EmbeddingTable(store, key: "table", shape: [6, 10])
            #expect(table.isBFloat16 == (dtype == .bf16))
            let ids = Tensor<Int32>(shape: [2, 2], scalars: [5, -1, 0, 3])
            let rows = table.gatherRows(ids)
            let reference = try WeightStore(try SafeTensorsFile(path: path)).tensor("table", shape: [6, 10]).gatherRows(ids)
            #expect(rows.shape == [2, 2, 10] && rows.scalars == reference.scalars)
            #expect(store.unusedKeys.isEmpty)
        }
    }

    /// The streamed file is byte for byte the in-memory writer's, the temporary file grows as
    /// each tensor is written (nothing is buffered), and conversion buffers stay one chunk.
    @Test func streamWriterMatchesTheInMemoryWriterAndDoesNotBuffer() throws {
        var rng = SeededGenerator(seed: 9)
        let big = Tensor<Float>.randomNormal(shape: [3, SafeTensorsStreamWriter.chunkElements + 17], using: &rng)
        let small = Tensor<Float>.randomNormal(shape: [5, 4], using: &rng)
        let ints = Tensor<Int32>(shape: [3], scalars: [1, -2, 3])
        var reference = SafeTensorsWriter(metadata: ["dim": "4"])
        reference.add("big", big, as: .bf16)
        reference.add("small", small)
        reference.add("half", small, as: .f16)
        reference.add("ids", ints)
        let layout = [
            SafeTensorsLayoutEntry(name: "big", dtype: .bf16, shape: big.shape), SafeTensorsLayoutEntry(name: "small", dtype: .f32, shape: [5, 4]),
            SafeTensorsLayoutEntry(name: "half", dtype: .f16, shape: [5, 4]), SafeTensorsLayoutEntry(name: "ids", dtype: .i64, shape: [3]),
        ]
        let path = temporaryPath("stream")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try SafeTensorsStreamWriter(path: path, layout: layout, metadata: ["dim": "4"])
        let header = try #require(writer.bytesOnDisk)
        // A producer: each tensor is made only when it is written, and lands on disk at once.
        let producers: [(String, () -> Tensor<Float>)] = [("big", { big }), ("small", { small }), ("half", { small })]
        var expected = header
        for (name, produce) in producers {
            let layoutEntry = try #require(layout.first { $0.name == name })
            try writer.write(name, produce())
            expected += try #require(layoutEntry.byteCount)
            #expect(writer.bytesOnDisk == expected, "\(name) was not written through")
        }
        let idBytes = ints.scalars.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: Int64(v) >> (8 * Int64($0))) } }
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: idBytes.count, alignment: 8)
        defer { raw.deallocate() }
        raw.copyBytes(from: idBytes)
        try writer.write("ids", rawBytes: UnsafeRawBufferPointer(raw))
        #expect(writer.largestBuffer == SafeTensorsStreamWriter.chunkElements * 2)
        #expect(!FileManager.default.fileExists(atPath: path), "the destination appears only at finish")
        try writer.finish()
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == reference.serialized())
    }

    /// Out-of-order or missing tensors are errors, and an unfinished writer leaves no file.
    @Test func streamWriterRejectsLayoutViolations() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("out.safetensors").path
        let layout = [SafeTensorsLayoutEntry(name: "a", dtype: .f32, shape: [2]), SafeTensorsLayoutEntry(name: "b", dtype: .f32, shape: [2])]
        do {
            let writer = try SafeTensorsStreamWriter(path: path, layout: layout)
            #expect(throws: WeightError.self) { try writer.write("b", Tensor<Float>(zeros: [2])) }
            #expect(throws: WeightError.self) { try writer.write("a", Tensor<Float>(zeros: [3])) }
            try writer.write("a", Tensor<Float>(zeros: [2]))
            #expect(throws: WeightError.self) { try writer.finish() }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty, "temporary file left behind")
        #expect(throws: WeightError.self) {
            _ = try SafeTensorsStreamWriter(path: path, layout: layout + [SafeTensorsLayoutEntry(name: "a", dtype: .f32, shape: [1])])
        }
    }

    /// Conversion streams to the same bytes the in-memory writer made (sorted names, floats
    /// re-stored, integers copied), and converts back to the rounded values.
    @Test func conversionRoundTrips() throws {
        var rng = SeededGenerator(seed: 13)
        let a = Tensor<Float>.randomNormal(shape: [4, 6], using: &rng)
        let b = Tensor<Float>.randomNormal(shape: [7], using: &rng)
        var source = SafeTensorsWriter(metadata: ["dim": "6"])
        source.add("z.weight", a)
        source.add("a.bias", b, as: .f16)
        source.add("ids", Tensor<Int32>(shape: [2], scalars: [3, 4]), as: .i32)
        source.add("mask", Tensor<Bool>(shape: [2], scalars: [true, false]))
        let (input, bf16, back) = (temporaryPath("convert-in"), temporaryPath("convert-bf16"), temporaryPath("convert-back"))
        defer { for p in [input, bf16, back] { try? FileManager.default.removeItem(atPath: p) } }
        try source.write(to: input)
        let inFile = try SafeTensorsFile(path: input)
        #expect(try SafeTensorsConversion.convert(inFile, to: bf16, floatsAs: .bf16) == 4)
        // What the previous, in-memory `fourm convert` wrote.
        var old = SafeTensorsWriter(metadata: inFile.metadata)
        for name in inFile.names {
            guard let entry = inFile.entries[name] else { continue }
            switch entry.dtype {
            case .f32, .f16, .bf16: old.add(name, try inFile.floatTensor(name), as: .bf16)
            case .i64, .i32, .u8: old.add(name, try inFile.intTensor(name), as: entry.dtype)
            case .bool: old.add(name, try inFile.boolTensor(name), as: .bool)
            }
        }
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: bf16))) == old.serialized())
        try SafeTensorsConversion.convert(try SafeTensorsFile(path: bf16), to: back, floatsAs: .f32)
        let result = try SafeTensorsFile(path: back)
        #expect(result.metadata == ["dim": "6"])
        #expect(try result.floatTensor("z.weight").scalars == a.scalars.map { floatFromBFloat16Bits(bfloat16Bits(of: $0)) })
        #expect(try result.floatTensor("a.bias").scalars == (try inFile.floatTensor("a.bias")).scalars.map { floatFromBFloat16Bits(bfloat16Bits(of: $0)) })
        #expect(try result.intTensor("ids").scalars == [3, 4] && result.entries["ids"]?.dtype == .i32)
        #expect(try result.boolTensor("mask").scalars == [true, false])
    }
}
