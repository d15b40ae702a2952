import ArgumentParser
import Foundation
import FourM
import FourMDiffusion
import FourMModels
import FourMSampling
import FourMSynth
import FourMTensor
import FourMTokenizers

/// `swift run -c release fourm-bench [--json FILE] [--quick] [--only CASE[,CASE]] [--precision fp32|bf16|both]`.
/// Prints a markdown table; figures are wall-clock seconds (mean ± std, min) and GFLOP/s.
@main
struct FourMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fourm-bench",
        abstract: "Time FourM's kernels, a 4M-21_B pass, generation, the demo model and the tokenizers; print a Markdown table.",
        discussion: "Cases (for --only):\n" + BenchCase.allCases.map { "  \($0.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \($0.summary)" }.joined(separator: "\n")
            + "\n\nBuild with -c release: debug figures are meaningless.")

    @Option(help: ArgumentHelp("Also write the results as JSON (the schema scripts/bench-vs-pytorch.py reads).", valueName: "file"))
    var json: String?

    @Flag(help: "Skip the 4M-21_B model cases (pass, rgb2depth, caption2rgb, rgb2caption).")
    var quick = false

    @Option(help: ArgumentHelp("Run only these cases, comma-separated (see the list below); default: all.", valueName: "case[,case]"))
    var only: String?

    @Option(help: "The 4M-21 size of the model cases (pass, rgb2depth, caption2rgb, rgb2caption, load): B (default), L or XL. Random checkpoints are written once to the temp directory (B in F32, L and XL in BF16: 3.1 and 9.1 GB), streamed tensor by tensor.")
    var size: RandomCheckpoint.Size = .B

    @Option(help: "The 4M-21_B cases' linear layers and the DiVAE cases' convolutions: fp32 (default), bf16, or both (fp32 and bf16 interleaved, with their ratio).")
    var precision: PrecisionChoice = .fp32

    /// `--precision`'s values.
    enum PrecisionChoice: String, ExpressibleByArgument, CaseIterable {
        case fp32, bf16, both

        var precisions: [ComputePrecision] {
            switch self {
            case .fp32: return [.fp32]
            case .bf16: return [.bf16]
            case .both: return [.fp32, .bf16]
            }
        }
    }

    /// The cases `--only` selects; nil runs them all.
    var selected: Set<BenchCase>? {
        guard let only else { return nil }
        return Set(only.split(separator: ",").compactMap { BenchCase(rawValue: $0.trimmingCharacters(in: .whitespaces)) })
    }

    func validate() throws {
        guard let only else { return }
        let names = only.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        for name in names where BenchCase(rawValue: name) == nil {
            throw ValidationError("--only: unknown case '\(name)' (cases: \(BenchCase.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    func run() throws {
        restartWithFasterBLASCoreIfUseful()
        let jsonPath = json
        let quick = quick
        let precisions = precision.precisions
        #if DEBUG
            let buildConfiguration = "debug (figures are meaningless: use swift run -c release fourm-bench)"
        #else
            let buildConfiguration = "release"
        #endif
        ComputeOptions().apply()
        print("# fourm-bench")
        print("threads: \(blasThreadCount()) · build: \(buildConfiguration) · commit: \(gitCommit()) · cpu: \(cpuName()) · OpenBLAS core: \(openBLASCoreName())")
        if precisions.contains(.bf16) && !ComputePrecision.bf16Supported {
            print("note: bf16 is not supported on this CPU (oneDNN ISA \(ComputePrecision.oneDNNInstructionSet)): bf16 models fall back to fp32")
        }
        func backendName(_ precision: ComputePrecision) -> String {
            precision.resolved == .bf16
                ? "oneDNN bf16 matmul (ISA \(ComputePrecision.oneDNNInstructionSet), native bf16: \(ComputePrecision.bf16Native ? "yes" : "no"))"
                : fp32LinearUsesOneDNN ? "oneDNN f32 matmul (attention products too)" : "OpenBLAS sgemm"
        }
        print("precision: \(precisions.map { "\($0.rawValue) → \($0.resolved.rawValue), linear layers on \(backendName($0))" }.joined(separator: "; ")); in bf16 the attention products run on oneDNN bf16 too; norms stay fp32\n")
        var rows: [Row] = []
        let only = selected
        func wanted(_ c: BenchCase) -> Bool { only.map { $0.contains(c) } ?? true }

        // MARK: sgemm at the 4M widths: activations [196, K] × weights [N, K]ᵀ.
        let gemmShapes: [(String, Int, Int, Int)] = [
            ("B qkv", 196, 768, 2304), ("B proj", 196, 768, 768), ("B fc1/fc3", 196, 768, 2048), ("B fc2", 196, 2048, 768),
            ("B logits 8192", 196, 768, 8192), ("L qkv", 196, 1024, 3072), ("L fc1", 196, 1024, 2730), ("XL qkv", 196, 2048, 6144),
        ]
        var rng = SeededGenerator(seed: 1)
        var bShapeFlops = 0.0, bShapeSeconds = 0.0, bShapeMinSeconds = 0.0
        // oneDNN's f32 matmul on the same shapes, interleaved with sgemm: FourM's fp32 path stays
        // on OpenBLAS (the parity path); these rows are the measurement behind that choice.
        var dnnlFlops = 0.0, dnnlMinSeconds = 0.0
        for (label, m, k, n) in gemmShapes where wanted(.sgemm) {
            let a = Tensor<Float>.randomUniform(shape: [m, k], using: &rng)
            let w = Tensor<Float>.randomUniform(shape: [n, k], using: &rng)
            var bodies: [() throws -> Void] = [{ _ = linear(a, weight: w) }]
            if let runtime = OneDNNRuntime.shared {
                var out = [Float](repeating: 0, count: m * n)
                bodies.append {
                    a.withUnsafeBufferPointer { pa in
                        w.withUnsafeBufferPointer { pw in
                            out.withUnsafeMutableBufferPointer { po in
                                guard let x = pa.baseAddress, let weight = pw.baseAddress, let y = po.baseAddress else { return }
                                _ = runtime.linearF32(x, rows: m, weight: weight, outputs: n, inputs: k, bias: nil, out: y)
                            }
                        }
                    }
                }
            }
            let timings = try measureInterleaved(warmup: 2, repeats: 20, budget: 4, bodies)
            let timing = timings[0]
            let flops = 2.0 * Double(m * n * k)
            rows.append(Row(name: "sgemm \(label) \(m)×\(k)·\(k)×\(n)", timing: timing, flops: flops))
            if timings.count == 2 {
                rows.append(Row(name: "f32 matmul (oneDNN) \(label) \(m)×\(k)·\(k)×\(n)", timing: timings[1], flops: flops,
                                note: String(format: "oneDNN/sgemm time %.2f (minima, interleaved)", timings[1].min / timing.min)))
            }
            if label.hasPrefix("B ") && !label.contains("logits") {
                bShapeFlops += flops
                bShapeSeconds += timing.mean
                bShapeMinSeconds += timing.min
                if timings.count == 2 {
                    dnnlFlops += flops
                    dnnlMinSeconds += timings[1].min
                }
            }
        }
        let sgemmRate = bShapeSeconds > 0 ? bShapeFlops / bShapeSeconds / 1e9 : .nan
        // The same shapes in bf16 through oneDNN (rounded input per call, bf16 weight made once).
        var bf16Flops = 0.0, bf16Seconds = 0.0, bf16MinSeconds = 0.0
        for (label, m, k, n) in gemmShapes where wanted(.bf16Matmul) && precisions.contains(.bf16) && ComputePrecision.bf16Supported {
            let a = Tensor<Float>.randomUniform(shape: [m, k], using: &rng)
            let layer = Linear(weight: Tensor<Float>.randomUniform(shape: [n, k], using: &rng), bias: nil, precision: .bf16)
            let timing = measure(warmup: 2, repeats: 20, budget: 2) { _ = layer(a) }
            let flops = 2.0 * Double(m * n * k)
            rows.append(Row(name: "bf16 matmul (oneDNN) \(label) \(m)×\(k)·\(k)×\(n)", timing: timing, flops: flops))
            if label.hasPrefix("B ") && !label.contains("logits") {
                bf16Flops += flops
                bf16Seconds += timing.mean
                bf16MinSeconds += timing.min
            }
        }
        let bf16Rate = bf16Seconds > 0 ? bf16Flops / bf16Seconds / 1e9 : .nan

        // MARK: read bandwidth (the floor of autoregressive decoding) and few-row products.
        var bandwidth = Double.nan  // bytes/s, best of the runs
        if wanted(.bandwidth) {
            let result = measureReadBandwidth(bytes: 1 << 30)
            bandwidth = result.best
            rows.append(Row(name: "read bandwidth, 1 GiB summed once by \(result.threads) threads", timing: result.timing, flops: nil,
                            note: String(format: "%.1f GB/s best, %.1f GB/s mean", result.best / 1e9, Double(1 << 30) / result.timing.mean / 1e9)))
        }
        if wanted(.gemv) {
            rows += benchmarkDecoderGemv(precisions: precisions, bandwidth: bandwidth)
        }

        // MARK: the other kernels of one 4M-B block at 196 tokens.
        if wanted(.kernels) {
            let x = Tensor<Float>.randomNormal(shape: [1, 196, 768], using: &rng)
            let q = Tensor<Float>.randomNormal(shape: [1, 196, 768], using: &rng)
            let k = Tensor<Float>.randomNormal(shape: [1, 196, 768], using: &rng)
            let w = Tensor<Float>.randomNormal(shape: [768], using: &rng)
            let gate = Tensor<Float>.randomNormal(shape: [196, 2048], using: &rng)
            rows.append(Row(name: "attention 12 heads 196×196×64", timing: measure(repeats: 20, budget: 2) { _ = attention(q: q, k: k, v: k, heads: 12) },
                            flops: 4 * 196 * 196 * 768))
            if precisions.contains(.bf16) && ComputePrecision.bf16Supported {
                rows.append(Row(name: "attention 12 heads 196×196×64 [bf16]",
                                timing: measure(repeats: 20, budget: 2) { _ = attention(q: q, k: k, v: k, heads: 12, precision: .bf16) },
                                flops: 4 * 196 * 196 * 768))
            }
            rows.append(Row(name: "layer norm 196×768", timing: measure(repeats: 50, budget: 1) { _ = layerNorm(x, weight: w, bias: w) }, flops: nil))
            rows.append(Row(name: "softmax 2352×196", timing: measure(repeats: 50, budget: 1) { _ = softmax(q.reshaped([2352, 64])) }, flops: nil))
            rows.append(Row(name: "swiglu 196×2048", timing: measure(repeats: 50, budget: 1) { _ = swiglu(gate, gate) }, flops: nil))
        }

        // MARK: one encoder + decoder pass of a random 4M-21 model (rgb@224 → tok_depth@224).
        let sizeName = "4M-21_\(size.rawValue)"
        let modelCases: [BenchCase] = [.load, .pass, .rgb2depth, .caption2rgb, .rgb2caption]
        if !quick && modelCases.contains(where: wanted) {
            guard let config = size.configuration else { throw BenchError("internal error: the \(sizeName) configuration is invalid") }
            // Kept between runs (same seed, same bytes); FOURM_BENCH_REWRITE=1 writes it again.
            // B in F32 (as before), L and XL in BF16 (XL in F32 would be 18 GB); streamed.
            let fileType: DType = size == .B ? .f32 : .bf16
            let fileName = size == .B ? "fourm-bench-4M-21_B-seed7.safetensors" : "fourm-bench-\(sizeName)-seed7-bf16.safetensors"
            let path = FileManager.default.temporaryDirectory.appendingPathComponent(fileName).path
            let writeStart = Date()
            if !FileManager.default.fileExists(atPath: path) || ProcessInfo.processInfo.environment["FOURM_BENCH_REWRITE"] != nil {
                try RandomCheckpoint.write(config, to: path, seed: 7, fast: true, dtype: fileType)
            }
            let writeSeconds = Date().timeIntervalSince(writeStart)
            let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            print(String(format: "%@ random checkpoint %@ (%@, %.2f GB): ready in %.1f s; peak RSS before loading %.2f GiB", sizeName, path, fileType.rawValue,
                         Double(fileBytes) / 1e9, writeSeconds, peakRSSGiB()))

            // MARK: load: model init to the first forward (issue 14: ≤ 1 s, peak RSS ≤ file + 400 MB).
            if wanted(.load) {
                let precision = precisions[0]
                let loadStart = Date()
                let model = try FourMModel(path: path, precision: precision)
                let loadSeconds = Date().timeIntervalSince(loadStart)
                var depth = ModalityState(tokens: Tensor(zeros: [1, 196]))
                depth.inputMask = Tensor(repeating: true, shape: [1, 196])
                depth.targetMask = Tensor(repeating: false, shape: [1, 196])
                let pixels = Tensor<Float>.randomNormal(shape: [1, 3, 224, 224], using: &rng)
                let forwardStart = Date()
                _ = try model.maskedTargetPass([.rgb224: ModalityState(pixels: pixels), .tokDepth224: depth], target: .tokDepth224)
                let forwardSeconds = Date().timeIntervalSince(forwardStart)
                let rss = peakRSSGiB()
                let budget = Double(fileBytes) / 1_073_741_824 + 400e6 / 1_073_741_824
                print(String(format: "load %@ [%@]: init %.3f s + first forward %.3f s = %.3f s (goal ≤ 1 s); peak RSS %.2f GiB = file %.2f GiB %+.0f MB (goal ≤ file + 400 MB: %@)",
                             sizeName, model.precision.rawValue, loadSeconds, forwardSeconds, loadSeconds + forwardSeconds, rss,
                             Double(fileBytes) / 1_073_741_824, (rss * 1_073_741_824 - Double(fileBytes)) / 1e6, rss <= budget ? "met" : "missed"))
                print("  weights held: \(model.weightMemory)")
                rows.append(Row(name: "load \(sizeName) [\(model.precision.rawValue)]: init + first forward", timing: Timing(samples: [loadSeconds + forwardSeconds]), flops: nil,
                                note: String(format: "init %.3f s, forward %.3f s, peak RSS %.2f GiB", loadSeconds, forwardSeconds, rss)))
            }
        }
        if !quick && [BenchCase.pass, .rgb2depth, .caption2rgb, .rgb2caption].contains(where: wanted) {
            guard let config = size.configuration else { throw BenchError("internal error: the \(sizeName) configuration is invalid") }
            let fileName = size == .B ? "fourm-bench-4M-21_B-seed7.safetensors" : "fourm-bench-\(sizeName)-seed7-bf16.safetensors"
            let path = FileManager.default.temporaryDirectory.appendingPathComponent(fileName).path
            var models: [FourMModel] = []
            for precision in precisions {
                let loadStart = Date()
                models.append(try FourMModel(path: path, precision: precision))
                let loadSeconds = Date().timeIntervalSince(loadStart)
                print(String(format: "%@ random checkpoint (%@): loaded (read, strict) in %.3f s; peak RSS %.2f GiB", sizeName, models[models.count - 1].precision.rawValue,
                             loadSeconds, peakRSSGiB()))
                print("  weights held: \(models[models.count - 1].weightMemory)")
            }
            print("")
            /// Rows of one case, one per precision (measured interleaved), plus the bf16/fp32 ratio of the minima.
            func addRows(_ name: String, _ timings: [Timing], flops: Double? = nil, note: String) {
                for (m, timing) in zip(models, timings) {
                    let rate = flops.map { $0 / timing.mean / 1e9 }
                    let reference = m.precision == .bf16 ? bf16Rate : sgemmRate
                    let share = (rate != nil && reference.isFinite) ? String(format: "%.0f%% of the %@ matmul rate; ", rate! / reference * 100, m.precision.rawValue) : ""
                    rows.append(Row(name: "\(name) [\(m.precision.rawValue)]", timing: timing, flops: flops, note: share + note))
                }
                if timings.count == 2 {
                    print(String(format: "%@: bf16/fp32 time ratio %.3f (min %.4f s / %.4f s, interleaved)", name, timings[1].min / timings[0].min, timings[1].min, timings[0].min))
                }
                print(String(format: "%@: peak RSS so far %.2f GiB (%@)", name, peakRSSGiB(), models.map(\.precision.rawValue).joined(separator: " + ")))
            }

            let pixels = Tensor<Float>.randomNormal(shape: [1, 3, 224, 224], using: &rng)
            var depth = ModalityState(tokens: Tensor(zeros: [1, 196]))
            depth.inputMask = Tensor(repeating: true, shape: [1, 196])
            depth.targetMask = Tensor(repeating: false, shape: [1, 196])
            let states: ModalityDictionary = [.rgb224: ModalityState(pixels: pixels), .tokDepth224: depth]
            let timings = wanted(.pass) ? try measureInterleaved(warmup: 1, repeats: 5, budget: 10 * Double(models.count), models.map { m in { _ = try m.maskedTargetPass(states, target: .tokDepth224) } }) : []
            // FLOPs (2 per multiply-add): encoder N=196, decoder M=196 over N=196 context.
            let d = Double(config.dim), f = Double(config.mlpHiddenWidth), n = 196.0, mm = 196.0
            let encoderBlock = 2 * n * (d * 3 * d + d * d + 3 * d * f) + 4 * n * n * d
            let decoderBlock = 2 * mm * (d * 3 * d + d * d) + 4 * mm * mm * d + 2 * mm * (d * d + d * d) + 2 * n * 2 * d * d + 4 * mm * n * d + 2 * mm * 3 * d * f
            let flops = Double(config.encoderDepth) * encoderBlock + Double(config.decoderDepth) * decoderBlock + 2 * n * d * 768 + 2 * n * d * d + 2 * mm * d * 8192
            if wanted(.pass) { addRows("\(sizeName) encoder + decoder pass (196 rgb patches → 196 tok_depth)", timings, flops: flops, note: size == .B ? "reference PyTorch 0.567 s" : "") }

            // Generation cases (spec/generation.md; same settings as the reference measurements).
            let rgb: ModalityDictionary = [.rgb224: ModalityState(pixels: pixels), .tokDepth224: .emptyImageTarget(batch: 1, tokens: 196)]
            let oneStep = [GenerationStep(target: .tokDepth224, scheme: .maskGIT, tokenCount: 196, temperature: 1)]
            if wanted(.rgb2depth) { addRows("rgb2depth_1step (MaskGIT, 1 step)", try measureInterleaved(repeats: 3, budget: 10 * Double(models.count), models.map { m in {
                _ = try generate(m, dictionary: rgb, schedule: oneStep, options: GenerationOptions(seed: 1))
            } }), note: size == .B ? "reference 0.567 s, target ≤ 0.42 s" : "\(sizeName)") }

            let captionIDs: [Int32] = [4321, 5050, 6261, 4321, 8545, 4926, 5122, 4925, 4321, 4269]
            let text: ModalityDictionary = [.caption: .textCondition(captionIDs), .tokRGB224: .emptyImageTarget(batch: 1, tokens: 196)]
            let caption2rgb = try buildChainedSchedule(
                conditions: [.caption],
                targets: [TargetSettings(.tokRGB224, scheme: .maskGIT, tokens: 196, steps: 8, tokenSchedule: .linear, temperature: 3, guidance: .scale(3))],
                growConditioning: false)
            if wanted(.caption2rgb) { addRows("caption2rgb_8step (MaskGIT 8 linear, guidance 3, τ 3)", try measureInterleaved(warmup: 0, repeats: 2, budget: 20 * Double(models.count), models.map { m in {
                _ = try generate(m, dictionary: text, schedule: caption2rgb, options: GenerationOptions(seed: 1))
            } }), note: size == .B ? "reference 6.17 s, target ≤ 3.1 s" : "\(sizeName)") }

            let toCaption: ModalityDictionary = [.rgb224: ModalityState(pixels: pixels), .caption: .emptySequenceTarget(batch: 1, tokens: 33)]
            let ar = [GenerationStep(target: .caption, scheme: .autoregressive, tokenCount: nil, temperature: 0)]
            if wanted(.rgb2caption) {
                // Context: 196 rgb patches + the caption's leading [S_1] input.
                try benchmarkCaption(models: models, dictionary: toCaption, schedule: ar, contextTokens: 197, bandwidth: bandwidth, into: &rows)
            }
        }

        // MARK: the shipped demo model, with the README's two commands' settings.
        if wanted(.demo) {
            let loadStart = Date()
            let demo = try FourM.Pipeline()
            print(String(format: "demo model: loaded (tokenizers included) in %.3f s\n", Date().timeIntervalSince(loadStart)))
            // Examples/Assets/scene.png is scene 9 of world seed 4.
            let scene = try SyntheticWorld(seed: 4, configuration: SynthConfiguration(width: 64, height: 64)).scene(at: 9)
            let rgb: Modality = "rgb@64"
            var rgbToMaps = SchedulePreset.rgbToAllFourM(demo.model, excluding: [rgb])
            rgbToMaps.targets = rgbToMaps.targets.filter { ["tok_depth", "tok_normal", "tok_semseg", "caption", "det"].contains($0.modality.baseName) }
            rows.append(Row(name: "demo rgb → depth, normal, semseg, caption, det (+ decode)", timing: try measure(repeats: 10, budget: 5) {
                let result = try demo.generate(from: [rgb: .image(scene.rgb)], preset: rgbToMaps, seed: 1)
                for m in rgbToMaps.targets.map(\.modality) where m.baseName.hasPrefix("tok_") { _ = try result.image(m) }
            }, flops: nil, note: "README's first command"))
            let toRGB = SchedulePreset(targets: [TargetSettings("tok_rgb@64", scheme: .roar, tokens: 64, steps: 16, temperature: 1, guidance: .scale(3))])
            rows.append(Row(name: "demo caption → rgb (ROAR 16, guidance 3, + decode)", timing: try measure(repeats: 10, budget: 5) {
                let result = try demo.generate(from: ["caption": .text(scene.caption)], preset: toRGB, seed: 1)
                _ = try result.image("tok_rgb@64")
            }, flops: nil, note: "README's caption → RGB variant"))
        }

        // MARK: 8 callers sharing one demo Pipeline (issue 15: concurrency by design).
        if wanted(.concurrent) {
            let demo = try FourM.Pipeline()
            let scene = try SyntheticWorld(seed: 4, configuration: SynthConfiguration(width: 64, height: 64)).scene(at: 9)
            let preset = SchedulePreset(targets: [
                TargetSettings("tok_depth@64", scheme: .roar, tokens: 64, steps: 1, temperature: 0.01, guidance: .scale(2)),
                TargetSettings("tok_semseg@64", scheme: .maskGIT, tokens: 64, steps: 4, temperature: 0.5),
                TargetSettings("caption", scheme: .autoregressive, tokens: 32, temperature: 0.5),
            ])
            let request = { @Sendable (seed: UInt64) in
                _ = try? demo.generate(from: ["rgb@64": .image(scene.rgb)], preset: preset, seed: seed).decodedValues("tok_depth@64")
            }
            request(0)
            let sequentialStart = Date()
            for seed in 1...8 { request(UInt64(seed)) }
            let sequential = Date().timeIntervalSince(sequentialStart)
            let concurrentStart = Date()
            // Eight threads at once (GCD's concurrentPerform would run only one per core).
            let group = DispatchGroup()
            for seed in 1...8 {
                group.enter()
                Thread {
                    request(UInt64(seed))
                    group.leave()
                }.start()
            }
            group.wait()
            let concurrent = Date().timeIntervalSince(concurrentStart)
            let ratio = concurrent / sequential
            print(String(format: "demo: 8 requests sequential %.3f s, 8 concurrent callers %.3f s, ratio %.2f", sequential, concurrent, ratio)
                  + " (bound 1.5: \(ratio <= 1.5 ? "met" : "MISSED"))\n")
        }

        // MARK: tokenizers (issue: text throughput, ViT-B VQ-VAE encode + decode at 224).
        if wanted(.text) {
            let candidates = [ProcessInfo.processInfo.environment["FOURM_TEXT_TOKENIZER"], "../shared/fixtures/text_tokenizer_4m_wordpiece_30k.json"].compactMap { $0 }
            if let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }),
                let tokenizer = try? WordPieceTokenizer(contentsOf: URL(fileURLWithPath: path))
            {
                let captions = syntheticCaptions(count: 4000)
                let bytes = Double(captions.reduce(0) { $0 + $1.utf8.count })
                let timing = measure(repeats: 5, budget: 5) { for c in captions { _ = tokenizer.encode(c) } }
                rows.append(Row(name: "text tokenization, 4000 captions", timing: timing, flops: nil, note: String(format: "%.1f MB/s", bytes / timing.mean / 1e6)))
            } else {
                print("text tokenization skipped: set FOURM_TEXT_TOKENIZER to text_tokenizer_4m_wordpiece_30k.json")
            }
        }
        if wanted(.vqvae) {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("fourm-bench-vit-b-vqvae.safetensors").path
            if !FileManager.default.fileExists(atPath: path) { try writeRandomViTBTokenizer(to: path) }
            let tokenizer = try VQImageTokenizer(path: path)
            let image = Tensor<Float>.randomUniform(shape: [1, 3, 224, 224], using: &rng)
            var ids = try tokenizer.encode(image)
            rows.append(Row(name: "ViT-B VQ-VAE encode 224 (196 tokens)", timing: try measure(repeats: 5, budget: 5) { ids = try tokenizer.encode(image) }, flops: nil))
            rows.append(Row(name: "ViT-B VQ-VAE decode 224", timing: try measure(repeats: 5, budget: 5) { _ = try tokenizer.decode(ids: ids) }, flops: nil))
        }

        // MARK: diffusion decoders (one denoiser call with the released shapes, random weights).
        // The conv ceiling first: the UNet's largest convolutions at 224 (the 56×56 and 28×28
        // levels, 3×3 pad 1), fp32 im2col + sgemm vs oneDNN f32 vs oneDNN bf16 (both NCHW in and
        // out, reorders included) vs the bf16 primitive alone (input already blocked bf16).
        var convCeiling = Double.nan
        if wanted(.unet) {
            let convShapes: [(Int, Int, Int)] = [(256, 256, 56), (512, 256, 56), (512, 512, 28), (1024, 512, 28)]
            var ceilingFlops = 0.0, ceilingSeconds = 0.0
            for (c, o, side) in convShapes {
                let x = Tensor<Float>.randomNormal(shape: [1, c, side, side], using: &rng)
                let weight = Tensor<Float>.randomNormal(shape: [o, c, 3, 3], std: 0.02, using: &rng)
                let bias = Tensor<Float>.randomNormal(shape: [o], using: &rng)
                let flops = 2.0 * Double(o * c * 9 * side * side)
                let label = "conv 3×3 \(c)→\(o) @\(side)×\(side)"
                let scratch = ConvolutionScratch()
                var bodies: [() throws -> Void] = [{ _ = conv2d(x, weight: weight, bias: bias, padding: 1, scratch: scratch) }]
                var names = ["\(label) fp32 im2col+sgemm"]
                let f32 = OneDNNConvolution(weight: weight, bias: bias, stride: 1, padding: 1, type: .f32)
                if f32(x) != nil {
                    bodies.append { _ = f32(x) }
                    names.append("\(label) oneDNN f32 (\(f32.implementation(batch: 1, height: side, width: side) ?? "?"), NCHW reorders incl.)")
                }
                let bf16 = OneDNNConvolution(weight: weight, bias: bias, stride: 1, padding: 1, type: .bf16)
                let bf16Runs = precisions.contains(.bf16) && ComputePrecision.bf16Supported && bf16(x) != nil
                if bf16Runs {
                    bodies.append { _ = bf16(x) }
                    names.append("\(label) oneDNN bf16 (\(bf16.implementation(batch: 1, height: side, width: side) ?? "?"), NCHW reorders incl.)")
                }
                let timings = try measureInterleaved(warmup: 1, repeats: 5, budget: 4, bodies)
                for (name, timing) in zip(names, timings) { rows.append(Row(name: name, timing: timing, flops: flops)) }
                // What the NCHW ↔ blocked reorders cost: the f32 primitive alone.
                if names.count > 1, let seconds = f32.primitiveSeconds(batch: 1, height: side, width: side, repeats: 5) {
                    rows.append(Row(name: "\(label) oneDNN f32 primitive alone (blocked in/out, no reorders)", timing: Timing(samples: seconds), flops: flops))
                }
                if bf16Runs, let seconds = bf16.primitiveSeconds(batch: 1, height: side, width: side, repeats: 5) {
                    let timing = Timing(samples: seconds)
                    rows.append(Row(name: "\(label) oneDNN bf16 primitive alone (conv ceiling)", timing: timing, flops: flops))
                    ceilingFlops += flops
                    ceilingSeconds += timing.min
                }
            }
            if ceilingSeconds > 0 { convCeiling = ceilingFlops / ceilingSeconds / 1e9 }
        }
        let diffusionCases: [(BenchCase, String, String, Int)] = [
            (.unet, "unet_patched", "DiVAE UNet step 224 (unet_patched, RGB)", 3), (.uvit, "uvit_b_p4_f16", "DiVAE UViT step 224 (uvit_b_p4_f16, edges)", 1),
        ]
        for (benchCase, preset, label, channels) in diffusionCases where wanted(benchCase) {
            // fp32 twice when oneDNN makes f32 convolutions: im2col + sgemm, then oneDNN f32.
            var variants: [(String, ComputePrecision, Conv2d.FP32Backend)] = []
            for p in precisions {
                if p == .fp32 {
                    variants.append(("fp32, convs im2col+sgemm", .fp32, .im2col))
                    if OneDNNConvolution.isAvailable(.f32) { variants.append(("fp32, convs oneDNN f32", .fp32, .oneDNN)) }
                } else {
                    variants.append(("\(p.resolved.rawValue), convs + linears " + (p.resolved == .bf16 ? "oneDNN bf16" : "fp32 (bf16 unsupported here)"), p, .im2col))
                }
            }
            let steps = variants.map { variant in
                Conv2d.$fp32Backend.withValue(variant.2) {
                    DiffusionStepBenchmarkCase(name: preset, imageSize: 224, channels: channels, precision: variant.1)
                }
            }
            var t = 600
            let timings = try measureInterleaved(warmup: 1, repeats: 3, budget: 30, steps.map { step in { t -= 1; _ = step.call(t) } })
            for (variant, (step, timing)) in zip(variants, zip(steps, timings)) {
                let rate = step.flops / timing.min / 1e9
                var note = step.precision == .bf16
                    ? (convCeiling.isFinite ? String(format: "%.0f%% of the bf16 conv ceiling (min); ", rate / convCeiling * 100) : "")
                    : (sgemmRate.isFinite ? String(format: "%.0f%% of sgemm rate; ", step.flops / timing.mean / 1e9 / sgemmRate * 100) : "")
                note += String(format: "%.2f× the first row (minima); 25-step decode ≈ %.1f s", timing.min / timings[0].min, 25 * timing.mean)
                rows.append(Row(name: "\(label) [\(variant.0)]", timing: timing, flops: step.flops, note: note))
            }
        }
        if convCeiling.isFinite {
            print(String(format: "bf16 conv ceiling (oneDNN primitive alone, UNet's largest 3×3 shapes, from the minima): %.1f GFLOP/s", convCeiling))
        }

        print("| case | mean s ± std | min s | GFLOP/s | note |")
        print("|---|---|---|---|---|")
        for row in rows { print(row.markdown) }
        if sgemmRate.isFinite {
            print(String(format: "\nsgemm rate over the 4M-B block shapes: %.1f GFLOP/s (from the minima: %.1f)", sgemmRate, bShapeFlops / bShapeMinSeconds / 1e9))
        }
        if dnnlMinSeconds > 0 {
            print(String(format: "oneDNN f32 matmul over the 4M-B block shapes (minima, interleaved with sgemm): %.1f GFLOP/s, %.2f× sgemm's time", dnnlFlops / dnnlMinSeconds / 1e9, dnnlMinSeconds / bShapeMinSeconds))
        }
        if bf16Rate.isFinite {
            print(String(format: "bf16 matmul rate (oneDNN) over the 4M-B block shapes: %.1f GFLOP/s, %.2f× sgemm (from the minima: %.1f, %.2f×)", bf16Rate,
                         bf16Rate / sgemmRate, bf16Flops / bf16MinSeconds / 1e9, bShapeMinSeconds / bf16MinSeconds))
        }

        if let jsonPath {
            let object: [String: Any] = [
                "threads": blasThreadCount(), "openblas_core": openBLASCoreName(), "build": buildConfiguration, "commit": gitCommit(), "cpu": cpuName(),
                "sgemm_rate_gflops": jsonNumber(sgemmRate), "cases": rows.map(\.json),
                "precisions": precisions.map { $0.resolved.rawValue }, "backends": precisions.map { backendName($0) },
                "bf16_matmul_rate_gflops": jsonNumber(bf16Rate), "bf16_conv_ceiling_gflops": jsonNumber(convCeiling),
            ]
            do {
                try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: jsonPath), options: .atomic)
            } catch {
                throw BenchError("cannot write \(jsonPath): \(error.localizedDescription)")
            }
        }
    }
}

