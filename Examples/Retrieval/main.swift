// Retrieval: index images by the global DINOv2 embedding that 4M predicts for them, then
// query the index with a caption (any-to-RGB retrieval, spec/generation.md 8).
// Run:   swift run -c release Retrieval <bundle-folder> <image-folder> "a caption" [k]
// Needs: a 4M-21 bundle with the tok_dinov2_global tokenizer and the text tokenizer.
import Foundation
import FourM

let arguments = CommandLine.arguments
guard arguments.count >= 4 else {
    print("usage: Retrieval <bundle-folder> <image-folder> <caption> [k]\nGet weights: see Documentation/LoadingWeights.md.")
    exit(2)
}
let k = arguments.count > 4 ? max(Int(arguments[4]) ?? 3, 1) : 3
do {
    let pipeline = try Pipeline(bundle: URL(fileURLWithPath: arguments[1]), outputs: [.tokDINOv2Global])
    // Reference settings: ROAR, 1 step, τ 0.1, top-p 0.8, seed 0.
    let preset = SchedulePreset(targets: [TargetSettings(.tokDINOv2Global, scheme: .roar, tokens: 16, steps: 1, temperature: 0.1)],
                                filter: SamplingFilter(topP: 0.8))
    func embedding(_ input: [Modality: PipelineInput]) throws -> Tensor<Float> {
        let result = try pipeline.generate(from: input, preset: preset, seed: 0)
        guard let values = try result.decodedValues(.tokDINOv2Global) else { throw FourMError.invalidInput(modality: "tok_dinov2_global", expected: "tokens", actual: "none") }
        return values.reshaped([1, -1])
    }
    let files = try FileManager.default.contentsOfDirectory(atPath: arguments[2]).filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted()
    var index: EmbeddingIndex? = nil
    for file in files {
        let image = try Image(contentsOf: URL(fileURLWithPath: arguments[2]).appendingPathComponent(file))
        let vector = try embedding([.rgb224: .image(image)])
        if index == nil { index = EmbeddingIndex(dimension: vector.shape[1], metric: .cosine) }
        try index?.add(vector, labels: [file])
        print("indexed \(file)")
    }
    guard let gallery = index else {
        print("no images in \(arguments[2])")
        exit(1)
    }
    let query = try embedding([.caption: .text(arguments[3])])
    for hit in try gallery.search(query, k: k)[0] { print(String(format: "%.3f  %@", hit.score, hit.label)) }
} catch {
    print("Retrieval: \(error)")
    exit(1)
}
