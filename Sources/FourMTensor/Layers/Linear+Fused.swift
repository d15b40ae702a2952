// Linear products with their element-wise follow-up fused into oneDNN's matmul (issue 14,
// item 2): the residual addition of a block (spec/model.md 4.5) and, in bf16, the MLP's
// activation and gate (spec/model.md 4.4).

extension Linear {
    /// `stream + (x·Wᵀ + b)`: a block's residual connection (spec/model.md 4.5).
    ///
    /// Where the product runs on oneDNN (a bf16 layer, or fp32 where ``fp32LinearUsesOneDNN``)
    /// the addition is a post-op of the product, written into `stream`'s storage (no copy when
    /// the caller hands over its only reference); elsewhere the product is followed by
    /// ``residual(_:plus:)``. The values are the same either way: one f32 addition per element
    /// of the stream and the biased product.
    ///
    /// The fused route is taken only once oneDNN has accepted the shape (its primitive exists);
    /// a failure to execute an accepted primitive (oneDNN out of memory) stops the process,
    /// since the stream has been partly overwritten.
    package func callAsFunction(_ x: Tensor<Float>, addingTo stream: consuming Tensor<Float>) -> Tensor<Float> {
        let (k, n) = (inputs, outputs)
        precondition(x.shape.last == k, "linear: input \(x.shape) does not end in \(k)")
        var expected = x.shape
        expected[expected.count - 1] = n
        precondition(stream.shape == expected, "linear: residual \(stream.shape) is not \(expected)")
        // Compact weights (autoregressive steps) and empty products take the unfused route.
        if let y = smallRowProduct(x) { return residual(y, plus: stream) }
        let rows = x.count / max(k, 1)
        guard k > 0, rows > 0, n > 0, let runtime = OneDNNRuntime.shared else { return residual(self(x), plus: stream) }
        if let matrix = weightBF16 {
            guard runtime.supportsLinear(rows: rows, weight: matrix, bias: bias != nil, epilogue: .accumulate)
            else { return residual(self(x), plus: stream) }
            return Self.accumulating(into: stream) { out in
                x.withUnsafeBufferPointer { px in
                    withBFloat16Copy(px.baseAddress!, count: rows * k) { bits in
                        withOptionalPointer(bias) { pb in
                            runtime.linear(bits, rows: rows, weight: matrix, bias: pb, epilogue: .accumulate,
                                           out: UnsafeMutableRawPointer(out), bf16Output: false)
                        }
                    }
                }
            }
        }
        guard fp32LinearUsesOneDNN, rows > gemvRowLimit,
            runtime.supportsLinearF32(rows: rows, outputs: n, inputs: k, bias: bias != nil, accumulate: true)
        else { return residual(self(x), plus: stream) }
        let weight = self.weight
        return Self.accumulating(into: stream) { out in
            weight.withUnsafeBufferPointer { w in
                x.withUnsafeBufferPointer { px in
                    withOptionalPointer(bias) { pb in
                        runtime.linearF32(px.baseAddress!, rows: rows, weight: w.baseAddress!, outputs: n, inputs: k,
                                          bias: pb, accumulate: true, out: out)
                    }
                }
            }
        }
    }

    /// `stream` after `product` has added into its storage (copied first only if shared); a
    /// product that oneDNN accepted but failed to execute stops the process (see above).
    private static func accumulating(
        into stream: consuming Tensor<Float>, _ product: (UnsafeMutablePointer<Float>) -> Bool
    ) -> Tensor<Float> {
        var y = consume stream
        let executed = y.withUnsafeMutableBufferPointer { product($0.baseAddress!) }
        precondition(executed, "oneDNN failed to execute a product it had accepted")
        return y
    }
}

