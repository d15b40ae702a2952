import ArgumentParser
import Foundation
import FourMTokenizers

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Turn text into 4M WordPiece ids (or ids back into text).",
        discussion: """
            Text: one line of ids per TEXT argument, or per line of --file (one process for a whole file).
            With --decode every TEXT (or line) is a list of ids separated by spaces or commas.
            """)

    @Option(help: "The tokenizer.json (e.g. text_tokenizer_4m_wordpiece_30k.json).")
    var tokenizer: String

    @Option(help: "Read the inputs from this file, one per line.")
    var file: String?

    @Flag(help: "Decode ids to text instead of encoding text.")
    var decode = false

    @Flag(help: "With --decode: drop special tokens ([PAD], sentinels, v0=…, class names) like the library default.")
    var skipSpecialTokens = false

    @Argument(help: "Texts (or id lists with --decode).")
    var inputs: [String] = []

    func validate() throws {
        if file == nil && inputs.isEmpty { throw ValidationError("give at least one TEXT or --file") }
        if file != nil && !inputs.isEmpty { throw ValidationError("give TEXT arguments or --file, not both") }
        if skipSpecialTokens && !decode { throw ValidationError("--skip-special-tokens only applies with --decode") }
    }

    func run() async throws {
        let text: WordPieceTokenizer
        do { text = try WordPieceTokenizer(contentsOf: URL(fileURLWithPath: tokenizer)) } catch { throw CLIError(error.description) }
        var lines = inputs
        if let file {
            guard let data = FileManager.default.contents(atPath: file), let content = String(data: data, encoding: .utf8) else {
                throw CLIError("\(file): cannot read as UTF-8 text")
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
