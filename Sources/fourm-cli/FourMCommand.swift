import ArgumentParser
import Foundation

@main
struct FourMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fourm",
        abstract: "Run 4M / 4M-21 any-to-any vision models on the CPU.",
        subcommands: [InspectCommand.self, WriteRandomModelCommand.self])
}

/// Prints one line to standard error and exits non-zero: the CLI's only error path.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
