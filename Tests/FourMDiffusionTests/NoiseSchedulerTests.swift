import Foundation
import FourMDiffusion
import FourMTensor
import FourMTestSupport
import Testing

/// The schedules, timestep grids and step algebra pinned by spec/tokenizers.md 5.2–5.4 and
/// 10.1 (no reference run needed). ᾱ values: 1e-6 relative (spec 10.1) for the 8-digit pins;
/// the pins near 0 are printed with 5 digits, so they get 1e-4 relative; timesteps exact.
@Suite struct NoiseSchedulerTests {
    static func close(_ a: Float, _ b: Float, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let relative: Float = abs(b) < 1e-3 ? 1e-4 : 1e-6
        #expect(abs(a - b) <= relative * abs(b), "\(label): \(a) vs \(b)", sourceLocation: sourceLocation)
    }

    @Test func linearZeroTerminalSNRMatchesPinnedValues() {
        let a = BetaSchedule.linear.alphasCumprod(trainTimesteps: 1000, zeroTerminalSNR: true)
        #expect(a.count == 1000)
        for (i, v) in [(0, 0.99989998), (1, 0.99977934), (2, 0.99963862), (499, 0.07602873), (998, 4.2133e-09)] as [(Int, Float)] {
            Self.close(a[i], v, "linear ᾱ[\(i)]")
        }
        #expect(a[999] == 0, "ᾱ[999] must be exactly 0")
        Self.close(1 - a[0], 1.0001659e-4, "β₀")
    }

    @Test func shiftedCosineMatchesPinnedValues() {
        let schedule = BetaSchedule(configValue: "shifted_cosine:0.5")
        #expect(schedule == .shiftedCosine(shift: 0.5))
        for zero in [true, false] {  // zero_terminal_snr is ignored on this branch
            let a = BetaSchedule.shiftedCosine(shift: 0.5).alphasCumprod(trainTimesteps: 1000, zeroTerminalSNR: zero)
            for (i, v) in [(0, 0.99999964), (1, 0.99999940), (2, 0.99999750), (499, 0.80050272), (998, 9.8893e-06)] as [(Int, Float)] {
                Self.close(a[i], v, "shifted cosine ᾱ[\(i)]")
            }
            #expect(a[999] == 0)
        }
    }

    @Test func squaredCosineIsMonotoneAndZeroTerminal() {
        let plain = BetaSchedule.squaredCosineCapV2.alphasCumprod(trainTimesteps: 1000, zeroTerminalSNR: false)
        let rescaled = BetaSchedule.squaredCosineCapV2.alphasCumprod(trainTimesteps: 1000, zeroTerminalSNR: true)
        #expect(zip(plain, plain.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(plain[999] > 0 && rescaled[999] == 0)
        // β_0 = 1 − f(1/T)/f(0) with f(t) = cos²((t + 0.008)/1.008 · π/2).
        func f(_ t: Double) -> Double { pow(cos((t + 0.008) / 1.008 * Double.pi / 2), 2) }
        Self.close(plain[0], Float(f(0.001) / f(0)), "cosine ᾱ[0]")
    }

    @Test func parsesConfigSpellings() {
        #expect(BetaSchedule(configValue: "linear") == .linear)
        #expect(BetaSchedule(configValue: "squaredcos_cap_v2") == .squaredCosineCapV2)
        #expect(BetaSchedule(configValue: "shifted_cosine:2") == .shiftedCosine(shift: 2))
        for bad in ["cosine", "scaled_linear", "shifted_cosine:", "shifted_cosine:-1", "shifted_cosine:abc", "Linear"] {
            #expect(BetaSchedule(configValue: bad) == nil, "\(bad) should not parse")
        }
        #expect(PredictionType(rawValue: "v_prediction") == .vPrediction)
    }

    static func ddim(_ spacingSteps: Int, _ spacing: TimestepSpacing = .trailing) throws -> [Int] {
        try NoiseScheduler(kind: .ddim, betaSchedule: .linear, predictionType: .sample, thresholding: true)
            .timesteps(steps: spacingSteps, spacing: spacing)
    }

    @Test func trailingTimestepsIncludingTheExtraStep() throws {
        #expect(try Self.ddim(25) == Array(stride(from: 999, through: 39, by: -40)))
        #expect(try Self.ddim(50) == Array(stride(from: 999, through: 19, by: -20)))
        #expect(try Self.ddim(10) == Array(stride(from: 999, through: 99, by: -100)))
        #expect(try Self.ddim(1) == [999])
        #expect(try Self.ddim(3) == [999, 666, 333, 0])
        let s30 = try Self.ddim(30)
        #expect(s30.count == 31 && s30.first == 999 && s30[1] == 966 && s30.suffix(2) == [42, 9])
        let s15 = try Self.ddim(15)
        #expect(s15.count == 16 && s15.last == 9)
        let s7 = try Self.ddim(7)
        #expect(s7.count == 8 && s7.last == 5)
    }

    @Test func leadingAndLinspaceTimesteps() throws {
        #expect(try Self.ddim(25, .leading) == Array(stride(from: 960, through: 0, by: -40)))
        let lin = try Self.ddim(25, .linspace)
        #expect(lin.count == 25 && Array(lin.prefix(3)) == [999, 957, 916] && lin.suffix(2) == [42, 0])
        // DDPM ignores the requested spacing and always leads.
        let ddpm = NoiseScheduler(kind: .ddpm, betaSchedule: .linear, predictionType: .sample, thresholding: true)
        #expect(try ddpm.timesteps(steps: 25, spacing: .trailing) == Array(stride(from: 960, through: 0, by: -40)))
        #expect(try ddpm.timesteps(steps: 3) == [666, 333, 0])
    }

