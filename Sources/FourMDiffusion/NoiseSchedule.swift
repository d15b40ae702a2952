import Foundation

/// The noise schedule of a DiVAE scheduler (config key `beta_schedule`, spec/tokenizers.md 5.2).
public enum BetaSchedule: Sendable, Equatable, CustomStringConvertible {
    /// `linear`: β = linspace(1e-4, 0.02, T) in float32 (rgb, depth, normal tokenizers).
    case linear
    /// `squaredcos_cap_v2`: the GLIDE cosine schedule, β capped at 0.999.
    case squaredCosineCapV2
    /// `shifted_cosine:s`: ᾱ = sigmoid(clamp(−2(ln tan(πt/2) + ln s), −15, 15)), ᾱ_{T−1} = 0
    /// (edge tokenizer, s = 0.5). No betas exist; zero-terminal-SNR does not apply.
    case shiftedCosine(shift: Double)

    /// Parses the config spelling (`linear`, `squaredcos_cap_v2`, `shifted_cosine:0.5`);
    /// nil for anything else (including a non-positive shift).
    public init?(configValue: String) {
        switch configValue {
        case "linear": self = .linear
        case "squaredcos_cap_v2": self = .squaredCosineCapV2
        default:
            let prefix = "shifted_cosine:"
            guard configValue.hasPrefix(prefix),
                let shift = Double(configValue.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)),
                shift > 0, shift.isFinite
            else { return nil }
            self = .shiftedCosine(shift: shift)
        }
    }

    /// The config spelling.
    public var description: String {
        switch self {
        case .linear: return "linear"
        case .squaredCosineCapV2: return "squaredcos_cap_v2"
        case .shiftedCosine(let s): return "shifted_cosine:\(s)"
        }
    }

    /// ᾱ_t for t = 0..<T, computed in float32 like the reference (spec/tokenizers.md 5.2).
    ///
    /// Cumulative products accumulate in Double and round each entry to Float, as PyTorch's
    /// CPU `cumprod` does for float32. With `zeroTerminalSNR` (ignored for shifted cosine) the
    /// betas are rescaled so that ᾱ_{T−1} = 0 exactly.
    /// - Parameters:
    ///   - trainTimesteps: T (≥ 2).
    ///   - zeroTerminalSNR: apply the rescale of Lin et al. 2023.
    /// - Returns: `T` values.
    public func alphasCumprod(trainTimesteps: Int, zeroTerminalSNR: Bool) -> [Float] {
        precondition(trainTimesteps >= 2, "a noise schedule needs at least 2 timesteps, got \(trainTimesteps)")
        let count = trainTimesteps
        var betas: [Float]
        switch self {
        case .shiftedCosine(let shift):
            let t = float32Linspace(start: 0, end: 1, count: count)
            var alphas = t.map { value -> Float in
                let logSNR = -2 * (Foundation.log(Foundation.tan(Double.pi * Double(value) / 2)) + Foundation.log(shift))
                let clamped = Float(logSNR.isNaN ? logSNR : min(max(logSNR, -15), 15))
                return 1 / (1 + expf(-clamped))
            }
            alphas[count - 1] = 0
            return alphas
        case .linear:
            betas = float32Linspace(start: 1e-4, end: 0.02, count: count)
        case .squaredCosineCapV2:
            func alphaBar(_ t: Double) -> Double {
                let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
                return c * c
            }
            betas = (0..<count).map { i in
                let t1 = Double(i) / Double(count), t2 = Double(i + 1) / Double(count)
                return Float(min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
            }
        }
        if zeroTerminalSNR { betas = Self.enforceZeroTerminalSNR(betas) }
        return cumulativeProduct(betas.map { 1 - $0 })
    }

    /// Rescales betas so the last step has zero SNR (`enforce_zero_terminal_snr`), in float32.
    static func enforceZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        var root = cumulativeProduct(betas.map { 1 - $0 }).map { $0.squareRoot() }
        let first = root[0], last = root[root.count - 1]
        let factor = first / (first - last)
        for i in root.indices { root[i] = (root[i] - last) * factor }
        let alphasBar = root.map { $0 * $0 }
        var alphas = [alphasBar[0]]
        for i in 1..<alphasBar.count { alphas.append(alphasBar[i] / alphasBar[i - 1]) }
        return alphas.map { 1 - $0 }
    }
}

/// `torch.linspace(start, end, count)` in float32 (the CPU kernel's two-sided formula:
/// `start + step·i` for the first half, `end − step·(count − 1 − i)` for the second).
func float32Linspace(start: Float, end: Float, count: Int) -> [Float] {
    let step = (end - start) / Float(count - 1)
    let halfway = count / 2
    return (0..<count).map { i in i < halfway ? start + step * Float(i) : end - step * Float(count - 1 - i) }
}

/// Running product with Double accumulation, each entry rounded to Float.
func cumulativeProduct(_ values: [Float]) -> [Float] {
    var running = 1.0
    return values.map { value in
        running *= Double(value)
        return Float(running)
    }
}
