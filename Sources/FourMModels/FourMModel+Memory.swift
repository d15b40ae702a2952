import Foundation
import FourMTensor

/// Bytes of weights a loaded model holds, by kind and dtype (issue 14: what a bf16 model still
/// keeps in fp32). Shared tensors (a tied token table that is the logits head's own bf16
/// matrix) count once.
package struct WeightMemory: Sendable, CustomStringConvertible {
    /// `Linear` weights held as bf16 (blocks, projections, logits heads).
    package var linearBF16 = 0
    /// `Linear` weights held as fp32.
    package var linearFP32 = 0
    /// Token tables held as bf16 (encoder token embeddings, decoder token embeddings not shared with their head).
    package var tablesBF16 = 0
    /// Token tables held as fp32.
    package var tablesFP32 = 0
    /// Everything else, all fp32: biases, norm scales, position tables, modality embeddings, the mask token.
    package var otherFP32 = 0

    /// The sum.
    package var total: Int { linearBF16 + linearFP32 + tablesBF16 + tablesFP32 + otherFP32 }

    package var description: String {
        func mb(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
        return "linear bf16 \(mb(linearBF16)), linear fp32 \(mb(linearFP32)), tables bf16 \(mb(tablesBF16)), tables fp32 \(mb(tablesFP32)), "
            + "other fp32 \(mb(otherFP32)); total \(mb(total))"
    }
}

extension FourMModel {
    /// The bytes of weights this model holds (see ``WeightMemory``); qk-norm scales are not counted.
    package var weightMemory: WeightMemory {
        var memory = WeightMemory()
        func add(_ linear: Linear?) {
            guard let linear else { return }
            if linear.precision == .bf16 { memory.linearBF16 += linear.weightBytes } else { memory.linearFP32 += linear.weightBytes }
            memory.otherFP32 += (linear.bias?.count ?? 0) * 4
        }
        func add(_ table: EmbeddingTable) {
            if table.isBFloat16 { memory.tablesBF16 += table.byteCount } else { memory.tablesFP32 += table.byteCount }
        }
        func add(_ norm: LayerNorm) { memory.otherFP32 += (norm.weight.count + (norm.bias?.count ?? 0)) * 4 }
        func add(_ mlp: MLP) {
            add(mlp.fc1)
            add(mlp.fc2)
            add(mlp.fc3)
        }
        for embedding in encoderEmbeddings.values {
            switch embedding.content {
            case let .pixels(proj), let .vectors(proj): add(proj)
            case let .tokens(table): add(table)
            }
            memory.otherFP32 += (embedding.positions.count + embedding.modalityEmbedding.count) * 4
        }
        for embedding in decoderEmbeddings.values {
            add(embedding.logitsHead)
            let shared = embedding.tokenEmbedding.bfloat16Matrix != nil && embedding.tokenEmbedding.bfloat16Matrix === embedding.logitsHead.weightBF16
            if !shared { add(embedding.tokenEmbedding) }
            memory.otherFP32 += (embedding.positions.count + embedding.modalityEmbedding.count) * 4
        }
        for block in encoderBlocks {
            add(block.norm1)
            add(block.attn.qkv)
            add(block.attn.proj)
            add(block.norm2)
            add(block.mlp)
        }
        add(encoderNorm)
        add(decoderProjContext)
        for block in decoderBlocks {
            add(block.norm1)
            add(block.selfAttn.qkv)
            add(block.selfAttn.proj)
            add(block.queryNorm)
            add(block.contextNorm)
            add(block.crossAttn.q)
            add(block.crossAttn.kv)
            add(block.crossAttn.proj)
            add(block.norm2)
            add(block.mlp)
        }
        add(decoderNorm)
        memory.otherFP32 += maskToken.count * 4
        return memory
    }
}
