import FourMTensor

/// The ConvNeXt block of the ViT decoder's `out_conv` head (`decoder.out_conv.{0,1}.*`),
/// spec/tokenizers.md 3.5:
/// `x + gamma ⊙ pwconv2(GELU(pwconv1(LN_1e-6(dwconv7x7(x)))))`, the LayerNorm over channels
/// per pixel.
package struct ConvNeXtBlock: Sendable {
    package let channels: Int
    /// `dwconv.weight` `[C, 1, 7, 7]` seen as `[C, 7, 7]`.
    package let depthwiseWeight: Tensor<Float>
    package let depthwiseBias: Tensor<Float>
    package let norm: LayerNorm
    package let pointwise1: Linear
    package let pointwise2: Linear
    package let gamma: Tensor<Float>

    static let kernelSize = 7

    package init(_ store: WeightStore, _ prefix: String, channels: Int) throws(WeightError) {
        self.channels = channels
        let k = Self.kernelSize
        depthwiseWeight = try store.tensor("\(prefix).dwconv.weight", shape: [channels, 1, k, k]).reshaped([channels, k, k])
        depthwiseBias = try store.tensor("\(prefix).dwconv.bias", shape: [channels])
        norm = try LayerNorm(store, "\(prefix).norm", dim: channels, eps: 1e-6)
        pointwise1 = try Linear(store, "\(prefix).pwconv1", inputs: channels, outputs: 4 * channels, bias: true)
        pointwise2 = try Linear(store, "\(prefix).pwconv2", inputs: 4 * channels, outputs: channels, bias: true)
        gamma = try store.tensor("\(prefix).gamma", shape: [channels])
    }

    /// x: `[B, C, H, W]` → `[B, C, H, W]`.
    package func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
        let k = Self.kernelSize
        let convolved = Tensor<Float>(shape: x.shape) { out in
            x.withUnsafeBufferPointer { src in
                depthwiseWeight.withUnsafeBufferPointer { w in
                    depthwiseBias.withUnsafeBufferPointer { b in
                        depthwiseConv2DKernel(src.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!,
                                                out.baseAddress!, batch: batch, channels: channels, height: height,
                                                width: width, kernel: k, pad: k / 2)
                    }
                }
            }
        }
        let pixels = TokenGrid(nchw: convolved)
        let y = vqScaleColumns(pointwise2(gelu(pointwise1(norm(pixels.tokens)))), gamma)
        return x + pixels.with(tokens: y).nchw
    }
}
