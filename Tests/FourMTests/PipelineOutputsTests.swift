import Foundation
import FourM
import FourMTestSupport
import Testing

/// Every structured output through the public API, on the fixture bundle (4M-21-style model,
/// the workflow cases' SAM-instance and pose tokenizers). The sequences come from the workflow
/// fixtures' texts given as conditions, so their decoding is deterministic: the instance map
/// must equal the one `workflow_decode_sam_instances` stores, and the people those of
/// `workflow_decode_human_poses`.
@Suite struct PipelineOutputsTests {
    static func fixtureText(_ caseName: String) throws -> String? {
        guard Fixtures.directory != nil, let object = try? Fixtures.caseObject(caseName), let file = object["json_file"] as? String else { return nil }
        let json = try JSONSerialization.jsonObject(with: try Data(contentsOf: try Fixtures.url(file))) as? [String: Any]
        return json?["text"] as? String
    }

    @Test func decodesEveryStructuredOutput() throws {
        guard let dir = try FixtureBundle.make(), let samText = try Self.fixtureText("workflow_decode_sam_instances"),
            let poseText = try Self.fixtureText("workflow_decode_human_poses")
        else { return }
        let pipeline = try Pipeline(bundle: dir, outputs: ["metadata", "sam_instance", "human_poses"])
        let palette = try ColorPaletteCodec().encode([PaletteColor(red: 200, green: 30, blue: 40), PaletteColor(red: 20, green: 160, blue: 60)])
        let preset = SchedulePreset(targets: [TargetSettings("metadata", scheme: .autoregressive, tokens: 8, temperature: 0)])
        let result = try pipeline.generate(from: ["sam_instance": .text(samText.replacingOccurrences(of: " [EOS]", with: "")), "human_poses": .text(poseText.replacingOccurrences(of: " [EOS]", with: "")),
                                                  "color_palette": .text(palette)], preset: preset, seed: 1)

        let map = try #require(try result.samInstances())
        let samCase = try CaseTensors("workflow_decode_sam_instances")
        #expect(map.groups.count == (samCase.settings["num_groups"] as? NSNumber)?.intValue)
        let expected = try samCase.int("output").scalars.map { UInt8(clamping: $0) }
        let differing = zip(map.image.pixels, expected).filter { $0 != $1 }.count
        // Pixels within the float tolerance of the 0.5 threshold may flip (the case counts them).
        #expect(differing <= 3 * ((samCase.settings["pixels_near_threshold"] as? NSNumber)?.intValue ?? 0), "\(differing) channel values differ")

        // Each group's RLE decodes to its mask, and the mask's pixels carry the group's colour
        // unless a later group painted over them.
        for g in map.groups.indices {
            var decoded = [Bool](), on = false
            for run in map.maskRLE(group: g) { decoded += [Bool](repeating: on, count: run); on.toggle() }
            let side = map.image.width
            #expect(decoded.count == side * side)
            let mask = map.mask(group: g)
            #expect((0..<(side * side)).allSatisfy { decoded[($0 % side) * side + $0 / side] == mask[$0] }, "group \(g) RLE")
            let later = (g + 1..<map.groups.count).map { map.mask(group: $0) }
            for i in 0..<(side * side) where mask[i] && !later.contains(where: { $0[i] }) {
                #expect(map.image.color(x: i % side, y: i / side) == map.groups[g].color)
            }
        }

        let poses = try #require(try result.humanPoses())
        #expect(poses.people.count == 2 && poses.issues.isEmpty)
        #expect(poses.people.allSatisfy { $0.bodyPose.shape == [1, 23, 3, 3] })

        let colors = try #require(try result.colorPalette())
        #expect(colors.value == [PaletteColor(red: 200, green: 30, blue: 40), PaletteColor(red: 20, green: 160, blue: 60)])
        #expect(try result.metadata() != nil)

        let tiles = try result.grid(tileSize: 112)
        #expect(tiles.width > 112 && tiles.height > 112)
        let poseImage = try #require(try result.picture("human_poses"))
        #expect(poseImage.pixels.contains(255) && poseImage.width == 224)
        if let keep = ProcessInfo.processInfo.environment["FOURM_KEEP_OUTPUTS"] {
            try tiles.writePNG(to: URL(fileURLWithPath: "\(keep)/outputs-grid.png"))
            try map.image.writePNG(to: URL(fileURLWithPath: "\(keep)/sam_instances.png"))
            try poseImage.writePNG(to: URL(fileURLWithPath: "\(keep)/human_poses.png"))
            try #require(try result.picture("color_palette")).writePNG(to: URL(fileURLWithPath: "\(keep)/palette.png"))
        }
    }

    @Test func denseSAMConcatenatesTheRows() throws {
        guard let dir = try FixtureBundle.make() else { return }
        let pipeline = try Pipeline(bundle: dir, outputs: ["sam_instance"])
        let photo = try Image(contentsOf: PipelineInputsTests.photo)
        let dense = try pipeline.generateSAMDense(from: ["rgb@224": .image(photo)], batchSize: 3, tokens: 6, seed: 4)
        let state = try #require(dense.dictionary["sam_instance"])
        #expect(state.batchSize == 1 && state.inputMask.scalars.allSatisfy { !$0 })
        #expect(dense.steps.count == 1)
        _ = try #require(try dense.samInstances())
        #expect(throws: FourMError.generation(.invalidSetting(target: "sam_instance", setting: "batchSize", expected: "a positive number", actual: "0"))) {
            try pipeline.generateSAMDense(from: ["rgb@224": .image(photo)], batchSize: 0, tokens: 6)
        }
    }

    @Test func missingSequenceTokenizersAreNamed() throws {
        guard let dir = try FixtureBundle.make(), let samText = try Self.fixtureText("workflow_decode_sam_instances") else { return }
        let pipeline = try Pipeline(bundle: dir, outputs: ["metadata"])  // sam_instance decoder not loaded
        let preset = SchedulePreset(targets: [TargetSettings("metadata", scheme: .autoregressive, tokens: 4, temperature: 0)])
        let result = try pipeline.generate(from: ["sam_instance": .text(samText)], preset: preset, seed: 1)
        #expect { try result.samInstances() } throws: { error in
            guard case .missingTokenizers(_, let modalities) = error as? FourMError else { return false }
            return modalities == ["sam_instance"]
        }
    }
}
