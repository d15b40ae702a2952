import Foundation
import FourMTensor

/// A bundle folder made of fixture checkpoints: the 4M-21-style model, the real WordPiece
/// vocabulary and the small semseg VQ-VAE with its codebook widened (random extra rows) to the
/// model's 4096-token `tok_semseg@224` vocabulary, and the global MLP tokenizer widened to
/// 8192 codes per head for `tok_dinov2_global`, so every piece decodes end to end.
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
        // The global (MLP + Memcodes) tokenizer, its 256 codes per head widened to 8192.
        let global = try SafeTensorsFile(path: fixtures.appendingPathComponent("models/tok_mlp_memcodes_global.safetensors").path)
        var globalMetadata = global.metadata
        globalMetadata["codebook_size"] = "8192"
        var globalWriter = SafeTensorsWriter(metadata: globalMetadata)
        for name in global.names {
            var t = try global.floatTensor(name)
            if name == "quantize.codes" {
                let (heads, codes, width) = (t.shape[0], t.shape[1], t.shape[2])
                let extra = Tensor<Float>.randomNormal(shape: [heads, 8192 - codes, width], using: &rng).scalars
                let old = t.scalars
                let oldRow = codes * width, extraRow = (8192 - codes) * width
                var merged: [Float] = []
                for h in 0..<heads {
                    merged += old[(h * oldRow)..<((h + 1) * oldRow)]
                    merged += extra[(h * extraRow)..<((h + 1) * extraRow)]
                }
                t = Tensor(shape: [heads, 8192, width], scalars: merged)
            }
            globalWriter.add(name, t)
        }
        try globalWriter.write(to: dir.appendingPathComponent("dinov2_global.safetensors").path)
        // The small DiVAE (3 channels, patched UNet) as the RGB tokenizer, codebook widened to 16384.
        let divae = try SafeTensorsFile(path: fixtures.appendingPathComponent("models/tok_divae.safetensors").path)
        var divaeMetadata = divae.metadata
        divaeMetadata["codebook_size"] = "16384"
        var divaeWriter = SafeTensorsWriter(metadata: divaeMetadata)
        for name in divae.names {
            var t = try divae.floatTensor(name)
            if name == "quantize._codebook.embed" {
                t = Tensor.concatenate([t, Tensor.randomNormal(shape: [16384 - t.shape[0], t.shape[1]], using: &rng)])
            } else if name == "quantize._codebook.cluster_size" {
                t = Tensor(zeros: [16384])
            }
            divaeWriter.add(name, t)
        }
        try divaeWriter.write(to: dir.appendingPathComponent("rgb_divae.safetensors").path)
        let bundle: [String: Any] = [
            "model": fixtures.appendingPathComponent("models/fm21.safetensors").path,
            "text_tokenizer": fixtures.appendingPathComponent("text_tokenizer_4m_wordpiece_30k.json").path,
            "tokenizers": ["tok_semseg@224": "semseg.safetensors", "tok_dinov2_global": "dinov2_global.safetensors", "tok_rgb@224": "rgb_divae.safetensors"],
            "tokenizer_presets": (Fixtures.manifest?["presets"] as? [String: Any] ?? [:]).filter { ($0.value as? [String: Any])?["cls"] as? String == "ViTEncoder" || ($0.value as? [String: Any])?["cls"] as? String == "ViTDecoder" },
            "diffusion_presets": (Fixtures.manifest?["presets"] as? [String: Any] ?? [:]).filter { ["PatchedUNetCondCat", "UViT"].contains(($0.value as? [String: Any])?["cls"] as? String ?? "") },
        ]
        try JSONSerialization.data(withJSONObject: bundle).write(to: dir.appendingPathComponent("bundle.json"))
        return dir
    }
}
