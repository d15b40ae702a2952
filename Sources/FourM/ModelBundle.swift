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
/// A `bundle.json` may also declare domains beyond the released ones under `modalities`; the
/// bundle then carries ``ModelBundle/modalities`` as the reference table plus those entries:
/// ```json
/// "modalities": { "tok_foo": { "kind": "image_tokens", "vocabulary": 4096, "patch": 16,
///                              "tokenizer": "vq", "renderer": "edges", "aliases": ["foo"] } }
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
    /// The modality table of this bundle: `ModalityTable.reference` plus any domains its
    /// `bundle.json` declares under `modalities`. Load the model with it
    /// (`FourMModel(path:precision:modalities:)`) so that a checkpoint naming those domains loads.
    public let modalities: ModalityTable

    /// Released tokenizer folder names by modality base name (the `EPFL-VILAB/4M_tokenizers_*`
    /// repositories): `ModalitySpec.tokenizerFolder` of every `ModalityTable.reference` entry
    /// that has one.
    public static let releasedTokenizerFolders: [String: String] = ModalityTable.reference.tokenizerFolders

    /// Creates a bundle from explicit paths.
    public init(
        directory: URL, model: URL, textTokenizer: URL?, tokenizers: [Modality: URL], tokenizerPresets: [String: VQViTPreset] = [:],
        diffusionPresets: [String: DecoderPreset] = [:], semanticClassNames: [String]? = nil, modalities: ModalityTable = .reference
    ) {
        self.directory = directory
        self.model = model
        self.textTokenizer = textTokenizer
        self.tokenizers = tokenizers
        self.tokenizerPresets = tokenizerPresets
        self.diffusionPresets = diffusionPresets
        self.semanticClassNames = semanticClassNames
        self.modalities = modalities
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
            let (object, parsed, model) = try Self.readManifest(manifest)
            /// What `bundle.json` holds at `path` (keys from the top), for "expected X, got Y".
            func found(_ path: String...) -> String {
                var node: JSONValue? = parsed
                for key in path { node = node?.member(key) }
                return node?.summary ?? "missing"
            }
            func resolve(_ relative: String, _ key: String) throws(FourMError) -> URL {
                let url = relative.hasPrefix("/") ? URL(fileURLWithPath: relative) : directory.appendingPathComponent(relative)
                guard fm.fileExists(atPath: url.path) else { throw .bundle(path: manifest.path, reason: "'\(key)' names \(url.path), which does not exist") }
                return url
            }
            let modelURL = try resolve(model, "model")
            var text: URL? = nil
            if let t = object["text_tokenizer"] {
                guard let relative = t as? String else { throw .bundle(path: manifest.path, reason: "key 'text_tokenizer' is \(found("text_tokenizer")), expected a path string") }
                text = try resolve(relative, "text_tokenizer")
            }
            var tokenizers: [Modality: URL] = [:]
            if let list = object["tokenizers"] {
                guard let dict = list as? [String: String] else { throw .bundle(path: manifest.path, reason: "key 'tokenizers' is \(found("tokenizers")), expected an object mapping modality names to path strings") }
                for (name, relative) in dict {
                    if skippingMissingTokenizers, !fm.fileExists(atPath: relative.hasPrefix("/") ? relative : directory.appendingPathComponent(relative).path) { continue }
                    tokenizers[Modality(rawValue: name)] = try resolve(relative, "tokenizers.\(name)")
                }
            }
            var presets: [String: VQViTPreset] = [:]
            if let list = object["tokenizer_presets"] {
                guard let dict = list as? [String: [String: Any]] else { throw .bundle(path: manifest.path, reason: "key 'tokenizer_presets' is \(found("tokenizer_presets")), expected an object mapping preset names to objects") }
                for (name, entry) in dict {
                    // Exact integers from the JSON text (2.5 or 1e300 is not silently truncated), bounded before use.
                    func count(_ field: String) -> Int? {
                        guard case .number(let literal)? = parsed.member("tokenizer_presets")?.member(name)?.member(field),
                            let value = Int(literal), value > 0, value <= InputLimits.maximumLayerWidth
                        else { return nil }
                        return value
                    }
                    guard let dim = count("dim_tokens"), let depth = count("depth"), let heads = count("num_heads"), dim % heads == 0 else {
                        throw .bundle(
                            path: manifest.path,
                            reason: "tokenizer_presets.\(name) has dim_tokens \(found("tokenizer_presets", name, "dim_tokens")), depth \(found("tokenizer_presets", name, "depth")), num_heads \(found("tokenizer_presets", name, "num_heads")), expected integers in 1...\(InputLimits.maximumLayerWidth) (InputLimits.maximumLayerWidth) with num_heads dividing dim_tokens")
                    }
                    // Optional fields: absent takes the default, another type is an error (not the default).
                    for (field, type) in [("mlp_ratio", "number"), ("norm_eps", "number"), ("qkv_bias", "bool")] {
                        let value = parsed.member("tokenizer_presets")?.member(name)?.member(field)
                        let fits: Bool
                        switch value {
                        case nil: fits = true
                        case .number?: fits = type == "number"
                        case .bool?: fits = type == "bool"
                        default: fits = false
                        }
                        guard fits else {
                            throw .bundle(path: manifest.path, reason: "tokenizer_presets.\(name).\(field) is \(found("tokenizer_presets", name, field)), expected a \(type == "bool" ? "boolean" : "number")")
                        }
                    }
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
                guard let dict = list as? [String: [String: Any]] else { throw .bundle(path: manifest.path, reason: "key 'diffusion_presets' is \(found("diffusion_presets")), expected an object mapping preset names to objects") }
                for (name, entry) in dict {
                    do { diffusionPresets[name] = try DiffusionPresets.decoderPreset(name: name, description: entry) } catch {
                        throw .bundle(path: manifest.path, reason: "diffusion_presets.\(name): \(error.description)")
                    }
                }
            }
            var classNames: [String]? = nil
            if let list = object["semseg_classes"] {
                guard let names = list as? [String], !names.isEmpty else { throw .bundle(path: manifest.path, reason: "key 'semseg_classes' is \(found("semseg_classes")), expected a non-empty array of class-name strings") }
                classNames = names
            }
            var table = ModalityTable.reference
            if let list = object["modalities"] {
                guard let dict = list as? [String: [String: Any]] else { throw .bundle(path: manifest.path, reason: "key 'modalities' is \(found("modalities")), expected an object mapping base names to objects") }
                for (name, entry) in dict.sorted(by: { $0.key < $1.key }) {
                    table = table.adding(try Self.declaredModality(name, entry, json: parsed.member("modalities")?.member(name), manifest: manifest.path))
                }
            }
            self.init(directory: directory, model: modelURL, textTokenizer: text, tokenizers: tokenizers, tokenizerPresets: presets,
                      diffusionPresets: diffusionPresets, semanticClassNames: classNames, modalities: table)
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
            guard let folder = ModalityTable.reference.spec(for: m)?.tokenizerFolder else { continue }
            let url = directory.appendingPathComponent(folder).appendingPathComponent("model.safetensors")
            if fm.fileExists(atPath: url.path) { tokenizers[m] = url }
        }
        self.init(directory: directory, model: model, textTokenizer: textURL, tokenizers: tokenizers)
    }

    /// Output modalities of `outputs` that this bundle cannot decode, as its ``modalities``
    /// table says: those whose tokenizer (or codec tokenizer) is a checkpoint the bundle lacks,
    /// and those that need the text tokenizer when the bundle has none.
    /// - Parameters:
    ///   - outputs: the modalities to decode.
    ///   - imageSize: the model's `image_size` (a name the table cannot size is not reported).
    public func missingDecoders(for outputs: [Modality], imageSize: Int = 224) -> [Modality] {
        outputs.filter { m in
            guard let spec = modalities.spec(for: m), spec.hasDecoder, spec.info(for: m, imageSize: imageSize) != nil else { return false }
            return (spec.needsTokenizerCheckpoint && tokenizers[m] == nil) || (spec.needsTextTokenizer && textTokenizer == nil)
        }
    }

    /// The tokenizer folder of `modality` in this bundle's table (the released one for the
    /// reference domains), if it has one.
    public func tokenizerFolder(for modality: Modality) -> String? { modalities.spec(for: modality)?.tokenizerFolder }

    /// One `bundle.json` → `modalities` entry as a spec: an image-token domain `name@N` with
    /// `vocabulary` codes in `patch`-pixel patches, decoded by `tokenizer` (`vq`, `diffusion`,
    /// `mlp_global`; default `vq`) and drawn by `renderer` (a ``ModalityRenderer`` raw value;
    /// default `none`), with optional `aliases` and `tokenizer_folder`.
    /// `json` is the same entry as parsed JSON, to say what a field of the wrong type holds.
    /// Reads a `bundle.json` strictly: the byte offset of a syntax error, no repeated top-level
    /// key, a top-level object with a string `model`. Returns the object, its parsed form (to
    /// describe what a key holds in later messages) and the model path. The Hub client reads a
    /// repository's manifest through it too, so both report the same errors.
    package static func readManifest(_ manifest: URL) throws(FourMError) -> (object: [String: Any], parsed: JSONValue, model: String) {
        let data: Data
        do { data = try Data(contentsOf: manifest) } catch { throw .bundle(path: manifest.path, reason: "cannot read: \(fileErrorReason(error))") }
        var parsed = JSONValue.null
        do {
            parsed = try JSONParser.parse(data)
            if case .object(let members) = parsed {
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
        guard case .object = parsed, let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .bundle(path: manifest.path, reason: "the top level is \(parsed.summary), expected a JSON object")
        }
        guard let model = object["model"] as? String else {
            throw .bundle(path: manifest.path, reason: "key 'model' is \(parsed.member("model")?.summary ?? "missing"), expected the path of the 4M checkpoint")
        }
        return (object, parsed, model)
    }

    static func declaredModality(_ name: String, _ entry: [String: Any], json: JSONValue? = nil, manifest: String) throws(FourMError) -> ModalitySpec {
        let key = "modalities.\(name)"
        func found(_ field: String) -> String { json?.member(field)?.summary ?? (entry[field] == nil ? "missing" : "\(entry[field].map { "\($0)" } ?? "")") }
        guard !name.isEmpty, !name.contains("@") else { throw .bundle(path: manifest, reason: "\(key): expected a base name without '@', got '\(name)'") }
        // An optional string field: absent takes the default, any other type is an error (not the default).
        func text(_ field: String, default value: String) throws(FourMError) -> String {
            guard let raw = entry[field] else { return value }
            guard let string = raw as? String else { throw .bundle(path: manifest, reason: "\(key).\(field) is \(found(field)), expected a string") }
            return string
        }
        let kind = try text("kind", default: "image_tokens")
        guard kind == "image_tokens" else { throw .bundle(path: manifest, reason: "\(key).kind is '\(kind)', expected 'image_tokens'") }
        func positive(_ field: String, atMost limit: Int, _ limitName: String) throws(FourMError) -> Int {
            guard let number = entry[field] as? NSNumber, let value = Int(exactly: number.doubleValue), value > 0, value <= limit else {
                throw .bundle(path: manifest, reason: "\(key).\(field) is \(found(field)), expected a positive integer at most \(limit) (\(limitName))")
            }
            return value
        }
        let vocabulary = try positive("vocabulary", atMost: InputLimits.maximumLayerWidth, "InputLimits.maximumLayerWidth")
        let patch = try positive("patch", atMost: InputLimits.maximumImageSide, "InputLimits.maximumImageSide")
        let tokenizerName = try text("tokenizer", default: ModalityTokenizerKind.vq.rawValue)
        guard let tokenizer = ModalityTokenizerKind(rawValue: tokenizerName), tokenizer.hasCheckpoint else {
            throw .bundle(path: manifest, reason: "\(key).tokenizer is '\(tokenizerName)', expected one of vq, diffusion, mlp_global")
        }
        let rendererName = try text("renderer", default: ModalityRenderer.none.rawValue)
        guard let renderer = ModalityRenderer(rawValue: rendererName) else {
            throw .bundle(path: manifest, reason: "\(key).renderer is '\(rendererName)', expected one of \(ModalityRenderer.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var aliases: [String] = []
        if let list = entry["aliases"] {
            guard let names = list as? [String] else { throw .bundle(path: manifest, reason: "\(key).aliases is \(found("aliases")), expected an array of name strings") }
            aliases = names
        }
        var folder: String? = nil
        if let value = entry["tokenizer_folder"] {
            guard let text = value as? String else { throw .bundle(path: manifest, reason: "\(key).tokenizer_folder is \(found("tokenizer_folder")), expected a folder name string") }
            folder = text
        }
        return ModalitySpec(imageTokens: name, vocabulary: vocabulary, patch: patch, tokenizer: tokenizer, tokenizerFolder: folder,
                            renderer: renderer, aliases: aliases)
    }
}
