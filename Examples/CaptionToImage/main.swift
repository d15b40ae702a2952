// CaptionToImage: caption → CLIP tokens → RGB tokens → picture, chained with classifier-free
// guidance (the reference's T2CR_roar49-25_cfg3 recipe), then decoded by the RGB tokenizer.
// Run:   swift run -c release CaptionToImage <bundle-folder> "a red bus in the snow" [out.png] [steps]
// Needs: a bundle with the 4M model, the text tokenizer and the tok_rgb tokenizer.
import Foundation
import FourM

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    print("usage: CaptionToImage <bundle-folder> <caption> [out.png] [steps]\nGet weights: see Documentation/LoadingWeights.md.")
    exit(2)
}
let output = arguments.count > 3 ? arguments[3] : "caption2image.png"
do {
    let bundle = try ModelBundle(directory: URL(fileURLWithPath: arguments[1]))
    let model = try FourMModel(path: bundle.model.path)
    let resolution = model.outputModalities.first { $0.baseName == "tok_rgb" }?.resolution ?? 224
    var preset = SchedulePreset.captionToCLIPToRGB(resolution: resolution)
    if arguments.count > 4, let steps = Int(arguments[4]), steps > 0 {
        for i in preset.targets.indices { preset.targets[i].steps = min(steps, preset.targets[i].tokens) }
    }
    let rgb = preset.targets[preset.targets.count - 1].modality
    let pipeline = try Pipeline(bundle: bundle, outputs: [rgb], model: model)
    let result = try pipeline.generate(from: [.caption: .text(arguments[2])], preset: preset, seed: 1) { step in
        print("step \(step.index + 1): \(step.step.target) (\(step.committedPositions.first?.count ?? 0) tokens)")
    }
    guard let image = try result.image(rgb) else {
        print("the bundle's \(rgb) tokenizer produced no picture")
        exit(1)
    }
    try image.writePNG(to: URL(fileURLWithPath: output))
    print("wrote \(output)")
} catch {
    print("CaptionToImage: \(error)")
    exit(1)
}
