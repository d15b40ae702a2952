import Foundation
import FourMModels
import FourMTensor
import Testing

/// The bad-input catalogue for model configurations (issue 15): sizes that used to trap in
/// `Int` arithmetic are now `ConfigurationError`s naming the key and the limit.
@Suite struct ModelsBadInputCatalogueTests {
    /// Checkpoint metadata strings of a small valid model, with `changes` applied.
    func metadata(_ changes: [String: String]) -> [String: String] {
        var values = [
            "domains_in": "[rgb@224, caption]", "domains_out": "[caption]", "image_size": "224", "patch_size": "16",
            "norm_bias": "False", "act_layer": "SiLU", "dim": "8", "encoder_depth": "1", "decoder_depth": "1",
            "num_heads": "2", "mlp_ratio": "4.0",
        ]
        for (key, value) in changes { values[key] = value }
        return values
    }

    @Test func hugeModalityResolutionIsAnError() {
        // rgb@2^40: (2^40 / 16)^2 overflowed in Modality.swift.
        #expect(
            throws: ConfigurationError.invalidValue(
                file: "m.safetensors", key: "domains_in",
                expected: "resolutions of at most 16384 pixels (InputLimits.maximumImageSide)", actual: "'rgb@1099511627776'")
        ) {
            try FourMConfiguration(metadata: metadata(["domains_in": "[rgb@1099511627776]"]), file: "m.safetensors")
        }
        #expect(ModalityRegistry.info(for: "rgb@1099511627776") == nil)
        #expect(ModalityRegistry.info(for: "tok_dinov2_global", imageSize: 1 << 40) == nil)
    }

    @Test func hugeImageSizeIsAnError() {
        // image_size 2^40 with a global-token modality: grid·grid overflowed.
        #expect(
            throws: ConfigurationError.invalidValue(
                file: "m.safetensors", key: "image_size",
                expected: "at most 16384 pixels (InputLimits.maximumImageSide)", actual: "1099511627776")
        ) {
            try FourMConfiguration(
                metadata: metadata(["image_size": "1099511627776", "domains_out": "[tok_dinov2_global]"]), file: "m.safetensors")
        }
    }

    @Test func hugeMLPRatioIsAnError() throws {
        // mlp_ratio 1e300: Double → Int conversion of dim·ratio trapped in MLP.swift.
        let expected = ConfigurationError.invalidValue(
            file: "m.safetensors", key: "mlp_ratio",
            expected: "dim × mlp_ratio at most 1048576 (InputLimits.maximumLayerWidth)", actual: "1e+300 (dim × mlp_ratio = 8e+300)")
        #expect(throws: expected) { try FourMConfiguration(metadata: metadata(["mlp_ratio": "1e300"]), file: "m.safetensors") }
        // The same through FourMModel, from a checkpoint that holds only the header.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mlp-\(UUID().uuidString).safetensors").path
        try SafeTensorsWriter(metadata: metadata(["mlp_ratio": "1e300"])).write(to: path)
        #expect(throws: ModelError.configuration(.invalidValue(
            file: path, key: "mlp_ratio", expected: "dim × mlp_ratio at most 1048576 (InputLimits.maximumLayerWidth)",
            actual: "1e+300 (dim × mlp_ratio = 8e+300)"))) {
            try FourMModel(path: path)
        }
    }

    @Test func hugeWidthIsAnError() {
        #expect(
            throws: ConfigurationError.invalidValue(
                file: "m.safetensors", key: "dim", expected: "at most 1048576 (InputLimits.maximumLayerWidth)",
                actual: "4611686018427387904")
        ) {
            try FourMConfiguration(metadata: metadata(["dim": "4611686018427387904", "num_heads": "1"]), file: "m.safetensors")
        }
    }

    /// config.json errors name the byte offset (no generic Foundation text), and a key given
    /// twice is an error instead of last-wins.
    @Test func configJSONErrorsNameTheByteOffsetAndDuplicates() {
        #expect(
            throws: ConfigurationError.unreadable(
                file: "config.json", reason: "invalid JSON: unexpected character '}', expected a string key at byte 10")
        ) { try FourMConfiguration(jsonData: Data(#"{"dim": 8,}"#.utf8), file: "config.json") }
        #expect(
            throws: ConfigurationError.unreadable(file: "config.json", reason: "invalid JSON: the text is not valid UTF-8 at byte 2")
        ) { try FourMConfiguration(jsonData: Data([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]), file: "config.json") }
        #expect(throws: ConfigurationError.unreadable(file: "config.json", reason: "key 'dim' appears more than once")) {
            try FourMConfiguration(jsonData: Data(#"{"dim": 8, "dim": 16}"#.utf8), file: "config.json")
        }
    }
}