/// A benchmark case `--only` can select.
enum BenchCase: String, CaseIterable, ExpressibleByArgument {
    case sgemm
    case bf16Matmul = "bf16-matmul"
    case bandwidth, gemv, kernels, load, pass, rgb2depth, caption2rgb, rgb2caption, demo, concurrent, text, vqvae, unet, uvit

    /// One line for `--help`.
    var summary: String {
        switch self {
        case .sgemm: return "sgemm at the 4M widths (the reference GFLOP/s rate)"
        case .bf16Matmul: return "the same shapes in bf16 through oneDNN (--precision bf16/both)"
        case .bandwidth: return "memory read bandwidth: 1 GiB summed once with the configured threads"
        case .gemv: return "one token's 4M-21_B decoder products (M = 1): fp32 sgemv, oneDNN bf16, compact bf16/int8"
        case .kernels: return "attention, layer norm, softmax, SwiGLU of one 4M-B block"
        case .load: return "model init to first forward of the --size file (run alone: peak RSS is the process's)"
        case .pass: return "one 4M-21_B encoder + decoder pass (random checkpoint)"
        case .rgb2depth: return "4M-21_B rgb → tok_depth, MaskGIT 1 step"
        case .caption2rgb: return "4M-21_B caption → tok_rgb, MaskGIT 8 steps, guidance 3"
        case .rgb2caption: return "4M-21_B rgb → caption, 32 greedy tokens (plain, compact bf16 and int8 decoder weights; add bandwidth for the floor)"
        case .demo: return "the shipped demo model: the README's two commands"
        case .concurrent: return "8 callers sharing one demo Pipeline"
        case .text: return "WordPiece on 4000 captions (FOURM_TEXT_TOKENIZER or fixtures)"
        case .vqvae: return "ViT-B VQ-VAE encode and decode at 224"
        case .unet: return "one DiVAE patched-UNet denoiser step at 224"
        case .uvit: return "one DiVAE UViT denoiser step at 224"
        }
    }
}

/// A failure of the benchmark itself (not of a measured case).
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A JSON number, or null for NaN and infinities (JSONSerialization rejects those).
func jsonNumber(_ value: Double) -> Any { value.isFinite ? value : NSNull() }

extension RandomCheckpoint.Size: ExpressibleByArgument {}

/// The process's peak resident set size so far (getrusage `ru_maxrss`, KiB on Linux), in GiB.
func peakRSSGiB() -> Double {
    var usage = rusage()
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return .nan }
    return Double(usage.ru_maxrss) / 1_048_576
}
