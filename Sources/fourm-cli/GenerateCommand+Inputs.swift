import Foundation
import FourMTensor
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
            do { data = try Data(contentsOf: url) } catch { throw CLIError("\(value): cannot read token ids (\(fileErrorReason(error)))") }
            // The strict reader names the byte offset of a syntax error; then say what was found where.
            let parsed: JSONValue
            do { parsed = try JSONParser.parse(data) } catch { throw CLIError("\(value): invalid JSON: \(error.message())") }
            let list: [JSONValue]
            switch parsed {
            case .array(let items): list = items
            case .object:
                guard case .array(let items)? = parsed.member("tokens") else {
                    throw CLIError("\(value): key 'tokens' is \(parsed.member("tokens")?.summary ?? "missing"), expected an array of token ids")
                }
                list = items
            default:
                throw CLIError("\(value): the top level is \(parsed.summary), expected an array of token ids or {\"tokens\": [...]}")
            }
            var ids: [Int32] = []
            for (i, item) in list.enumerated() {
                guard case .number(let literal) = item, let id = Int32(literal) ?? Double(literal).flatMap({ Int32(exactly: $0) }) else {
                    throw CLIError("\(value): tokens[\(i)] is \(item.summary), expected an integer id")
                }
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
