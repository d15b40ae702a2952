import FourMModels
import FourMTokenizers

/// The SMPL meshes of a `human_poses` output drawn over the input picture (the reference demo's
/// `visualize_human_poses`), with what was drawn so callers can render it themselves.
public struct HumanPoseMeshes: Sendable {
    /// The overlay: `0.5 · picture` outside the meshes, the shaded mesh inside (see
    /// ``HumanMeshRenderer``).
    public var image: Image
    /// Whether each pixel of ``image`` is covered by a mesh, row-major.
    public var mask: [Bool]
    /// One placed mesh per person that could be posed, in the order of ``people``.
    public var meshes: [HumanMesh]
    /// The people the meshes were built from.
    public var people: [HumanPoseParameters]
    /// The focal length the meshes were projected with (pixels).
    public var focalLength: Double
    /// One line per person that was skipped (text that does not parse, a pose the model does not
    /// fit), as the reference prints and skips them.
    public var issues: [String]
}

extension PipelineResult {
    /// Poses each person of the `human_poses` output with the user's SMPL model and draws the
    /// meshes over `background`, as the reference demo's `visualize_human_poses`: SMPL forward
    /// with `pose2rot=False` (``SMPLModel/forward(betas:globalOrientation:bodyPose:)``), the
    /// camera from `cam_crop_to_full` with focal length `5000 / 256 · side`, every mesh in one
    /// z-buffer (``HumanMeshRenderer``; Lambertian shading with a light at the camera instead of
    /// pyrender's lights).
    ///
    /// ```swift
    /// let smpl = try SMPLModel(contentsOf: URL(fileURLWithPath: "SMPL_NEUTRAL.npz"))
    /// let result = try pipeline.generate(from: [.rgb224: .image(photo)], preset: preset)  // with human_poses
    /// if let meshes = try result.humanPoseMeshes(smpl: smpl, background: photo) {
    ///     try meshes.image.writePNG(to: URL(fileURLWithPath: "human_poses_mesh.png"))
    /// }
    /// ```
    /// - Parameters:
    ///   - smpl: the SMPL model (``SMPLModel``).
    ///   - row: the batch row.
    ///   - background: the input photo, centre-cropped and resized to `side` as the model saw it
    ///     (`Image.preprocessed(size:)`); a white picture when nil (the reference's
    ///     `input_img = 1.`), so the overlay's background is mid-grey.
    ///   - side: the picture's side (the reference: 224).
    /// - Returns: the overlay and the placed meshes, or nil when the result has no `human_poses`.
    /// - Throws: the errors of ``humanPoses(row:side:)``, `.image` for the picture.
    public func humanPoseMeshes(smpl: SMPLModel, row: Int = 0, background: Image? = nil, side: Int = 224) throws(FourMError) -> HumanPoseMeshes? {
        guard let decoded = try humanPoses(row: row, side: side) else { return nil }
        let focal = HumanMeshRenderer.focalLength(side: side)
        var meshes: [HumanMesh] = [], people: [HumanPoseParameters] = [], issues = decoded.issues
        for (index, person) in decoded.people.enumerated() {
            do {
                let body = try smpl.forward(betas: person.betas, globalOrientation: person.globalOrientation, bodyPose: person.bodyPose.scalars)
                let translation = HumanMeshRenderer.cameraTranslation(camera: person.camera, boxCenter: person.boxCenter, boxSize: person.boxSize,
                                                                      width: side, height: side, focalLength: focal)
                meshes.append(HumanMesh(vertices: body.vertices, cameraTranslation: translation))
                people.append(person)
            } catch {
                issues.append("human_poses person \(index): \(error.description)")
            }
        }
        do {
            let picture = try background?.preprocessed(size: side)
            let drawn = try HumanMeshRenderer.render(meshes: meshes, faces: smpl.faces, width: side, height: side, focalLength: focal, background: picture)
            return HumanPoseMeshes(image: drawn.image, mask: drawn.mask, meshes: meshes, people: people, focalLength: focal, issues: issues)
        } catch { throw .image(error) }
    }
}
