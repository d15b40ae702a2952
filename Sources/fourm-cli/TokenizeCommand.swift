import ArgumentParser
import Foundation
import FourM
import FourMDiffusion
import FourMImage
import FourMTensor
import FourMTokenizers

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Turn text or an image into 4M token ids (and back).",
        discussion: """
            Text: one line of ids per TEXT argument, or per line of --file (one process for a whole file).
            With --decode every TEXT (or line) is a list of ids separated by spaces or commas.
            Images: --image-tokenizer CKPT --image PNG prints the token grid; --reconstruct OUT.png
            decodes those tokens again and writes the picture (RGB-like tokenizers).
            """)

    @Option(help: "The tokenizer.json (e.g. text_tokenizer_4m_wordpiece_30k.json).")
    var tokenizer: String?

    @Option(help: "An image tokenizer checkpoint (VQ-VAE).")
    var imageTokenizer: String?

    @Option(help: "With --image-tokenizer: the image to tokenize (PNG or JPEG).")
    var image: String?

    @Option(help: "With --image-tokenizer: write the decoded tokens as a PNG.")
    var reconstruct: String?

    @Option(help: "A ViT preset the checkpoint names beyond the released ones, NAME:DIM:DEPTH:HEADS. Repeatable.")
    var vitPreset: [String] = []

    @Option(parsing: .unconditional, help: "Denoising steps when the image tokenizer is a diffusion (DiVAE) one.")
    var diffusionSteps: Int = 25

    @Option(help: "A JSON file of diffusion decoder presets ({name: {cls, patch_size, …}}) beyond the released ones.")
    var diffusionPresets: String?

    @Option(help: "Read the inputs from this file, one per line.")
    var file: String?

    @Flag(help: "Decode ids to text instead of encoding text.")
    var decode = false

    @Flag(help: "With --decode: drop special tokens ([PAD], sentinels, v0=…, class names) like the library default.")
    var skipSpecialTokens = false

    @Argument(help: "Texts (or id lists with --decode).")
    var inputs: [String] = []

    func validate() throws {
        if diffusionSteps < 1 { throw ValidationError("--diffusion-steps must be at least 1, got \(diffusionSteps)") }
        if imageTokenizer != nil || image != nil || reconstruct != nil {
            if imageTokenizer == nil || image == nil { throw ValidationError("images need both --image-tokenizer and --image") }
            if tokenizer != nil || file != nil || !inputs.isEmpty || decode { throw ValidationError("tokenize text or an image, not both") }
            return
        }
        if tokenizer == nil { throw ValidationError("give --tokenizer for text (or --image-tokenizer for images)") }
        if file == nil && inputs.isEmpty { throw ValidationError("give at least one TEXT or --file") }
        if file != nil && !inputs.isEmpty { throw ValidationError("give TEXT arguments or --file, not both") }
        if skipSpecialTokens && !decode { throw ValidationError("--skip-special-tokens only applies with --decode") }
    }

    func run() async throws {
        if let imageTokenizer, let image {
            try tokenizeImage(checkpoint: imageTokenizer, image: image)
            return
        }
        let text: WordPieceTokenizer
        do { text = try WordPieceTokenizer(contentsOf: URL(fileURLWithPath: tokenizer ?? "")) } catch { throw CLIError(error.description) }
        var lines = inputs
        if let file {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch { throw CLIError("--file \(file): cannot read (\(fileErrorReason(error)))") }
            guard let content = String(data: data, encoding: .utf8) else {
                throw CLIError("--file \(file): expected UTF-8 text, got \(data.count) bytes that are not valid UTF-8")
            }
            lines = content.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
        }
        var output = ""
        output.reserveCapacity(lines.count * 32)
        for (number, line) in lines.enumerated() {
            if decode {
                var ids: [Int32] = []
                for field in line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }) {
                    guard let id = Int32(field) else {
                        throw CLIError("\(file ?? "argument") \(number + 1): '\(field)' is not an integer id")
                    }
                    ids.append(id)
                }
                do { output += try text.decode(ids, skipSpecialTokens: skipSpecialTokens) } catch { throw CLIError("\(file ?? "argument") \(number + 1): \(error.description)") }
            } else {
                output += text.encode(line).map(String.init).joined(separator: " ")
            }
            output += "\n"
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}

