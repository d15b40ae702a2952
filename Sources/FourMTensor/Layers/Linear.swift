/// A PyTorch `nn.Linear`: weight `[out, in]` used transposed by sgemm (no copy), optional bias.
///
/// A layer holds ONE copy of its weight: fp32 (``ComputePrecision/fp32``, the parity path) or,
/// in bf16, only the bf16 matrix (read as stored from a BF16 file, rounded once otherwise). The
/// product then runs in bf16 with f32 accumulation through oneDNN; when oneDNN refuses a shape
/// the call widens the bf16 weight to fp32 (exact) and runs the fp32 product, so the result is
/// that of the bf16 weight either way.
package struct Linear: Sendable {
    /// The one copy of the weight `[outputs, inputs]`.
    private enum Storage: Sendable {
        case fp32(Tensor<Float>)
        case bf16(BFloat16Matrix)
    }

    private let storage: Storage
    package let bias: Tensor<Float>?

    /// The weight `[outputs, inputs]` as fp32. For a bf16 layer this widens the bf16 matrix
    /// (exact, but a new allocation of the fp32 size on every access): hot paths use
    /// ``weightBF16`` instead.
    package var weight: Tensor<Float> {
        switch storage {
        case let .fp32(weight): return weight
        case let .bf16(matrix): return matrix.widened()
        }
    }

    /// The bf16 weight of a layer loaded in bf16; nil in fp32.
    package var weightBF16: BFloat16Matrix? {
        if case let .bf16(matrix) = storage { return matrix }
        return nil
    }

    /// A layer of `weight`; in bf16 only the weight rounded to bf16 (nearest even) is kept.
    package init(weight: Tensor<Float>, bias: Tensor<Float>?, precision: ComputePrecision = .fp32) {
        storage = precision.holdsBFloat16Weights ? .bf16(BFloat16Matrix(weight)) : .fp32(weight)
        self.bias = bias
    }

    /// A bf16 layer of a bf16 matrix `[outputs, inputs]`.
    package init(bfloat16Weight: BFloat16Matrix, bias: Tensor<Float>?) {
        storage = .bf16(bfloat16Weight)
        self.bias = bias
    }

    /// Loads `weight` `[outputs, inputs]` and, when `bias` is true, `bias` of a source scoped to
    /// the layer, in the source's `precision`. In bf16 a BF16 weight is read as stored, straight
    /// into the bf16 matrix, and any other dtype is read as floats, rounded and dropped.
    package init(_ source: some TensorSource, inputs: Int, outputs: Int, bias: Bool) throws(WeightError) {
        if source.precision.holdsBFloat16Weights {
            storage = .bf16(try source.bfloat16Matrix("weight", shape: [outputs, inputs]))
        } else {
            storage = .fp32(try source.tensor("weight", shape: [outputs, inputs]))
        }
        self.bias = bias ? try source.tensor("bias", shape: [outputs]) : nil
    }

    package var inputs: Int {
        switch storage {
        case let .fp32(weight): return weight.shape[1]
        case let .bf16(matrix): return matrix.columns
        }
    }

    package var outputs: Int {
        switch storage {
        case let .fp32(weight): return weight.shape[0]
        case let .bf16(matrix): return matrix.rows
        }
    }

    /// The precision the layer computes in.
    package var precision: ComputePrecision { weightBF16 == nil ? .fp32 : .bf16 }

    /// The address of the stored weight (fp32 tensor or bf16 matrix): stable for the layer's
    /// lifetime, without widening a bf16 weight.
    package var weightAddress: UInt {
        switch storage {
        case let .fp32(weight): return weight.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        case let .bf16(matrix): return UInt(bitPattern: matrix.storage.baseAddress)
        }
    }

    /// Bytes of weight the layer holds (2 per element in bf16, 4 in fp32; bias excluded).
    package var weightBytes: Int {
        switch storage {
        case let .fp32(weight): return weight.count * 4
        case let .bf16(matrix): return matrix.rows * matrix.columns * 2
        }
    }

    package func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        if let y = smallRowProduct(x) { return y }  // compact weights (autoregressive steps), see Linear+SmallRows.swift
        switch storage {
        case let .fp32(weight):
            // oneDNN f32 when chosen at launch (fp32LinearUsesOneDNN); a few rows stay on sgemv either way.
            if fp32LinearUsesOneDNN && x.count / max(inputs, 1) > gemvRowLimit,
                let y = linearOneDNNF32(x, weight: weight, bias: bias)
            {
                return y
            }
            return linear(x, weight: weight, bias: bias)
        case let .bf16(matrix):
            if let y = linearBFloat16(x, weight: matrix, bias: bias) { return y }
            // oneDNN refused the shape: the fp32 product of the widened (exact) bf16 weight.
            return linear(x, weight: matrix.widened(), bias: bias)
        }
    }
}

