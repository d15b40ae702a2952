import Foundation
import FourMModels
import FourMTensor

/// A bundle folder made of fixture checkpoints: the 4M-21-style model, the real WordPiece
/// vocabulary, and three fixture tokenizers whose codebooks are widened with random rows to the
/// model's vocabularies as its checkpoint gives them (it decodes, it is not trained): the semseg
/// VQ-VAE (for `tok_semseg@224`), the global MLP + Memcodes tokenizer (`tok_dinov2_global`) and
/// the small DiVAE (`tok_rgb@224`), so every piece decodes end to end.
public enum FixtureBundle {
    /// Writes the bundle into a fresh temporary folder; nil without fixtures.
    public static func make() throws -> URL? {
        guard let fixtures = Fixtures.directory else { return nil }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fourm-bundle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: 11)
        let models = fixtures.appendingPathComponent("models")
        // The codebooks grow to the model's vocabularies, read from its checkpoint.
        let configuration = try configuration(of: models.appendingPathComponent("fm21.safetensors"))
        func vocabulary(_ modality: String) throws -> Int {
            guard let info = configuration.info(Modality(rawValue: modality)) else { throw FixtureError("fm21 has no \(modality)") }
            return info.vocabularySize
        }
        try widen(models.appendingPathComponent("tok_vqvae_vit_semseg.safetensors"), codebook: "quantize._codebook.embed", to: try vocabulary(semsegTarget),
                  writing: dir.appendingPathComponent("semseg.safetensors"), using: &rng)
        try widen(models.appendingPathComponent("tok_mlp_memcodes_global.safetensors"), codebook: "quantize.codes", to: try vocabulary("tok_dinov2_global"),
                  writing: dir.appendingPathComponent("dinov2_global.safetensors"), using: &rng)
        try widen(models.appendingPathComponent("tok_divae.safetensors"), codebook: "quantize._codebook.embed", to: try vocabulary(rgbTarget),
                  writing: dir.appendingPathComponent("rgb_divae.safetensors"), using: &rng)
        try widen(models.appendingPathComponent("tok_vqvae_vit_featmap_l2.safetensors"), codebook: "quantize._codebook.embed", to: 8192,
                  writing: dir.appendingPathComponent("clip_featmap.safetensors"), using: &rng)
        // The SAM-instance and pose tokenizers of the workflow cases, as the bundle's
        // sam_instance / human_poses decoders.
        for (source, name) in [("tok_vqvae_vit_sam_instance_1k", "sam_instance.safetensors"), ("tok_mlp_memcodes_human_poses", "human_poses.safetensors")] {
            let from = models.appendingPathComponent("\(source).safetensors")
            if FileManager.default.fileExists(atPath: from.path) { try FileManager.default.copyItem(at: from, to: dir.appendingPathComponent(name)) }
        }
        let allPresets = Fixtures.manifest?["presets"] as? [String: Any] ?? [:]
        func presets(of classes: Set<String>) -> [String: Any] { allPresets.filter { classes.contains(($0.value as? [String: Any])?["cls"] as? String ?? "") } }
        let bundle: [String: Any] = [
            "model": models.appendingPathComponent("fm21.safetensors").path,
            "text_tokenizer": fixtures.appendingPathComponent("text_tokenizer_4m_wordpiece_30k.json").path,
            "tokenizers": ["tok_semseg@224": "semseg.safetensors", "tok_dinov2_global": "dinov2_global.safetensors", "tok_rgb@224": "rgb_divae.safetensors",
                           "tok_clip@224": "clip_featmap.safetensors"]
                .merging(["sam_instance": "sam_instance.safetensors", "human_poses": "human_poses.safetensors"].filter {
                    FileManager.default.fileExists(atPath: dir.appendingPathComponent($0.value).path)
                }) { a, _ in a },
            "tokenizer_presets": presets(of: ["ViTEncoder", "ViTDecoder"]),
            "diffusion_presets": presets(of: ["PatchedUNetCondCat", "UViT"]),
        ]
        try JSONSerialization.data(withJSONObject: bundle).write(to: dir.appendingPathComponent("bundle.json"))
        return dir
    }

    /// The semantic-segmentation target of the bundle (decoded by the fixture's label-map VQ-VAE).
    public static let semsegTarget = "tok_semseg@224"
    /// The RGB-token target of the bundle (decoded by the fixture's DiVAE).
    public static let rgbTarget = "tok_rgb@224"

    /// The configuration of the fixture 4M checkpoint at `url`, with the sizes its tensors give.
    public static func configuration(of url: URL) throws -> FourMConfiguration {
        let file = try SafeTensorsFile(path: url.path)
        return try FourMConfiguration(metadata: file.metadata, file: url.path).adoptingTensorShapes(of: file)
    }

    /// The bundle's 4M configuration (nil without fixtures).
    public static func modelConfiguration() throws -> FourMConfiguration? {
        guard let fixtures = Fixtures.directory else { return nil }
        return try configuration(of: fixtures.appendingPathComponent("models/fm21.safetensors"))
    }

    /// The `__metadata__` of a fixture model file, by its name in `models/` (`tok_divae`).
    public static func tokenizerMetadata(_ name: String) throws -> [String: String] {
        try SafeTensorsFile(path: try Fixtures.url("models/\(name).safetensors").path).metadata
    }

    /// An integer entry of a tokenizer's metadata.
    public static func tokenizerInt(_ name: String, _ key: String) throws -> Int {
        guard let text = try tokenizerMetadata(name)[key], let value = Int(text) else {
            throw FixtureError("models/\(name).safetensors: metadata '\(key)' is not an integer")
        }
        return value
    }

    /// Copies a tokenizer checkpoint with its codebook grown to `size` codes: the codebook
    /// tensor (`[K, d]`, or `[heads, K, d]` for Memcodes) gets random rows, `cluster_size` zeros,
    /// and the metadata's `codebook_size` the new size.
    static func widen(_ source: URL, codebook: String, to size: Int, writing destination: URL, using rng: inout SeededGenerator) throws {
        let file = try SafeTensorsFile(path: source.path)
        var metadata = file.metadata
        metadata["codebook_size"] = String(size)
        var writer = SafeTensorsWriter(metadata: metadata)
        for name in file.names {
            var t = try file.floatTensor(name)
            if name == codebook {
                // Grow the second-to-last axis (codes) of every leading slice (heads).
                let (codes, width) = (t.shape[t.rank - 2], t.shape[t.rank - 1])
                guard size > codes else { throw FixtureError("\(source.lastPathComponent): \(codes) codes, not fewer than the \(size) wanted") }
                let slices = t.count / (codes * width)
                let old = t.scalars
                var merged: [Float] = []
                for s in 0..<slices {
                    merged += old[(s * codes * width)..<((s + 1) * codes * width)]
                    merged += Tensor<Float>.randomNormal(shape: [size - codes, width], using: &rng).scalars
                }
                t = Tensor(shape: Array(t.shape.dropLast(2)) + [size, width], scalars: merged)
            } else if name.hasSuffix("._codebook.cluster_size") {
                t = Tensor(zeros: [size])
            }
            writer.add(name, t)
        }
        try writer.write(to: destination.path)
    }
}
