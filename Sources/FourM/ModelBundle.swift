import Foundation
import FourMDiffusion
import FourMModels
import FourMTensor
import FourMTokenizers

/// Where a 4M model and its tokenizers live on disk.
///
/// A bundle is a folder with the 4M checkpoint, the text tokenizer and one checkpoint per
/// image tokenizer, named by a `bundle.json`:
/// ```json
/// { "model": "4M-21_B/model.safetensors",
///   "text_tokenizer": "text_tokenizer_4m_wordpiece_30k.json",
///   "tokenizers": { "tok_depth@224": "4M_tokenizers_depth_8k_224-448/model.safetensors" } }
/// ```
/// Without `bundle.json`, the released names are used: `model.safetensors` (or
/// `4M*/model.safetensors`), `text_tokenizer_4m_wordpiece_30k.json`, and the folders of
/// ``ModelBundle/releasedTokenizerFolders`` each holding `model.safetensors`.
public struct ModelBundle: Sendable, Equatable {
    /// The bundle folder.
    public let directory: URL
    /// The 4M checkpoint.
    public let model: URL
    /// The WordPiece `tokenizer.json`, if present.
    public let textTokenizer: URL?
    /// Tokenizer checkpoints by the modality they decode.
    public let tokenizers: [Modality: URL]
    /// ViT presets named by tokenizer configs beyond the released ones (`bundle.json` →
    /// `tokenizer_presets`: `{"name": {"dim_tokens": 64, "depth": 2, "num_heads": 2,
    /// "mlp_ratio": 4.0, "qkv_bias": true, "norm_eps": 1e-6}}`).
    public let tokenizerPresets: [String: VQViTPreset]
    /// Diffusion decoder presets named by tokenizer configs beyond the released ones
    /// (`bundle.json` → `diffusion_presets`: reference-style descriptions, see
    /// `DiffusionPresets.decoderPreset(name:description:)`), passed to the DiVAE loaders.
    public let diffusionPresets: [String: DecoderPreset]
    /// Names of the semantic-segmentation classes by label (`bundle.json` → `semseg_classes`);
    /// nil means the COCO panoptic classes of the released tokenizer.
    public let semanticClassNames: [String]?

    /// Released tokenizer folder names by modality base name (the `EPFL-VILAB/4M_tokenizers_*`
    /// repositories).
    public static let releasedTokenizerFolders: [String: String] = [
        "tok_rgb": "4M_tokenizers_rgb_16k_224-448", "tok_depth": "4M_tokenizers_depth_8k_224-448",
        "tok_normal": "4M_tokenizers_normal_8k_224-448", "tok_canny_edge": "4M_tokenizers_edge_8k_224-512",
        "tok_sam_edge": "4M_tokenizers_edge_8k_224-512", "tok_semseg": "4M_tokenizers_semseg_4k_224-448",
        "tok_clip": "4M_tokenizers_CLIP-B16_8k_224-448", "tok_dinov2": "4M_tokenizers_DINOv2-B14_8k_224-448",
        "tok_imagebind": "4M_tokenizers_ImageBind-H14_8k_224-448", "tok_dinov2_global": "4M_tokenizers_DINOv2-B14-global_8k_16_224",
        "tok_imagebind_global": "4M_tokenizers_ImageBind-H14-global_8k_16_224", "sam_instance": "4M_tokenizers_sam-instance_1k_64",
        "human_poses": "4M_tokenizers_human-poses_1k_8",
    ]

    /// Creates a bundle from explicit paths.
    public init(
        directory: URL, model: URL, textTokenizer: URL?, tokenizers: [Modality: URL], tokenizerPresets: [String: VQViTPreset] = [:],
        diffusionPresets: [String: DecoderPreset] = [:], semanticClassNames: [String]? = nil
    ) {
        self.directory = directory
        self.model = model
        self.textTokenizer = textTokenizer
        self.tokenizers = tokenizers
        self.tokenizerPresets = tokenizerPresets
        self.diffusionPresets = diffusionPresets
        self.semanticClassNames = semanticClassNames
    }