extension TokenizeCommand {
    /// Image → token grid (printed row by row) → optional reconstruction PNG.
    func tokenizeImage(checkpoint: String, image path: String) throws {
        if let reconstruct { try prepareOutputFile(reconstruct, option: "--reconstruct") }
        var presets: [String: VQViTPreset] = [:]
        for text in vitPreset {
            let parts = text.split(separator: ":").map(String.init)
            guard parts.count == 4, let dim = Int(parts[1]), let depth = Int(parts[2]), let heads = Int(parts[3]), dim > 0, depth > 0, heads > 0, dim % heads == 0 else {
                throw CLIError("--vit-preset '\(text)' is not NAME:DIM:DEPTH:HEADS with heads dividing dim")
            }
            presets[parts[0]] = VQViTPreset(dim: dim, depth: depth, heads: heads)
        }
        var decoderPresets: [String: DecoderPreset] = [:]
        if let diffusionPresets {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: diffusionPresets)) } catch {
                throw CLIError("--diffusion-presets \(diffusionPresets): cannot read (\(fileErrorReason(error)))")
            }
            // The strict reader names the byte offset of a syntax error; then say which key holds what.
            let parsed: JSONValue
            do { parsed = try JSONParser.parse(data) } catch { throw CLIError("\(diffusionPresets): invalid JSON: \(error.message())") }
            guard case .object(let members) = parsed else {
                throw CLIError("\(diffusionPresets): the top level is \(parsed.summary), expected an object mapping preset names to preset objects")
            }
            for member in members {
                guard case .object = member.value else { throw CLIError("\(diffusionPresets): key '\(member.key)' is \(member.value.summary), expected a preset object") }
            }
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: [String: Any]] else {
                throw CLIError("\(diffusionPresets): expected an object mapping preset names to preset objects")
            }
            for (name, entry) in object {
                do { decoderPresets[name] = try DiffusionPresets.decoderPreset(name: name, description: entry) } catch {
                    throw CLIError("\(diffusionPresets): \(name): \(error.description)")
                }
            }
        }
        let tokenizer: any ImageTokenizer
        do { tokenizer = try ImageTokenizerFactory.load(path: checkpoint, presets: presets, diffusionPresets: decoderPresets) } catch { throw CLIError(error.description) }
        let config = tokenizer.configuration
        guard config.labels == nil else { throw CLIError("\(checkpoint): a segmentation tokenizer takes class maps, not pictures") }
        let picture: Image
        do { picture = try Image(contentsOf: URL(fileURLWithPath: path)) } catch { throw CLIError(error.description) }
        let size = config.imageSizeEncoder
        let tensor: Tensor<Float>
        do {
            // RGB tokenizers take pixels in [-1, 1]; one channel (edges, masks) takes gray.
            let prepared = try picture.preprocessed(size: size)
            let converted = config.channels == 1 ? prepared.grayscale() : prepared.rgb()
            guard converted.channels == config.channels else {
                throw CLIError("\(checkpoint): the tokenizer takes \(config.channels)-channel inputs, not pictures")
            }
            if converted.channels == 1 {
                // `planarTensor` always gives three channels; gray goes to [-1, 1] as one plane.
                tensor = Tensor(shape: [1, 1, converted.height, converted.width], scalars: converted.pixels.map { Float($0) / 255 * 2 - 1 })
            } else {
                tensor = converted.planarTensor(normalization: .symmetric)
            }
        } catch let error as ImageError { throw CLIError(error.description) }
        let ids: Tensor<Int32>
        do { ids = try tokenizer.tokenize(tensor) } catch { throw CLIError(error.description) }
        let side = ids.shape.last ?? 1
        let values = ids.scalars
        for row in stride(from: 0, to: values.count, by: side) {
            print(values[row..<min(row + side, values.count)].map(String.init).joined(separator: " "))
        }
        if let reconstruct {
            do {
                // Diffusion tokenizers draw their starting noise from seed 0, as before.
                let decoded = try tokenizer.detokenize(ids, diffusionSteps: diffusionSteps, seed: 0)
                let picture = config.channels == 1 ? try Visualization.edges(decoded) : try Visualization.rgb(decoded)
                try picture.writePNG(to: URL(fileURLWithPath: reconstruct))
            } catch let error as FourMError { throw CLIError(error.description)
            } catch let error as ImageError { throw CLIError(error.description) }
            FileHandle.standardError.write(Data("wrote \(reconstruct)\n".utf8))
        }
    }
}
