import Foundation
import FourMTensor

/// The constructor configuration of a 4M model (spec/model.md 1.2), read from a checkpoint's
/// `__metadata__` or from a Hugging Face `config.json` with the same keys.
///
/// ```swift
/// let file = try SafeTensorsFile(path: "4M-21_B/model.safetensors")
/// let config = try FourMConfiguration(metadata: file.metadata, file: file.path)
/// print(config.dim, config.domainsOut)
/// ```
public struct FourMConfiguration: Sendable, Equatable {
    /// Modalities with an encoder embedding.
    public var domainsIn: [Modality]
    /// Modalities with a decoder embedding and output head.
    public var domainsOut: [Modality]
    /// Default image size (used by the global token modalities).
    public var imageSize: Int
    /// Default patch size.
    public var patchSize: Int
    /// Whether LayerNorms have a learned bias.
    public var normBias: Bool
    /// The MLP activation.
    public var activation: Activation
    /// Model width `D`.
    public var dim: Int
    /// Encoder blocks.
    public var encoderDepth: Int
    /// Decoder blocks.
    public var decoderDepth: Int
    /// Attention heads.
    public var numHeads: Int
    /// MLP width factor.
    public var mlpRatio: Double
    /// Bias on `qkv`, `q`, `kv`.
    public var qkvBias: Bool
    /// Bias on attention output projections.
    public var projBias: Bool
    /// Bias on MLP linears.
    public var mlpBias: Bool
    /// Gated (SwiGLU) MLP.
    public var gatedMLP: Bool
    /// LayerNorm on per-head q and k.
    public var qkNorm: Bool
    /// Causal decoder mask in the training-style forward.
    public var decoderCausalMask: Bool
    /// Separate-modality decoder mask in the training-style forward.
    public var decoderSepMask: Bool
    /// Decoder `mod_emb` is the encoder's tensor.
    public var shareModalityEmbeddings: Bool
    /// Keys present in the source that the reference accepts but inference ignores, or that
    /// are unknown (tolerated), sorted.
    public var ignoredKeys: [String]
    /// Modality descriptions read from a checkpoint's tensor shapes, which take precedence over
    /// the table's (see ``adoptingTensorShapes(of:)``).
    public var modalityOverrides: [Modality: ModalityInfo] = [:]
    /// The modality table the domain lists were read against (``ModalityTable/reference``
    /// unless the reader was given another, e.g. a bundle's table naming extra domains).
    public var modalities: ModalityTable = .reference

    /// Keys the reference requires (spec/model.md 1.2).
    public static let requiredKeys = ["domains_in", "domains_out", "image_size", "patch_size", "norm_bias", "act_layer"]
    /// Keys the reference accepts with no effect at inference.
    public static let inertKeys: Set<String> = [
        "drop_path_rate_encoder", "drop_path_rate_decoder", "shared_drop_path", "use_act_checkpoint",
    ]

    /// Reads a configuration from parsed values.
    /// - Parameters:
    ///   - values: key → value.
    ///   - file: the source, for error messages.
    ///   - modalities: the table the domain lists are read against (a name it lacks is
    ///     `.unknownModality`).
    /// - Throws: `ConfigurationError` naming the key.
    public init(values: [String: ConfigValue], file: String, modalities: ModalityTable = .reference) throws(ConfigurationError) {
        try self.init(CheckpointMetadata(values: values, file: file), modalities: modalities)
    }

