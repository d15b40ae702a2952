/// A PyTorch `nn.Conv2d` with bias and zero padding (spec/tokenizers.md 5.5–5.6); weight
/// `[O, C, k, k]` kept in PyTorch layout (it is already the `[O, C·k·k]` matrix the im2col
/// product wants).
///
/// In ``ComputePrecision/bf16`` (where supported) the layer also holds a ``OneDNNConvolution``:
/// oneDNN's convolution primitive with the weight rounded to bf16 and reordered once into the
/// primitive's blocked layout (on the first call), inputs rounded to bf16 per call, f32
/// accumulation, bias and output. fp32 stays im2col + sgemm (the parity path); a geometry
/// oneDNN refuses falls back to it.
package struct Conv2d: Sendable {
    package let weight: Tensor<Float>
    package let bias: Tensor<Float>?
    package let stride: Int
    package let padding: Int
    /// The oneDNN convolution: bf16 when the layer was loaded in bf16, f32 when fp32 layers
    /// use oneDNN (``fp32Backend``); nil for im2col + sgemm.
    package let oneDNN: OneDNNConvolution?

    /// Loads `weight` `[outputs, inputs, kernel, kernel]` and `bias` `[outputs]`, in the source's `precision`.
    package init(_ source: some TensorSource, inputs: Int, outputs: Int, kernel: Int, stride: Int = 1, padding: Int = 0)
        throws(WeightError)
    {
        let weight = try source.tensor("weight", shape: [outputs, inputs, kernel, kernel])
        let bias = try source.tensor("bias", shape: [outputs])
        self.init(weight: weight, bias: bias, stride: stride, padding: padding, precision: source.precision)
    }

    /// A convolution of in-memory tensors in `precision` (default fp32).
    package init(weight: Tensor<Float>, bias: Tensor<Float>?, stride: Int, padding: Int, precision: ComputePrecision = .fp32) {
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        if precision.resolved == .bf16 {
            oneDNN = OneDNNConvolution(weight: weight, bias: bias, stride: stride, padding: padding, type: .bf16)
        } else if Conv2d.fp32Backend == .oneDNN {
            oneDNN = OneDNNConvolution(weight: weight, bias: bias, stride: stride, padding: padding, type: .f32)
        } else {
            oneDNN = nil
        }
    }

    /// How fp32 convolutions compute.
    package enum FP32Backend: Sendable {
        /// im2col + OpenBLAS sgemm (the parity path).
        case im2col
        /// oneDNN's f32 convolution primitive.
        case oneDNN
    }

    /// The backend fp32 layers built in this task scope use (read at init), default
    /// ``FP32Backend/im2col``: `Conv2d.$fp32Backend.withValue(.oneDNN) { load }` builds a
    /// network on oneDNN f32 (the bench times both; tests check its parity).
    @TaskLocal package static var fp32Backend: FP32Backend = .im2col

    package var outputs: Int { weight.shape[0] }

    /// The precision the layer computes in.
    package var precision: ComputePrecision { oneDNN?.type == .bf16 ? .bf16 : .fp32 }

    /// x: `[B, C, H, W]` → `[B, O, H', W']`.
    package func callAsFunction(_ x: Tensor<Float>, _ scratch: ConvolutionScratch) -> Tensor<Float> {
        if let oneDNN, let y = oneDNN(x) { return y }
        return conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, scratch: scratch)
    }
}

/// A PyTorch `nn.GroupNorm` with affine parameters (`GroupNorm32` of the guided-diffusion UNet
/// and diffusers' ResNet blocks: float32 statistics).
package struct GroupNorm: Sendable {
    package let weight: Tensor<Float>
    package let bias: Tensor<Float>
    package let groups: Int
    package let eps: Float

    /// Loads `weight` and `bias` `[channels]`.
    package init(_ source: some TensorSource, channels: Int, groups: Int = 32, eps: Float = 1e-5) throws(WeightError) {
        weight = try source.tensor("weight", shape: [channels])
        bias = try source.tensor("bias", shape: [channels])
        self.groups = groups
        self.eps = eps
    }

    /// x: `[B, C, ...]` normalised, then SiLU when `silu`.
    package func callAsFunction(_ x: Tensor<Float>, silu: Bool) -> Tensor<Float> {
        groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
    }
}

