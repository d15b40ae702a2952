import Foundation

/// The SMPL body model, loaded from the user's own `.npz` file (FourM ships no SMPL data).
///
/// The file holds the dense arrays of the official model (see `Documentation/HumanPoseMeshes.md`
/// for the few lines of Python that turn `SMPL_NEUTRAL.pkl` into one): `v_template` `[V, 3]`,
/// `shapedirs` `[V, 3, ≥10]`, `posedirs` `[V, 3, 9·(J−1)]` (or smplx's `[9·(J−1), V·3]`),
/// `J_regressor` `[J, V]`, `weights` `[V, J]`, `kintree_table` `[2, J]` and `f` `[F, 3]`; any
/// little-endian `f4`/`f8`/`i4`/`i8`/`u4`/`u8`, C or Fortran order, stored or deflated.
///
/// ```swift
/// let smpl = try SMPLModel(contentsOf: URL(fileURLWithPath: "SMPL_NEUTRAL.npz"))
/// let body = try smpl.forward(betas: person.betas, globalOrientation: person.globalOrientation,
///                             bodyPose: person.bodyPose.scalars)
/// print(body.vertices.count)  // 6890
/// ```
public struct SMPLModel: Sendable {
    /// The largest vertex count accepted (SMPL: 6890, SMPL-X: 10475).
    public static let maximumVertices = 100_000
    /// The largest joint count accepted (SMPL: 24).
    public static let maximumJoints = 128
    /// The largest face count accepted (SMPL: 13776).
    public static let maximumFaces = 400_000
    /// The fewest shape directions accepted: the 10 betas of the `human_poses` modality.
    public static let minimumShapeDirections = 10
    /// The most shape directions accepted (the official files have 300).
    public static let maximumShapeDirections = 400
    /// The most elements one array may declare (2^26; SMPL-X's `posedirs` has 15 million).
    public static let maximumArrayElements = 1 << 26

    /// The number of vertices `V`.
    public let vertexCount: Int
    /// The number of joints `J` (24 for SMPL: the root plus the 23 of the body pose).
    public let jointCount: Int
    /// The number of shape directions (betas the model can take).
    public let shapeDirectionCount: Int
    /// The parent of each joint (`-1` for the root), from `kintree_table[0]`.
    public let parents: [Int]
    /// The triangles, three vertex indices each, `[F, 3]` flattened.
    public let faces: [Int32]

    /// `[V·3]`
    let template: [Double]
    /// `[V·3, S]`
    let shapeDirections: [Double]
    /// `[P, V·3]` with `P = 9·(J−1)`, as smplx reshapes it.
    let poseDirections: [Double]
    /// `[J, V]`
    let jointRegressor: [Double]
    /// `[V, J]`
    let skinningWeights: [Double]

    /// Loads and checks an SMPL model file.
    /// - Parameter url: an `.npz` written by `numpy.savez` or `numpy.savez_compressed`.
    /// - Throws: ``SMPLError``: `.unreadable`, `.malformedArchive`, `.unsupportedCompression`,
    ///   `.corruptEntry`, `.missingArray`, `.malformedArray`, `.unsupportedDType`, `.wrongShape`,
    ///   `.tooLarge`, `.nonFinite`, `.invalidKinematicTree`, `.invalidFace`.
    public init(contentsOf url: URL) throws(SMPLError) {
        try self.init(archive: try NPZArchive(contentsOf: url))
    }

    /// Loads and checks an SMPL model from the bytes of an `.npz` file.
    /// - Parameters:
    ///   - data: the archive's bytes.
    ///   - name: the name errors use for the file.
    /// - Throws: as ``init(contentsOf:)``.
    public init(npz data: Data, name: String) throws(SMPLError) {
        try self.init(archive: try NPZArchive(data: data, file: name))
    }

