import Foundation
import FourMModels
import FourMTensor
import Testing

extension CaseTensors {
    /// The modality dictionary stored under `prefix` (`in`, `in.uncond`, …) for the modalities
    /// of `order`: float tensors of rank 4 are pixels, other floats embeddings, integers ids.
    public func modalityDictionary(prefix: String, order: [String]) throws -> ModalityDictionary {
        var dictionary = ModalityDictionary()
        for name in order {
            let key = "\(prefix).\(name)"
            let content: ModalityState.Content
            if dtype("\(key).tensor") == "float32" {
                let t = try float("\(key).tensor")
                content = t.rank == 4 ? .pixels(t) : .embeddings(t)
            } else {
                content = .tokens(try int("\(key).tensor"))
            }
            let attention = has("\(key).decoder_attention_mask") ? try int("\(key).decoder_attention_mask") : nil
            dictionary[Modality(rawValue: name)] = ModalityState(
                content: content, inputMask: try bool("\(key).input_mask"), targetMask: try bool("\(key).target_mask"), decoderAttentionMask: attention)
        }
        return dictionary
    }

    /// The fixture model the case names, loaded strictly.
    public func model(precision: ComputePrecision = .fp32) throws -> FourMModel {
        guard let name = object["model"] as? String, let file = try Fixtures.modelObject(name)["file"] as? String else {
            throw FixtureError("\(object["name"] ?? "?"): no model file")
        }
        return try FourMModel(path: try Fixtures.url(file).path, precision: precision)
    }

    /// Checks logits `[R, V]` against the summaries stored under `prefix`: argmax (only where
    /// the stored top-2 gap exceeds twice the tolerance: elsewhere a near tie), max,
    /// logsumexp and the stored full rows, at `atol + rtol·|ref|`.
    public func checkLogits(prefix: String, rows: Tensor<Float>, atol: Float, rtol: Float, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let name = object["name"] as? String ?? "?"
        let v = rows.shape[1], count = rows.shape[0]
        let values = rows.scalars
        let argmax = try int("\(prefix).argmax").scalars
        let gaps = try float("\(prefix).top2_gap").scalars
        #expect(argmax.count == count, "\(name) \(prefix): \(count) rows, expected \(argmax.count)", sourceLocation: sourceLocation)
        guard argmax.count == count else { return }
        var maxes: [Float] = [], lse: [Float] = []
        for r in 0..<count {
            let row = values[(r * v)..<((r + 1) * v)]
            var best = row.startIndex
            for j in row.indices where row[j] > row[best] { best = j }
            maxes.append(row[best])
            lse.append(row[best] + Float(Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1 - row[best])) })))
            if gaps[r] > 2 * (atol + rtol * abs(row[best])) {
                #expect(Int32(best - row.startIndex) == argmax[r], "\(name) \(prefix).argmax row \(r)", sourceLocation: sourceLocation)
            }
        }
        expectClose(maxes, try float("\(prefix).max").scalars, atol: atol, rtol: rtol, "\(name) \(prefix).max", sourceLocation: sourceLocation)
        expectClose(lse, try float("\(prefix).logsumexp").scalars, atol: atol, rtol: rtol, "\(name) \(prefix).logsumexp", sourceLocation: sourceLocation)
        let index = try int("\(prefix).full_rows_index").scalars
        let mine = index.flatMap { Array(values[(Int($0) * v)..<((Int($0) + 1) * v)]) }
        expectClose(mine, try float("\(prefix).full_rows").scalars, atol: atol, rtol: rtol, "\(name) \(prefix).full_rows", sourceLocation: sourceLocation)
    }
}