extension MLP {
    /// `stream + mlp(x)`: the MLP branch of a block with its residual connection.
    ///
    /// A bf16 MLP on oneDNN runs as three fused products: `fc3` (gated only), then `fc1` with
    /// oneDNN's activation and the gate as post-ops writing the hidden layer straight to bf16
    /// (the input `fc2` needs), then `fc2` adding into `stream`. That skips the element-wise
    /// pass and the hidden layer's separate rounding; the activation is oneDNN's (SiLU, or
    /// erf-GELU), which differs from FourM's fp32 kernels in the last bits, well inside the bf16
    /// fidelity bounds. Otherwise: ``hiddenLayer(_:)``, then `fc2` through ``Linear/callAsFunction(_:addingTo:)``.
    package func callAsFunction(_ x: Tensor<Float>, addingTo stream: consuming Tensor<Float>) -> Tensor<Float> {
        var y = consume stream
        if addFusedBFloat16(x, into: &y) { return y }
        return fc2(hiddenLayer(x), addingTo: y)
    }

    /// Adds the fused bf16 MLP of `x` to `stream`; false (nothing written) when a layer is not
    /// bf16, compact weights apply, or oneDNN refuses a shape.
    private func addFusedBFloat16(_ x: Tensor<Float>, into stream: inout Tensor<Float>) -> Bool {
        guard let runtime = OneDNNRuntime.shared, CompactWeights.active == nil,
            let w1 = fc1.weightBF16, let w2 = fc2.weightBF16
        else { return false }
        let w3 = fc3?.weightBF16
        if fc3 != nil && w3 == nil { return false }
        let (dim, hidden) = (fc1.inputs, fc1.outputs)
        guard x.shape.last == dim, dim > 0, hidden > 0, fc2.inputs == hidden, stream.shape == x.shape else { return false }
        let rows = x.count / dim
        guard rows > 0 else { return false }
        guard runtime.supportsLinear(rows: rows, weight: w1, bias: fc1.bias != nil, activation: activation, gated: w3 != nil),
            runtime.supportsLinear(rows: rows, weight: w2, bias: fc2.bias != nil, epilogue: .accumulate),
            w3.map({ runtime.supportsLinear(rows: rows, weight: $0, bias: fc3?.bias != nil, epilogue: .none) }) ?? true
        else { return false }
        let (m, fc1Bias, fc2Bias, fc3Bias, activation) = (rows, fc1.bias, fc2.bias, fc3?.bias, activation)
        let executed = stream.withUnsafeMutableBufferPointer { out in
            x.withUnsafeBufferPointer { px in
                withBFloat16Copy(px.baseAddress!, count: m * dim) { input in
                    ScratchPool.shared.withBuffer(of: UInt16.self, count: m * hidden) { hiddenBits in
                        // The gated branch fc3(x) (f32), then act(fc1(x)) ⊙ fc3(x) rounded to bf16.
                        func firstLayer(_ times: UnsafePointer<Float>?) -> Bool {
                            withOptionalPointer(fc1Bias) { b1 in
                                runtime.linear(input, rows: m, weight: w1, bias: b1, epilogue: .activation(activation, times: times),
                                               out: UnsafeMutableRawPointer(hiddenBits), bf16Output: true)
                            }
                        }
                        let hiddenDone: Bool
                        if let w3 {
                            hiddenDone = ScratchPool.shared.withBuffer(of: Float.self, count: m * hidden) { linearBranch in
                                withOptionalPointer(fc3Bias) { b3 in
                                    runtime.linear(input, rows: m, weight: w3, bias: b3, out: linearBranch)
                                } && firstLayer(linearBranch)
                            }
                        } else {
                            hiddenDone = firstLayer(nil)
                        }
                        guard hiddenDone else { return false }
                        return withOptionalPointer(fc2Bias) { b2 in
                            runtime.linear(hiddenBits, rows: m, weight: w2, bias: b2, epilogue: .accumulate,
                                           out: UnsafeMutableRawPointer(out.baseAddress!), bf16Output: false)
                        }
                    }
                }
            }
        }
        precondition(executed, "oneDNN failed to execute a bf16 MLP product it had accepted")
        return true
    }
}
