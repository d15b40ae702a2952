/// A posed SMPL body: the output of ``SMPLModel/forward(betas:globalOrientation:bodyPose:)``.
public struct SMPLBody: Sendable, Equatable {
    /// The skinned vertices `[V]` in the model's frame (metres, no camera translation).
    public var vertices: [SIMD3<Float>]
    /// The posed joints `[J]` (the translations of the kinematic chain's transforms).
    public var joints: [SIMD3<Float>]
}

extension SMPLModel {
    /// Poses the body with linear blend skinning, as smplx's `lbs` with `pose2rot=False`
    /// (the call `plotting_utils.visualize_human_poses` makes through `SMPLLayer`): shape
    /// blend `v_template + shapedirs·β`, joints from `J_regressor`, pose feature `(R[1:] − I)`
    /// flattened through `posedirs`, the rigid transforms along `kintree_table`, then skinning
    /// with `weights`. Computed in `Double` from the file's values; no translation is added
    /// (the reference passes none).
    /// - Parameters:
    ///   - betas: up to ``shapeDirectionCount`` shape values (the modality gives 10); the first
    ///     `betas.count` shape directions are used, as smplx with `num_betas = betas.count`.
    ///   - globalOrientation: the root's rotation, 9 values row-major.
    ///   - bodyPose: `9·(J−1)` values: the other joints' rotation matrices, row-major, in joint
    ///     order (`HumanPoseParameters.bodyPose`'s scalars).
    /// - Returns: the posed vertices and joints.
    /// - Throws: `.parameterCount` when a count does not fit the model, `.nonFinite` for a NaN
    ///   or infinite parameter.
    public func forward(betas: [Float], globalOrientation: [Float], bodyPose: [Float]) throws(SMPLError) -> SMPLBody {
        let vertices = vertexCount, joints = jointCount, shapes = shapeDirectionCount
        guard betas.count <= shapes else { throw .parameterCount(name: "betas", expected: "at most \(shapes)", actual: betas.count) }
        guard globalOrientation.count == 9 else { throw .parameterCount(name: "global orientation", expected: "9 (a 3×3 matrix)", actual: globalOrientation.count) }
        guard bodyPose.count == 9 * (joints - 1) else {
            throw .parameterCount(name: "body pose", expected: "\(9 * (joints - 1)) (\(joints - 1) 3×3 matrices)", actual: bodyPose.count)
        }
        for (name, values) in [("betas", betas), ("global orientation", globalOrientation), ("body pose", bodyPose)] {
            if let bad = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(file: "parameters", array: name, index: bad) }
        }
        // Shape blend: v_shaped[v, k] = v_template[v, k] + Σ_l β_l · shapedirs[v, k, l].
        var shaped = template
        for row in 0..<(vertices * 3) {
            var sum = 0.0
            for l in 0..<betas.count { sum += Double(betas[l]) * shapeDirections[row * shapes + l] }
            shaped[row] += sum
        }
        // Joints: J[j, k] = Σ_v J_regressor[j, v] · v_shaped[v, k].
        var restJoints = [SIMD3<Double>](repeating: .zero, count: joints)
        for j in 0..<joints {
            var sum = SIMD3<Double>.zero
            for v in 0..<vertices {
                let w = jointRegressor[j * vertices + v]
                if w != 0 { sum += w * SIMD3(shaped[v * 3], shaped[v * 3 + 1], shaped[v * 3 + 2]) }
            }
            restJoints[j] = sum
        }
        // Rotations: [global, body...]; pose feature (R_j − I) for j ≥ 1, flattened row-major.
        var rotations: [Matrix3] = [Matrix3(globalOrientation, at: 0)]
        for j in 0..<(joints - 1) { rotations.append(Matrix3(bodyPose, at: j * 9)) }
        var feature = [Double](repeating: 0, count: 9 * (joints - 1))
        for j in 1..<max(joints, 1) {
            for r in 0..<3 {
                for c in 0..<3 { feature[(j - 1) * 9 + r * 3 + c] = rotations[j].rows[r][c] - (r == c ? 1 : 0) }
            }
        }
        // Pose blend: v_posed = v_shaped + feature · posedirs ([P] · [P, V·3]).
        var posed = shaped
        let width = vertices * 3
        for p in 0..<feature.count where feature[p] != 0 {
            let f = feature[p], base = p * width
            for i in 0..<width { posed[i] += f * poseDirections[base + i] }
        }
        // Rigid transforms along the tree (batch_rigid_transform): chain_j = chain_parent ∘ [R_j | J_j − J_parent].
        var chain: [Rigid] = []
        chain.reserveCapacity(joints)
        for j in 0..<joints {
            let relative = j == 0 ? restJoints[0] : restJoints[j] - restJoints[parents[j]]
            let local = Rigid(rotation: rotations[j], translation: relative)
            chain.append(j == 0 ? local : chain[parents[j]].composed(with: local))
        }
        // Skinning transforms remove the rest joint: A_j = [R | t − R·J_j].
        let skinning = (0..<joints).map { j in Rigid(rotation: chain[j].rotation, translation: chain[j].translation - chain[j].rotation.apply(restJoints[j])) }
        var out = [SIMD3<Float>](repeating: .zero, count: vertices)
        for v in 0..<vertices {
            var blended = Rigid(rotation: Matrix3(rows: [.zero, .zero, .zero]), translation: .zero)
            for j in 0..<joints {
                let w = skinningWeights[v * joints + j]
                if w == 0 { continue }
                for r in 0..<3 { blended.rotation.rows[r] += w * skinning[j].rotation.rows[r] }
                blended.translation += w * skinning[j].translation
            }
            let point = blended.rotation.apply(SIMD3(posed[v * 3], posed[v * 3 + 1], posed[v * 3 + 2])) + blended.translation
            out[v] = SIMD3<Float>(point)
        }
        return SMPLBody(vertices: out, joints: chain.map { SIMD3<Float>($0.translation) })
    }
}

/// A 3×3 matrix as three rows.
struct Matrix3: Sendable {
    var rows: [SIMD3<Double>]

    init(rows: [SIMD3<Double>]) { self.rows = rows }

    /// The row-major matrix at `values[offset..<offset+9]`.
    init(_ values: [Float], at offset: Int) {
        rows = (0..<3).map { r in SIMD3(Double(values[offset + r * 3]), Double(values[offset + r * 3 + 1]), Double(values[offset + r * 3 + 2])) }
    }

    func apply(_ v: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3((rows[0] * v).sum(), (rows[1] * v).sum(), (rows[2] * v).sum())
    }

    /// `self · other`.
    func times(_ other: Matrix3) -> Matrix3 {
        Matrix3(rows: rows.map { row in row.x * other.rows[0] + row.y * other.rows[1] + row.z * other.rows[2] })
    }
}

/// `[R | t]`, a 3×4 affine transform.
struct Rigid: Sendable {
    var rotation: Matrix3
    var translation: SIMD3<Double>

    /// `self ∘ other`: applies `other`, then `self`.
    func composed(with other: Rigid) -> Rigid {
        Rigid(rotation: rotation.times(other.rotation), translation: rotation.apply(other.translation) + translation)
    }
}
