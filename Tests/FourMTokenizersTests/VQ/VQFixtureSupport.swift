import Foundation
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// Shared helpers of the VQ tokenizer tests (a namespace, so nothing collides with helpers of
/// other suites in this test module).
enum VQFixtureSupport {
    /// The ViT presets of `manifest.json` → `presets` (the small `vit_fixture_*` presets the
    /// fixture tokenizers name as `enc_type` / `dec_type`).
    static func manifestPresets() throws -> [String: VQViTPreset] { try FixturePresets.vitPresets() }

    /// Loads a tokenizer with the manifest's presets (and `extra`, which take precedence).
    static func tokenizer(path: String, presets extra: [String: VQViTPreset] = [:]) throws -> VQImageTokenizer {
        try VQImageTokenizer(path: path, presets: try manifestPresets().merging(extra) { $1 })
    }

    /// Absolute path of a fixture model's checkpoint, from `models[]` of the manifest.
    static func modelPath(_ model: String) throws -> String {
        guard let file = try Fixtures.modelObject(model)["file"] as? String else {
            throw FixtureError("model '\(model)' has no file")
        }
        return try Fixtures.url(file).path
    }

    /// A string field of a manifest object.
    static func text(_ value: Any?, _ what: String) throws -> String {
        guard let s = value as? String else { throw FixtureError("\(what) is not a string") }
        return s
    }

    /// Compares with the case tolerance, records an issue on failure, and prints the worst
    /// difference relative to the tolerance (so a run shows how much headroom each stage has).
    static func checkClose(
        _ actual: Tensor<Float>, _ expected: Tensor<Float>, atol: Float, rtol: Float, _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectClose(actual, expected, atol: atol, rtol: rtol, label, sourceLocation: sourceLocation)
        guard actual.shape == expected.shape else { return }
        let a = actual.scalars, e = expected.scalars
        var worstAbs: Float = 0, worstRatio: Float = 0
        for i in 0..<a.count {
            let diff = abs(a[i] - e[i])
            worstAbs = max(worstAbs, diff)
            worstRatio = max(worstRatio, diff / (atol + rtol * abs(e[i])))
        }
        print("[VQ parity] \(label): max |diff| \(worstAbs), \(worstRatio) of tolerance (atol \(atol), rtol \(rtol))")
    }

    /// Ids must match exactly (shape and every value).
    static func checkIDs(_ actual: Tensor<Int32>, _ expected: Tensor<Int32>, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.shape == expected.shape, "\(label): shape", sourceLocation: sourceLocation)
        let mismatches = zip(actual.scalars, expected.scalars).filter { $0 != $1 }.count
        #expect(actual.scalars == expected.scalars, "\(label): \(mismatches) of \(expected.count) ids differ", sourceLocation: sourceLocation)
    }

    /// Copies a checkpoint into a fresh temporary file, optionally editing metadata and tensors.
    /// - Parameters:
    ///   - metadata: keys to set (nil value: remove the key).
    ///   - dropping: tensors to leave out.
    ///   - adding: extra tensors.
    static func rewrite(
        _ source: String, metadata edits: [String: String?] = [:], dropping: Set<String> = [],
        adding: [String: Tensor<Float>] = [:]
    ) throws -> String {
        let file = try SafeTensorsFile(path: source)
        var metadata = file.metadata
        for (key, value) in edits { metadata[key] = value }
        var writer = SafeTensorsWriter(metadata: metadata)
        for name in file.names where !dropping.contains(name) { writer.add(name, try file.floatTensor(name)) }
        for (name, tensor) in adding { writer.add(name, tensor) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vq-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(URL(fileURLWithPath: source).lastPathComponent).path
        try writer.write(to: path)
        return path
    }
}
