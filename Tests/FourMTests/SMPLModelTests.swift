import Foundation
import FourMTestSupport
import Testing

@testable import FourM

/// The SMPL reader, smplx's skinning and the mesh overlay, on a tiny synthetic model (no SMPL
/// data: random arrays in the official layout, written by `SMPLFixtures/make_tiny_smpl.py`,
/// which also computes the golden vertices with a line-for-line numpy port of smplx's `lbs`).
@Suite struct SMPLModelTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("SMPLFixtures")
    /// The stored (float32) and the deflated (float64, smplx-layout posedirs, Fortran weights) files.
    static let files = ["tiny_smpl.npz", "tiny_smpl_compressed.npz"]

    static func golden() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("golden.json"))) as? [String: Any])
    }

    static func floats(_ value: Any?) -> [Float] {
        func flatten(_ v: Any?) -> [Double] {
            if let n = v as? NSNumber { return [n.doubleValue] }
            return (v as? [Any])?.flatMap { flatten($0) } ?? []
        }
        return flatten(value).map(Float.init)
    }

    @Test(arguments: files) func loadsTheLayoutTheGoldenFileDescribes(file: String) throws {
        let model = try SMPLModel(contentsOf: Self.folder.appendingPathComponent(file))
        let golden = try Self.golden()
        #expect(model.vertexCount == golden["vertex_count"] as? Int)
        #expect(model.jointCount == golden["joint_count"] as? Int)
        #expect(model.faces.count == 3 * ((golden["face_count"] as? Int) ?? 0))
        #expect(model.parents == golden["parents"] as? [Int])
    }

    @Test(arguments: files) func identityPoseAndZeroBetasGiveTheTemplate(file: String) throws {
        let model = try SMPLModel(contentsOf: Self.folder.appendingPathComponent(file))
        let identity: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        let body = try model.forward(betas: [Float](repeating: 0, count: 10), globalOrientation: identity,
                                     bodyPose: Array([[Float]](repeating: identity, count: model.jointCount - 1).joined()))
        // The skinning weights' rows sum to 1 only to float32 rounding (≈ 1e-7 relative).
        expectClose(body.vertices.flatMap { [$0.x, $0.y, $0.z] }, model.template.map(Float.init), atol: 1e-6, "template")
    }

    /// Tolerance: the Swift side reads the same float32 values and accumulates in Double like
    /// the float64 reference; the remaining difference is the final rounding to Float (half an
    /// ulp, 2.4e-7 at |x| < 4) plus summation order, so 1e-6 absolute + 1e-6 relative.
    @Test(arguments: files) func matchesSmplxLBS(file: String) throws {
        let model = try SMPLModel(contentsOf: Self.folder.appendingPathComponent(file))
        let cases = try #require(try Self.golden()["cases"] as? [[String: Any]])
        #expect(cases.count >= 3)
        for c in cases {
            let name = c["name"] as? String ?? "?"
            let body = try model.forward(betas: Self.floats(c["betas"]), globalOrientation: Self.floats(c["global_orient"]), bodyPose: Self.floats(c["body_pose"]))
            expectClose(body.vertices.flatMap { [$0.x, $0.y, $0.z] }, Self.floats(c["vertices"]), atol: 1e-6, rtol: 1e-6, "\(file) \(name) vertices")
            expectClose(body.joints.flatMap { [$0.x, $0.y, $0.z] }, Self.floats(c["joints"]), atol: 1e-6, rtol: 1e-6, "\(file) \(name) joints")
        }
    }

    /// hmr2's `cam_crop_to_full` and the pinhole projection put vertex 0 where the reference
    /// does. Tolerance: the box centre and size reach Swift as Float (as in the reference's
    /// float32 torch), a relative error of ~1e-7 on `t`, ~1e-4 px after the 4375 px focal length.
    @Test func projectionFollowsCamCropToFull() throws {
        let model = try SMPLModel(contentsOf: Self.folder.appendingPathComponent(Self.files[0]))
        for c in try #require(try Self.golden()["cases"] as? [[String: Any]]) {
            let side = try #require(c["image_size"] as? Int)
            let focal = HumanMeshRenderer.focalLength(side: side)
            #expect(abs(focal - ((c["focal_length"] as? Double) ?? 0)) < 1e-9)
            let t = HumanMeshRenderer.cameraTranslation(camera: Self.floats(c["camera"]), boxCenter: Self.floats(c["box_center"]),
                                                        boxSize: Self.floats(c["box_size"])[0], width: side, height: side, focalLength: focal)
            let expected = Self.floats(c["cam_t"]).map(Double.init)
            for k in 0..<3 { #expect(abs(t[k] - expected[k]) <= 1e-5 * abs(expected[k]) + 1e-6, "cam_t[\(k)] \(t[k]) vs \(expected[k])") }
            let body = try model.forward(betas: Self.floats(c["betas"]), globalOrientation: Self.floats(c["global_orient"]), bodyPose: Self.floats(c["body_pose"]))
            let pixel = HumanMeshRenderer.project(SIMD3<Double>(body.vertices[0]) + t, focalLength: focal, width: side, height: side)
            let want = Self.floats(c["vertex0_pixel"]).map(Double.init)
            #expect(abs(pixel.x - want[0]) < 1e-3 && abs(pixel.y - want[1]) < 1e-3, "\(pixel) vs \(want)")
            // The drawn pixels lie inside the projected vertices' bounding box.
            let mesh = HumanMesh(vertices: body.vertices, cameraTranslation: t)
            let drawn = try HumanMeshRenderer.render(meshes: [mesh], faces: model.faces, width: side, height: side, focalLength: focal, background: nil)
            let pixels = body.vertices.map { HumanMeshRenderer.project(SIMD3<Double>($0) + t, focalLength: focal, width: side, height: side) }
            let covered = (0..<(side * side)).filter { drawn.mask[$0] }
            #expect(!covered.isEmpty)
            #expect(covered.allSatisfy { i in
                let x = Double(i % side) + 0.5, y = Double(i / side) + 0.5
                return pixels.contains { $0.x <= x } && pixels.contains { $0.x >= x } && pixels.contains { $0.y <= y } && pixels.contains { $0.y >= y }
            })
            if let keep = ProcessInfo.processInfo.environment["FOURM_KEEP_OUTPUTS"] {
                try drawn.image.writePNG(to: URL(fileURLWithPath: "\(keep)/tiny_smpl_\(c["name"] as? String ?? "case").png"))
            }
        }
    }

    /// One triangle facing the camera: pixels whose centres are inside get the shaded mesh
    /// colour, the others half the background, as the reference's overlay.
    @Test func rasterizesAndCompositesLikeTheReference() throws {
        let side = 224, focal = HumanMeshRenderer.focalLength(side: side), depth = 10.0
        let corners: [SIMD2<Double>] = [[20, 20], [200, 30], [60, 210]]
        let vertices = corners.map { SIMD3<Float>(Float(($0.x - 112) * depth / focal), Float(($0.y - 112) * depth / focal), Float(depth)) }
        let background = try Image(width: side, height: side, filledWith: Image.Color(red: 200, green: 100, blue: 51))
        let drawn = try HumanMeshRenderer.render(meshes: [HumanMesh(vertices: vertices, cameraTranslation: .zero)], faces: [0, 1, 2],
                                                 width: side, height: side, focalLength: focal, background: background)
        #expect(drawn.image.color(x: 5, y: 5) == Image.Color(red: 100, green: 50, blue: 26))
        #expect(!drawn.mask[5 * side + 5] && drawn.mask[80 * side + 100])
        // Lambert: normal (0, 0, ±1), light along the ray from the pixel's surface point.
        let ray = SIMD3<Double>((100.5 - 112) * depth / focal, (80.5 - 112) * depth / focal, depth)
        let shade = HumanMeshRenderer.ambient + (1 - HumanMeshRenderer.ambient) * depth / (ray * ray).sum().squareRoot()
        let expected = (0..<3).map { UInt8((HumanMeshRenderer.baseColor[$0] * shade * 255).rounded()) }
        let got = drawn.image.color(x: 100, y: 80)
        #expect([got.red, got.green, got.blue] == expected)
        // Coverage is exactly the pixels whose centres are inside the projected triangle.
        // (the corners as projected from the Float vertices: rounding moves edges by ~1e-5 px)
        let projected = vertices.map { HumanMeshRenderer.project(SIMD3<Double>($0), focalLength: focal, width: side, height: side) }
        func inside(_ x: Double, _ y: Double) -> Bool {
            let c = projected
            let d = [(c[1] - c[0], SIMD2(x, y) - c[0]), (c[2] - c[1], SIMD2(x, y) - c[1]), (c[0] - c[2], SIMD2(x, y) - c[2])].map { $0.0.x * $0.1.y - $0.0.y * $0.1.x }
            return d.allSatisfy { $0 >= 0 } || d.allSatisfy { $0 <= 0 }
        }
        let mismatched = (0..<(side * side)).filter { drawn.mask[$0] != inside(Double($0 % side) + 0.5, Double($0 / side) + 0.5) }
        #expect(mismatched.isEmpty, "\(mismatched.count) pixels differ, first \(mismatched.first ?? -1)")
        // No background: the reference's input_img = 1., so 0.5 (128) outside.
        let plain = try HumanMeshRenderer.render(meshes: [], faces: [], width: 8, height: 8, focalLength: focal, background: nil)
        #expect(plain.image.pixels.allSatisfy { $0 == 128 })
    }

    // MARK: - Bad files

    /// The stored fixture's arrays as `.npy` bytes, to be altered and zipped again.
    static func fixtureArrays() throws -> [String: [UInt8]] {
        let archive = try NPZArchive(contentsOf: folder.appendingPathComponent(files[0]))
        var arrays: [String: [UInt8]] = [:]
        for name in archive.arrayNames { arrays[name] = try archive.entryBytes(name) }
        return arrays
    }

    static func loading(_ arrays: [String: [UInt8]], _ name: String) throws(SMPLError) -> SMPLModel {
        try SMPLModel(npz: TinyZip.archive(arrays.sorted { $0.key < $1.key }.map { ($0.key + ".npy", $0.value) }), name: name)
    }

    @Test func rejectsBadFilesWithTheExactError() throws {
        let arrays = try Self.fixtureArrays()
        let stored = try Data(contentsOf: Self.folder.appendingPathComponent(Self.files[0]))
        let vertices = 40, joints = 24
        #expect(throws: SMPLError.malformedArchive(file: "truncated.npz", reason: "no end-of-central-directory record (truncated or not a zip file)")) {
            try SMPLModel(npz: stored.prefix(stored.count / 2), name: "truncated.npz")
        }
        var wrong = arrays
        wrong["v_template"] = TinyZip.npy(shape: [vertices, 2], values: [Double](repeating: 0, count: vertices * 2))
        #expect(throws: SMPLError.wrongShape(file: "wrong.npz", array: "v_template", expected: "[V, 3] with 1 ≤ V ≤ \(SMPLModel.maximumVertices)", actual: [vertices, 2])) {
            try Self.loading(wrong, "wrong.npz")
        }
        wrong = arrays
        wrong["weights"] = TinyZip.npy(shape: [vertices, joints - 1], values: [Double](repeating: 0, count: vertices * (joints - 1)))
        #expect(throws: SMPLError.wrongShape(file: "wrong.npz", array: "weights", expected: "[\(vertices), \(joints)]", actual: [vertices, joints - 1])) {
            try Self.loading(wrong, "wrong.npz")
        }
        var missing = arrays
        missing["J_regressor"] = nil
        #expect(throws: SMPLError.missingArray(file: "missing.npz", array: "J_regressor", available: missing.keys.sorted())) {
            try Self.loading(missing, "missing.npz")
        }
        var huge = arrays
        huge["posedirs"] = TinyZip.npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 3), }", data: [0, 0, 0, 0])
        #expect(throws: SMPLError.tooLarge(file: "huge.npz", array: "posedirs", shape: [1_000_000_000_000, 3], limit: SMPLModel.maximumArrayElements)) {
            try Self.loading(huge, "huge.npz")
        }
        huge["posedirs"] = TinyZip.npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 3), }", data: [])
        #expect(throws: SMPLError.malformedArray(file: "huge.npz", array: "posedirs", reason: "shape entry '99999999999999999999999' is not a non-negative integer")) {
            try Self.loading(huge, "huge.npz")
        }
        var nan = arrays
        var template = (0..<(vertices * 3)).map { Double($0) / 100 }
        template[5] = .nan
        nan["v_template"] = TinyZip.npy(shape: [vertices, 3], values: template)
        #expect(throws: SMPLError.nonFinite(file: "nan.npz", array: "v_template", index: 5)) { try Self.loading(nan, "nan.npz") }
        var bigEndian = arrays
        bigEndian["f"] = TinyZip.npy(header: "{'descr': '>i4', 'fortran_order': False, 'shape': (1, 3), }", data: [UInt8](repeating: 0, count: 12))
        #expect(throws: SMPLError.unsupportedDType(file: "be.npz", array: "f", dtype: ">i4")) { try Self.loading(bigEndian, "be.npz") }
        var short = arrays
        short["f"] = TinyZip.npy(header: "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", data: [UInt8](repeating: 0, count: 12))
        #expect(throws: SMPLError.malformedArray(file: "short.npz", array: "f", reason: "shape [2, 3] of <i4 needs 24 data bytes, found 12")) {
            try Self.loading(short, "short.npz")
        }
        var tree = arrays
        let parents = [-1.0, 0, 0, 5] + (4..<joints).map { Double($0 - 1) }
        tree["kintree_table"] = TinyZip.npy(shape: [2, joints], values: parents + (0..<joints).map(Double.init))
        #expect(throws: SMPLError.invalidKinematicTree(file: "tree.npz", joint: 3, parent: 5)) { try Self.loading(tree, "tree.npz") }
        var faces = arrays
        faces["f"] = TinyZip.npy(shape: [3, 3], values: [0, 1, 2, 3, 4, 5, 6, Double(vertices), 7])
        #expect(throws: SMPLError.invalidFace(file: "faces.npz", face: 2, vertex: vertices, vertexCount: vertices)) { try Self.loading(faces, "faces.npz") }
        // A flipped byte inside the stored posedirs payload fails its CRC-32.
        var flipped = stored
        flipped[flipped.startIndex + stored.count / 2] ^= 0xFF
        #expect {
            try SMPLModel(npz: flipped, name: "flipped.npz")
        } throws: { error in
            guard case .corruptEntry("flipped.npz", _, let reason)? = error as? SMPLError else { return false }
            return reason.hasPrefix("CRC-32 is")
        }
        // A deflated entry cut short does not inflate to its declared size.
        let compressed = try Data(contentsOf: Self.folder.appendingPathComponent(Self.files[1]))
        var cut = compressed
        let archive = try NPZArchive(data: compressed, file: "cut.npz")
        let entry = try #require(archive.entries["v_template"])
        let extra = try #require(NPZArchive.u16(compressed, entry.localHeaderOffset + 28))
        let start = entry.localHeaderOffset + 30 + entry.name.utf8.count + extra
        cut.replaceSubrange((cut.startIndex + start)..<(cut.startIndex + start + entry.compressedSize), with: [UInt8](repeating: 0, count: entry.compressedSize))
        #expect {
            try SMPLModel(npz: cut, name: "cut.npz")
        } throws: { error in
            guard case .corruptEntry("cut.npz", "v_template.npy", _)? = error as? SMPLError else { return false }
            return true
        }
        #expect {
            try SMPLModel(contentsOf: URL(fileURLWithPath: "/nonexistent/SMPL_NEUTRAL.npz"))
        } throws: { error in
            guard case .unreadable("/nonexistent/SMPL_NEUTRAL.npz", _)? = error as? SMPLError else { return false }
            return true
        }
        #expect(throws: SMPLError.parameterCount(name: "body pose", expected: "207 (23 3×3 matrices)", actual: 9)) {
            try SMPLModel(contentsOf: Self.folder.appendingPathComponent(Self.files[0])).forward(betas: [], globalOrientation: [Float](repeating: 0, count: 9),
                                                                                                  bodyPose: [Float](repeating: 0, count: 9))
        }
    }
}

/// A minimal `numpy.savez` stand-in: `.npy` bytes and a stored zip archive (CRC-32 included).
enum TinyZip {
    static func npy(shape: [Int], values: [Double]) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var data: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 } }
        return npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (\(dims)), }", data: data)
    }

    static func npy(header: String, data: [UInt8]) -> [UInt8] {
        var text = Array(header.utf8)
        while (10 + text.count + 1) % 64 != 0 { text.append(0x20) }
        text.append(0x0A)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + data
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func archive(_ entries: [(String, [UInt8])]) -> Data {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        var out: [UInt8] = [], directory: [UInt8] = []
        for (name, bytes) in entries {
            let offset = UInt32(out.count), crc = crc32(bytes), size = UInt32(bytes.count), nameBytes = Array(name.utf8)
            out += le32(0x0403_4b50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) + le32(size) + le32(size) + le16(nameBytes.count) + le16(0) + nameBytes + bytes
            directory += le32(0x0201_4b50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) + le32(size) + le32(size)
                + le16(nameBytes.count) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + nameBytes
        }
        let directoryOffset = UInt32(out.count)
        out += directory
        out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count) + le32(UInt32(directory.count)) + le32(directoryOffset) + le16(0)
        return Data(out)
    }
}
