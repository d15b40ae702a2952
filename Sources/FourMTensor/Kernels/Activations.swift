import CFourMKernels
import Foundation

// MARK: - Activations (spec/model.md section 4.4)

/// Exact GELU, 0.5·x·(1 + erf(x/√2)), in place over `count` values.
package func geluKernel(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let invSqrt2: Float = 0.70710678118654752
    for i in 0..<count {
        let v = x[i]
        x[i] = 0.5 * v * (1 + erff(v * invSqrt2))
    }
}

// MARK: Exp for the element-wise kernels

/// e^x for the vectorised kernels: Cody–Waite range reduction x = n·ln2 + r (|r| ≤ ln2/2),
/// Cephes' degree-6 polynomial for e^r, and 2^n written into the exponent bits. Measured
/// against `Foundation.exp` over [−87.3, 88] in steps of 7·10⁻⁴: relative error ≤ 8·10⁻⁸
/// (under one float ulp; `KernelTests` checks it). Below −87.3 it gives 0 (the true value is
/// under the smallest normal float, 1.2·10⁻³⁸), above 88 it gives e^88 (≈ 1.65·10³⁸; the
/// callers never need more: softmax feeds x ≤ 0, SiLU only divides by 1 + e^x), NaN stays
/// NaN. Branch-free, with rounding done by the 1.5·2²³ trick, so loops calling it
/// auto-vectorise on baseline x86-64 (`expf` is a library call per element); about 1.7×
/// faster than `expf` in the SwiGLU loop.
@inline(__always)
package func polynomialExp(_ x: Float) -> Float {
    let low = x < -87.33654
    var clamped = low ? -87.33654 : x
    clamped = clamped > 88 ? 88 : clamped
    let magic: Float = 12_582_912  // 1.5·2²³: adding it rounds to an integer
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    var r = clamped - n * 0.693_359_375
    r = r - n * -2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    p = p * (r * r) + r + 1
    // shifted's bits minus the magic's bits are n (two's complement); n + 127 is 2^n's exponent.
    let nBits = shifted.bitPattern &- magic.bitPattern
    let scale = Float(bitPattern: (nBits &+ 127) &<< 23)
    let result = low ? 0 : p * scale
    return x.isNaN ? x : result
}

/// ``polynomialExp`` in place over `count` values (tests compare it with `Foundation.exp`).
package func expKernel(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { x[i] = polynomialExp(x[i]) }
}

/// SiLU, x·sigmoid(x) = x / (1 + e^(−x)), in place (``polynomialExp``; auto-vectorised).
package func siluKernel(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        x[i] = v / (1 + polynomialExp(-v))
    }
}

/// SwiGLU gate: gate[i] = SiLU(gate[i]) · linear[i], in place into `gate`, through the C
/// kernel (`fourm_swiglu`, AVX2 where present): bit-identical to ``swigluKernelSwift``.
package func swigluKernel(_ gate: UnsafeMutablePointer<Float>, _ linear: UnsafePointer<Float>, count: Int) {
    fourm_swiglu(gate, linear, count)
}

/// The Swift loop ``swigluKernel`` must equal bit for bit (``polynomialExp``; tests compare).
package func swigluKernelSwift(_ gate: UnsafeMutablePointer<Float>, _ linear: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = gate[i]
        gate[i] = v / (1 + polynomialExp(-v)) * linear[i]
    }
}

/// y[i] += x[i] over `count` values (residual connections; auto-vectorised).
package func addKernel(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += x[i] }
}

/// GELU-gated twin: gate[i] = GELU(gate[i]) · linear[i] (act_layer GELU with gated_mlp).
package func gegluKernel(_ gate: UnsafeMutablePointer<Float>, _ linear: UnsafePointer<Float>, count: Int) {
    let invSqrt2: Float = 0.70710678118654752
    for i in 0..<count {
        let v = gate[i]
        gate[i] = 0.5 * v * (1 + erff(v * invSqrt2)) * linear[i]
    }
}

/// Double-precision twin of ``geluKernel``.
package func geluReference(_ x: [Float]) -> [Float] {
    x.map { Float(0.5 * Double($0) * (1 + Foundation.erf(Double($0) / 2.0.squareRoot()))) }
}

/// Double-precision twin of ``siluKernel``.
package func siluReference(_ x: [Float]) -> [Float] {
    x.map { Float(Double($0) / (1 + Foundation.exp(-Double($0)))) }
}

/// Double-precision twin of ``swigluKernel``.
package func swigluReference(_ gate: [Float], _ linear: [Float]) -> [Float] {
    zip(gate, linear).map { g, l in Float(Double(g) / (1 + Foundation.exp(-Double(g))) * Double(l)) }
}
