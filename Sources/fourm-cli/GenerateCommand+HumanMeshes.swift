import Foundation
import FourM

extension GenerateCommand {
    /// The `--smpl` model, loaded before generation so a bad file fails at once with one line.
    /// - Throws: `CLIError` with the ``SMPLError`` description.
    func loadSMPLModel() throws -> SMPLModel? {
        guard let smpl else { return nil }
        do { return try SMPLModel(contentsOf: URL(fileURLWithPath: smpl)) } catch { throw CLIError("--smpl \(error.description)") }
    }
}
