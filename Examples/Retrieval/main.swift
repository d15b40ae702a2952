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
    // The reference settings (ROAR, 1 step, τ 0.1, top-p 0.8, seed 0), cosine similarity.
    var engine = RetrievalEngine(predictor: try pipeline.embeddingPredictor(.tokDINOv2Global), metric: .cosine)
    let files = try FileManager.default.contentsOfDirectory(atPath: arguments[2]).filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }.sorted()
    for file in files {
        let image = try Image(contentsOf: URL(fileURLWithPath: arguments[2]).appendingPathComponent(file))
        try engine.add(try pipeline.conditions([.rgb224: .image(image)]), label: file)
        print("indexed \(file)")
    }
    guard engine.count > 0 else {
        print("no images in \(arguments[2])")
        exit(1)
    }
    let hits = try engine.search(try pipeline.conditions([.caption: .text(arguments[3])]), k: min(k, engine.count))
    for hit in hits { print(String(format: "%.3f  %@", hit.score, hit.label)) }
} catch {
    print("Retrieval: \(error)")
    exit(1)
}
