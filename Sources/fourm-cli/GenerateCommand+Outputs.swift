import Foundation
import FourM

extension GenerateCommand {
    /// Writes the files of the outputs that are more than a picture or a text: SAM instances
    /// (map PNG + JSON with boxes and RLE masks), human poses (JSON of SMPL parameters + box
    /// drawing), feature maps (values JSON + PCA PNG), metadata (JSON), colour palette (PNG +
    /// JSON), and with `--smpl` the poses' SMPL meshes. What is written follows the modality's
    /// `ModalitySpec.renderer` in `modalities`. Returns the names written.
    func writeStructuredOutputs(_ m: Modality, result: PipelineResult, name: String, photo: Image?, modalities: ModalityTable,
                                smpl: SMPLModel? = nil) throws -> [String] {
        var written: [String] = []
        func png(_ image: Image, _ file: String) throws {
            do { try image.writePNG(to: URL(fileURLWithPath: "\(out)/\(file)")) } catch { throw FourMError.image(error) }
            written.append(file)
        }
        switch modalities.spec(for: m)?.renderer ?? .none {
        case .samInstances:
            guard let map = try result.samInstances() else { break }
            try png(map.image, "\(name).png")
            let side = map.image.width
            let instances = map.groups.enumerated().map { (i, g) -> [String: Any] in
                ["box_xyxy": [g.box[1], g.box[0], min(g.box[3], side), min(g.box[2], side)], "color": [Int(g.color.red), Int(g.color.green), Int(g.color.blue)],
                 "members": g.members.count, "mask_rle": map.maskRLE(group: i)]
            }
            try writeJSON(["size": [side, side], "mask_encoding": "COCO uncompressed RLE, column-major, counts start with background", "instances": instances], to: "\(name).json")
            written.append("\(name).json")
        case .humanPoses:
            guard let poses = try result.humanPoses() else { break }
            let people = poses.people.map { p -> [String: Any] in
                ["box_xyxy": p.box, "camera": p.camera, "betas": p.betas, "global_orient": p.globalOrientation,
                 "pose_token_ids": p.poseTokenIds.map(Int.init), "body_pose": p.bodyPose.scalars, "body_pose_shape": p.bodyPose.shape]
            }
            try writeJSON(["people": people, "issues": poses.issues, "note": "SMPL parameters (pose2rot=False); meshes need your own SMPL model files"], to: "\(name).json")
            written.append("\(name).json")
            if let picture = try result.picture(m, background: photo) { try png(picture, "\(name).png") }
            if let smpl, let meshes = try result.humanPoseMeshes(smpl: smpl, background: photo) { try png(meshes.image, "\(name)_mesh.png") }
        case .featurePCA:
            guard let values = try result.decodedValues(m) else { break }
            try writeJSON(["modality": m.rawValue, "shape": values.shape, "values": values.scalars], to: "\(name).features.json")
            written.append("\(name).features.json")
            if let pca = try result.featurePCA(m) {
                do { try png(try pca.image(scale: max(1, 224 / max(pca.rendered.shape[1], 1))), "\(name)_pca.png") } catch let error as ImageError { throw FourMError.image(error) }
            }
        case .metadata:
            guard let decoded = try result.metadata() else { break }
            var entries: [String: Any] = [:]
            for e in decoded.value { entries[e.key.name] = ["bin": e.bin, "value": e.approximateValue] }
            try writeJSON(["metadata": entries, "issues": decoded.issues.map(\.description)], to: "\(name).json")
            written.append("\(name).json")
        case .colorPalette:
            guard let decoded = try result.colorPalette() else { break }
            try writeJSON(["colors": decoded.value.map { [$0.red, $0.green, $0.blue] }, "issues": decoded.issues.map(\.description)], to: "\(name).json")
            written.append("\(name).json")
            if let picture = try result.picture(m) { try png(picture, "\(name).png") }
        default: break
        }
        return written
    }
}
