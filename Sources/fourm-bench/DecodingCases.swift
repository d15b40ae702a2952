import Dispatch
import Foundation
import FourMModels
import FourMSampling
import FourMTensor

/// Sums a `bytes`-sized float buffer once per run with ``computeThreadCount`` threads (each a
/// contiguous part): the read bandwidth that bounds autoregressive decoding. Best of 5 runs
/// after one warm-up that also faults the pages in.
func measureReadBandwidth(bytes: Int) -> (timing: Timing, best: Double, threads: Int) {
    let count = bytes / MemoryLayout<Float>.stride
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
    defer { buffer.deallocate() }
    buffer.initialize(repeating: 1, count: count)
    let threads = max(1, computeThreadCount)
    let base = SendableConstPointer(UnsafePointer(buffer))
    let sink = UnsafeMutablePointer<Double>.allocate(capacity: threads)
    defer { sink.deallocate() }
    let sums = SendablePointer(sink)
    let timing = measure(warmup: 1, repeats: 5, budget: 10) {
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let start = count * t / threads, end = count * (t + 1) / threads
            sums.base[t] = sumOnce(base.base + start, count: end - start)
        }
    }
    return (timing, Double(count * MemoryLayout<Float>.stride) / timing.min, threads)
}

/// The linear products of one autoregressive token of 4M-21_B (dim 768, 12 decoder blocks,
/// SwiGLU hidden 2048, a 30 522-word caption head), one row each, over distinct random
/// weights (490 MB in fp32: no cache holds them): fp32 (OpenBLAS sgemv), oneDNN bf16 (M = 1,
/// when bf16 runs on this CPU), and the compact bf16 and int8 kernels. Interleaved rounds.
func benchmarkDecoderGemv(precisions: [ComputePrecision], bandwidth: Double) -> [Row] {
    let (d, hidden, vocabulary) = (768, 2048, 30_522)
    var shapes: [(outputs: Int, inputs: Int)] = []
    for _ in 0..<12 { shapes += [(3 * d, d), (d, d), (d, d), (d, d), (hidden, d), (hidden, d), (d, hidden)] }
    shapes.append((vocabulary, d))
    var rng = SeededGenerator(seed: 11)
    let layers = shapes.map { Linear(weight: Tensor<Float>.randomUniform(shape: [$0.outputs, $0.inputs], using: &rng), bias: nil) }
    let weights = Double(shapes.reduce(0) { $0 + $1.outputs * $1.inputs })
    let inputs = [d: Tensor<Float>.randomUniform(shape: [1, d], using: &rng), hidden: Tensor<Float>.randomUniform(shape: [1, hidden], using: &rng)]
    func token(_ layers: [Linear]) {
        for layer in layers { if let x = inputs[layer.inputs] { _ = layer(x) } }
    }
    var variants: [(name: String, bytesPerWeight: Double, body: () -> Void)] = [("fp32 weights, OpenBLAS sgemv", 4, { token(layers) })]
    if precisions.contains(.bf16) && ComputePrecision.bf16Supported {
        let bf16 = layers.map { Linear(weight: $0.weight, bias: nil, precision: .bf16) }
        variants.append(("bf16 weights, oneDNN matmul M = 1", 2, { token(bf16) }))
    }
    for format in CompactWeightFormat.allCases {
        let table = CompactWeightTable(layers, format: format)
        variants.append(("\(format.rawValue) weights, compact kernel (\(compactKernelInstructionSet))", Double(format.bytesPerWeight), {
            CompactWeights.withTable(table) { token(layers) }
        }))
    }
    guard let timings = try? measureInterleaved(warmup: 1, repeats: 10, budget: 30, variants.map { v in { v.body() } }) else { return [] }
    let plain = timings[0].min
    return zip(variants, timings).map { variant, timing in
        let bytes = weights * variant.bytesPerWeight
        var note = String(format: "%.1f MB/token, %.1f GB/s (min); %.2f× the fp32 time", bytes / 1e6, bytes / timing.min / 1e9, timing.min / plain)
        if bandwidth.isFinite { note += String(format: "; floor %.4f s (%.0f%% of the measured bandwidth)", bytes / bandwidth, bytes / timing.min / bandwidth * 100) }
        return Row(name: "decoder token products, M = 1: \(variant.name)", timing: timing, flops: 2 * weights, note: note)
    }
}