extension BFloat16Matrix {
    /// The matrix as an fp32 tensor `[rows, columns]` (exact: every bf16 value is a float).
    package func widened() -> Tensor<Float> {
        let count = rows * columns
        // `storage` always has at least one element (allocated with max(1, count)).
        guard let source = storage.baseAddress else { return Tensor(zeros: [rows, columns]) }
        let bits = SendableConstPointer(UnsafePointer(source))
        return Tensor(shape: [rows, columns]) { out in
            guard let base = out.baseAddress, count > 0 else { return }
            let dst = SendablePointer(base)
            parallelChunks(count, minimumPerChunk: 65_536) { range in
                for i in range { dst.base[i] = floatFromBFloat16Bits(bits.base[i]) }
            }
        }
    }
}

/// `x · Wᵀ + b` in bf16 through oneDNN, or nil when oneDNN cannot run it (the caller falls
/// back to fp32).
package func linearBFloat16(_ x: Tensor<Float>, weight: BFloat16Matrix, bias: Tensor<Float>?) -> Tensor<Float>? {
    let k = weight.columns, n = weight.rows
    precondition(x.shape.last == k, "linear: input \(x.shape) does not end in \(k)")
    return linearProduct(x, inputs: k, outputs: n, bias: bias) { src, rows, pb, dst in
        bfloat16Linear(src, rows: rows, weight: weight, bias: pb, out: dst)
    }
}

/// A LayerNorm over the last axis (spec/model.md 4.1). A missing `bias` key means zeros
/// (spec/model.md 1.6); the reference stores an all-zero bias buffer for bias-free norms.
/// Affine norms whose bias the checkpoint must hold (`nn.LayerNorm`, the diffusion decoders)
/// pass `requiredBias`.
package struct LayerNorm: Sendable {
    package let weight: Tensor<Float>
    package let bias: Tensor<Float>?
    package let eps: Float
    /// The vectorised C kernel (a bf16 model's norms, and fp32 ones where linear layers run on
    /// oneDNN); false: the sequential Swift kernel (the OpenBLAS parity path).
    package let vectorised: Bool

    /// Loads `weight` `[dim]` and `bias` `[dim]` (optional unless `requiredBias`); a source
    /// loading in bf16 (resolved), or any source where ``fp32LinearUsesOneDNN``, gets the
    /// vectorised kernel.
    package init(_ source: some TensorSource, dim: Int, eps: Float = 1e-6, requiredBias: Bool = false) throws(WeightError) {
        weight = try source.tensor("weight", shape: [dim])
        bias = requiredBias ? try source.tensor("bias", shape: [dim]) : try source.optionalTensor("bias", shape: [dim])
        self.eps = eps
        vectorised = source.precision.runsOnOneDNN
    }

    package func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        layerNorm(x, weight: weight, bias: bias, eps: eps, vectorised: vectorised)
    }
}

/// The activation of a transformer MLP (`act_layer` in the config).
public enum Activation: String, Sendable, CaseIterable {
    /// `nn.SiLU` (the released models).
    case silu = "SiLU"
    /// `nn.GELU`, exact erf form.
    case gelu = "GELU"
}
