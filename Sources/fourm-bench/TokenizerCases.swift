import Foundation
import FourMTensor
import FourMTokenizers

/// A random-weight ViT-B VQ-VAE checkpoint with the released RGB tokenizer's shapes
/// (dim 768, 12 + 12 blocks, patch 16, latent 32, 16384 codes) at `imageSize`, written to `path`.
func writeRandomViTBTokenizer(to path: String, imageSize: Int = 224) throws {
    let d = 768, hidden = 3072, latent = 32, codes = 16384, patch = 16, channels = 3
    let grid = imageSize / patch
    var rng = SeededGenerator(seed: 3)
    let metadata: [String: String] = [
        "image_size": String(imageSize), "n_channels": "3", "n_labels": "None", "enc_type": "vit_b_enc", "dec_type": "vit_b_dec",
        "out_conv": "False", "post_mlp": "True", "patch_proj": "True", "patch_size": "16", "quant_type": "lucid",
        "codebook_size": String(codes), "num_codebooks": "1", "latent_dim": String(latent), "norm_codes": "True", "norm_latents": "False",
        "undo_std": "False",
    ]
    var w = SafeTensorsWriter(metadata: metadata)
    func random(_ shape: [Int]) -> Tensor<Float> { Tensor.randomUniform(shape: shape, low: -0.03, high: 0.03, using: &rng) }
    func block(_ prefix: String) {
        for norm in ["norm1", "norm2"] {
            w.add("\(prefix).\(norm).weight", Tensor<Float>(repeating: 1, shape: [d]))
            w.add("\(prefix).\(norm).bias", Tensor<Float>(zeros: [d]))
        }
        w.add("\(prefix).attn.qkv.weight", random([3 * d, d]))
        w.add("\(prefix).attn.qkv.bias", random([3 * d]))
        w.add("\(prefix).attn.proj.weight", random([d, d]))
        w.add("\(prefix).attn.proj.bias", random([d]))
        w.add("\(prefix).mlp.fc1.weight", random([hidden, d]))
        w.add("\(prefix).mlp.fc1.bias", random([hidden]))
        w.add("\(prefix).mlp.fc2.weight", random([d, hidden]))
        w.add("\(prefix).mlp.fc2.bias", random([d]))
    }
    func tail(_ prefix: String) {
        w.add("\(prefix).norm_mlp.weight", Tensor<Float>(repeating: 1, shape: [d]))
        w.add("\(prefix).norm_mlp.bias", Tensor<Float>(zeros: [d]))
        w.add("\(prefix).post_mlp.fc1.weight", random([hidden, d]))
        w.add("\(prefix).post_mlp.fc1.bias", random([hidden]))
        w.add("\(prefix).post_mlp.fc2.weight", random([d, hidden]))
        w.add("\(prefix).post_mlp.fc2.bias", random([d]))
        let table = sinCosTable2D(gridHeight: grid, gridWidth: grid, dim: d)  // [G·G, D] → [1, D, G, G]
        let planar = Tensor<Float>(shape: [1, d, grid, grid], scalars: (0..<d).flatMap { c in (0..<(grid * grid)).map { table[$0, c] } })
        w.add("\(prefix).pos_emb", planar)
    }
    w.add("encoder.proj.weight", random([d, channels, patch, patch]))
    w.add("encoder.proj.bias", random([d]))
    for i in 0..<12 { block("encoder.blocks.\(i)") }
    tail("encoder")
    w.add("quant_proj.weight", random([latent, d, 1, 1]))
    w.add("quant_proj.bias", random([latent]))
    w.add("quantize._codebook.embed", random([codes, latent]))
    w.add("quantize._codebook.cluster_size", Tensor<Float>(zeros: [codes]))
    w.add("quantize._codebook.initted", Tensor<Float>(repeating: 1, shape: [1]))
    w.add("post_quant_proj.weight", random([d, latent, 1, 1]))
    w.add("post_quant_proj.bias", random([d]))
    for i in 0..<12 { block("decoder.blocks.\(i)") }
    tail("decoder")
    w.add("decoder.out_proj.weight", random([patch * patch * channels, d]))
    w.add("decoder.out_proj.bias", random([patch * patch * channels]))
    try w.write(to: path)
}

/// A few thousand caption-like strings from a fixed word list (deterministic).
func syntheticCaptions(count: Int) -> [String] {
    let words = ["a", "man", "riding", "wave", "on", "top", "of", "surfboard", "photo", "cat", "sitting", "laptop", "keyboard", "two", "dogs",
                 "playing", "with", "frisbee", "grass", "red", "double", "decker", "bus", "parked", "next", "to", "tall", "brick", "building",
                 "kitchen", "counter", "bowl", "fruit", "Snowboarder", "jumping", "mountain", "café", "über", "street", "sign", "traffic", "light"]
    var rng = SeededGenerator(seed: 9)
    return (0..<count).map { _ in
        (0..<(6 + Int(rng.next() % 10))).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ") + "."
    }
}
