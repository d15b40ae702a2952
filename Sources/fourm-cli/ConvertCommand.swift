import ArgumentParser
import Foundation
import FourMTensor

extension ComputePrecision: ExpressibleByArgument {}
extension CompactWeightFormat: ExpressibleByArgument {}

struct ConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Rewrite a safetensors checkpoint with its float tensors in BF16 (or F32).",
        discussion: """
            Every floating-point tensor is stored in the chosen dtype (BF16: rounded to nearest even), \
            integer and boolean tensors keep theirs; tensor names and the header's __metadata__ are kept. \
            The file is streamed tensor by tensor (memory ≈ the largest tensor, not the file) next to OUT \
            and renamed over it in one step. A BF16 file loads in either \
            precision: with --precision bf16 its linear weights are used as stored, without rounding again.
            """)

    @Option(help: "Float dtype of the output: bf16 or fp32.")
    var precision: ComputePrecision

    @Argument(help: "Input .safetensors file.")
    var input: String

    @Argument(help: "Output .safetensors file (may not be the input).")
    var output: String

    func validate() throws {
        if URL(fileURLWithPath: input).standardizedFileURL == URL(fileURLWithPath: output).standardizedFileURL {
            throw ValidationError("OUT must differ from IN (the input stays mapped while the output is written)")
        }
    }

    func run() async throws {
        try prepareOutputFile(output, option: "OUT")
        let started = Date()
        do {
            let file = try SafeTensorsFile(path: input)
            let floatType: DType = precision == .bf16 ? .bf16 : .f32
            let count = try SafeTensorsConversion.convert(file, to: output, floatsAs: floatType)
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            print(String(format: "wrote %@ (%d tensors, floats as %@, %.1f MB, %.1f s)", output, count, floatType.rawValue,
                         Double(size) / 1e6, Date().timeIntervalSince(started)))
        } catch {
            throw CLIError(error.description)
        }
    }
}
