import Foundation
import FourMTensor

/// The Memcodes quantizer at inference (`quant_type: memcodes`), spec/tokenizers.md 4.3.
///
/// `dim` is split into `heads` chunks of `d = dim / heads`; head `g` scores its chunk, scaled by
/// `d^-0.5`, against `Keys[g] = codes[g] · Wk[g]`, takes the argmax (ties → lowest index) and
/// returns `Values[g, id] = (codes[g] · Wv[g])[id]`. Keys: `codes [heads, K, d]`,
/// `to_k.weight [heads, d, d]`, `to_v.weight [heads, d, d]` (einops `EinMix`, no bias). Keys and
/// values are computed once at load.
package struct MemcodesQuantizer: Sendable {
    package let dim: Int
    package let heads: Int
    package let codebookSize: Int
    package let headDim: Int
    /// `(dim / heads)^-0.5` in float32, as the reference multiplies it into the queries.
    package let scale: Float
    /// `[heads, K, d]`.
    package let keys: Tensor<Float>
    /// `[heads, K, d]`.
    package let values: Tensor<Float>

    /// Loads `codes`, `to_k.weight` and `to_v.weight` under `prefix`.
    /// - Throws: `WeightError` for missing tensors or shapes that disagree with the arguments.
    package init(_ store: WeightStore, prefix: String, dim: Int, codebookSize: Int, heads: Int) throws(WeightError) {
        precondition(heads > 0 && dim % heads == 0, "Memcodes: dim \(dim) is not divisible by \(heads) heads")
        self.dim = dim
        self.heads = heads
        self.codebookSize = codebookSize
        headDim = dim / heads
        scale = Float(pow(Double(dim / heads), -0.5))
        let codes = try store.tensor(vqKey(prefix, "codes"), shape: [heads, codebookSize, headDim])
        let toK = try store.tensor(vqKey(prefix, "to_k.weight"), shape: [heads, headDim, headDim])
        let toV = try store.tensor(vqKey(prefix, "to_v.weight"), shape: [heads, headDim, headDim])
        let (k, d) = (codebookSize, headDim)
        func mix(_ weight: Tensor<Float>) -> Tensor<Float> {
            // out[h, n, c] = Σ_e codes[h, n, e] · W[h, e, c]
            Tensor.concatenate((0..<heads).map { h in
                matmul(codes.slice(h..<(h + 1)).reshaped([k, d]), weight.slice(h..<(h + 1)).reshaped([d, d]))
            }).reshaped([heads, k, d])
        }
        keys = mix(toK)
        values = mix(toV)
    }

    /// Loads a stand-alone Memcodes file whose metadata holds `dim`, `codebook_size` and `heads`
    /// (default 1).
    /// - Throws: `.invalidConfiguration` for bad metadata, `.weights` for tensor problems
    ///   (including tensors left unused).
    package init(path: String) throws(VQTokenizerError) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .weights(error) }
        let m = VQMetadata(file: path, metadata: file.metadata)
        let dim = try m.requiredPositiveInt("dim")
        let codebookSize = try m.requiredPositiveInt("codebook_size")
        let heads = try m.positiveInt("heads", default: 1)
        guard dim % heads == 0 else {
            throw .invalidConfiguration(file: path, key: "heads", expected: "a divisor of dim \(dim)", actual: String(heads))
        }
        let store = WeightStore(file)
        do {
            self = try MemcodesQuantizer(store, prefix: "", dim: dim, codebookSize: codebookSize, heads: heads)
            try store.finish()
        } catch {
            throw .weights(error)
        }
    }

    /// Per-head scores `(q · d^-0.5) · Keys[g, n]` of a channels-last grid `[B, N, dim]`
    /// → `[B, heads, N, K]` (the reference's `logits`).
    package func logits(_ latents: TokenGrid) -> Tensor<Float> {
        let (batch, positions) = (latents.batch, latents.height * latents.width)
        let query = vqMap(latents.tokens) { scaleKernel($0, count: $1, factor: scale) }
        return Tensor(shape: [batch, heads, positions, codebookSize]) { out in
            query.withUnsafeBufferPointer { q in
                keys.withUnsafeBufferPointer { k in
                    for b in 0..<batch {
                        for g in 0..<heads {
                            // A: head g's columns of batch b's queries (row stride dim).
                            gemm(q.baseAddress! + b * positions * dim + g * headDim,
                                 k.baseAddress! + g * codebookSize * headDim,
                                 out.baseAddress! + (b * heads + g) * positions * codebookSize,
                                 m: positions, n: codebookSize, k: headDim,
                                 lda: dim, ldb: headDim, ldc: codebookSize, transposeB: true)
                        }
                    }
                }
            }
        }
    }

    /// Quantizes a channels-last grid `[B, h·w, dim]`.
    /// - Returns: the quantized grid, ids `[B, h, w]` (one head) or `[B, heads, h, w]`, and the
    ///   scores `[B, heads, h·w, K]`.
    package func quantize(_ latents: TokenGrid) -> (quantized: TokenGrid, ids: Tensor<Int32>, logits: Tensor<Float>) {
        precondition(latents.channels == dim, "Memcodes: latents have \(latents.channels) channels, expected \(dim)")
        let (batch, positions) = (latents.batch, latents.height * latents.width)
        let scores = logits(latents)
        // Row order (b, head, n): already the reference's [B, heads, h, w] layout.
        let ids = Tensor<Int32>(shape: [batch, heads, positions]) { out in
            scores.withUnsafeBufferPointer { s in
                vqArgmaxRowsKernel(s.baseAddress!, out.baseAddress!, rows: batch * heads * positions, cols: codebookSize)
            }
        }
        let perPosition = vqSwapLastTwo(ids).reshaped([batch * positions, heads])
        let quantized = lookup(perPosition).reshaped([batch, positions, dim])
        let referenceIDs = heads == 1
            ? ids.reshaped([batch, latents.height, latents.width])
            : ids.reshaped([batch, heads, latents.height, latents.width])
        return (latents.with(tokens: quantized), referenceIDs, scores)
    }

    /// Quantizes an NCHW latent map `[B, dim, h, w]`.
    /// - Throws: `.invalidInput` when the map does not have `dim` channels.
    package func quantize(_ latents: Tensor<Float>) throws(VQTokenizerError) -> VQQuantization {
        try vqValidateLatentMap(latents, channels: dim, argument: "latents")
        let result = quantize(TokenGrid(nchw: latents))
        return VQQuantization(quantized: result.quantized.nchw, ids: result.ids)
    }

    /// Values of validated ids `[R, heads]` → `[R, dim]` (head-major channels).
    func lookup(_ ids: Tensor<Int32>) -> Tensor<Float> {
        let rows = ids.count / heads
        return Tensor(shape: [rows, dim]) { out in
            values.withUnsafeBufferPointer { v in
                ids.withUnsafeBufferPointer { i in
                    vqGatherHeadRowsKernel(v.baseAddress!, i.baseAddress!, out.baseAddress!,
                                           rows: rows, heads: heads, codes: codebookSize, dim: headDim)
                }
            }
        }
    }

    /// The code values of ids laid out as the quantizer returns them (`indices_to_embedding`):
    /// `[B, heads, h, w]`, `[B, heads]` (the flattened form 4M uses, read as `h = w = 1`), or
    /// `[B, h, w]` for a single head.
    /// - Returns: a channels-last grid `[B, h·w, dim]`.
    /// - Throws: `.invalidInput` for another layout, `.idOutOfRange` for a bad id.
    ///
    /// The reference only supports 1×1 grids here (global tokenizers); larger grids are
    /// decoded the way ``quantize(_:)-(TokenGrid)`` lays them out.
    package func codebookVectors(ids: Tensor<Int32>) throws(VQTokenizerError) -> TokenGrid {
        let batch: Int, height: Int, width: Int
        var perPosition: Tensor<Int32>  // [B, N, heads]
        switch (ids.rank, heads) {
        case (2, _) where ids.shape[1] == heads:
            (batch, height, width) = (ids.shape[0], 1, 1)
            perPosition = ids.reshaped([batch, 1, heads])
        case (3, 1):
            (batch, height, width) = (ids.shape[0], ids.shape[1], ids.shape[2])
            perPosition = ids.reshaped([batch, height * width, 1])
        case (4, _) where ids.shape[1] == heads:
            (batch, height, width) = (ids.shape[0], ids.shape[2], ids.shape[3])
            perPosition = vqSwapLastTwo(ids.reshaped([batch, heads, height * width]))
        default:
            let expected = heads == 1 ? "[B, h, w] or [B, 1, h, w]" : "[B, \(heads), h, w] or [B, \(heads)]"
            throw .invalidInput(argument: "ids", expected: expected, actual: "shape \(ids.shape)")
        }
        guard batch > 0, height > 0, width > 0 else {
            throw .invalidInput(argument: "ids", expected: "non-empty batch and grid", actual: "shape \(ids.shape)")
        }
        try vqValidateIDs(perPosition, codebookSize: codebookSize)
        let tokens = lookup(perPosition.reshaped([batch * height * width, heads])).reshaped([batch, height * width, dim])
        return TokenGrid(tokens: tokens, height: height, width: width)
    }
}
