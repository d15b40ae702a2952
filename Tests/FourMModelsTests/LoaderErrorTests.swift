import Foundation
import FourMModels
import FourMTensor
import Testing

/// Strict model loading (spec/model.md 1.2, 1.6): each bad checkpoint throws the exact case.
@Suite struct LoaderErrorTests {
    static let config = RandomCheckpoint.configuration(dim: 8, depth: 1, heads: 2, domainsIn: ["rgb@224", "caption"], domainsOut: ["caption", "tok_depth@224"])

    func write(_ writer: SafeTensorsWriter) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).safetensors").path
        try writer.write(to: path)
        return path
    }

    /// The tiny checkpoint with one tensor dropped, replaced or added, or metadata changed.
    func variant(drop: String? = nil, replace: (String, [Int])? = nil, add: String? = nil, metadata: [String: String?] = [:]) throws -> String {
        let config = try #require(Self.config)
        let full = RandomCheckpoint.writer(for: config, seed: 1)
        let path = try write(full)
        let file = try SafeTensorsFile(path: path)
        var meta = file.metadata
        for (key, value) in metadata { meta[key] = value }
        var out = SafeTensorsWriter(metadata: meta)
        for name in file.names where name != drop {
            if let (key, shape) = replace, key == name {
                out.add(name, Tensor<Float>(zeros: shape))
            } else {
                out.add(name, try file.floatTensor(name))
            }
        }
        if let add { out.add(add, Tensor<Float>(zeros: [3])) }
        return try write(out)
    }

    @Test func loadsTheIntactCheckpoint() throws {
        let model = try FourMModel(path: try variant())
        #expect(model.inputModalities == ["rgb@224", "caption"])
        #expect(model.outputModalities == ["caption", "tok_depth@224"])
    }

    @Test func rejectsMissingTensor() throws {
        let path = try variant(drop: "encoder.0.mlp.fc3.weight")
        #expect(throws: ModelError.weights(.missingTensor(file: path, key: "encoder.0.mlp.fc3.weight"))) { try FourMModel(path: path) }
    }

    @Test func rejectsWrongShape() throws {
        let path = try variant(replace: ("decoder.0.cross_attn.kv.weight", [8, 16]))
        #expect(throws: ModelError.weights(.shapeMismatch(file: path, key: "decoder.0.cross_attn.kv.weight", expected: [16, 8], actual: [8, 16]))) {
            try FourMModel(path: path)
        }
    }

    @Test func rejectsUnusedTensor() throws {
        let path = try variant(add: "encoder.0.attn.extra")
        #expect(throws: ModelError.weights(.unusedTensors(file: path, keys: ["encoder.0.attn.extra"], total: 1))) { try FourMModel(path: path) }
    }

    @Test func rejectsUnknownModality() throws {
        let path = try variant(metadata: ["domains_in": "['rgb@224', 'caption', 'tok_smell@224']"])
        #expect(throws: ModelError.configuration(.unknownModality(file: path, key: "domains_in", name: "tok_smell@224"))) { try FourMModel(path: path) }
    }

    @Test func rejectsUnknownActivation() throws {
        let path = try variant(metadata: ["act_layer": "Tanh"])
        #expect(throws: ModelError.configuration(.unsupported(file: path, key: "act_layer", value: "Tanh"))) { try FourMModel(path: path) }
    }

    @Test func rejectsMissingRequiredKey() throws {
        let path = try variant(metadata: ["norm_bias": nil])
        #expect(throws: ModelError.configuration(.missingKey(file: path, key: "norm_bias"))) { try FourMModel(path: path) }
    }

    @Test func rejectsRegisterTokens() throws {
        let path = try variant(metadata: ["num_register_tokens": "4"])
        #expect(throws: ModelError.configuration(.unsupported(file: path, key: "num_register_tokens", value: "4"))) { try FourMModel(path: path) }
    }

    @Test func rejectsMistypedValue() throws {
        let path = try variant(metadata: ["dim": "eight"])
        #expect(throws: ModelError.configuration(.invalidValue(file: path, key: "dim", expected: "an integer", actual: "'eight'"))) { try FourMModel(path: path) }
    }

    @Test func toleratesUnknownExtraKeys() throws {
        let path = try variant(metadata: ["some_future_key": "[1, 2]", "use_act_checkpoint": "False"])
        let model = try FourMModel(path: path)
        #expect(model.configuration.ignoredKeys.contains("some_future_key"))
    }

    @Test func rejectsOutOfVocabularyTokens() throws {
        let model = try FourMModel(path: try variant())
        let caption = ModalityState(tokens: Tensor(shape: [1, 3], scalars: [5, 30000, 3]))
        #expect(throws: ModelError.tokenOutOfRange(modality: "caption", id: 30000, vocabularySize: 30000)) {
            try model.encoderInput([.caption: caption])
        }
    }

    @Test func rejectsWrongPixelShape() throws {
        let model = try FourMModel(path: try variant())
        let rgb = ModalityState(pixels: Tensor(zeros: [1, 3, 64, 64]))
        #expect(throws: ModelError.self) { try model.encoderInput([.rgb224: rgb]) }
    }
}

