import FourMTensor

/// The lucidrains `VectorQuantize` at inference (`quant_type: lucid`), spec/tokenizers.md 4.2.
///
/// Per latent vector: optional `project_in` (`dim → heads·codebook_dim`), split into `heads`
/// chunks that all search ONE shared codebook (cosine similarity of l2-normalised vectors when
/// `cosine`, else squared Euclidean distance; ties → lowest index), take the RAW stored rows,
/// concatenate and apply the optional `project_out`. Keys: `_codebook.embed [K, codebook_dim]`,
/// `project_in.*`/`project_out.*` when `heads·codebook_dim != dim`; the training buffers
/// `_codebook.initted`, `_codebook.cluster_size`, `_codebook.embed_avg` are loaded and ignored.
package struct LucidQuantizer: Sendable {
    package let dim: Int
    package let codebookDim: Int
    package let heads: Int
    package let codebookSize: Int
    package let cosine: Bool
    package let normalizeLatents: Bool
    /// The raw stored codebook `[K, codebook_dim]`: what quantization returns.
    package let codebook: Tensor<Float>
    /// What the search compares against: l2-normalised rows (cosine) or the raw rows.
    let searchCodebook: Tensor<Float>
    /// `‖e_k‖²` per code (Euclidean search only).
    let codeSquaredNorms: Tensor<Float>?
    package let projectIn: Linear?
    package let projectOut: Linear?

    /// Loads the quantizer's tensors under `prefix` (`quantize` in a tokenizer, empty for a
    /// stand-alone file).
    /// - Throws: `WeightError` for missing tensors or shapes that disagree with the arguments.
    package init(
        _ source: some TensorSource, dim: Int, codebookSize: Int, codebookDim: Int, heads: Int,
        cosine: Bool, normalizeLatents: Bool
    ) throws(WeightError) {
        self.dim = dim
        self.codebookDim = codebookDim
        self.heads = heads
        self.codebookSize = codebookSize
        self.cosine = cosine
        self.normalizeLatents = normalizeLatents
        let codebook = try source.tensor("_codebook.embed", shape: [codebookSize, codebookDim])
        self.codebook = codebook
        source.markUsed(["initted", "cluster_size", "embed_avg"].map { "_codebook.\($0)" })
        if heads * codebookDim != dim {
            projectIn = try Linear(source.scoped("project_in"), inputs: dim, outputs: heads * codebookDim, bias: true)
            projectOut = try Linear(source.scoped("project_out"), inputs: heads * codebookDim, outputs: dim, bias: true)
        } else {
            projectIn = nil
            projectOut = nil
        }
        if cosine {
            searchCodebook = Tensor(shape: codebook.shape) { out in
                codebook.withUnsafeBufferPointer { src in
                    vqL2NormalizeRowsKernel(src.baseAddress!, out.baseAddress!, rows: codebookSize, dim: codebookDim)
                }
            }
            codeSquaredNorms = nil
        } else {
            searchCodebook = codebook
            codeSquaredNorms = Tensor(shape: [codebookSize]) { out in
                codebook.withUnsafeBufferPointer { src in
                    vqRowSquaredNormsKernel(src.baseAddress!, out.baseAddress!, rows: codebookSize, dim: codebookDim)
                }
            }
        }
    }

    /// Loads a stand-alone quantizer file whose metadata holds the constructor arguments
    /// (`dim`, `codebook_size`, `codebook_dim` (default `dim`), `heads` (default 1),
    /// `use_cosine_sim` (default False), `norm_latents` (default False)).
    /// - Throws: `.invalidConfiguration` for bad metadata, `.weights` for tensor problems
    ///   (including tensors left unused).
    package init(path: String) throws(VQTokenizerError) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw .weights(error) }
        var m = CheckpointMetadata(file.metadata, file: path)
        let dim: Int, codebookSize: Int, codebookDim: Int, heads: Int, cosine: Bool, normalizeLatents: Bool
        do throws(MetadataError) {
            dim = try m.positiveInt("dim", default: nil)
            codebookSize = try m.positiveInt("codebook_size", default: nil)
            codebookDim = try m.positiveInt("codebook_dim", default: dim)
            heads = try m.positiveInt("heads", default: 1)
            cosine = try m.bool("use_cosine_sim", default: false)
            normalizeLatents = try m.bool("norm_latents", default: false)
        } catch {
            throw VQTokenizerError(error)
        }
        let store = WeightStore(file)
        do {
            self = try LucidQuantizer(store, dim: dim, codebookSize: codebookSize, codebookDim: codebookDim, heads: heads,
                cosine: cosine, normalizeLatents: normalizeLatents)
            try store.finish()
        } catch {
            throw .weights(error)
        }
    }

    /// The nearest code of every row of `vectors` `[R, codebook_dim]` → ids `[R]`.
    package func nearestCodes(_ vectors: Tensor<Float>) -> Tensor<Int32> {
        let rows = vectors.count / codebookDim
        var query = vectors
        if cosine || normalizeLatents {
            query = Tensor(shape: vectors.shape) { out in
                vectors.withUnsafeBufferPointer { src in
                    vqL2NormalizeRowsKernel(src.baseAddress!, out.baseAddress!, rows: rows, dim: codebookDim)
                }
            }
        }
        let blockRows = 512  // bounds the score matrix to 512 × K floats
        var scores = [Float](repeating: 0, count: min(rows, blockRows) * codebookSize)
        var squaredNorms = [Float](repeating: 0, count: min(rows, blockRows))
        return Tensor(shape: [rows]) { ids in
            query.withUnsafeBufferPointer { q in
                searchCodebook.withUnsafeBufferPointer { e in
                    scores.withUnsafeMutableBufferPointer { s in
                        squaredNorms.withUnsafeMutableBufferPointer { n in
                            var start = 0
                            while start < rows {
                                let count = min(blockRows, rows - start)
                                let block = q.baseAddress! + start * codebookDim
                                gemm(block, e.baseAddress!, s.baseAddress!, m: count, n: codebookSize, k: codebookDim,
                                     lda: codebookDim, ldb: codebookDim, ldc: codebookSize, transposeB: true)
                                if let codeSquaredNorms {
                                    vqRowSquaredNormsKernel(block, n.baseAddress!, rows: count, dim: codebookDim)
                                    codeSquaredNorms.withUnsafeBufferPointer { c in
                                        vqEuclideanArgminKernel(
                                            dots: s.baseAddress!, rowNorms: n.baseAddress!, codeNorms: c.baseAddress!,
                                            ids.baseAddress! + start, rows: count, codes: codebookSize)
                                    }
                                } else {
                                    vqArgmaxRowsKernel(s.baseAddress!, ids.baseAddress! + start, rows: count, cols: codebookSize)
                                }
                                start += count
                            }
                        }
                    }
                }
            }
        }
    }

    /// Quantizes a channels-last latent grid `[B, h·w, dim]`.
    /// - Returns: the quantized grid (same layout) and ids `[B, h, w]` (one head) or
    ///   `[B, heads, h, w]`.
    package func quantize(_ latents: TokenGrid) -> (quantized: TokenGrid, ids: Tensor<Int32>) {
        precondition(latents.channels == dim, "LucidQuantizer: latents have \(latents.channels) channels, expected \(dim)")
        let (batch, positions) = (latents.batch, latents.height * latents.width)
        var x = latents.tokens
        if let projectIn { x = projectIn(x) }
        // [B, N, heads·cd] is row-major over (b, n, head): each head chunk is one search row.
        let ids = nearestCodes(x.reshaped([batch * positions * heads, codebookDim]))
        var quantized = codebook.gatherRows(ids).reshaped([batch, positions, heads * codebookDim])
        if let projectOut { quantized = projectOut(quantized) }
        let referenceIDs = vqReferenceIDLayout(ids, batch: batch, height: latents.height, width: latents.width, heads: heads)
        return (latents.with(tokens: quantized), referenceIDs)
    }

    /// Quantizes an NCHW latent map `[B, dim, h, w]`.
    /// - Throws: `.invalidInput` when the map does not have `dim` channels.
    package func quantize(_ latents: Tensor<Float>) throws(VQTokenizerError) -> VQQuantization {
        try vqValidateLatentMap(latents, channels: dim, argument: "latents")
        let (grid, ids) = quantize(TokenGrid(nchw: latents))
        return VQQuantization(quantized: grid.nchw, ids: ids)
    }

    /// The raw codebook rows of `ids` (any shape) → `ids.shape + [codebook_dim]`, without
    /// `project_out` (the reference's `indices_to_embedding`).
    /// - Throws: `.idOutOfRange` for an id outside `0..<codebookSize`.
    package func codebookVectors(ids: Tensor<Int32>) throws(VQTokenizerError) -> Tensor<Float> {
        try vqValidateIDs(ids, codebookSize: codebookSize)
        return codebook.gatherRows(ids)
    }
}
