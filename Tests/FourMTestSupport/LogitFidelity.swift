import FourMModels
import FourMTensor
import Testing

/// How far a reduced-precision run's logits are from an `fm_forward` fixture's reference: the
/// measure shared by the bf16 and compact-weight fidelity suites.
///
/// - `worst`: max over the fixture's stored full rows of `max |mine − ref| / max |ref|`.
/// - argmax agreement over every row, and over the *decided* rows: those whose reference top-2
///   gap exceeds `2 × relativeBound ×` the row's largest |logit|. A decided row must keep its
///   argmax (recorded as an issue, labelled with `label`); closer rows are near ties a rounded
///   run may flip, counted, not asserted.
public struct LogitFidelity {
    public var worst: Float = 0
    public var agree = 0, total = 0, decided = 0, decidedAgree = 0

    /// Measures `logits` (`[rows, vocabulary]` per target modality) against `fixture`'s
    /// reference and records an issue for every decided row whose argmax moved.
    public init(
        _ logits: [Modality: Tensor<Float>], fixture: CaseTensors, relativeBound: Float, label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for (m, result) in logits.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let prefix = "logits.\(m.rawValue)"
            let v = result.shape[1], rows = result.shape[0]
            let values = result.scalars
            let argmax = try fixture.int("\(prefix).argmax").scalars
            let gaps = try fixture.float("\(prefix).top2_gap").scalars
            let maxes = try fixture.float("\(prefix).max").scalars
            try #require(argmax.count == rows && gaps.count == rows && maxes.count == rows, sourceLocation: sourceLocation)
            for r in 0..<rows {
                let row = values[(r * v)..<((r + 1) * v)]
                var best = row.startIndex
                for j in row.indices where row[j] > row[best] { best = j }
                let same = Int32(best - row.startIndex) == argmax[r]
                total += 1
                if same { agree += 1 }
                if gaps[r] > 2 * relativeBound * max(abs(maxes[r]), 1e-6) {
                    decided += 1
                    if same { decidedAgree += 1 }
                    #expect(same, "\(label) \(prefix) row \(r): argmax moved with a reference gap of \(gaps[r])", sourceLocation: sourceLocation)
                }
            }
            let index = try fixture.int("\(prefix).full_rows_index").scalars
            let reference = try fixture.float("\(prefix).full_rows").scalars
            for (i, r) in index.enumerated() {
                let mine = values[(Int(r) * v)..<((Int(r) + 1) * v)]
                let ref = reference[(i * v)..<((i + 1) * v)]
                let scale = ref.map(abs).max() ?? 1
                let error = zip(mine, ref).map { abs($0 - $1) }.max() ?? 0
                worst = max(worst, error / max(scale, 1e-6))
            }
        }
    }

    /// "max relative logit error …, argmax agreement a/t (p%), decided rows d/D".
    public var summary: String {
        String(format: "max relative logit error %.4f, argmax agreement %d/%d (%.1f%%), decided rows %d/%d",
               worst, agree, total, 100 * Double(agree) / Double(max(total, 1)), decidedAgree, decided)
    }
}
