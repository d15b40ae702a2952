import Foundation
import FourM
import FourMModels
import FourMSampling
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// The demo's output decoders (`workflow_decode_sam_instances`, `workflow_decode_human_poses`,
/// `workflow_feature_pca`). Sizes all come from the case (tokenizer header, stored shapes);
/// tolerances are each case's `float_atol` / `float_rtol` (20× its measured float32-vs-float64
/// gap, at least 1e-5); ids, boxes, members and colours exact.
@Suite struct WorkflowDecodeParityTests {
    static func cases(_ part: String) -> [String] {
        Fixtures.cases.compactMap { c in
            guard c["kind"] as? String == "workflow", let s = c["settings"] as? [String: Any], s["workflow_part"] as? String == part else { return nil }
            return c["name"] as? String
        }
    }
    static let samCases = cases("decode_sam_instances")
    static let poseCases = cases("decode_human_poses")
    static let pcaCases = cases("feature_pca")

    static func tokenizer(_ f: CaseTensors) throws -> VQImageTokenizer {
        guard let name = f.object["model"] as? String, let file = try Fixtures.modelObject(name)["file"] as? String else {
            throw FixtureError("\(f.object["name"] ?? "?"): no tokenizer")
        }
        return try VQImageTokenizer(path: try Fixtures.url(file).path, presets: try FixturePresets.vitPresets())
    }

    /// The text `decode_text` gives for the stored sequence of `key` (merged parts, specials kept).
    static func text(_ f: CaseTensors, key: String) throws -> String {
        let state = try #require(try f.modalityDictionary(prefix: "in", order: [key])[Modality(rawValue: key)])
        return try state.mergedText(row: 0, using: try WorkflowFixture.textTokenizer(f))
    }

    @Test(arguments: samCases)
    func decodesSAMInstancesAsTheDemo(_ name: String) throws {
        let f = try CaseTensors(name)
        let (atol, rtol) = f.tolerance
        let tokenizer = try Self.tokenizer(f)
        let output = try f.int("output")
        let side = output.shape[0]
        let decodeIds = try f.int("decode.token_ids")
        let map = try SAMInstanceMap(text: try Self.text(f, key: "sam_instance"), tokenizer: tokenizer, side: side,
                                     tokensPerInstance: decodeIds.shape[1] * decodeIds.shape[2])
        #expect(map.parsed.map { Int32($0.area) } == (try f.int("parsed.areas")).scalars, "\(name): parsed.areas")
        #expect(map.order.map(Int32.init) == (try f.int("sorted_idx")).scalars, "\(name): sorted_idx")
        #expect(map.instances.flatMap { [$0.minY, $0.minX, $0.maxY, $0.maxX].map(Int32.init) } == (try f.int("sorted.boxes")).scalars, "\(name): sorted.boxes")
        #expect(map.instances.flatMap(\.tokenIds) == decodeIds.scalars, "\(name): decode.token_ids")
        expectClose(map.logits, try f.float("decode.logits"), atol: atol, rtol: rtol, "\(name): decode.logits")
        expectClose(map.probabilities, try f.float("instances"), atol: atol, rtol: rtol, "\(name): instances")
        expectClose(map.contrast, try f.float("instance_contrast").scalars, atol: atol, rtol: rtol, "\(name): instance_contrast")
        let groupCount = f.keys.filter { $0.hasPrefix("group") && $0.hasSuffix(".members") }.count
        #expect(map.groups.count == groupCount, "\(name): \(map.groups.count) groups, expected \(groupCount)")
        var nearThreshold = Set<Int>()
        for (g, group) in map.groups.enumerated() where g < groupCount {
            let p = "group\(g)"
            #expect(group.members.map(Int32.init) == (try f.int("\(p).members")).scalars, "\(name): \(p).members")
            expectClose(group.meanMask, try f.float("\(p).mean_mask"), atol: atol, rtol: rtol, "\(name): \(p).mean_mask")
            #expect(group.box.map(Int32.init) == (try f.int("\(p).box")).scalars, "\(name): \(p).box")
            #expect([group.resized.shape[1], group.resized.shape[0]].map(Int32.init) == (try f.int("\(p).dsize")).scalars, "\(name): \(p).dsize")
            let resized = try f.float("\(p).resized")
            expectClose(group.resized, resized, atol: atol, rtol: rtol, "\(name): \(p).resized")
            #expect([group.color.red, group.color.green, group.color.blue].map(Int32.init) == (try f.int("\(p).color")).scalars, "\(name): \(p).color")
            // Pixels whose resized value is within the tolerance of 0.5 may legitimately flip.
            let (minY, minX) = (group.box[0], group.box[1])
            let width = resized.shape[1]
            for (i, v) in resized.scalars.enumerated() where abs(v - 0.5) <= atol + rtol * 0.5 {
                let y = minY + i / width, x = minX + i % width
                if y < side && x < side { nearThreshold.insert(y * side + x) }
            }
        }
        let expected = output.scalars.map { UInt8(clamping: $0) }
        var mismatched = 0
        for i in 0..<(side * side) where !nearThreshold.contains(i) {
            if Array(map.image.pixels[(i * 3)..<(i * 3 + 3)]) != Array(expected[(i * 3)..<(i * 3 + 3)]) { mismatched += 1 }
        }
        #expect(map.image.width == side && map.image.height == side, "\(name): output size")
        #expect(mismatched == 0, "\(name): \(mismatched) output pixels differ away from the 0.5 threshold")
    }