    /// The demo model shipped inside the package: a small 4M trained on the synthetic world
    /// of `fourm synth` (64×64 scenes; `rgb@64` in, depth, normals, semantic segmentation,
    /// edges, RGB tokens, caption, boxes, palette and metadata out). `Training/README.md`
    /// says how it was made and Documentation/Quality.md how well it does.
    /// - Throws: `.bundle` when the package's resources are missing (an executable copied
    ///   away from its build folder).
    public static func demo() throws(FourMError) -> ModelBundle {
        guard let url = Bundle.module.url(forResource: "DemoModel", withExtension: nil) else {
            throw .bundle(path: Bundle.module.bundlePath, reason: "the embedded DemoModel resource folder is missing")
        }
        return try ModelBundle(directory: url)
    }

    /// Reads `bundle.json` in `directory`, or finds the released file names.
    /// - Throws: `.bundle` naming the file and what is wrong (missing model, unreadable JSON,
    ///   a listed file that does not exist).
    public init(directory: URL) throws(FourMError) {
        try self.init(directory: directory, skippingMissingTokenizers: false)
    }

    /// As ``init(directory:)``; with `skippingMissingTokenizers`, tokenizers that `bundle.json`
    /// lists but that are not on disk are left out instead of failing (FourMHub fetches only the
    /// tokenizers a request needs; ``Pipeline`` still names any output it cannot decode).
    package init(directory: URL, skippingMissingTokenizers: Bool) throws(FourMError) {
        let fm = FileManager.default
        let path = directory.path
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .bundle(path: path, reason: "not a folder")
        }
        let manifest = directory.appendingPathComponent("bundle.json")
        if fm.fileExists(atPath: manifest.path) {
            guard let data = fm.contents(atPath: manifest.path) else { throw .bundle(path: manifest.path, reason: "cannot be read") }
            // The strict reader names the byte offset of a syntax error and rejects repeated keys.
            do {
                if case .object(let members) = try JSONParser.parse(data) {
                    var seen: Set<String> = []
                    for member in members where !seen.insert(member.key).inserted {
                        throw FourMError.bundle(path: manifest.path, reason: "key '\(member.key)' appears more than once")
                    }
                }
            } catch let error as JSONSyntaxError {
                throw .bundle(path: manifest.path, reason: "invalid JSON: \(error.message())")
            } catch let error as FourMError {
                throw error
            } catch {
                throw .bundle(path: manifest.path, reason: "\(error)")
            }
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw .bundle(path: manifest.path, reason: "not a JSON object")
            }
            guard let model = object["model"] as? String else { throw .bundle(path: manifest.path, reason: "missing key 'model' (the 4M checkpoint)") }
            func resolve(_ relative: String, _ key: String) throws(FourMError) -> URL {
                let url = relative.hasPrefix("/") ? URL(fileURLWithPath: relative) : directory.appendingPathComponent(relative)
                guard fm.fileExists(atPath: url.path) else { throw .bundle(path: manifest.path, reason: "'\(key)' names \(url.path), which does not exist") }
                return url
            }
            let modelURL = try resolve(model, "model")
            var text: URL? = nil
            if let t = object["text_tokenizer"] {
                guard let relative = t as? String else { throw .bundle(path: manifest.path, reason: "'text_tokenizer' must be a path string") }
                text = try resolve(relative, "text_tokenizer")
            }
            var tokenizers: [Modality: URL] = [:]
            if let list = object["tokenizers"] {
                guard let dict = list as? [String: String] else { throw .bundle(path: manifest.path, reason: "'tokenizers' must map modality names to paths") }
                for (name, relative) in dict {
                    if skippingMissingTokenizers, !fm.fileExists(atPath: relative.hasPrefix("/") ? relative : directory.appendingPathComponent(relative).path) { continue }
                    tokenizers[Modality(rawValue: name)] = try resolve(relative, "tokenizers.\(name)")
                }
            }
            var presets: [String: VQViTPreset] = [:]
            if let list = object["tokenizer_presets"] {
                guard let dict = list as? [String: [String: Any]] else { throw .bundle(path: manifest.path, reason: "'tokenizer_presets' must map preset names to objects") }
                for (name, entry) in dict {
                    guard let dim = (entry["dim_tokens"] as? NSNumber)?.intValue, let depth = (entry["depth"] as? NSNumber)?.intValue,
                        let heads = (entry["num_heads"] as? NSNumber)?.intValue, dim > 0, depth > 0, heads > 0, dim % heads == 0
                    else { throw .bundle(path: manifest.path, reason: "tokenizer_presets.\(name) needs positive integers dim_tokens, depth, num_heads (heads dividing dim)") }
                    let mlpRatio = (entry["mlp_ratio"] as? NSNumber)?.doubleValue ?? 4
                    let hidden = Double(dim) * mlpRatio
                    guard mlpRatio > 0, hidden.isFinite, hidden <= Double(InputLimits.maximumLayerWidth) else {
                        throw .bundle(path: manifest.path, reason: "tokenizer_presets.\(name).mlp_ratio is \(mlpRatio), expected a positive number with dim_tokens × mlp_ratio at most \(InputLimits.maximumLayerWidth)")
                    }
                    presets[name] = VQViTPreset(dim: dim, depth: depth, heads: heads, mlpRatio: mlpRatio,
                                                qkvBias: (entry["qkv_bias"] as? Bool) ?? true, normEps: (entry["norm_eps"] as? NSNumber)?.floatValue ?? 1e-6)
                }
            }
            var diffusionPresets: [String: DecoderPreset] = [:]
            if let list = object["diffusion_presets"] {
                guard let dict = list as? [String: [String: Any]] else { throw .bundle(path: manifest.path, reason: "'diffusion_presets' must map preset names to objects") }
                for (name, entry) in dict {
                    do { diffusionPresets[name] = try DiffusionPresets.decoderPreset(name: name, description: entry) } catch {
                        throw .bundle(path: manifest.path, reason: "diffusion_presets.\(name): \(error.description)")
                    }
                }
            }
            var classNames: [String]? = nil
            if let list = object["semseg_classes"] {
                guard let names = list as? [String], !names.isEmpty else { throw .bundle(path: manifest.path, reason: "'semseg_classes' must be a non-empty list of class names") }
                classNames = names
            }
            self.init(directory: directory, model: modelURL, textTokenizer: text, tokenizers: tokenizers, tokenizerPresets: presets,
                      diffusionPresets: diffusionPresets, semanticClassNames: classNames)
            return
        }
        var model = directory.appendingPathComponent("model.safetensors")
        if !fm.fileExists(atPath: model.path) {
            let candidates = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted().filter { $0.hasPrefix("4M") && !$0.hasPrefix("4M_tokenizers") }
            guard let found = candidates.map({ directory.appendingPathComponent($0).appendingPathComponent("model.safetensors") }).first(where: { fm.fileExists(atPath: $0.path) }) else {
                throw .bundle(path: path, reason: "no bundle.json, no model.safetensors and no 4M*/model.safetensors")
            }
            model = found
        }
        let textURL = ["text_tokenizer_4m_wordpiece_30k.json", "tokenizer.json"].map { directory.appendingPathComponent($0) }.first { fm.fileExists(atPath: $0.path) }
        var tokenizers: [Modality: URL] = [:]
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: model.path) } catch { throw .weights(error) }
        let outputs: [Modality]
        do { outputs = try FourMConfiguration(metadata: file.metadata, file: model.path).domainsOut } catch { throw .configuration(error) }
        for m in outputs {
            guard let folder = Self.releasedTokenizerFolders[m.baseName] else { continue }
            let url = directory.appendingPathComponent(folder).appendingPathComponent("model.safetensors")
            if fm.fileExists(atPath: url.path) { tokenizers[m] = url }
        }
        self.init(directory: directory, model: model, textTokenizer: textURL, tokenizers: tokenizers)
    }

    /// Output modalities of `outputs` that this bundle cannot decode: image-like ones without
    /// a tokenizer, text-like ones without the text tokenizer.
    public func missingDecoders(for outputs: [Modality], imageSize: Int = 224) -> [Modality] {
        outputs.filter { m in
            switch ModalityRegistry.info(for: m, imageSize: imageSize)?.kind {  // the kind never depends on shapes
            case .imageTokens?: return tokenizers[m] == nil
            case .sequence?: return textTokenizer == nil || ((m == .humanPoses || m == .samInstance) && tokenizers[m] == nil)
            default: return false
            }
        }
    }
}