/// rgb2caption_ar32 for each loaded model, plain and with compact bf16 / int8 decoder weights,
/// interleaved; prints the tokens each variant generated against the plain model's, the
/// encoder's share (building the sequence decoder: encoder + cross-attention keys/values) and
/// the bandwidth floor when `bandwidth` was measured.
/// `contextTokens`: the encoder tokens each step's cross-attention reads keys/values of (fp32).
func benchmarkCaption(
    models: [FourMModel], dictionary: ModalityDictionary, schedule: [GenerationStep], contextTokens: Int, bandwidth: Double, into rows: inout [Row]
) throws {
    var variants: [(name: String, model: FourMModel, bytesPerWeight: Int?)] = []
    for model in models {
        variants.append((model.precision.rawValue, model, nil))
        for format in CompactWeightFormat.allCases {
            variants.append(("\(model.precision.rawValue) + \(format.rawValue) decoder weights", model.withCompactDecoderWeights(format), format.bytesPerWeight))
        }
    }
    // Generated tokens per variant, compared with the first (plain) model's.
    var sequences: [[Int32]] = []
    for variant in variants {
        var tokens: [Int32] = []
        _ = try generate(variant.model, dictionary: dictionary, schedule: schedule) { tokens = $0.generatedSequence.first ?? [] }
        sequences.append(tokens)
    }
    let steps = max(1, (sequences.first?.count ?? 1) - 1)
    let encoder = try measureInterleaved(warmup: 0, repeats: 3, budget: 10, models.map { m in { _ = try m.sequenceDecoder(dictionary, target: .caption) } })
    let timings = try measureInterleaved(warmup: 0, repeats: 3, budget: 12 * Double(variants.count), variants.map { v in {
        _ = try generate(v.model, dictionary: dictionary, schedule: schedule)
    } })
    for (i, (variant, timing)) in zip(variants, timings).enumerated() {
        let model = variant.model
        let plainIndex = i - i % (CompactWeightFormat.allCases.count + 1)
        let agree = zip(sequences[i], sequences[0]).filter { $0 == $1 }.count
        // Bytes one token reads: the decoder blocks' layers and the caption head.
        let weights = model.autoregressiveLayers { $0.modality == .caption }.reduce(0) { $0 + $1.outputs * $1.inputs }
        let bytesPerWeight = variant.bytesPerWeight ?? (model.precision == .bf16 ? 2 : 4)
        let c = model.configuration
        let crossBytes = Double(c.decoderDepth * 2 * contextTokens * c.dim * 4)
        let tokenBytes = Double(weights * bytesPerWeight) + crossBytes
        let encoderSeconds = encoder[models.count > 1 && model.precision == .bf16 ? 1 : 0].min
        var note = String(format: "%.2f× plain %@; tokens equal to plain fp32: %d/%d; %.0f MB/token (weights + %.0f MB cross-attention K/V); encoder %.3f s",
                          timing.min / timings[plainIndex].min, models.count > 1 ? model.precision.rawValue : "", agree, sequences[0].count,
                          tokenBytes / 1e6, crossBytes / 1e6, encoderSeconds)
        if bandwidth.isFinite {
            note += String(format: "; floor %.3f s (%d tokens × bytes / %.1f GB/s + encoder)", Double(steps) * tokenBytes / bandwidth + encoderSeconds, steps, bandwidth / 1e9)
        }
        rows.append(Row(name: "rgb2caption_ar32 [\(variant.name)]", timing: timing, flops: nil, note: note))
    }
    if steps != 32 { print("note: the random model stopped after \(steps) tokens instead of 32") }
}
