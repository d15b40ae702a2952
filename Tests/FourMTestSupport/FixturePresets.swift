import Foundation
import FourMTensor
import FourMTokenizers

/// The small tokenizer presets the fixture checkpoints name as `enc_type` / `dec_type`,
/// read from `manifest.json` → `presets` (the library only knows the released names).
public enum FixturePresets {
    /// The ViT presets of the manifest, read from their reference hyper-parameters.
    public static func vitPresets() throws -> [String: VQViTPreset] {
        guard let presets = Fixtures.manifest?["presets"] as? [String: Any] else {
            throw FixtureError("manifest.json has no 'presets' object")
        }
        var out: [String: VQViTPreset] = [:]
        for (name, value) in presets {
            guard let entry = value as? [String: Any], let cls = entry["cls"] as? String,
                cls == "ViTEncoder" || cls == "ViTDecoder"
            else { continue }
            guard let dim = (entry["dim_tokens"] as? NSNumber)?.intValue,
                let depth = (entry["depth"] as? NSNumber)?.intValue,
                let heads = (entry["num_heads"] as? NSNumber)?.intValue
            else { throw FixtureError("preset '\(name)' lacks dim_tokens / depth / num_heads") }
            let ratio = (entry["mlp_ratio"] as? NSNumber)?.doubleValue ?? 4
            let qkvBias = (entry["qkv_bias"] as? Bool) ?? true
            out[name] = VQViTPreset(
                dim: dim, depth: depth, heads: heads, mlpRatio: ratio, qkvBias: qkvBias,
                normEps: try layerNormEps(entry["norm_layer"] as? String, preset: name))
        }
        return out
    }

    /// `nn.LayerNorm(eps=1e-6)` → 1e-6 (the PyTorch default 1e-5 when no eps is written).
    public static func layerNormEps(_ text: String?, preset: String) throws -> Float {
        guard let text else { return 1e-6 }
        guard let range = text.range(of: "eps=") else { return 1e-5 }
        let tail = text[range.upperBound...].prefix { "0123456789.eE-+".contains($0) }
        guard let eps = Float(tail) else { throw FixtureError("preset '\(preset)': cannot read eps from '\(text)'") }
        return eps
    }

    /// The `fourm tokenize` preset flags (`--vit-preset NAME:DIM:DEPTH:HEADS`) for the
    /// encoder and decoder presets a fixture tokenizer names (`enc_type`, `dec_type`).
    public static func cliViTPresetArguments(forModel name: String) throws -> [String] {
        let metadata = try SafeTensorsFile(path: try Fixtures.url("models/\(name).safetensors").path).metadata
        let presets = try vitPresets()
        var arguments: [String] = []
        for key in ["enc_type", "dec_type"] {
            guard let presetName = metadata[key], let preset = presets[presetName] else { continue }
            arguments += ["--vit-preset", "\(presetName):\(preset.dim):\(preset.depth):\(preset.heads)"]
        }
        return arguments
    }
}
