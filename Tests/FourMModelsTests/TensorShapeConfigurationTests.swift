import Foundation
import FourMModels
import FourMTensor
import Testing

/// `FourMConfiguration.adoptingTensorShapes(of:)`: models beyond the released ones describe
/// their vocabularies and token grids through their tensor shapes.
@Suite struct TensorShapeConfigurationTests {
    func file(_ tensors: [String: [Int]]) throws -> SafeTensorsFile {
        var writer = SafeTensorsWriter()
        for (name, shape) in tensors { writer.add(name, Tensor<Float>(repeating: 0, shape: shape)) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shapes-\(UUID()).safetensors").path
        try writer.write(to: path)
        return try SafeTensorsFile(path: path)
    }

    func configuration() throws -> FourMConfiguration {
        let list: (String...) -> ConfigValue = { .list($0.map { ConfigValue.string($0) }) }
        return try FourMConfiguration(values: [
            "domains_in": list("rgb@64", "tok_depth@64", "caption"), "domains_out": list("tok_depth@64", "caption"),
            "image_size": .int(64), "patch_size": .int(8), "norm_bias": .bool(false), "act_layer": .string("SiLU"),
            "dim": .int(8), "num_heads": .int(2),
        ], file: "test")
    }

    @Test func readsGridsPatchesAndVocabularies() throws {
        let shapes = try file([
            "encoder_embeddings.rgb@64.pos_emb": [1, 64, 8], "encoder_embeddings.rgb@64.proj.weight": [8, 192],
            "encoder_embeddings.tok_depth@64.pos_emb": [1, 64, 8], "encoder_embeddings.tok_depth@64.token_emb.weight": [512, 8],
            "decoder_embeddings.caption.to_logits.weight": [4331, 8],
        ])
        let base = try configuration()
        #expect(base.info("rgb@64")?.gridSize == 4, "the registry alone assumes 16-pixel patches")
        let adopted = try base.adoptingTensorShapes(of: shapes)
        let rgb = try #require(adopted.info("rgb@64"))
        #expect(rgb.gridSize == 8 && rgb.patchSize == 8 && rgb.tokenCount == 64)
        let depth = try #require(adopted.info("tok_depth@64"))
        #expect(depth.vocabularySize == 512 && depth.gridSize == 8 && depth.patchSize == 8)
        let caption = try #require(adopted.info("caption"))
        #expect(caption.vocabularySize == 4331 && caption.tokenCount == 256 && caption.maxLength == 256)
    }

    @Test func releasedShapesChangeNothing() throws {
        let shapes = try file(["encoder_embeddings.tok_depth@64.pos_emb": [1, 16, 8], "encoder_embeddings.tok_depth@64.token_emb.weight": [8192, 8]])
        let base = try configuration()
        let adopted = try base.adoptingTensorShapes(of: shapes)
        #expect(adopted.info("tok_depth@64") == base.info("tok_depth@64"))
        #expect(adopted.modalityOverrides["tok_depth@64"] == nil)
    }

    @Test func contradictoryShapesNameTheTensor() throws {
        let grid = try file(["encoder_embeddings.tok_depth@64.pos_emb": [1, 60, 8]])
        #expect(throws: ConfigurationError.self) { try configuration().adoptingTensorShapes(of: grid) }
        do { _ = try configuration().adoptingTensorShapes(of: grid) } catch {
            #expect("\(error)".contains("encoder_embeddings.tok_depth@64.pos_emb"), "\(error)")
        }
        let patches = try file(["encoder_embeddings.rgb@64.pos_emb": [1, 64, 8], "encoder_embeddings.rgb@64.proj.weight": [8, 768]])
        do {
            _ = try configuration().adoptingTensorShapes(of: patches)
            Issue.record("a 16-pixel projection on an 8×8 grid was accepted")
        } catch {
            #expect("\(error)".contains("proj.weight"), "\(error)")
        }
    }
}