    /// Reads a configuration through the checkpoint-metadata reader, with the domain lists
    /// read against `modalities`.
    init(_ metadata: CheckpointMetadata, modalities: ModalityTable = .reference) throws(ConfigurationError) {
        self.modalities = modalities
        var reader = metadata
        let file = metadata.file
        for key in Self.requiredKeys where metadata[key] == nil || metadata[key] == .null {
            throw .missingKey(file: file, key: key)
        }
        let act: String
        do throws(MetadataError) {
            imageSize = try reader.int("image_size", default: 224)
            patchSize = try reader.int("patch_size", default: 16)
            normBias = try reader.bool("norm_bias", default: true)
            act = try reader.string("act_layer", default: "SiLU")
        } catch {
            throw ConfigurationError(error)
        }
        guard let activation = Activation(rawValue: act) else {
            throw .unsupported(file: file, key: "act_layer", value: act)
        }
        self.activation = activation
        let registers: Int
        do throws(MetadataError) {
            dim = try reader.int("dim", default: 768)
            encoderDepth = try reader.int("encoder_depth", default: 12)
            decoderDepth = try reader.int("decoder_depth", default: 12)
            numHeads = try reader.int("num_heads", default: 12)
            mlpRatio = try reader.double("mlp_ratio", default: 4.0)
            qkvBias = try reader.bool("qkv_bias", default: true)
            projBias = try reader.bool("proj_bias", default: true)
            mlpBias = try reader.bool("mlp_bias", default: true)
            gatedMLP = try reader.bool("gated_mlp", default: false)
            qkNorm = try reader.bool("qk_norm", default: false)
            decoderCausalMask = try reader.bool("decoder_causal_mask", default: false)
            decoderSepMask = try reader.bool("decoder_sep_mask", default: true)
            shareModalityEmbeddings = try reader.bool("share_modality_embeddings", default: true)
            registers = try reader.int("num_register_tokens", default: 0)
        } catch {
            throw ConfigurationError(error)
        }
        if registers != 0 {
            // spec/model.md 6.12: the reference generation path crashes on register tokens.
            throw .unsupported(file: file, key: "num_register_tokens", value: String(registers))
        }
        reader.markRead(Self.inertKeys)
        guard dim > 0, numHeads > 0, dim % numHeads == 0 else {
            throw .invalidValue(file: file, key: "num_heads", expected: "a positive divisor of dim \(dim)", actual: String(numHeads))
        }
        guard dim % 4 == 0 else {
            throw .invalidValue(file: file, key: "dim", expected: "a multiple of 4 (2-D sin-cos tables)", actual: String(dim))
        }
        guard encoderDepth >= 0, decoderDepth >= 0 else {
            throw .invalidValue(file: file, key: "encoder_depth", expected: "non-negative depths", actual: "\(encoderDepth)/\(decoderDepth)")
        }
        guard mlpRatio > 0, mlpRatio.isFinite else {
            throw .invalidValue(file: file, key: "mlp_ratio", expected: "a positive number", actual: String(mlpRatio))
        }
        guard dim <= InputLimits.maximumLayerWidth else {
            throw .invalidValue(file: file, key: "dim", expected: "at most \(InputLimits.maximumLayerWidth) (InputLimits.maximumLayerWidth)", actual: String(dim))
        }
        // Checked in Double before MLP.hiddenWidth converts dim·ratio to Int.
        guard Double(dim) * mlpRatio <= Double(InputLimits.maximumLayerWidth) else {
            throw .invalidValue(
                file: file, key: "mlp_ratio",
                expected: "dim × mlp_ratio at most \(InputLimits.maximumLayerWidth) (InputLimits.maximumLayerWidth)",
                actual: "\(mlpRatio) (dim × mlp_ratio = \(Double(dim) * mlpRatio))")
        }
        guard imageSize > 0, patchSize > 0 else {
            throw .invalidValue(file: file, key: "image_size", expected: "positive image and patch sizes", actual: "\(imageSize)/\(patchSize)")
        }
        guard imageSize <= InputLimits.maximumImageSide else {
            throw .invalidValue(file: file, key: "image_size", expected: "at most \(InputLimits.maximumImageSide) pixels (InputLimits.maximumImageSide)", actual: String(imageSize))
        }
        domainsIn = try Self.modalities(&reader, "domains_in", imageSize: imageSize, needEncoder: true, table: modalities)
        domainsOut = try Self.modalities(&reader, "domains_out", imageSize: imageSize, needEncoder: false, table: modalities)
        ignoredKeys = metadata.values.keys.filter { !reader.readKeys.contains($0) || Self.inertKeys.contains($0) }.sorted()
    }

