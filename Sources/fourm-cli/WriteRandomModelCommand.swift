import ArgumentParser
import Foundation
import FourMModels
import FourMTensor

struct WriteRandomModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write-random-model",
        abstract: "Write a random-weight 4M checkpoint in the release format (for trying the tools without real weights).")

    enum Preset: String, ExpressibleByArgument, CaseIterable {
        case tiny, base
    }

    @Argument(help: "Output .safetensors path.")
    var output: String

    @Option(help: "Size: tiny (dim 16, 2+2 blocks, all 4M-21 domains) or base (the 4M-21_B shapes, ~3.4 GB).")
    var preset: Preset = .tiny

    @Option(parsing: .unconditional, help: "Random seed.")
    var seed: UInt64 = 0

    func run() async throws {
        let (dim, depth, heads) = preset == .tiny ? (16, 2, 2) : (768, 12, 12)
        guard let config = RandomCheckpoint.configuration(dim: dim, depth: depth, heads: heads, domainsIn: RandomCheckpoint.fourM21In, domainsOut: RandomCheckpoint.fourM21Out) else {
            throw CLIError("internal: preset \(preset.rawValue) does not form a valid configuration")
        }
        do { try RandomCheckpoint.writer(for: config, seed: seed).write(to: output) } catch { throw CLIError(error.description) }
        print("wrote \(output) (random weights, \(preset.rawValue) preset)")
    }
}