    @Test(arguments: poseCases)
    func decodesHumanPosesAsTheDemo(_ name: String) throws {
        let f = try CaseTensors(name)
        let (atol, rtol) = f.tolerance
        let tokenizer = try Self.tokenizer(f)
        let decoded = try HumanPoseParameters.decode(text: try Self.text(f, key: "human_poses"), tokenizer: tokenizer)
        let count = (f.settings["num_instances"] as? NSNumber)?.intValue ?? -1
        #expect(decoded.people.count == count, "\(name): \(decoded.people.count) people, expected \(count)")
        #expect(decoded.issues.isEmpty, "\(name): \(decoded.issues)")
        for (i, person) in decoded.people.enumerated() where f.has("inst\(i).bbox_xyxy") {
            let p = "inst\(i)"
            expectClose(person.box, try f.float("\(p).bbox_xyxy").scalars, atol: atol, rtol: rtol, "\(name): \(p).bbox_xyxy")
            expectClose(person.boxCenter, try f.float("\(p).box_center").scalars, atol: atol, rtol: rtol, "\(name): \(p).box_center")
            expectClose([person.boxSize], try f.float("\(p).box_size").scalars, atol: atol, rtol: rtol, "\(name): \(p).box_size")
            expectClose(person.camera, try f.float("\(p).pred_cam").scalars, atol: atol, rtol: rtol, "\(name): \(p).pred_cam")
            expectClose(person.betas, try f.float("\(p).betas").scalars, atol: atol, rtol: rtol, "\(name): \(p).betas")
            expectClose(person.globalOrientation, try f.float("\(p).global_orient").scalars, atol: atol, rtol: rtol, "\(name): \(p).global_orient")
            #expect(person.poseTokenIds == (try f.int("\(p).pose_token_ids")).scalars, "\(name): \(p).pose_token_ids")
            expectClose(person.decoded.scalars, try f.float("\(p).decoded").scalars, atol: atol, rtol: rtol, "\(name): \(p).decoded")
            expectClose(person.bodyPose, try f.float("\(p).body_pose"), atol: atol, rtol: rtol, "\(name): \(p).body_pose")
        }
    }

    @Test(arguments: pcaCases)
    func rendersFeaturePCAAsTheDemo(_ name: String) throws {
        let f = try CaseTensors(name)
        let (atol, rtol) = f.tolerance
        let tokenizer = try Self.tokenizer(f)
        let parts = Set(f.keys.filter { $0.hasSuffix(".token_ids") }.map { String($0.dropLast(".token_ids".count)) })
        #expect(!parts.isEmpty, "\(name): no parts")
        for part in parts.sorted() {
            let ids = try f.int("\(part).token_ids")
            let expectedFeatures = try f.float("\(part).features")
            let (h, w) = (expectedFeatures.shape[2], expectedFeatures.shape[3])
            let features = try tokenizer.decode(ids: ids.reshaped([ids.shape[0], h, w]))
            expectClose(features, expectedFeatures, atol: atol, rtol: rtol, "\(name): \(part).features")
            var rendered: [Float] = []
            for b in 0..<ids.shape[0] {
                let p = "\(part).\(b)"
                let pca = try FeatureMapPCA(features: features, row: b)
                expectClose(pca.mean, try f.float("\(p).pca_mean").scalars, atol: atol, rtol: rtol, "\(name): \(p).pca_mean")
                expectClose(pca.components, try f.float("\(p).pca_components"), atol: atol, rtol: rtol, "\(name): \(p).pca_components")
                expectClose(pca.explainedVariance, try f.float("\(p).pca_explained_variance").scalars, atol: atol, rtol: rtol, "\(name): \(p).pca_explained_variance")
                expectClose(pca.projection, try f.float("\(p).projection"), atol: atol, rtol: rtol, "\(name): \(p).projection")
                rendered += pca.rendered.scalars
            }
            expectClose(rendered, try f.float("\(part).output").scalars, atol: atol, rtol: rtol, "\(name): \(part).output")
        }
    }
}
