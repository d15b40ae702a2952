import Foundation
import FourMTensor

/// A bundle folder made of fixture checkpoints: the 4M-21-style model, the real WordPiece
/// vocabulary and the small semseg VQ-VAE with its codebook widened (random extra rows) to the
/// model's 4096-token `tok_semseg@224` vocabulary, so every piece decodes end to end.
public enum FixtureBundle {
    /// Writes the bundle into a fresh temporary folder; nil without fixtures.
    public static func make() throws -> URL? {
        guard let fixtures = Fixtures.directory else { return nil }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fourm-bundle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let semseg = try SafeTensorsFile(path: fixtures.appendingPathComponent("models/tok_vqvae_vit_semseg.safetensors").path)
        var metadata = semseg.metadata
        metadata["codebook_size"] = "4096"
        var writer = SafeTensorsWriter(metadata: metadata)
        var rng = SeededGenerator(seed: 11)
        for name in semseg.names {
            var t = try semseg.floatTensor(name)
            if name == "quantize._codebook.embed" {
                t = Tensor.concatenate([t, Tensor.randomNormal(shape: [4096 - t.shape[0], t.shape[1]], using: &rng)])
            } else if name == "quantize._codebook.cluster_size" {
                t = Tensor(zeros: [4096])
            }
            writer.add(name, t)
        }
        try writer.write(to: dir.appendingPathComponent("semseg.safetensors").path)
        let bundle: [String: Any] = [
            "model": fixtures.appendingPathComponent("models/fm21.safetensors").path,
            "text_tokenizer": fixtures.appendingPathComponent("text_tokenizer_4m_wordpiece_30k.json").path,
            "tokenizers": ["tok_semseg@224": "semseg.safetensors"],
            "tokenizer_presets": (Fixtures.manifest?["presets"] as? [String: Any] ?? [:]).filter { ($0.value as? [String: Any])?["cls"] as? String == "ViTEncoder" || ($0.value as? [String: Any])?["cls"] as? String == "ViTDecoder" },
        ]
        try JSONSerialization.data(withJSONObject: bundle).write(to: dir.appendingPathComponent("bundle.json"))
        return dir
    }
}