    /// Reads the configuration from a checkpoint header's `__metadata__` strings, with the
    /// domain lists read against `modalities`.
    public init(metadata: [String: String], file: String, modalities: ModalityTable = .reference) throws(ConfigurationError) {
        // spec/model.md 1.2: `None` → `null` everywhere, then YAML.
        try self.init(CheckpointMetadata(metadata, file: file), modalities: modalities)
    }

    /// Reads the configuration from a `config.json` (typed JSON values, same keys).
    ///
    /// Parsed with FourM's strict JSON reader: a syntax or UTF-8 error names its byte
    /// offset, and a key given twice is an error instead of silently keeping the last value.
    /// - Throws: `.unreadable` for bad JSON (with the byte offset), a non-object top level or a
    ///   duplicate key; then every error of ``init(values:file:modalities:)``.
    /// - Note: The domain lists are read against `modalities`.
    public init(jsonData: Data, file: String, modalities: ModalityTable = .reference) throws(ConfigurationError) {
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(jsonData)
        } catch {
            throw .unreadable(file: file, reason: "invalid JSON: \(error.message())")
        }
        guard case .object(let members) = parsed else {
            throw .unreadable(file: file, reason: "the top level is \(parsed.summary), expected a JSON object")
        }
        var values: [String: ConfigValue] = [:]
        for (key, item) in members {
            guard values[key] == nil else { throw .unreadable(file: file, reason: "key '\(key)' appears more than once") }
            values[key] = Self.value(fromJSON: item)
        }
        try self.init(values: values, file: file, modalities: modalities)
    }

    static func value(fromJSON item: JSONValue) -> ConfigValue {
        switch item {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .string(let s): return .string(s)
        case .number(let literal):
            if let i = Int(literal) { return .int(i) }
            return .double(Double(literal) ?? .nan)
        case .array(let list): return .list(list.map(value(fromJSON:)))
        case .object(let members):
            return .mapping(members.sorted { $0.key < $1.key }.map { ($0.key, value(fromJSON: $0.value)) })
        }
    }

    /// SwiGLU or plain MLP hidden width (spec/model.md 1.4).
    public var mlpHiddenWidth: Int { MLP.hiddenWidth(dim: dim, ratio: mlpRatio, gated: gatedMLP) }

    /// Head dimension `D / H`.
    public var headDim: Int { dim / numHeads }

    /// The table's information for a modality of this model (a checkpoint's own shapes first).
    public func info(_ modality: Modality) -> ModalityInfo? {
        modalityOverrides[modality] ?? modalities.info(for: modality, imageSize: imageSize)
    }

    /// This configuration with vocabulary sizes, token grids and patch sizes read from the
    /// checkpoint's tensor shapes, so that models beyond the released ones load as they are: a
    /// demo model with `rgb@64` in 8-pixel patches and a 1024-code `tok_rgb@64`, say.
    ///
    /// - A token table `[V, D]` (`token_emb` or `to_logits`) sets the vocabulary size.
    /// - A sin-cos `pos_emb` `[1, G·G, D]` of an image-like modality sets the grid side `G`; the
    ///   patch size is then the `@N` resolution divided by `G` (for pixels it must also agree
    ///   with `proj.weight` `[D, P·P·C]`).
    /// - Anything absent keeps the table's value (spec/model.md 2.1), so released
    ///   checkpoints are described exactly as before.
    /// - Parameter file: the checkpoint the configuration belongs to.
    /// - Throws: `ConfigurationError.invalidValue` when a shape contradicts the modality name.
    public func adoptingTensorShapes(of file: SafeTensorsFile) throws(ConfigurationError) -> FourMConfiguration {
        var copy = self
        for m in Set(domainsIn + domainsOut) {
            guard let base = modalities.info(for: m, imageSize: imageSize) else { continue }
            let prefixes = ["encoder_embeddings.\(m.rawValue)", "decoder_embeddings.\(m.rawValue)"]
            func shape(_ suffix: String) -> [Int]? {
                prefixes.lazy.compactMap { file.entries["\($0).\(suffix)"]?.shape }.first
            }
            var vocabulary = base.vocabularySize, grid = base.gridSize, patch = base.patchSize
            if base.kind == .imageTokens || base.kind == .sequence,
                let table = shape("token_emb.weight") ?? shape("to_logits.weight"), table.count == 2, table[1] == dim
            {
                vocabulary = table[0]
            }
            if (base.kind == .pixels || base.kind == .imageTokens), !base.learnedPositions,
                let positions = shape("pos_emb"), positions.count == 3, positions[2] == dim
            {
                let side = Int(Double(positions[1]).squareRoot().rounded())
                guard side > 0, side * side == positions[1], let resolution = m.resolution, resolution % side == 0 else {
                    throw .invalidValue(file: file.path, key: "\(prefixes[0]).pos_emb", expected: "a square token grid dividing the resolution of '\(m.rawValue)'", actual: "\(positions)")
                }
                grid = side
                patch = resolution / side
                if base.kind == .pixels, let proj = shape("proj.weight"), proj != [dim, patch * patch * base.channels] {
                    throw .invalidValue(file: file.path, key: "\(prefixes[0]).proj.weight", expected: "[\(dim), \(patch * patch * base.channels)] for \(patch)-pixel patches", actual: "\(proj)")
                }
            }
            guard vocabulary != base.vocabularySize || grid != base.gridSize || patch != base.patchSize else { continue }
            copy.modalityOverrides[m] = ModalityInfo(
                modality: m, kind: base.kind, vocabularySize: vocabulary,
                tokenCount: base.kind == .sequence ? base.tokenCount : grid * grid, gridSize: grid, patchSize: patch,
                channels: base.channels, maxLength: base.maxLength, embeddingWidth: base.embeddingWidth,
                learnedPositions: base.learnedPositions, hasEncoder: base.hasEncoder, hasDecoder: base.hasDecoder, id: base.id)
        }
        return copy
    }
}