    init(archive: NPZArchive) throws(SMPLError) {
        let file = archive.file
        func load(_ name: String) throws(SMPLError) -> NPYArray { try archive.array(name, maximumElements: Self.maximumArrayElements) }

        let template = try load("v_template")
        guard template.shape.count == 2, template.shape[1] == 3, (1...Self.maximumVertices).contains(template.shape[0]) else {
            throw .wrongShape(file: file, array: "v_template", expected: "[V, 3] with 1 ≤ V ≤ \(Self.maximumVertices)", actual: template.shape)
        }
        let vertices = template.shape[0]

        let tree = try load("kintree_table")
        guard tree.shape.count == 2, tree.shape[0] == 2, (1...Self.maximumJoints).contains(tree.shape[1]) else {
            throw .wrongShape(file: file, array: "kintree_table", expected: "[2, J] with 1 ≤ J ≤ \(Self.maximumJoints)", actual: tree.shape)
        }
        let joints = tree.shape[1]
        var parents = [-1]
        for joint in 1..<max(joints, 1) {
            let value = tree.values[joint]
            guard value >= 0, value < Double(joint), value == value.rounded() else {
                throw .invalidKinematicTree(file: file, joint: joint, parent: value.isFinite && abs(value) < 1e15 ? Int(value) : -1)
            }
            parents.append(Int(value))
        }

        let shapes = try load("shapedirs")
        guard shapes.shape.count == 3, shapes.shape[0] == vertices, shapes.shape[1] == 3,
            (Self.minimumShapeDirections...Self.maximumShapeDirections).contains(shapes.shape[2])
        else {
            throw .wrongShape(file: file, array: "shapedirs", expected: "[\(vertices), 3, 10…\(Self.maximumShapeDirections)]", actual: shapes.shape)
        }

        let poseCount = 9 * (joints - 1)
        let poses = try load("posedirs")
        var poseDirections: [Double]
        if poses.shape == [vertices, 3, poseCount] {
            // [V·3, P] → [P, V·3] (smplx: reshape(posedirs, [-1, P]).T).
            poseDirections = [Double](repeating: 0, count: poses.values.count)
            for row in 0..<(vertices * 3) {
                for p in 0..<poseCount { poseDirections[p * vertices * 3 + row] = poses.values[row * poseCount + p] }
            }
        } else if poses.shape == [poseCount, vertices * 3] {
            poseDirections = poses.values
        } else {
            throw .wrongShape(file: file, array: "posedirs", expected: "[\(vertices), 3, \(poseCount)] or [\(poseCount), \(vertices * 3)]", actual: poses.shape)
        }

        let regressor = try load("J_regressor")
        guard regressor.shape == [joints, vertices] else {
            throw .wrongShape(file: file, array: "J_regressor", expected: "[\(joints), \(vertices)] (dense; densify a sparse matrix first)", actual: regressor.shape)
        }
        let weights = try load("weights")
        guard weights.shape == [vertices, joints] else {
            throw .wrongShape(file: file, array: "weights", expected: "[\(vertices), \(joints)]", actual: weights.shape)
        }
        let faceArray = try load("f")
        guard faceArray.shape.count == 2, faceArray.shape[1] == 3, faceArray.shape[0] <= Self.maximumFaces else {
            throw .wrongShape(file: file, array: "f", expected: "[F, 3] with F ≤ \(Self.maximumFaces)", actual: faceArray.shape)
        }
        var faces: [Int32] = []
        faces.reserveCapacity(faceArray.values.count)
        for (i, value) in faceArray.values.enumerated() {
            guard value >= 0, value < Double(vertices), value == value.rounded() else {
                throw .invalidFace(file: file, face: i / 3, vertex: value.isFinite && abs(value) < 1e15 ? Int(value) : -1, vertexCount: vertices)
            }
            faces.append(Int32(value))
        }

        self.vertexCount = vertices
        self.jointCount = joints
        self.shapeDirectionCount = shapes.shape[2]
        self.parents = parents
        self.faces = faces
        self.template = template.values
        self.shapeDirections = shapes.values
        self.poseDirections = poseDirections
        self.jointRegressor = regressor.values
        self.skinningWeights = weights.values
    }
}
