import ArgumentParser
import Foundation
import FourMTensor

@main
struct FourMCommand: AsyncParsableCommand {
    static func main() async {
        restartWithFasterBLASCoreIfUseful()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "fourm",
        abstract: "Run 4M / 4M-21 any-to-any vision models on the CPU.",
        subcommands: [CacheCommand.self, ConvertCommand.self, DownloadCommand.self, EvalCommand.self, GenerateCommand.self, InspectCommand.self, RetrieveCommand.self, SynthCommand.self, TokenizeCommand.self, WriteRandomModelCommand.self])
}

/// Prints one line to standard error and exits non-zero: the CLI's only error path.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
