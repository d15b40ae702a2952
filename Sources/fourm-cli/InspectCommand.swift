import ArgumentParser
import Foundation
import FourMModels
import FourMTensor

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a checkpoint's configuration, modalities, parameter count, dtypes and size.",
        discussion: "Works on 4M model checkpoints (config in the header) and on tokenizer checkpoints (their config and tensors).")

    @Argument(help: "Path to a .safetensors checkpoint.")
    var path: String

    @Flag(help: "Also list every tensor's name, dtype and shape.")
    var tensors = false

    @Flag(help: "Also scan every float tensor for NaN or infinite values (fails on the first one).")
    var check = false

    func run() async throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw CLIError(error.description) }
        print(Self.report(file: file, listTensors: tensors))
        if check {
            do { try file.checkFinite() } catch { throw CLIError(error.description) }
            print("values: all finite")
        }
        if file.metadata["domains_in"] != nil {
            // A 4M model: prove it loads strictly.
            do {
                let config = try FourMConfiguration(metadata: file.metadata, file: path)
                _ = try FourMModel(file: file, configuration: config)
                print("strict load: ok (every tensor used, every shape checked)")
            } catch let error as ConfigurationError {
                throw CLIError(error.description)
            } catch let error as WeightError {
                throw CLIError(error.description)
            }
        }
    }

    static func report(file: SafeTensorsFile, listTensors: Bool) -> String {
        var lines: [String] = []
        let entries = file.entries.values
        let parameters = entries.reduce(0) { $0 + $1.shape.reduce(1, *) }
        var dtypes: [String: Int] = [:]
        for entry in entries { dtypes[entry.dtype.rawValue, default: 0] += 1 }
        lines.append("file: \(file.path)")
        lines.append("size: \(formatBytes(file.fileSize)) (\(file.fileSize) bytes)")
        lines.append("tensors: \(entries.count), elements: \(parameters) (\(formatCount(parameters)))")
        lines.append("dtypes: " + dtypes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        if file.metadata["domains_in"] != nil {
            do {
                let c = try FourMConfiguration(metadata: file.metadata, file: file.path)
                lines.append("kind: 4M model")
                lines.append("config: dim \(c.dim), encoder \(c.encoderDepth) + decoder \(c.decoderDepth) blocks, \(c.numHeads) heads (head dim \(c.headDim)), mlp \(c.gatedMLP ? "gated " : "")\(c.activation.rawValue) hidden \(c.mlpHiddenWidth), qkv/proj/mlp bias \(c.qkvBias)/\(c.projBias)/\(c.mlpBias), norm bias \(c.normBias), qk-norm \(c.qkNorm), shared modality embeddings \(c.shareModalityEmbeddings), image \(c.imageSize) patch \(c.patchSize)")
                if !c.ignoredKeys.isEmpty { lines.append("ignored keys: " + c.ignoredKeys.joined(separator: ", ")) }
                lines.append("modalities in (\(c.domainsIn.count)):")
                for m in c.domainsIn { lines.append("  " + describe(m, c)) }
                lines.append("modalities out (\(c.domainsOut.count)):")
                for m in c.domainsOut { lines.append("  " + describe(m, c)) }
            } catch {
                lines.append("config: invalid: \(error.description)")
            }
        } else {
            lines.append("kind: checkpoint without a 4M model config (tokenizer or other)")
        }
        if !file.metadata.isEmpty {
            lines.append("metadata:")
            for key in file.metadata.keys.sorted() {
                lines.append("  \(key) = \(ConfigValue.parse(file.metadata[key]?.replacingOccurrences(of: "None", with: "null") ?? ""))")
            }
        }
        if listTensors {
            lines.append("tensor list:")
            for name in file.names {
                if let e = file.entries[name] { lines.append("  \(name)  \(e.dtype.rawValue)  \(e.shape)") }
            }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ m: Modality, _ c: FourMConfiguration) -> String {
        guard let info = c.info(m) else { return m.rawValue }
        switch info.kind {
        case .pixels: return "\(m.rawValue): pixels, \(info.channels)×\(info.gridSize * info.patchSize)², \(info.tokenCount) patches of \(info.patchSize)"
        case .imageTokens: return "\(m.rawValue): image tokens \(info.gridSize)×\(info.gridSize), vocabulary \(info.vocabularySize)\(info.learnedPositions ? ", learned positions" : "")"
        case .sequence: return "\(m.rawValue): sequence, vocabulary \(info.vocabularySize), up to \(info.tokenCount) tokens"
        case .sequenceEmbedding: return "\(m.rawValue): embedding sequence, \(info.embeddingWidth)-d vectors, up to \(info.tokenCount)"
        }
    }
}

func formatBytes(_ n: Int) -> String {
    let units = ["B", "KB", "MB", "GB"]
    var value = Double(n), unit = 0
    while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
    return String(format: unit == 0 ? "%.0f %@" : "%.2f %@", value, units[unit])
}

func formatCount(_ n: Int) -> String {
    if n >= 1_000_000_000 { return String(format: "%.2f B", Double(n) / 1e9) }
    if n >= 1_000_000 { return String(format: "%.2f M", Double(n) / 1e6) }
    if n >= 1_000 { return String(format: "%.1f K", Double(n) / 1e3) }
    return String(n)
}