extension ConfigurationError {
    /// A metadata value of the wrong type, as a configuration error.
    init(_ error: MetadataError) {
        self = .invalidValue(file: error.file, key: error.key, expected: error.expected, actual: error.actual)
    }
}

extension FourMConfiguration {
    /// A domain list: known modalities, each with the needed encoder or decoder, no repeats.
    private static func modalities(
        _ reader: inout CheckpointMetadata, _ key: String, imageSize: Int, needEncoder: Bool, table: ModalityTable
    ) throws(ConfigurationError) -> [Modality] {
        let file = reader.file
        let listed: [String]?
        do { listed = try reader.stringList(key, expected: "a list of modality names") } catch { throw ConfigurationError(error) }
        guard let names = listed else { return [] }
        var out: [Modality] = []
        for name in names {
            let modality = Modality(rawValue: name)
            if let size = modality.resolution, size > InputLimits.maximumImageSide {
                throw .invalidValue(
                    file: file, key: key, expected: "resolutions of at most \(InputLimits.maximumImageSide) pixels (InputLimits.maximumImageSide)",
                    actual: "'\(name)'")
            }
            guard let info = table.info(for: modality, imageSize: imageSize) else {
                throw .unknownModality(file: file, key: key, name: name)
            }
            if needEncoder ? !info.hasEncoder : !info.hasDecoder {
                throw .invalidValue(file: file, key: key, expected: needEncoder ? "modalities with an encoder" : "modalities with a decoder", actual: "'\(name)'")
            }
            guard !out.contains(modality) else {
                throw .invalidValue(file: file, key: key, expected: "distinct modalities", actual: "'\(name)' twice")
            }
            out.append(modality)
        }
        return out
    }
}
