import Foundation
import FourMSampling
import FourMTensor
import Testing

/// Replays the recorded random numbers of a trace (fixture README: sampling_replay) and
/// referees the draws against the recorded ones.
///
/// Ids stay exact, with one exception that float32 forces on us: a categorical draw whose
/// replayed uniform lands within the case's tolerance of a category boundary (or whose token
/// sits within tolerance of the top-k / top-p cut, or a greedy pick between logits within
/// tolerance, or a MaskGIT selection between sampled probabilities within tolerance of each
/// other) may fall either way depending on how the GEMM kernel rounds. Such a mismatch is
/// accepted as a *near-tie*, counted, and the reference's choice is substituted so that the
/// replay goes on from the reference's state (one near-tie cannot cascade). Every other
/// mismatch is kept, and fails the trace's exact comparisons.
public final class ReplayRandomness: GenerationRandomness {
    var uniformsByStep: [Int: Tensor<Float>] = [:]
    var keysByStep: [Int: [Float]] = [:]
    /// Recorded draws per step: `[B, n]` samples of image steps, `[B, L]` `ar_out` of sequence steps.
    var samplesByStep: [Int: Tensor<Int32>] = [:]
    var autoregressiveSteps: Set<Int> = []
    /// Recorded MaskGIT selections and the reference's sampled probabilities per step.
    var selectionsByStep: [Int: Tensor<Int32>] = [:]
    var sampledProbabilitiesByStep: [Int: Tensor<Float>] = [:]
    let atol: Double, rtol: Double
    /// Near-ties accepted, one line each.
    public private(set) var nearTies: [String] = []
    /// Exact ties of sampled probabilities (margin 0) whose order the reference left to
    /// `torch.topk` (fixture README: replay `selected_positions`); not rounding, so not counted
    /// as near-ties.
    public private(set) var replayedTies: [String] = []
    /// Draws compared with the recording.
    public private(set) var comparedDraws = 0

    /// A referee with no recording (for testing the near-tie rule itself).
    public init(atol: Float, rtol: Float) {
        (self.atol, self.rtol) = (Double(atol), Double(rtol))
    }

    /// Reads the recorded uniforms, ROAR keys, draws, selections and sampled probabilities of
    /// the first `steps` steps of case `f`, refereed at the case's `atol`/`rtol`.
    public init(_ f: CaseTensors, steps: Int, atol: Float, rtol: Float) throws {
        (self.atol, self.rtol) = (Double(atol), Double(rtol))
        for i in 0..<steps {
            let p = String(format: "step%02d", i)
            if f.has("\(p).uniforms") { uniformsByStep[i] = try f.float("\(p).uniforms") }
            if f.has("\(p).roar_rand") { keysByStep[i] = try f.float("\(p).roar_rand").scalars }
            if f.has("\(p).ar_out") {
                samplesByStep[i] = try f.int("\(p).ar_out")
                autoregressiveSteps.insert(i)
            } else if f.has("\(p).samples") {
                samplesByStep[i] = try f.int("\(p).samples")
            }
            if f.has("\(p).selected_positions") { selectionsByStep[i] = try f.int("\(p).selected_positions") }
            if f.has("\(p).sampled_probs") { sampledProbabilitiesByStep[i] = try f.float("\(p).sampled_probs") }
        }
    }

    public func beginStep(_ step: Int, seed: UInt64?) {}

    public func uniforms(count: Int, step: Int, iteration: Int?) -> [Float] {
        guard let u = uniformsByStep[step] else { return [Float](repeating: 0.5, count: count) }
        if let iteration, u.rank == 2 {
            return (0..<u.shape[0]).map { u[$0, iteration] }
        }
        return Array(u.scalars.prefix(count))
    }

    public func orderKeys(count: Int, step: Int) -> [Float] { keysByStep[step] ?? [Float](repeating: 0.5, count: count) }

    func tolerance(_ value: Double) -> Double { atol + rtol * abs(value) }

    /// The recorded id of row `r` of a draw, or nil when the recording has none.
    func recordedID(_ draw: CategoricalDraw, row r: Int) -> Int32? {
        guard let recorded = samplesByStep[draw.step] else { return nil }
        if autoregressiveSteps.contains(draw.step) {
            // ar_out starts with the start token: iteration t drew column t + 1.
            guard let t = draw.iteration, recorded.rank == 2, r < recorded.shape[0], t + 1 < recorded.shape[1] else { return nil }
            return recorded[r, t + 1]
        }
        guard r < recorded.count else { return nil }
        return recorded.scalars[r]
    }

    public func reviewDraw(_ draw: inout CategoricalDraw) {
        for r in draw.ids.indices {
            guard let expected = recordedID(draw, row: r) else { continue }
            comparedDraws += 1
            let ours = draw.ids[r]
            guard ours != expected, let why = nearTie(draw, row: r, ours: Int(ours), reference: Int(expected)) else { continue }
            let distribution = draw.distribution(row: r)
            nearTies.append("step \(draw.step)\(draw.iteration.map { " iteration \($0)" } ?? "") row \(r): drew \(ours), reference \(expected) (\(why))")
            draw.ids[r] = expected
            if Int(expected) < distribution.count { draw.probabilities[r] = distribution[Int(expected)] }
        }
    }

