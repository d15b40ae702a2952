import FourMTensor

/// Where layer initialisers take their tensors from: a checkpoint's ``WeightStore`` (strict,
/// records used keys) or, for benchmarks and tests, random weights made in memory.
protocol TensorSource {
    /// A name for error messages (the file path).
    var sourceName: String { get }
    /// A float tensor of exactly `shape`.
    func tensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float>
    /// Like `tensor` but nil when the key is absent.
    func optionalTensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float>?
    /// Whether the key exists.
    func contains(_ key: String) -> Bool
}

extension WeightStore: TensorSource {
    var sourceName: String { file.path }
}

/// Random weights by key (N(0, std²); 1-D `.weight`s, the normalisation scales, around 1),
/// recording every key it hands out, in order. Optional tensors are made too, so a recorded
/// key list is a complete checkpoint.
final class RandomTensorSource: TensorSource {
    private var rng: SeededGenerator
    let std: Float
    private(set) var recorded: [(key: String, tensor: Tensor<Float>)] = []

    init(seed: UInt64, std: Float = 0.02) {
        rng = SeededGenerator(seed: seed)
        self.std = std
    }

    var sourceName: String { "<random weights>" }

    func tensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float> {
        var t = Tensor<Float>.randomNormal(shape: shape, std: std, using: &rng)
        if shape.count == 1 && key.hasSuffix(".weight") { t = t + Tensor(repeating: 1, shape: shape) }
        recorded.append((key, t))
        return t
    }

    func optionalTensor(_ key: String, shape: [Int]) throws(WeightError) -> Tensor<Float>? {
        try tensor(key, shape: shape)
    }

    func contains(_ key: String) -> Bool { false }
}

/// A `nn.Linear` with bias from `\(prefix).weight` `[outputs, inputs]` and `\(prefix).bias`.
func loadLinear(_ source: some TensorSource, _ prefix: String, inputs: Int, outputs: Int) throws(WeightError) -> Linear {
    Linear(weight: try source.tensor("\(prefix).weight", shape: [outputs, inputs]),
           bias: try source.tensor("\(prefix).bias", shape: [outputs]))
}

/// A PyTorch `nn.Conv2d` with bias and zero padding; weight `[O, C, k, k]` kept in PyTorch
/// layout (it is already the `[O, C·k·k]` matrix the im2col product wants).
struct Conv2d: Sendable {
    let weight: Tensor<Float>
    let bias: Tensor<Float>?
    let stride: Int
    let padding: Int

    init(_ store: some TensorSource, _ prefix: String, inputs: Int, outputs: Int, kernel: Int, stride: Int = 1, padding: Int = 0)
        throws(WeightError)
    {
        weight = try store.tensor("\(prefix).weight", shape: [outputs, inputs, kernel, kernel])
        bias = try store.tensor("\(prefix).bias", shape: [outputs])
        self.stride = stride
        self.padding = padding
    }

    init(weight: Tensor<Float>, bias: Tensor<Float>?, stride: Int, padding: Int) {
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
    }

    var outputs: Int { weight.shape[0] }

    /// x: `[B, C, H, W]` → `[B, O, H', W']`.
    func callAsFunction(_ x: Tensor<Float>, _ scratch: ConvolutionScratch) -> Tensor<Float> {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, scratch: scratch)
    }
}

/// A PyTorch `nn.GroupNorm` with affine parameters (`GroupNorm32` in the UNet: float32).
struct GroupNorm: Sendable {
    let weight: Tensor<Float>
    let bias: Tensor<Float>
    let groups: Int
    let eps: Float

    init(_ store: some TensorSource, _ prefix: String, channels: Int, groups: Int = 32, eps: Float = 1e-5) throws(WeightError) {
        weight = try store.tensor("\(prefix).weight", shape: [channels])
        bias = try store.tensor("\(prefix).bias", shape: [channels])
        self.groups = groups
        self.eps = eps
    }

    /// x: `[B, C, ...]` normalised, then SiLU when `silu`.
    func callAsFunction(_ x: Tensor<Float>, silu: Bool) -> Tensor<Float> {
        groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
    }
}

/// Nearest ×2 upsampling (`F.interpolate(scale_factor=2, mode="nearest")`) then a 3×3 conv.
struct Upsample2x: Sendable {
    let conv: Conv2d

    func callAsFunction(_ x: Tensor<Float>, _ scratch: ConvolutionScratch) -> Tensor<Float> {
        conv(x.resizedNearest(height: 2 * x.shape[2], width: 2 * x.shape[3]), scratch)
    }
}

/// The sinusoidal features of a timestep as a `[1, dim]` tensor (spec/tokenizers.md 5.5, 5.6).
func timestepEmbedding(_ t: Int, dim: Int, cosineFirst: Bool = true, frequencyShift: Float = 0) -> Tensor<Float> {
    Tensor(shape: [1, dim], scalars: timestepFeatures(timestep: Float(t), dim: dim, cosineFirst: cosineFirst, frequencyShift: frequencyShift))
}

/// Repeats a `[1, ...]` tensor `batch` times along axis 0.
func repeatedBatch(_ x: Tensor<Float>, _ batch: Int) -> Tensor<Float> {
    batch == 1 ? x : Tensor.concatenate(Array(repeating: x, count: batch))
}
