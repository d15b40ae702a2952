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

/// SiLU, x·sigmoid(x), in place.
package func siluKernel(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        x[i] = v / (1 + expf(-v))
    }
}

/// SwiGLU gate: gate[i] = SiLU(gate[i]) · linear[i], in place into `gate`.
package func swigluKernel(_ gate: UnsafeMutablePointer<Float>, _ linear: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = gate[i]
        gate[i] = v / (1 + expf(-v)) * linear[i]
    }
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
