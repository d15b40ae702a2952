import Foundation
import FourM

extension GenerateCommand {
    /// The demo's super-resolution pass: loads the SR bundle, decodes the 448 twins of the base
    /// outputs and writes their token ids and pictures (`<modality>_448.png`).
    func runSuperResolution(bundle path: String, base: PipelineResult, filter: SamplingFilter) throws -> [String] {
        let files = try ModelBundle(directory: URL(fileURLWithPath: path))
        let model: FourMModel
        do { model = try FourMModel(path: files.model.path, precision: precision, modalities: files.modalities) } catch { throw FourMError.model(error) }
        let probe = try Pipeline(bundle: files, outputs: [], model: model)
        let targets = probe.superResolutionTargets(after: base)
        let sr = try Pipeline(bundle: files, outputs: targets, model: model, precision: precision)
        let bar = ProgressBar(total: targets.count * 8)
        let high = try sr.superResolve(base, seed: seed.map { $0 &+ 1 }, filter: filter) { report in
            bar.update(done: report.index + 1, label: report.step.target.rawValue)
        }
        bar.finish()
        var written: [String] = []
        for m in targets {
            let name = m.rawValue.replacingOccurrences(of: "@", with: "_")
            if let tokens = high.tokens(m) {
                try writeJSON(["modality": m.rawValue, "shape": tokens.shape, "tokens": tokens.scalars.map(Int.init)], to: "\(name).tokens.json")
                written.append("\(name).tokens.json")
            }
            if let picture = try high.picture(m, side: 448) {
                do { try picture.writePNG(to: URL(fileURLWithPath: "\(out)/\(name).png")) } catch { throw FourMError.image(error) }
                written.append("\(name).png")
            }
        }
        return written
    }
}
