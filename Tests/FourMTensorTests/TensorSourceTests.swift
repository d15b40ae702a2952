import Foundation
@testable import FourMTensor
import Testing

/// The loading layer: the three tensor sources, scoping by prefix, stored dtypes, and the
/// checkpoint-metadata reader.
@Suite struct TensorSourceTests {
    func temporaryFile(_ writer: SafeTensorsWriter) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("source-\(UUID().uuidString).safetensors").path
        try writer.write(to: path)
        return path
    }

    @Test func scopedSourcesNameTheFileAndTheFullKey() throws {
        var writer = SafeTensorsWriter()
        writer.add("decoder.blocks.3.attn.qkv.weight", Tensor<Float>(zeros: [6, 2]))
        let path = try temporaryFile(writer)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = WeightStore(try SafeTensorsFile(path: path))
        let block = store.scoped("decoder").scoped("blocks.3")
        #expect(block.prefix == "decoder.blocks.3")
        #expect(block.contains("attn.qkv.weight") && !block.contains("attn.qkv.bias"))
        #expect(throws: WeightError.shapeMismatch(file: path, key: "decoder.blocks.3.attn.qkv.weight", expected: [6, 3], actual: [6, 2])) {
            try Linear(block.scoped("attn.qkv"), inputs: 3, outputs: 6, bias: false)
        }
        #expect(throws: WeightError.missingTensor(file: path, key: "decoder.blocks.3.attn.qkv.bias")) {
            try Linear(block.scoped("attn.qkv"), inputs: 2, outputs: 6, bias: true)
        }
        _ = try Linear(block.scoped("attn.qkv"), inputs: 2, outputs: 6, bias: false)
        try store.finish()
    }

    @Test(arguments: [DType.f32, .f16, .bf16])
    func storedTensorsKeepTheirDtypeAndBytes(_ dtype: DType) throws {
        var rng = SeededGenerator(seed: 5)
        let values = Tensor<Float>.randomNormal(shape: [3, 4], using: &rng)
        var writer = SafeTensorsWriter()
        writer.add("w", values, as: dtype)
        let path = try temporaryFile(writer)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SafeTensorsFile(path: path)
        let stored = try WeightStore(file).storedTensor("w", shape: [3, 4])
        #expect(stored.dtype == dtype && stored.shape == [3, 4] && stored.bytes.count == 12 * dtype.size)
        // The same bytes as written, and the same floats through a dictionary of stored tensors.
        #expect(stored == StoredTensor(values, dtype: dtype))
        let memory = DictionaryTensorSource(stored: ["w": stored], name: "memory")
        #expect(memory.dtype(of: "w") == dtype)
        #expect(try memory.tensor("w", shape: [3, 4]) == (try file.floatTensor("w")))
    }

    @Test func storedTensorsCheckTheirByteCount() throws {
        #expect(throws: WeightError.sizeMismatch(file: "<memory>", key: "", expectedBytes: 12, actualBytes: 10)) {
            try StoredTensor(dtype: .bf16, shape: [2, 3], bytes: [UInt8](repeating: 0, count: 10))
        }
        #expect(throws: WeightError.shapeOverflow(file: "<memory>", key: "", shape: [-1], dtype: "F32")) {
            try StoredTensor(dtype: .f32, shape: [-1], bytes: [])
        }
        #expect(try StoredTensor(dtype: .f16, shape: [2], bytes: [0, 60, 0, 188]).shape == [2])
    }

    @Test func dictionarySourceIsStrict() throws {
        let source = DictionaryTensorSource(["a.weight": Tensor<Float>(zeros: [2]), "a.bias": Tensor<Float>(zeros: [2])], name: "memory")
        #expect(throws: WeightError.shapeMismatch(file: "memory", key: "a.weight", expected: [3], actual: [2])) {
            try LayerNorm(source.scoped("a"), dim: 3)
        }
        let norm = try LayerNorm(source.scoped("a"), dim: 2, requiredBias: true)
        #expect(norm.bias != nil && source.unusedKeys.isEmpty)
        #expect(throws: WeightError.missingTensor(file: "memory", key: "b.bias")) {
            try LayerNorm(DictionaryTensorSource(["b.weight": Tensor<Float>(zeros: [2])], name: "memory").scoped("b"), dim: 2, requiredBias: true)
        }
    }

    @Test func randomSourceRecordsEveryKeyInOrder() throws {
        let source = RandomTensorSource(seed: 1)
        let options = BlockOptions(dim: 8, heads: 2, mlpHidden: 16, gatedMLP: false, activation: .gelu, qkvBias: true, projBias: true,
                                   mlpBias: true, qkNorm: false)
        _ = try TransformerBlock(source.scoped("blocks.0"), options)
        #expect(source.recorded.map(\.key) == [
            "blocks.0.norm1.weight", "blocks.0.norm1.bias", "blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias",
            "blocks.0.attn.proj.weight", "blocks.0.attn.proj.bias", "blocks.0.norm2.weight", "blocks.0.norm2.bias",
            "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc1.bias", "blocks.0.mlp.fc2.weight", "blocks.0.mlp.fc2.bias",
        ])
        // Norm scales around one, everything else around zero.
        #expect(abs(source.recorded[0].tensor.scalars.reduce(0, +) / 8 - 1) < 0.1)
    }

    @Test func metadataReaderTypesValuesAndNamesKeys() throws {
        var m = CheckpointMetadata([
            "dim": "768", "ratio": "4.0", "eps": "1e-06", "flag": "True", "name": "SiLU", "none": "None",
            "domains": "['rgb@224', 'caption']", "sizes": "[1, 2, 3]", "word": "three",
        ], file: "m.safetensors")
        #expect(try m.int("dim", default: 1) == 768)
        #expect(try m.int("absent", default: 7) == 7)
        #expect(try m.int("none", default: 7) == 7)
        #expect(throws: MetadataError(file: "m.safetensors", key: "none", expected: "an integer", actual: "None")) {
            try m.int("none", default: 7, allowNone: false)
        }
        #expect(try m.double("ratio", default: 0) == 4 && m.double("eps", default: 0) == 1e-6)
        #expect(try m.bool("flag", default: false) && m.string("name", default: "") == "SiLU")
        #expect(try m.stringList("domains") == ["rgb@224", "caption"] && m.intList("sizes") == [1, 2, 3])
        #expect(throws: MetadataError(file: "m.safetensors", key: "word", expected: "an integer", actual: "'three'")) {
            try m.int("word", default: 0)
        }
        #expect(throws: MetadataError(file: "m.safetensors", key: "flag", expected: "a string", actual: "True")) {
            try m.string("flag", default: "")
        }
        #expect(throws: MetadataError(file: "m.safetensors", key: "missing", expected: "a positive integer", actual: "missing")) {
            try m.positiveInt("missing", default: nil)
        }
        #expect(m.readKeys.isSuperset(of: ["dim", "absent", "none", "ratio", "word", "missing"]))
        #expect(!m.readKeys.contains("unread"))
    }
}