/// Nearest ×2 upsampling (`F.interpolate(scale_factor=2, mode="nearest")`) then a 3×3 conv.
package struct Upsample2x: Sendable {
    package let conv: Conv2d

    package init(conv: Conv2d) { self.conv = conv }

    package func callAsFunction(_ x: Tensor<Float>, _ scratch: ConvolutionScratch) -> Tensor<Float> {
        conv(x.resizedNearest(height: 2 * x.shape[2], width: 2 * x.shape[3]), scratch)
    }
}

/// The residual block of the diffusion decoders, with a timestep embedding added between its
/// two convolutions (spec/tokenizers.md 5.5 guided-diffusion `ResBlock` without scale-shift
/// norm, 5.6 diffusers `ResnetBlock2D` with output scale 1):
/// `h = conv1(SiLU(GN(x))) + Linear(SiLU(temb)); h = conv2(SiLU(GN(h))); return shortcut(x) + h`.
/// The two reference classes differ only in their key names (``Keys``).
package struct ResNetBlock: Sendable {
    /// The sub-module names of one reference class.
    package struct Keys: Sendable {
        package var norm1, conv1, embedding, norm2, conv2, shortcut: String

        /// guided-diffusion `ResBlock` (`in_layers`, `emb_layers`, `out_layers`, `skip_connection`).
        package static let guidedDiffusion = Keys(
            norm1: "in_layers.0", conv1: "in_layers.2", embedding: "emb_layers.1", norm2: "out_layers.0", conv2: "out_layers.3",
            shortcut: "skip_connection")
        /// diffusers `ResnetBlock2D`.
        package static let diffusers = Keys(
            norm1: "norm1", conv1: "conv1", embedding: "time_emb_proj", norm2: "norm2", conv2: "conv2", shortcut: "conv_shortcut")
    }

    package let norm1: GroupNorm
    package let conv1: Conv2d
    package let embedding: Linear
    package let norm2: GroupNorm
    package let conv2: Conv2d
    package let shortcut: Conv2d?

    /// Loads the block; a 1×1 shortcut convolution exists when `inputs != outputs`.
    package init(
        _ source: some TensorSource, keys: Keys, inputs: Int, outputs: Int, embeddingDim: Int, groups: Int = 32, eps: Float = 1e-5
    ) throws(WeightError) {
        norm1 = try GroupNorm(source.scoped(keys.norm1), channels: inputs, groups: groups, eps: eps)
        conv1 = try Conv2d(source.scoped(keys.conv1), inputs: inputs, outputs: outputs, kernel: 3, padding: 1)
        embedding = try Linear(source.scoped(keys.embedding), inputs: embeddingDim, outputs: outputs, bias: true)
        norm2 = try GroupNorm(source.scoped(keys.norm2), channels: outputs, groups: groups, eps: eps)
        conv2 = try Conv2d(source.scoped(keys.conv2), inputs: outputs, outputs: outputs, kernel: 3, padding: 1)
        shortcut = inputs == outputs ? nil : try Conv2d(source.scoped(keys.shortcut), inputs: inputs, outputs: outputs, kernel: 1)
    }

    /// x: `[B, C_in, h, w]`, activatedEmbedding: SiLU(temb) `[1, E]` → `[B, C_out, h, w]`.
    package func callAsFunction(_ x: Tensor<Float>, activatedEmbedding: Tensor<Float>, _ scratch: ConvolutionScratch) -> Tensor<Float> {
        var h = conv1(norm1(x, silu: true), scratch)
        h = h.addingChannelBias(embedding(activatedEmbedding))
        h = conv2(norm2(h, silu: true), scratch)
        return (shortcut.map { $0(x, scratch) } ?? x) + h
    }
}
