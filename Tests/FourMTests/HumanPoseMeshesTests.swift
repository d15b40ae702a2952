import Foundation
import FourM
import FourMTestSupport
import Testing

/// `PipelineResult.humanPoseMeshes(smpl:)` on the people of `workflow_decode_human_poses`
/// (given as a condition, so decoding is deterministic) with the tiny synthetic SMPL model.
@Suite struct HumanPoseMeshesTests {
    @Test func posesPlacesAndDrawsEveryPerson() throws {
        guard let dir = try FixtureBundle.make(), let poseText = try PipelineOutputsTests.fixtureText("workflow_decode_human_poses") else { return }
        let pipeline = try Pipeline(bundle: dir, outputs: ["metadata", "human_poses"])
        let preset = SchedulePreset(targets: [TargetSettings("metadata", scheme: .autoregressive, tokens: 4, temperature: 0)])
        let result = try pipeline.generate(from: ["human_poses": .text(poseText.replacingOccurrences(of: " [EOS]", with: ""))], preset: preset, seed: 1)
        let smpl = try SMPLModel(contentsOf: SMPLModelTests.folder.appendingPathComponent(SMPLModelTests.files[1]))
        let photo = try Image(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FourMImageTests/Resources/photo.png"))
        let drawn = try #require(try result.humanPoseMeshes(smpl: smpl, background: photo))
        let people = try #require(try result.humanPoses()).people
        #expect(drawn.meshes.count == people.count && drawn.people.count == people.count && drawn.issues.isEmpty)
        #expect(drawn.focalLength == 5000.0 / 256.0 * 224)
        for (mesh, person) in zip(drawn.meshes, people) {
            let body = try smpl.forward(betas: person.betas, globalOrientation: person.globalOrientation, bodyPose: person.bodyPose.scalars)
            #expect(mesh.vertices == body.vertices)
            #expect(mesh.cameraTranslation == HumanMeshRenderer.cameraTranslation(camera: person.camera, boxCenter: person.boxCenter, boxSize: person.boxSize,
                                                                                 width: 224, height: 224, focalLength: drawn.focalLength))
        }
        // Outside the meshes: half the photo as the model saw it.
        let seen = try photo.preprocessed(size: 224)
        let outside = (0..<(224 * 224)).filter { !drawn.mask[$0] }
        #expect(!outside.isEmpty)
        #expect(outside.allSatisfy { i in (0..<3).allSatisfy { drawn.image.pixels[i * 3 + $0] == UInt8((Double(seen.pixels[i * 3 + $0]) * 0.5).rounded()) } })
        if let keep = ProcessInfo.processInfo.environment["FOURM_KEEP_OUTPUTS"] {
            try drawn.image.writePNG(to: URL(fileURLWithPath: "\(keep)/human_poses_mesh.png"))
        }
    }
}
