import Foundation
import FourM
import FourMDiffusion
import FourMImage
import FourMModels
import FourMTensor
import FourMTokenizers
import Testing

/// The message audit of issue 15 ("messages that name the file, the key, the byte offset,
/// expected and actual"): one bad input per class of outside data, each loaded through the
/// library call an app uses, and each message checked for its parts. The exact typed errors
/// are asserted by the per-target `BadInputCatalogueTests`; this table checks what a person
/// reads: one line, the file, the key or byte offset, what was expected and what was found,
/// and none of Foundation's generic texts.
@Suite struct MessageAuditTests {
    /// One bad input: `load` builds it in `folder` and returns the error's description (or
    /// nil when the input was accepted); every string of `mentions` must be in the message.
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let mentions: [String]
        let load: @Sendable (_ folder: URL) throws -> String?
        var testDescription: String { name }

        init(_ name: String, mentions: [String], load: @escaping @Sendable (_ folder: URL) throws -> String?) {
            self.name = name
            self.mentions = mentions
            self.load = load
        }
    }

    /// Texts that say nothing about the input (Foundation's generic error descriptions).
    static let generic = ["NSCocoaErrorDomain", "The operation could not be completed", "not in the correct format", "(null)", "Error Domain="]

    /// The description of what `body` throws, or nil when it does not throw.
    static func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// A safetensors file of `header` then `data`, written as `name` in `folder`.
    static func safetensors(_ folder: URL, _ name: String, header: String, data: [UInt8] = []) throws -> URL {
        let json = Array(header.utf8)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) } + json + data
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// The `config.json` of a small valid model with `changes` (JSON texts; nil removes the key).
    static func config(_ changes: [String: String?]) -> Data {
        var values: [String: String] = [
            "domains_in": #"["rgb@224", "caption"]"#, "domains_out": #"["caption"]"#, "image_size": "224", "patch_size": "16",
            "norm_bias": "false", "act_layer": #""SiLU""#, "dim": "8", "encoder_depth": "1", "decoder_depth": "1",
            "num_heads": "2", "mlp_ratio": "4.0",
        ]
        for (key, value) in changes { values[key] = value }
        return Data(("{" + values.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}").utf8)
    }

    /// `bundle.json` holding `json` beside an (empty) `model.safetensors`, which the manifest
    /// only needs to exist for these checks.
    static func bundle(_ folder: URL, _ json: String) throws -> URL {
        try Data().write(to: folder.appendingPathComponent("model.safetensors"))
        try Data(json.utf8).write(to: folder.appendingPathComponent("bundle.json"))
        return folder
    }

    static let cases: [Case] = [
        // Safetensors.
        Case("safetensors: JSON syntax error", mentions: ["m.safetensors", "at byte 15", "expected a string key"]) { folder in
            let url = try safetensors(folder, "m.safetensors", header: #"{"a":1,,}"#)
            return message { _ = try FourMTensor.SafeTensorsFile(path: url.path) }
        },
        Case("safetensors: byte count against shape", mentions: ["m.safetensors", "'a'", "spans 3 bytes", "expected 4"]) { folder in
            let url = try safetensors(folder, "m.safetensors", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,3]}}"#, data: [0, 0, 0])
            return message { _ = try FourMTensor.SafeTensorsFile(path: url.path) }
        },
        Case("safetensors: unknown dtype", mentions: ["m.safetensors", "'a'", "'F99'", "expected one of"]) { folder in
            let url = try safetensors(folder, "m.safetensors", header: #"{"a":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
            return message { _ = try FourMTensor.SafeTensorsFile(path: url.path) }
        },
        Case("safetensors: missing file", mentions: ["absent.safetensors", "No such file"]) { folder in
            message { _ = try FourMTensor.SafeTensorsFile(path: folder.appendingPathComponent("absent.safetensors").path) }
        },
        Case("safetensors: a folder", mentions: ["dir.safetensors", "directory"]) { folder in
            let url = folder.appendingPathComponent("dir.safetensors")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return message { _ = try FourMTensor.SafeTensorsFile(path: url.path) }
        },
        Case("safetensors: truncated", mentions: ["m.safetensors", "8", "3"]) { folder in
            let url = folder.appendingPathComponent("m.safetensors")
            try Data([1, 2, 3]).write(to: url)
            return message { _ = try FourMTensor.SafeTensorsFile(path: url.path) }
        },
        // Model configuration (config.json; checkpoint metadata goes through the same reader).
        Case("config: wrong type", mentions: ["config.json", "'dim'", "wide", "expected"]) { _ in
            message { _ = try FourMModels.FourMConfiguration(jsonData: config(["dim": #""wide""#]), file: "config.json") }
        },
        Case("config: unknown modality", mentions: ["config.json", "domains_in", "'warp@224'"]) { _ in
            message { _ = try FourMModels.FourMConfiguration(jsonData: config(["domains_in": #"["warp@224"]"#]), file: "config.json") }
        },
        Case("config: missing key", mentions: ["config.json", "'num_heads'"]) { _ in
            message { _ = try FourMModels.FourMConfiguration(jsonData: config(["num_heads": nil]), file: "config.json") }
        },
        Case("config: JSON syntax error", mentions: ["config.json", "at byte 10"]) { _ in
            message { _ = try FourMModels.FourMConfiguration(jsonData: Data(#"{"dim": 8,}"#.utf8), file: "config.json") }
        },
        // tokenizer.json.
        Case("tokenizer.json: negative id", mentions: ["t.json", "model.vocab[\"a\"]", "number -3", "expected"]) { folder in
            let url = folder.appendingPathComponent("t.json")
            try Data(#"{"model":{"type":"WordPiece","unk_token":"a","vocab":{"a":-3}}}"#.utf8).write(to: url)
            return message { _ = try FourMTokenizers.WordPieceTokenizer(contentsOf: url) }
        },
        Case("tokenizer.json: missing vocabulary", mentions: ["t.json", "model.vocab"]) { folder in
            let url = folder.appendingPathComponent("t.json")
            try Data(#"{"model":{"type":"WordPiece","unk_token":"a"}}"#.utf8).write(to: url)
            return message { _ = try FourMTokenizers.WordPieceTokenizer(contentsOf: url) }
        },
        Case("tokenizer.json: a folder", mentions: ["t.json", "directory"]) { folder in
            let url = folder.appendingPathComponent("t.json")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return message { _ = try FourMTokenizers.WordPieceTokenizer(contentsOf: url) }
        },
        Case("tokenizer.json: bad UTF-8", mentions: ["t.json", "UTF-8", "at byte 4"]) { folder in
            let url = folder.appendingPathComponent("t.json")
            try Data([0x7B, 0x22, 0x61, 0x22, 0xC3, 0x28, 0x7D]).write(to: url)
            return message { _ = try FourMTokenizers.WordPieceTokenizer(contentsOf: url) }
        },
        // Images.
        Case("image: a folder", mentions: ["p.png", "directory"]) { folder in
            let url = folder.appendingPathComponent("p.png")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return message { _ = try FourMImage.Image(contentsOf: url) }
        },
        Case("image: missing file", mentions: ["absent.png", "No such file"]) { folder in
            message { _ = try FourMImage.Image(contentsOf: folder.appendingPathComponent("absent.png")) }
        },
        Case("image: not an image", mentions: ["p.png", "expected PNG or JPEG", "got"]) { folder in
            let url = folder.appendingPathComponent("p.png")
            try Data("hello, world".utf8).write(to: url)
            return message { _ = try FourMImage.Image(contentsOf: url) }
        },
        Case("image: truncated PNG", mentions: ["p.png", "PNG", "expected"]) { folder in
            let url = folder.appendingPathComponent("p.png")
            try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0]).write(to: url)
            return message { _ = try FourMImage.Image(contentsOf: url) }
        },
        // bundle.json.
        Case("bundle.json: JSON syntax error", mentions: ["bundle.json", "at byte"]) { folder in
            let url = try bundle(folder, #"{"model": "model.safetensors",}"#)
            return message { _ = try ModelBundle(directory: url) }
        },
        Case("bundle.json: top level not an object", mentions: ["bundle.json", "an array of 1 elements", "expected a JSON object"]) { folder in
            let url = try bundle(folder, #"["model.safetensors"]"#)
            return message { _ = try ModelBundle(directory: url) }
        },
        Case("bundle.json: wrong type", mentions: ["bundle.json", "'text_tokenizer'", "number 3", "expected a path string"]) { folder in
            let url = try bundle(folder, #"{"model": "model.safetensors", "text_tokenizer": 3}"#)
            return message { _ = try ModelBundle(directory: url) }
        },
        Case("bundle.json: missing file", mentions: ["bundle.json", "'model'", "does not exist"]) { folder in
            try Data(#"{"model": "gone.safetensors"}"#.utf8).write(to: folder.appendingPathComponent("bundle.json"))
            return message { _ = try ModelBundle(directory: folder) }
        },
        Case("bundle.json: tokenizer preset", mentions: ["bundle.json", "tokenizer_presets.p", "dim_tokens number 2.5", "num_heads missing", "expected"]) { folder in
            let url = try bundle(folder, #"{"model": "model.safetensors", "tokenizer_presets": {"p": {"dim_tokens": 2.5, "depth": 2}}}"#)
            return message { _ = try ModelBundle(directory: url) }
        },
        Case("bundle.json: preset field of another type", mentions: ["bundle.json", "tokenizer_presets.p.mlp_ratio", "string \"8\"", "expected a number"]) { folder in
            let url = try bundle(folder, #"{"model": "model.safetensors", "tokenizer_presets": {"p": {"dim_tokens": 8, "depth": 2, "num_heads": 2, "mlp_ratio": "8"}}}"#)
            return message { _ = try ModelBundle(directory: url) }
        },
        Case("bundle.json: modality field of another type", mentions: ["bundle.json", "modalities.tok_x.renderer", "number 5", "expected a string"]) { folder in
            let url = try bundle(folder, #"{"model": "model.safetensors", "modalities": {"tok_x": {"vocabulary": 16, "patch": 16, "renderer": 5}}}"#)
            return message { _ = try ModelBundle(directory: url) }
        },
        Case("bundle.json: a folder", mentions: ["bundle.json", "directory"]) { folder in
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("bundle.json"), withIntermediateDirectories: true)
            return message { _ = try ModelBundle(directory: folder) }
        },
        // Diffusion presets (bundle.json's diffusion_presets, fourm tokenize --diffusion-presets).
        Case("diffusion preset: list of the wrong length", mentions: ["preset 'p'", "'layers_per_block'", "is [1]", "expected 2 positive entries"]) { _ in
            let uvit: [String: Any] = [
                "cls": "UViT", "patch_size": 4, "block_out_channels": [32, 64], "layers_per_block": [1], "downsample_before_mid": true,
                "mid_layers": 2, "mid_num_heads": 4, "mid_dim": 64, "mid_mlp_ratio": 4, "mid_qkv_bias": true, "mid_hw_posemb": 32,
                "mid_use_long_skip": false, "norm_num_groups": 32, "norm_eps": 1e-05, "time_embedding_dim": 128,
            ]
            return message { _ = try FourMDiffusion.DiffusionPresets.decoderPreset(name: "p", description: uvit) }
        },
        // SMPL .npz.
        Case("npz: not a zip", mentions: ["s.npz", "zip"]) { folder in
            let url = folder.appendingPathComponent("s.npz")
            try Data("not a zip archive at all".utf8).write(to: url)
            return message { _ = try SMPLModel(contentsOf: url) }
        },
        Case("npz: missing file", mentions: ["absent.npz", "No such file"]) { folder in
            message { _ = try SMPLModel(contentsOf: folder.appendingPathComponent("absent.npz")) }
        },
        Case("npz: a folder", mentions: ["s.npz", "directory"]) { folder in
            let url = folder.appendingPathComponent("s.npz")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return message { _ = try SMPLModel(contentsOf: url) }
        },
    ]

    @Test(arguments: cases) func messageNamesWhereWhatExpectedAndActual(_ bad: Case) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("message-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = try bad.load(folder)
        guard let text else {
            Issue.record("\(bad.name): the bad input was accepted")
            return
        }
        #expect(!text.isEmpty && !text.contains("\n"), "\(bad.name): not one line: \(text)")
        for part in bad.mentions { #expect(text.contains(part), "\(bad.name): '\(part)' missing from: \(text)") }
        for part in Self.generic { #expect(!text.contains(part), "\(bad.name): generic text '\(part)' in: \(text)") }
    }
}
