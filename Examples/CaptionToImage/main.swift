// CaptionToImage: caption → CLIP tokens → RGB tokens → picture, chained with classifier-free
// guidance (the reference's T2CR_roar49-25_cfg3 recipe), then decoded by the RGB tokenizer.
// Run:   swift run -c release CaptionToImage <bundle-folder|demo> "a red bus in the snow" [out.png] [steps]
//        e.g. swift run -c release CaptionToImage demo "a large red cube left of a small blue sphere"
// Needs: a bundle with the 4M model, the text tokenizer and the tok_rgb tokenizer (models
//        without CLIP tokens, like the demo, go straight from caption to RGB tokens).
import Foundation
import FourM

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    print("usage: CaptionToImage <bundle-folder|demo> <caption> [out.png] [steps]\nGet weights: see Documentation/LoadingWeights.md.")
    exit(2)
}
let output = arguments.count > 3 ? arguments[3] : "caption2image.png"
do {
    let bundle = arguments[1] == "demo" ? try ModelBundle.demo() : try ModelBundle(directory: URL(fileURLWithPath: arguments[1]))
    let model = try FourMModel(path: bundle.model.path)
    guard let rgbTokens = model.outputModalities.first(where: { $0.baseName == "tok_rgb" }), let info = model.configuration.info(rgbTokens) else {
        print("this model cannot generate RGB tokens")
        exit(1)
    }
    var preset: SchedulePreset
    if model.outputModalities.contains(where: { $0.baseName == "tok_clip" }) {
        preset = .captionToCLIPToRGB(resolution: rgbTokens.resolution ?? 224)
    } else {
        preset = SchedulePreset(targets: [TargetSettings(rgbTokens, scheme: .maskGIT, tokens: info.tokenCount, steps: min(8, info.tokenCount),
                                                         temperature: 1, guidance: .scale(3))])
    }
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