    @Test func rejectsBadStepCounts() {
        let s = NoiseScheduler(kind: .ddim, betaSchedule: .linear, predictionType: .sample, thresholding: true)
        #expect(throws: DiffusionError.invalidStepCount(requested: 0, maximum: 1000)) { try s.timesteps(steps: 0) }
        #expect(throws: DiffusionError.invalidStepCount(requested: 1001, maximum: 1000)) { try s.timesteps(steps: 1001) }
    }

    @Test func ddimSampleStepAtTheZeroSNREnd() throws {
        // 'sample' prediction at t = 999 (ᾱ = 0): ε = x, x_prev = √ᾱ[959]·clamp(m) + √(1−ᾱ[959])·x.
        let s = NoiseScheduler(kind: .ddim, betaSchedule: .linear, predictionType: .sample, thresholding: true)
        let x = Tensor<Float>(shape: [1, 1, 1, 4], scalars: [0.5, -2, 3, 0.25])
        let m = Tensor<Float>(shape: [1, 1, 1, 4], scalars: [0.3, 1.7, -4, -0.9])
        let out = try s.step(modelOutput: m, timestep: 999, sample: x, steps: 25)
        let a = s.alphasCumprod[959]
        #expect(out.predOriginalSample.scalars == [0.3, 1, -1, -0.9], "thresholding is clamp(x0, -1, 1)")
        let expected = zip(out.predOriginalSample.scalars, x.scalars).map { a.squareRoot() * $0 + (1 - a).squareRoot() * $1 }
        expectClose(out.prevSample.scalars, expected, atol: 1e-6, "x_prev")
        // Without thresholding (depth) x0 is not clipped.
        let depth = NoiseScheduler(kind: .ddim, betaSchedule: .linear, predictionType: .sample, thresholding: false)
        #expect(try depth.step(modelOutput: m, timestep: 999, sample: x, steps: 25).predOriginalSample == m)
        // clip_sample clamps too when thresholding is off.
        let clip = NoiseScheduler(kind: .ddim, betaSchedule: .linear, predictionType: .sample, thresholding: false, clipSample: true)
        #expect(try clip.step(modelOutput: m, timestep: 999, sample: x, steps: 25).predOriginalSample.scalars == [0.3, 1, -1, -0.9])
    }

    @Test(arguments: PredictionType.allCases)
    func predictionTypesRecoverTheCleanSample(_ type: PredictionType) throws {
        // Build x_t from a known x0 and ε, feed the matching model output: x0 comes back.
        let s = NoiseScheduler(kind: .ddim, betaSchedule: .linear, predictionType: type, thresholding: false)
        let t = 500
        let a = s.alphasCumprod[t]
        let x0: [Float] = [0.2, -0.4, 0.9], eps: [Float] = [1.1, -0.3, 0.5]
        let xt = zip(x0, eps).map { a.squareRoot() * $0 + (1 - a).squareRoot() * $1 }
        let m: [Float]
        switch type {
        case .sample: m = x0
        case .epsilon: m = eps
        case .vPrediction: m = zip(x0, eps).map { a.squareRoot() * $1 - (1 - a).squareRoot() * $0 }
        }
        let out = try s.step(modelOutput: Tensor(shape: [1, 3], scalars: m), timestep: t, sample: Tensor(shape: [1, 3], scalars: xt), steps: 10)
        expectClose(out.predOriginalSample.scalars, x0, atol: 1e-5, "x0 from \(type)")
        let ap = s.alphasCumprod[t - 100]
        expectClose(out.prevSample.scalars, zip(x0, eps).map { ap.squareRoot() * $0 + (1 - ap).squareRoot() * $1 }, atol: 1e-5, "x_prev from \(type)")
    }

    @Test func ddpmStepNeedsNoiseExceptAtZero() throws {
        let s = NoiseScheduler(kind: .ddpm, betaSchedule: .linear, predictionType: .sample, thresholding: true)
        let x = Tensor<Float>(shape: [1, 2], scalars: [0.5, -0.5])
        #expect(s.needsVarianceNoise(at: 333) && !s.needsVarianceNoise(at: 0))
        #expect(throws: DiffusionError.missingVarianceNoise(timestep: 333)) { try s.step(modelOutput: x, timestep: 333, sample: x, steps: 3) }
        let zeroNoise = try s.step(modelOutput: x, timestep: 333, sample: x, steps: 3, varianceNoise: Tensor(zeros: [1, 2]))
        let noisy = try s.step(modelOutput: x, timestep: 333, sample: x, steps: 3, varianceNoise: Tensor(repeating: 1, shape: [1, 2]))
        // σ² = (1 − ᾱ_prev)/(1 − ᾱ_t)·β'_t with ᾱ_prev = ᾱ[0].
        let (at, ap) = (s.alphasCumprod[333], s.alphasCumprod[0])
        let sigma = ((1 - ap) / (1 - at) * (1 - at / ap)).squareRoot()
        expectClose(zip(noisy.prevSample.scalars, zeroNoise.prevSample.scalars).map { $0 - $1 }, [sigma, sigma], atol: 1e-6, "DDPM σ")
        _ = try s.step(modelOutput: x, timestep: 0, sample: x, steps: 3)  // t = 0: no noise needed
        #expect(throws: DiffusionError.shapeMismatch(argument: "modelOutput", expected: "[1, 2] (the sample's shape)", actual: [2, 1])) {
            try s.step(modelOutput: x.reshaped([2, 1]), timestep: 0, sample: x, steps: 3)
        }
    }
}
