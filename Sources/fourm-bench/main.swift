import Foundation
import FourMModels
import FourMTensor

// fourm-bench: `swift run -c release fourm-bench [--json FILE] [--quick]`.
// Prints a markdown table; figures are wall-clock seconds (mean ± std, min) and GFLOP/s.

restartWithFasterBLASCoreIfUseful()
var jsonPath: String? = nil
var quick = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--json": jsonPath = arguments.next()
    case "--quick": quick = true
    case "--help", "-h":
        print("usage: fourm-bench [--json FILE] [--quick]\n  --quick  skip the 4M-B model pass (sgemm table only)")
        exit(0)
    default:
        FileHandle.standardError.write(Data("fourm-bench: unknown argument '\(argument)' (try --help)\n".utf8))
        exit(2)
    }
}

#if DEBUG
    let buildConfiguration = "debug (figures are meaningless: use swift run -c release fourm-bench)"
#else
    let buildConfiguration = "release"
#endif
ComputeOptions().apply()
print("# fourm-bench")
print("threads: \(blasThreadCount()) · build: \(buildConfiguration) · commit: \(gitCommit()) · cpu: \(cpuName()) · OpenBLAS core: \(openBLASCoreName())\n")
var rows: [Row] = []

// MARK: sgemm at the 4M widths: activations [196, K] × weights [N, K]ᵀ.
let gemmShapes: [(String, Int, Int, Int)] = [
    ("B qkv", 196, 768, 2304), ("B proj", 196, 768, 768), ("B fc1/fc3", 196, 768, 2048), ("B fc2", 196, 2048, 768),
    ("B logits 8192", 196, 768, 8192), ("L qkv", 196, 1024, 3072), ("L fc1", 196, 1024, 2730), ("XL qkv", 196, 2048, 6144),
]
var rng = SeededGenerator(seed: 1)
var bShapeFlops = 0.0, bShapeSeconds = 0.0
for (label, m, k, n) in gemmShapes {
    let a = Tensor<Float>.randomUniform(shape: [m, k], using: &rng)
    let w = Tensor<Float>.randomUniform(shape: [n, k], using: &rng)
    let timing = measure(warmup: 2, repeats: 20, budget: 2) { _ = linear(a, weight: w) }
    let flops = 2.0 * Double(m * n * k)
    rows.append(Row(name: "sgemm \(label) \(m)×\(k)·\(k)×\(n)", timing: timing, flops: flops))
    if label.hasPrefix("B ") && !label.contains("logits") {
        bShapeFlops += flops
        bShapeSeconds += timing.mean
    }
}
let sgemmRate = bShapeFlops / bShapeSeconds / 1e9

// MARK: the other kernels of one 4M-B block at 196 tokens.
do {
    let x = Tensor<Float>.randomNormal(shape: [1, 196, 768], using: &rng)
    let q = Tensor<Float>.randomNormal(shape: [1, 196, 768], using: &rng)
    let k = Tensor<Float>.randomNormal(shape: [1, 196, 768], using: &rng)
    let w = Tensor<Float>.randomNormal(shape: [768], using: &rng)
    let gate = Tensor<Float>.randomNormal(shape: [196, 2048], using: &rng)
    rows.append(Row(name: "attention 12 heads 196×196×64", timing: measure(repeats: 20, budget: 2) { _ = attention(q: q, k: k, v: k, heads: 12) },
                    flops: 4 * 196 * 196 * 768))
    rows.append(Row(name: "layer norm 196×768", timing: measure(repeats: 50, budget: 1) { _ = layerNorm(x, weight: w, bias: w) }, flops: nil))
    rows.append(Row(name: "softmax 2352×196", timing: measure(repeats: 50, budget: 1) { _ = softmax(q.reshaped([2352, 64])) }, flops: nil))
    rows.append(Row(name: "swiglu 196×2048", timing: measure(repeats: 50, budget: 1) { _ = swiglu(gate, gate) }, flops: nil))
}

// MARK: one encoder + decoder pass of a random 4M-21_B model (rgb@224 → tok_depth@224).
if !quick {
    guard let config = RandomCheckpoint.configuration(dim: 768, depth: 12, heads: 12, domainsIn: RandomCheckpoint.fourM21In, domainsOut: RandomCheckpoint.fourM21Out) else {
        fatalError("internal: the 4M-21_B configuration is invalid")
    }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("fourm-bench-4M-21_B.safetensors").path
    let writeStart = Date()
    try RandomCheckpoint.writer(for: config, seed: 7, fast: true).write(to: path)
    let writeSeconds = Date().timeIntervalSince(writeStart)
    let loadStart = Date()
    let model = try FourMModel(path: path)
    let loadSeconds = Date().timeIntervalSince(loadStart)
    print(String(format: "4M-21_B random checkpoint: written in %.1f s, loaded (mmap, strict) in %.3f s\n", writeSeconds, loadSeconds))

    let pixels = Tensor<Float>.randomNormal(shape: [1, 3, 224, 224], using: &rng)
    var depth = ModalityState(tokens: Tensor(zeros: [1, 196]))
    depth.inputMask = Tensor(repeating: true, shape: [1, 196])
    depth.targetMask = Tensor(repeating: false, shape: [1, 196])
    let states: ModalityDictionary = [.rgb224: ModalityState(pixels: pixels), .tokDepth224: depth]
    let timing = try measure(warmup: 1, repeats: 5, budget: 10) { _ = try model.maskedTargetPass(states, target: .tokDepth224) }
    // FLOPs (2 per multiply-add): encoder N=196, decoder M=196 over N=196 context.
    let d = 768.0, f = Double(config.mlpHiddenWidth), n = 196.0, mm = 196.0
    let encoderBlock = 2 * n * (d * 3 * d + d * d + 3 * d * f) + 4 * n * n * d
    let decoderBlock = 2 * mm * (d * 3 * d + d * d) + 4 * mm * mm * d + 2 * mm * (d * d + d * d) + 2 * n * 2 * d * d + 4 * mm * n * d + 2 * mm * 3 * d * f
    let flops = 12 * encoderBlock + 12 * decoderBlock + 2 * n * d * 768 + 2 * n * d * d + 2 * mm * d * 8192
    rows.append(Row(name: "4M-21_B encoder + decoder pass (196 rgb patches → 196 tok_depth)", timing: timing, flops: flops,
                    note: String(format: "%.0f%% of sgemm rate; reference PyTorch 0.567 s", flops / timing.mean / 1e9 / sgemmRate * 100)))
    try? FileManager.default.removeItem(atPath: path)
}

print("| case | mean s ± std | min s | GFLOP/s | note |")
print("|---|---|---|---|---|")
for row in rows { print(row.markdown) }
print(String(format: "\nsgemm rate over the 4M-B block shapes: %.1f GFLOP/s", sgemmRate))

if let jsonPath {
    let object: [String: Any] = [
        "threads": blasThreadCount(), "openblas_core": openBLASCoreName(), "build": buildConfiguration, "commit": gitCommit(), "cpu": cpuName(),
        "sgemm_rate_gflops": sgemmRate, "cases": rows.map(\.json),
    ]
    do {
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: jsonPath))
    } catch {
        FileHandle.standardError.write(Data("fourm-bench: cannot write \(jsonPath): \(error.localizedDescription)\n".utf8))
        exit(1)
    }
}
