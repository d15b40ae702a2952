import Foundation
import FourM

extension GenerateCommand {
    /// Inputs that are files of a known form: token ids (`.json`), a semantic label map (a PNG
    /// for a semantic-segmentation modality), or a picture for another image-token modality. Nil
    /// when the value is something else (text, a depth PNG, a photo for `rgb@N`). `spec` is the
    /// modality's table entry (its kind and renderer say which).
    func structuredInput(_ modality: Modality, _ value: String, spec: ModalitySpec?) throws -> PipelineInput? {
        let url = URL(fileURLWithPath: value)
        if value.lowercased().hasSuffix(".json") {
            let data: Data
            do { data = try Data(contentsOf: url) } catch { throw CLIError("\(value): cannot read token ids (\(error.localizedDescription))") }
            let object = try? JSONSerialization.jsonObject(with: data)
            let list = (object as? [Any]) ?? ((object as? [String: Any])?["tokens"] as? [Any])
            guard let list else { throw CLIError("\(value): expected a JSON array of token ids or {\"tokens\": [...]}") }
            var ids: [Int32] = []
            for (i, item) in list.enumerated() {
                guard let n = item as? NSNumber, let id = Int32(exactly: n.doubleValue) else { throw CLIError("\(value): tokens[\(i)] is \(item), expected an integer id") }
                ids.append(id)
            }
            return .tokens(ids)
        }
        guard let spec, spec.kind == .imageTokens, spec.renderer != .depth, FileManager.default.fileExists(atPath: value) else { return nil }
        let image: Image
        do { image = try Image(contentsOf: url) } catch { throw FourMError.image(error) }
        if spec.renderer == .semanticSegmentation {
            let gray = image.grayscale()
            return .labels(Tensor(shape: [gray.height, gray.width], scalars: gray.pixels.map { Int32($0) }))
        }
        return .image(image)
    }
}
