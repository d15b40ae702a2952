import ArgumentParser
import Foundation
import FourMModels
import FourMTensor

struct WriteRandomModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write-random-model",
        abstract: "Write a random-weight 4M checkpoint in the release format (for trying the tools without real weights).")

    enum Preset: String, ExpressibleByArgument, CaseIterable {
        case tiny, base, large, xlarge
    }

    @Argument(help: "Output .safetensors path.")
    var output: String

    @Option(help: "Size: tiny (dim 16, 2+2 blocks, all 4M-21 domains), base / large / xlarge (the 4M-21_B / L / XL shapes: 3.4 / 6.3 / 18.2 GB in fp32, half in bf16).")
    var preset: Preset = .tiny

    @Option(help: "Float dtype of the file: fp32 (default) or bf16.")
    var precision: ComputePrecision = .fp32

    @Option(parsing: .unconditional, help: "Random seed.")
    var seed: UInt64 = 0

    func run() async throws {
        let config: FourMConfiguration?
        switch preset {
        case .tiny: config = RandomCheckpoint.configuration(dim: 16, depth: 2, heads: 2, domainsIn: RandomCheckpoint.fourM21In, domainsOut: RandomCheckpoint.fourM21Out)
        case .base: config = RandomCheckpoint.Size.B.configuration
        case .large: config = RandomCheckpoint.Size.L.configuration
        case .xlarge: config = RandomCheckpoint.Size.XL.configuration
        }
        guard let config else { throw CLIError("internal: preset \(preset.rawValue) does not form a valid configuration") }
        // Streamed tensor by tensor: memory stays one tensor whatever the size.
        do {
            try RandomCheckpoint.write(config, to: output, seed: seed, fast: preset == .large || preset == .xlarge, dtype: precision == .bf16 ? .bf16 : .f32)
        } catch { throw CLIError(error.description) }
        print("wrote \(output) (random weights, \(preset.rawValue) preset, \(precision.rawValue))")
    }
}
