import Foundation

// MARK: - Sinusoidal timestep features (spec/tokenizers.md 5.5 `sinus(t, 256)`, 5.6 `sinus(t, 128)`)

/// The sinusoidal features of one timestep, in float32 like guided-diffusion's
/// `timestep_embedding` and diffusers' `get_timestep_embedding`:
/// `f_k = exp(−ln(10000)·k / (half − shift))`, `a_k = t·f_k`, k = 0..<half, `half = dim / 2`;
/// the result is `[cos a, sin a]` when `cosineFirst`, else `[sin a, cos a]`, zero-padded to
/// an odd `dim`.
/// - Returns: `[dim]` values.
package func timestepFeatures(timestep: Float, dim: Int, cosineFirst: Bool, frequencyShift: Float = 0) -> [Float] {
    let half = dim / 2
    var out = [Float](repeating: 0, count: dim)
    let logPeriod = Float(-Foundation.log(10000.0))
    for k in 0..<half {
        let exponent = logPeriod * Float(k) / (Float(half) - frequencyShift)
        let argument = timestep * expf(exponent)
        let (c, s) = (cosf(argument), sinf(argument))
        out[k] = cosineFirst ? c : s
        out[half + k] = cosineFirst ? s : c
    }
    return out
}

/// Double-precision twin of ``timestepFeatures(timestep:dim:cosineFirst:frequencyShift:)``.
package func timestepFeaturesReference(timestep: Double, dim: Int, cosineFirst: Bool, frequencyShift: Double = 0) -> [Float] {
    let half = dim / 2
    var out = [Float](repeating: 0, count: dim)
    for k in 0..<half {
        let argument = timestep * Foundation.exp(-Foundation.log(10000.0) * Double(k) / (Double(half) - frequencyShift))
        out[k] = Float(cosineFirst ? Foundation.cos(argument) : Foundation.sin(argument))
        out[half + k] = Float(cosineFirst ? Foundation.sin(argument) : Foundation.cos(argument))
    }
    return out
}
