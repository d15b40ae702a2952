// RGBToAll: predict every modality a 4M bundle can decode from one photo (the reference's
// RGB→all recipe: image-like targets by ROAR in one step, then captions and boxes).
// Run:   swift run -c release RGBToAll <bundle-folder|demo> <photo.png|jpg> [out-folder]
//        e.g. swift run -c release RGBToAll demo Examples/Assets/scene.png (the shipped demo model)
// Needs: a bundle (4M checkpoint + tokenizers + text tokenizer; see Documentation/LoadingWeights.md),
//        or `demo` for the model shipped with FourM.
import Foundation
import FourM

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    print("usage: RGBToAll <bundle-folder|demo> <photo> [out-folder]\nGet weights: see Documentation/LoadingWeights.md (EPFL-VILAB/4M-21_B and 4M_tokenizers_*).")
    exit(2)
}
let out = arguments.count > 3 ? arguments[3] : "rgb2all-out"
do {
    let bundle = arguments[1] == "demo" ? try ModelBundle.demo() : try ModelBundle(directory: URL(fileURLWithPath: arguments[1]))
    let model = try FourMModel(path: bundle.model.path)
    guard let rgb = model.inputModalities.first(where: { $0.baseName == "rgb" }) else {
        print("this model takes no RGB pixels")
        exit(1)
    }
    // Decode only what the bundle has tokenizers for, and say what is skipped.
    let missing = bundle.missingDecoders(for: model.outputModalities)
    if !missing.isEmpty { print("skipping (no tokenizer in the bundle): \(missing.map(\.rawValue).joined(separator: ", "))") }
    let pipeline = try Pipeline(bundle: bundle, outputs: model.outputModalities.filter { !missing.contains($0) }, model: model)
    var preset = SchedulePreset.rgbToAll(model, excluding: [rgb])
    preset.targets.removeAll { missing.contains($0.modality) }
    let photo = try Image(contentsOf: URL(fileURLWithPath: arguments[2]))
    let result = try pipeline.generate(from: [rgb: .image(photo)], preset: preset, seed: 0) { step in
        print("step \(step.index + 1): \(step.step.target)")
    }
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    for target in preset.targets.map(\.modality) {
        let name = target.rawValue.replacingOccurrences(of: "@", with: "_")
        if let text = try result.text(target), model.configuration.info(target)?.kind == .sequence {
            print("\(target): \(text.prefix(120))")
        } else if let image = try result.image(target) {
            try image.writePNG(to: URL(fileURLWithPath: "\(out)/\(name).png"))
            print("\(target): \(out)/\(name).png")
        }
    }
} catch {
    print("RGBToAll: \(error)")
    exit(1)
}
