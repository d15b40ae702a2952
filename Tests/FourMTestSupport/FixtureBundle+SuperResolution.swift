import Foundation
import FourMModels

extension FixtureBundle {
    /// A super-resolution bundle beside a ``make()`` bundle: a tiny random model in the
    /// 4M-7-SR style knowing `rgb@224`, `tok_semseg@224` and `tok_semseg@448`, decoding
    /// `tok_semseg@448` with the base bundle's (widened) segmentation tokenizer.
    public static func makeSuperResolution(from base: URL) throws -> URL? {
        guard let config = RandomCheckpoint.configuration(dim: 8, depth: 1, heads: 2, domainsIn: ["rgb@224", "tok_semseg@224", "tok_semseg@448"],
                                                          domainsOut: ["tok_semseg@448"]) else { return nil }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fourm-sr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try RandomCheckpoint.writer(for: config, seed: 5).write(to: dir.appendingPathComponent("sr.safetensors").path)
        try FileManager.default.copyItem(at: base.appendingPathComponent("semseg.safetensors"), to: dir.appendingPathComponent("semseg.safetensors"))
        let baseBundle = try JSONSerialization.jsonObject(with: try Data(contentsOf: base.appendingPathComponent("bundle.json"))) as? [String: Any] ?? [:]
        let bundle: [String: Any] = ["model": "sr.safetensors", "text_tokenizer": baseBundle["text_tokenizer"] ?? "", "tokenizers": ["tok_semseg@448": "semseg.safetensors"],
                                     "tokenizer_presets": baseBundle["tokenizer_presets"] ?? [:]]
        try JSONSerialization.data(withJSONObject: bundle).write(to: dir.appendingPathComponent("bundle.json"))
        return dir
    }
}