    /// Why the reference's `reference` and our `ours` are a near-tie for row `r`, or nil when
    /// they are not.
    public func nearTie(_ draw: CategoricalDraw, row r: Int, ours: Int, reference: Int) -> String? {
        let v = draw.logits.shape[1]
        guard reference >= 0, reference < v else { return nil }
        let logits = Array(draw.logits.scalars[(r * v)..<((r + 1) * v)])
        if abs(draw.temperature) <= greedyTemperatureThreshold {
            let gap = Double(logits[ours]) - Double(logits[reference])
            return gap <= tolerance(Double(logits[ours])) ? "greedy logits \(gap) apart" : nil
        }
        let p = draw.distribution(row: r)
        // The fixture's own probability of its draw must be ours for that token: the two
        // distributions agree, only the draw's side of a boundary is in question.
        // A logit error of `atol` on two competing tokens moves a probability by about
        // p(1 − p)·2·atol/τ, so the bound carries that term (it matters at the demo's τ 0.01).
        if draw.iteration == nil, let recorded = sampledProbabilitiesByStep[draw.step], r < recorded.count {
            let theirs = Double(recorded.scalars[r])
            let propagated = theirs * (1 - theirs) * 2 * atol / max(abs(draw.temperature), 1e-10)
            guard abs(Double(p[reference]) - theirs) <= tolerance(theirs) + propagated else { return nil }
        }
        // The uniform's place in our CDF: the whole mass between the two picks must lie within
        // tolerance of it.
        var cdf = [Double](repeating: 0, count: v)
        var running = 0.0
        for j in 0..<v {
            running += Double(p[j])
            cdf[j] = running
        }
        let threshold = Double(draw.uniforms[r]) * running
        let (lo, hi) = (min(ours, reference), max(ours, reference))
        let near = abs(cdf[lo] - threshold), far = abs(cdf[hi - 1] - threshold)
        if max(near, far) <= tolerance(threshold) { return "uniform within \(max(near, far)) of the category boundary" }
        // The filter's kept set itself undecided: then the distributions may differ anywhere.
        if let cut = ambiguousCut(logits, filter: draw.filter) {
            return "the \(cut.name) cut is within \(cut.distance) of flipping"
        }
        return nil
    }

    /// Whether float32 can decide the filter's kept set: top-k is undecided when the k-th and
    /// (k+1)-th largest logits are within tolerance, top-p when the mass before some token
    /// (descending order) is within tolerance of p. Returns the cut and its margin, or nil.
    func ambiguousCut(_ logits: [Float], filter: SamplingFilter) -> (name: String, distance: Double)? {
        let v = logits.count
        var k: Int?
        switch filter.topK {
        case .none: k = nil
        case .count(let n): k = min(n, v)
        case .fraction(let f): k = min(Int(f * Double(v)), v)
        }
        if let k, k > 0, k < v {
            let sorted = logits.sorted(by: >)
            let (kth, next) = (Double(sorted[k - 1]), Double(sorted[k]))
            if kth - next <= tolerance(kth) { return ("top-k", kth - next) }
        }
        if filter.topP > 0 {
            let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            let maxValue = Double(logits[order[0]])
            let exps = order.map { Foundation.exp(Double(logits[$0]) - maxValue) }
            let sum = exps.reduce(0, +)
            var cumulative = 0.0
            var closest = Double.infinity
            for e in exps.dropLast() {
                cumulative += e / sum
                closest = min(closest, abs(cumulative - filter.topP))
            }
            if closest <= tolerance(filter.topP) { return ("top-p", closest) }
        }
        return nil
    }

    public func reviewSelection(_ selection: inout PositionSelection) {
        guard let recorded = selectionsByStep[selection.step], recorded.rank == 2 else { return }
        for b in selection.selected.indices where b < recorded.shape[0] {
            let expected = (0..<recorded.shape[1]).map { Int(recorded[b, $0]) }
            guard Set(expected) != Set(selection.selected[b]) else { continue }
            // The reference's own sampled probabilities: the k-th and (k+1)-th largest must be
            // within tolerance of each other for the kept set to be a matter of rounding.
            guard let probabilities = sampledProbabilitiesByStep[selection.step], probabilities.rank == 2, b < probabilities.shape[0] else { continue }
            let row = (0..<probabilities.shape[1]).map { Double(probabilities[b, $0]) }.sorted(by: >)
            let k = selection.count
            guard k > 0, k < row.count else { continue }
            let margin = row[k - 1] - row[k]
            guard margin <= tolerance(row[k - 1]) else { continue }
            if margin == 0 {
                replayedTies.append("step \(selection.step) row \(b)")
            } else {
                nearTies.append("step \(selection.step) row \(b): selection differs, reference margin \(margin)")
            }
            selection.selected[b] = expected
        }
    }

    /// At most this many near-ties per case, and at most one per this many compared draws:
    /// a near-tie needs a uniform (or a logit gap) within ~1e-4 of a boundary, which a trace of
    /// a few thousand draws meets about once; more means the tolerance is hiding a real
    /// difference.
    public static let nearTieLimit = 3
    /// See ``nearTieLimit``.
    public static let drawsPerNearTie = 100

    /// Prints the near-ties this replay accepted (`scripts/parity-all-kernels.sh` collects
    /// these lines) and records an issue when there are more than the stated bound.
    public func report(case name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let count = nearTies.count
        print("near-ties accepted: \(name): \(count) of \(comparedDraws) draws" + (count > 0 ? " [" + nearTies.joined(separator: "; ") + "]" : "")
              + (replayedTies.isEmpty ? "" : "; exact top-k ties replayed: \(replayedTies.count)"))
        let bound = min(Self.nearTieLimit, max(1, comparedDraws / Self.drawsPerNearTie))
        #expect(count <= bound, "\(name): \(count) near-ties accepted (bound \(bound)): \(nearTies)", sourceLocation: sourceLocation)
    }
}