@Suite struct ConfigurationTests {
    @Test func parsesPythonReprs() {
        #expect(ConfigValue.parse("['caption', \"det\", 'rgb@224']") == .list([.string("caption"), .string("det"), .string("rgb@224")]))
        #expect(ConfigValue.parse("True") == .bool(true))
        #expect(ConfigValue.parse("false") == .bool(false))
        #expect(ConfigValue.parse("768") == .int(768))
        #expect(ConfigValue.parse("4.0") == .double(4))
        #expect(ConfigValue.parse("null") == .null)
        #expect(ConfigValue.parse("SiLU") == .string("SiLU"))
        #expect(ConfigValue.parse("shifted_cosine:0.5") == .string("shifted_cosine:0.5"))
        #expect(ConfigValue.parse("{'a': 1, 'b': [2, 3]}") == .mapping([("a", .int(1)), ("b", .list([.int(2), .int(3)]))]))
        #expect(ConfigValue.parse("[1, 2") == .string("[1, 2"))
    }

    @Test func modalityIDsMatchTheReferenceTable() {
        // spec/model.md 2.1 lists these ids; the SHA-256 route must reproduce them.
        let expected: [(Modality, Int32)] = [("rgb@224", 20716), ("tok_rgb@224", 11606), ("caption", 32652), ("det", 30982),
                                             ("tok_dinov2_global", 29172), ("t5_caption", 28551), ("tok_clip@448", 3585)]
        for (m, id) in expected { #expect(m.id == id, "\(m)") }
    }

    @Test func registryHandlesAnyResolution() throws {
        let info = try #require(ModalityRegistry.info(for: "tok_depth@64"))
        #expect(info.gridSize == 4 && info.tokenCount == 16 && info.vocabularySize == 8192)
        #expect(ModalityRegistry.info(for: "rgb@96")?.tokenCount == 36)
        #expect(ModalityRegistry.info(for: "tok_depth") == nil)
        #expect(ModalityRegistry.info(for: "caption@224") == nil)
    }

    @Test func readsConfigJSON() throws {
        let json = #"{"domains_in": ["rgb@224"], "domains_out": ["tok_depth@224"], "image_size": 224, "patch_size": 16, "norm_bias": false, "act_layer": "SiLU", "dim": 64, "num_heads": 4, "mlp_ratio": 4.0, "gated_mlp": true}"#
        let config = try FourMConfiguration(jsonData: Data(json.utf8), file: "config.json")
        #expect(config.dim == 64 && config.numHeads == 4 && config.gatedMLP && !config.normBias)
        #expect(config.mlpHiddenWidth == 170)
        #expect(throws: ConfigurationError.invalidValue(file: "config.json", key: "norm_bias", expected: "True or False", actual: "1")) {
            try FourMConfiguration(jsonData: Data(json.replacingOccurrences(of: "\"norm_bias\": false", with: "\"norm_bias\": 1").utf8), file: "config.json")
        }
    }
}
