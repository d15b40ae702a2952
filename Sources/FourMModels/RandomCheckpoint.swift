import FourMTensor

/// Writes a random-weight checkpoint in the release format (every state-dict key of
/// spec/model.md 3.9 / 4.6, sin-cos buffers, zero LayerNorm bias buffers, both names of
/// shared `mod_emb`s, config in `__metadata__` as Python `str()` values). Used by tests,
/// the benchmark and the README's first command; numbers are meaningless, shapes exact.
package enum RandomCheckpoint {
    /// The metadata strings the reference would write for `c`.
    package static func metadata(_ c: FourMConfiguration) -> [String: String] {
        func py(_ b: Bool) -> String { b ? "True" : "False" }
        func list(_ ms: [Modality]) -> String { "[" + ms.map { "'\($0.rawValue)'" }.joined(separator: ", ") + "]" }
        return [
            "domains_in": list(c.domainsIn), "domains_out": list(c.domainsOut), "image_size": String(c.imageSize),
            "patch_size": String(c.patchSize), "norm_bias": py(c.normBias), "act_layer": c.activation.rawValue,
            "dim": String(c.dim), "encoder_depth": String(c.encoderDepth), "decoder_depth": String(c.decoderDepth),
            "num_heads": String(c.numHeads), "mlp_ratio": String(c.mlpRatio), "qkv_bias": py(c.qkvBias),
            "proj_bias": py(c.projBias), "mlp_bias": py(c.mlpBias), "gated_mlp": py(c.gatedMLP), "qk_norm": py(c.qkNorm),
            "share_modality_embeddings": py(c.shareModalityEmbeddings),
        ]
    }

    /// A configuration in the 4M-21 style (SwiGLU, no biases) with the given sizes, its domains
    /// read against `modalities`.
    package static func configuration(
        dim: Int, depth: Int, heads: Int, domainsIn: [Modality], domainsOut: [Modality], modalities: ModalityTable = .reference
    ) -> FourMConfiguration? {
        var values: [String: ConfigValue] = [
            "domains_in": .list(domainsIn.map { .string($0.rawValue) }), "domains_out": .list(domainsOut.map { .string($0.rawValue) }),
            "image_size": .int(224), "patch_size": .int(16), "norm_bias": .bool(false), "act_layer": .string("SiLU"),
            "dim": .int(dim), "encoder_depth": .int(depth), "decoder_depth": .int(depth), "num_heads": .int(heads),
            "mlp_ratio": .double(4), "qkv_bias": .bool(false), "proj_bias": .bool(false), "mlp_bias": .bool(false),
            "gated_mlp": .bool(true), "qk_norm": .bool(false),
        ]
        values["share_modality_embeddings"] = .bool(true)
        return try? FourMConfiguration(values: values, file: "random", modalities: modalities)
    }

    /// One tensor of a random checkpoint: its name and shape, and how to draw it. Producers
    /// share one generator and must run in plan order (the writers do).
    package struct PlannedTensor {
        /// The tensor name.
        package let name: String
        /// The shape.
        package let shape: [Int]
        /// Draws the tensor (call once, in plan order).
        package let make: () -> Tensor<Float>
    }

    /// The generator and the tensors later entries repeat (shared `mod_emb`s, the tied
    /// `to_logits` table), shared by a plan's producers.
    private final class Draws {
        var rng: SeededGenerator
        var modalityEmbeddings: [Modality: Tensor<Float>] = [:]
        var lastTable: Tensor<Float>?
        init(seed: UInt64) { rng = SeededGenerator(seed: seed) }
    }

    /// Every tensor of a checkpoint for `c`, in file order, drawn from N(0, 0.02²) (norm
    /// weights 1 + noise); `fast` draws U(−0.035, 0.035) instead (same spread, much quicker for
    /// large models). Only the producer running holds its tensor (and the tied table it reuses).
    package static func plan(for c: FourMConfiguration, seed: UInt64 = 0, fast: Bool = false) -> [PlannedTensor] {
        let draws = Draws(seed: seed)
        var plan: [PlannedTensor] = []
        let d = c.dim, hidden = c.mlpHiddenWidth, hd = c.headDim
        func random(_ shape: [Int]) -> Tensor<Float> {
            fast
                ? Tensor.randomUniform(shape: shape, low: -0.035, high: 0.035, using: &draws.rng)
                : Tensor.randomNormal(shape: shape, std: 0.02, using: &draws.rng)
        }
        func add(_ name: String, _ shape: [Int], _ make: @escaping () -> Tensor<Float>) {
            plan.append(PlannedTensor(name: name, shape: shape, make: make))
        }
        func norm(_ prefix: String, _ dim: Int) {
            add("\(prefix).weight", [dim]) { Tensor(shape: [dim], scalars: (0..<dim).map { _ in 1 + 0.1 * draws.rng.nextNormal() }) }
            add("\(prefix).bias", [dim]) { c.normBias ? random([dim]) : Tensor(zeros: [dim]) }
        }
        func lin(_ prefix: String, _ inputs: Int, _ outputs: Int, bias: Bool) {
            add("\(prefix).weight", [outputs, inputs]) { random([outputs, inputs]) }
            if bias { add("\(prefix).bias", [outputs]) { random([outputs]) } }
        }
        func attention(_ prefix: String, cross: Bool) {
            if cross {
                lin("\(prefix).q", d, d, bias: c.qkvBias)
                lin("\(prefix).kv", d, 2 * d, bias: c.qkvBias)
            } else {
                lin("\(prefix).qkv", d, 3 * d, bias: c.qkvBias)
            }
            lin("\(prefix).proj", d, d, bias: c.projBias)
            if c.qkNorm {
                norm("\(prefix).q_norm", hd)
                norm("\(prefix).k_norm", hd)
            }
        }
        func mlp(_ prefix: String) {
            lin("\(prefix).fc1", d, hidden, bias: c.mlpBias)
            lin("\(prefix).fc2", hidden, d, bias: c.mlpBias)
            if c.gatedMLP { lin("\(prefix).fc3", d, hidden, bias: c.mlpBias) }
        }
        func positions(_ info: ModalityInfo) -> (shape: [Int], make: () -> Tensor<Float>) {
            switch info.kind {
            case .pixels, .imageTokens:
                if info.learnedPositions { return ([1, info.tokenCount, d], { random([1, info.tokenCount, d]) }) }
                return ([1, info.tokenCount, d], {
                    sinCosTable2D(gridHeight: info.gridSize, gridWidth: info.gridSize, dim: d).reshaped([1, info.tokenCount, d])
                })
            case .sequence, .sequenceEmbedding:
                let rows = ModalityInfo.sequencePositionRows
                return ([1, rows, d], { sinCosTable1D(rows: rows, dim: d).reshaped([1, rows, d]) })
            }
        }
        for m in c.domainsIn {
            guard let info = c.info(m) else { continue }
            let p = "encoder_embeddings.\(m.rawValue)"
            switch info.kind {
            case .pixels: lin("\(p).proj", info.patchSize * info.patchSize * info.channels, d, bias: false)
            case .imageTokens, .sequence: add("\(p).token_emb.weight", [info.vocabularySize, d]) { random([info.vocabularySize, d]) }
            case .sequenceEmbedding: lin("\(p).emb_proj", info.embeddingWidth, d, bias: true)
            }
            let pos = positions(info)
            add("\(p).pos_emb", pos.shape, pos.make)
            add("\(p).mod_emb", [1, 1, d]) {
                let emb = random([1, 1, d])
                draws.modalityEmbeddings[m] = emb
                return emb
            }
        }
        for m in c.domainsOut {
            guard let info = c.info(m) else { continue }
            let p = "decoder_embeddings.\(m.rawValue)"
            let pos = positions(info)
            add("\(p).pos_emb", pos.shape, pos.make)
            add("\(p).mod_emb", [1, 1, d]) {
                c.shareModalityEmbeddings ? (draws.modalityEmbeddings[m] ?? random([1, 1, d])) : random([1, 1, d])
            }
            let shape = [info.vocabularySize, d]
            add("\(p).token_emb.weight", shape) {
                let table = random(shape)
                draws.lastTable = table
                return table
            }
            add("\(p).to_logits.weight", shape) {
                defer { draws.lastTable = nil }
                return draws.lastTable ?? random(shape)
            }
        }
        for i in 0..<c.encoderDepth {
            norm("encoder.\(i).norm1", d)
            attention("encoder.\(i).attn", cross: false)
            norm("encoder.\(i).norm2", d)
            mlp("encoder.\(i).mlp")
        }
        norm("encoder_norm", d)
        lin("decoder_proj_context", d, d, bias: true)
        for i in 0..<c.decoderDepth {
            norm("decoder.\(i).norm1", d)
            attention("decoder.\(i).self_attn", cross: false)
            norm("decoder.\(i).query_norm", d)
            norm("decoder.\(i).context_norm", d)
            attention("decoder.\(i).cross_attn", cross: true)
            norm("decoder.\(i).norm2", d)
            mlp("decoder.\(i).mlp")
        }
        norm("decoder_norm", d)
        add("mask_token", [1, 1, d]) { random([1, 1, d]) }
        return plan
    }

    /// Every tensor of a checkpoint for `c` in memory (see ``plan(for:seed:fast:)``), floats
    /// stored as F32.
    package static func writer(for c: FourMConfiguration, seed: UInt64 = 0, fast: Bool = false) -> SafeTensorsWriter {
        var w = SafeTensorsWriter(metadata: metadata(c))
        for tensor in plan(for: c, seed: seed, fast: fast) { w.add(tensor.name, tensor.make()) }
        return w
    }

    /// Streams a checkpoint for `c` to `path` with floats stored as `dtype` (F32 or BF16), one
    /// tensor at a time: memory stays one tensor (the largest embedding table), whatever the
    /// model's size. Same values as ``writer(for:seed:fast:)`` (rounded when BF16).
    /// - Throws: `WeightError.writeFailed` naming the path.
    package static func write(_ c: FourMConfiguration, to path: String, seed: UInt64 = 0, fast: Bool = false, dtype: DType = .f32) throws(WeightError) {
        let plan = plan(for: c, seed: seed, fast: fast)
        let layout = plan.map { SafeTensorsLayoutEntry(name: $0.name, dtype: dtype, shape: $0.shape) }
        let writer = try SafeTensorsStreamWriter(path: path, layout: layout, metadata: metadata(c))
        for tensor in plan { try writer.write(tensor.name, tensor.make()) }
        try writer.finish()
    }

    /// The 4M-21 sizes of spec/model.md 1.4 (`fm_{base,large,xlarge}` with 4M-21's domains).
    package enum Size: String, CaseIterable, Sendable {
        /// 4M-21_B: dim 768, 12 + 12 blocks, 12 heads.
        case B
        /// 4M-21_L: dim 1024, 24 + 24 blocks, 16 heads.
        case L
        /// 4M-21_XL: dim 2048, 24 + 24 blocks, 32 heads.
        case XL

        /// (dim, depth per side, heads).
        package var shape: (dim: Int, depth: Int, heads: Int) {
            switch self {
            case .B: return (768, 12, 12)
            case .L: return (1024, 24, 16)
            case .XL: return (2048, 24, 32)
            }
        }

        /// The configuration with every 4M-21 domain.
        package var configuration: FourMConfiguration? {
            RandomCheckpoint.configuration(dim: shape.dim, depth: shape.depth, heads: shape.heads, domainsIn: fourM21In, domainsOut: fourM21Out)
        }
    }

    /// The 4M-21 domain lists (spec/model.md 1.3).
    package static let fourM21In: [Modality] = [
        "caption", "t5_caption", "det", "metadata", "rgb@224", "tok_rgb@224", "tok_normal@224", "tok_depth@224",
        "tok_semseg@224", "tok_clip@224", "human_poses", "tok_dinov2@224", "tok_dinov2_global", "tok_imagebind@224",
        "tok_imagebind_global", "tok_sam_edge@224", "tok_canny_edge@224", "color_palette", "sam_instance",
    ]
    /// The 4M-21 output domains.
    package static let fourM21Out: [Modality] = fourM21In.filter { $0 != "t5_caption" && $0 != "rgb@224" }
}
