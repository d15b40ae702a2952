// CustomConditioning: build modality states by hand and steer generation with two conditions
// weighted separately (multi-condition classifier-free guidance, spec/generation.md 4.3).
// Run:   swift run -c release CustomConditioning <model.safetensors> [text-tokenizer.json]
// Needs: any 4M checkpoint with caption, rgb@224 and tok_depth@224 (random weights work too).
import Foundation
import FourM

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: CustomConditioning <model.safetensors> [tokenizer.json]\n(try: swift run fourm write-random-model /tmp/m.safetensors)")
    exit(2)
}
do {
    let model = try FourMModel(path: arguments[1])
    // Condition 1: a caption, as ids + [EOS] (the text tokenizer if given, else fixed ids).
    var ids: [Int32] = [4321, 4232, 4926, 4321, 4228]  // "a dog on a couch"
    if arguments.count > 2 { ids = try WordPieceTokenizer(contentsOf: URL(fileURLWithPath: arguments[2])).encode("a dog on a couch") }
    let caption = ModalityState(tokens: Tensor(shape: [1, ids.count + 1], scalars: ids + [3]))
    // Condition 2: a flat grey photo, ImageNet-normalised by hand: (0.5 − mean) / std.
    let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
    let pixels = (0..<3).flatMap { c in [Float](repeating: (0.5 - mean[c]) / std[c], count: 224 * 224) }
    let photo = ModalityState(pixels: Tensor(shape: [1, 3, 224, 224], scalars: pixels))
    // The target: 196 depth tokens, nothing known yet.
    var depth = ModalityState(tokens: Tensor(zeros: [1, 196]))
    depth.inputMask = Tensor(repeating: true, shape: [1, 196])
    depth.targetMask = Tensor(repeating: false, shape: [1, 196])
    // The unconditional dictionary holds every modality with nothing visible.
    var hiddenCaption = caption, hiddenPhoto = photo
    hiddenCaption.inputMask = Tensor(repeating: true, shape: hiddenCaption.inputMask.shape)
    hiddenCaption.inputMask.withUnsafeMutableBufferPointer { $0[0] = false }  // keep one token, as the reference's [S_1]
    hiddenPhoto.inputMask = Tensor(repeating: true, shape: [1, 196])
    let unconditional: ModalityDictionary = [.caption: hiddenCaption, .rgb224: hiddenPhoto, .tokDepth224: depth]
    let schedule = try chainedSchedule(
        conditions: [],
        targets: [TargetSettings(.tokDepth224, scheme: .maskGIT, tokens: 196, steps: 4, temperature: 0.7, guidance: .weights([2.0, 1.0]))],
        growConditioning: false)
    let result = try runMultiGuided(model, unconditional: unconditional, conditions: [[.caption: caption], [.rgb224: photo]], schedule: schedule,
                                    options: GenerationOptions(filter: SamplingFilter(topP: 0.9), seed: 7)) { step in
        print("step \(step.index + 1): committed \(step.committedPositions[0].count) depth tokens")
    }
    let tokens = result[.tokDepth224]?.tokens?.scalars ?? []
    print("first depth tokens: \(tokens.prefix(12).map(String.init).joined(separator: " "))")
} catch {
    print("CustomConditioning: \(error)")
    exit(1)
}
