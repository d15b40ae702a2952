import Foundation
import FourM
@_spi(Parity) import FourMModels
import Testing

/// The demo model shipped in the package resources (issue 7): it loads as a released
/// checkpoint does, its files agree with the PyTorch modules that trained them, and every
/// generation scheme runs on it end to end.
@Suite struct DemoModelTests {
    static let parityPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("DemoParity/demo_parity.safetensors").path

    static let pipeline = Result { () throws(FourMError) -> Pipeline in try Pipeline() }

    @Test func loadsFromThePackageResources() throws {
        let pipeline = try Self.pipeline.get()
        let config = pipeline.model.configuration
        #expect(config.domainsIn.contains("rgb@64"))
        let rgb = try #require(config.info("rgb@64"))
        #expect(rgb.gridSize == 8 && rgb.patchSize == 8, "rgb@64 grid \(rgb.gridSize) patch \(rgb.patchSize)")
        for m in pipeline.model.outputModalities where config.info(m)?.kind == .imageTokens {
            #expect(pipeline.imageTokenizers[m] != nil, "no tokenizer for \(m.rawValue)")
        }
        #expect(pipeline.semanticClassNames == ["background", "sphere", "cube", "cylinder", "cone"])
        let bytes = try FileManager.default.contentsOfDirectory(at: try ModelBundle.demo().directory, includingPropertiesForKeys: [.fileSizeKey])
            .reduce(0) { $0 + ((try? $1.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) }
        #expect(bytes <= 40_000_000, "the shipped model takes \(bytes) bytes, the budget is 40 MB")
    }

    /// Tokenizers: ids equal wherever the stored top-2 cosine gap exceeds 1e-4 (elsewhere the
    /// two frameworks' float32 sums may order a near tie differently); decoded values within
    /// 1e-3 absolute (float32 transformers of width 96, accumulation order only).
    /// 4M: the training-style forward of a masked batch gives the trainer's per-modality
    /// cross-entropy within 1e-4 relative. Text: WordPiece ids equal.
    @Test func matchesTheTrainer() throws {
        let file = try SafeTensorsFile(path: Self.parityPath)
        let pipeline = try Self.pipeline.get()
        let names = ["rgb": "tok_rgb@64", "depth": "tok_depth@64", "normal": "tok_normal@64", "semseg": "tok_semseg@64", "canny_edge": "tok_canny_edge@64"]
        for (name, modality) in names {
            let tokenizer = try #require(pipeline.imageTokenizers[Modality(rawValue: modality)])
            let expected = try file.intTensor("tok.\(name).tokens")
            let gaps = try file.floatTensor("tok.\(name).top2_gap").scalars
            let ids = try name == "semseg" ? tokenizer.tokenize(labels: try file.intTensor("tok.\(name).input")) : tokenizer.tokenize(try file.floatTensor("tok.\(name).input"))
            #expect(ids.shape == expected.shape, "\(name) token shape")
            let mismatches = zip(zip(ids.scalars, expected.scalars), gaps).filter { $0.0.0 != $0.0.1 && $0.1 > 1e-4 }.count
            #expect(mismatches == 0, "\(name): \(mismatches) token ids differ from the trainer away from near ties")
            let decoded = try tokenizer.detokenize(expected, diffusionSteps: pipeline.diffusionSteps, seed: 0)
            let reference = try file.floatTensor("tok.\(name).decoded")
            #expect(decoded.shape == reference.shape)
            let worst = zip(decoded.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-3, "\(name) decode differs by \(worst)")
        }
        let texts = try JSONSerialization.jsonObject(with: Data((file.metadata["texts"] ?? "[]").utf8)) as? [String] ?? []
        #expect(!texts.isEmpty)
        let text = try #require(pipeline.textTokenizer)
        for (i, string) in texts.enumerated() {
            let expected: [Int32] = try file.intTensor("text.\(i).ids").scalars
            #expect(text.encode(string) == expected, "ids of '\(string)'")
        }
        let order = try JSONSerialization.jsonObject(with: Data((file.metadata["order"] ?? "[]").utf8)) as? [String] ?? []
        let decoderOrder = try JSONSerialization.jsonObject(with: Data((file.metadata["decoder_order"] ?? "[]").utf8)) as? [String] ?? []
        var states = ModalityDictionary()
        for name in order {
            let key = "in.\(name)"
            let content: ModalityState.Content = name.hasPrefix("rgb@") ? .pixels(try file.floatTensor("\(key).tensor")) : .tokens(try file.intTensor("\(key).tensor"))
            states[Modality(rawValue: name)] = ModalityState(
                content: content, inputMask: try file.boolTensor("\(key).input_mask"), targetMask: try file.boolTensor("\(key).target_mask"),
                decoderAttentionMask: try file.intTensor("\(key).decoder_attention_mask"))
        }
        let encoderTokens = Int(file.metadata["encoder_tokens"] ?? "") ?? 0
        let decoderTokens = Int(file.metadata["decoder_tokens"] ?? "") ?? 0
        let result = try pipeline.model.trainingForward(states, encoderTokens: encoderTokens, decoderTokens: decoderTokens, decoderOrder: decoderOrder.map { Modality(rawValue: $0) })
        var checked = 0
        for name in decoderOrder where file.entries["loss.\(name)"] != nil {
            let logits = try #require(result.logits[Modality(rawValue: name)], "no logits for \(name)")
            let loss = crossEntropy(logits.values, logits.targetIDs)
            let reference = try file.floatTensor("loss.\(name)").scalars[0]
            #expect(abs(loss - reference) <= 1e-4 * max(1, abs(reference)), "\(name) loss \(loss), trainer \(reference)")
            checked += 1
        }
        #expect(checked >= 5, "only \(checked) modalities had targets")
    }

    @Test func everySchemeRunsEndToEnd() throws {
        let pipeline = try Self.pipeline.get()
        let scene = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/Assets/scene.png")
        let image = try Image(contentsOf: scene)
        let preset = SchedulePreset(targets: [
            TargetSettings("tok_depth@64", scheme: .roar, tokens: 64, steps: 1, temperature: 0.01, guidance: .scale(2)),
            TargetSettings("tok_semseg@64", scheme: .maskGIT, tokens: 64, steps: 4, temperature: 0.5),
            TargetSettings("caption", scheme: .autoregressive, tokens: 32, temperature: 0),
            TargetSettings("det", scheme: .autoregressive, tokens: 32, temperature: 0),
        ])
        let result = try pipeline.generate(from: ["rgb@64": .image(image)], preset: preset, seed: 1)
        let depth = try #require(try result.decodedValues("tok_depth@64"))
        #expect(depth.shape == [1, 1, 64, 64])
        let segmentation = try #require(try result.segmentation())
        #expect(segmentation.labels.shape == [64, 64])
        #expect(segmentation.classNames.values.allSatisfy { pipeline.semanticClassNames.contains($0) })
        let caption = try #require(try result.text("caption"))
        #expect(!caption.isEmpty)
        #expect(try result.boxes() != nil)

        let toRGB = SchedulePreset(targets: [TargetSettings("tok_rgb@64", scheme: .maskGIT, tokens: 64, steps: 4, temperature: 1, guidance: .scale(2))])
        let generated = try pipeline.generate(from: ["caption": .text("a large red cube left of a small blue sphere")], preset: toRGB, seed: 3)
        let picture = try #require(try generated.image("tok_rgb@64"))
        #expect(picture.width == 64 && picture.height == 64 && picture.channels == 3)
    }
}

private func crossEntropy(_ logits: Tensor<Float>, _ targets: Tensor<Int32>) -> Float {
    let v = logits.shape[1]
    var total = 0.0
    for r in 0..<logits.shape[0] {
        let row = logits.scalars[(r * v)..<((r + 1) * v)].map(Double.init)
        let top = row.max() ?? 0
        let lse = top + log(row.reduce(0) { $0 + exp($1 - top) })
        total += lse - row[row.startIndex + Int(targets.scalars[r])]
    }
    return Float(total / Double(max(logits.shape[0], 1)))
}
