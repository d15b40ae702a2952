/// One person of the `human_poses` modality (spec/tokenizers.md section 8.7): a box, the 8
/// ids of the pose tokenizer, the SMPL global orientation, camera and shape, and the order
/// the four groups were written in.
///
/// Turning ``poseTokenIds`` into a body pose is the pose tokenizer's job (spec/tokenizers.md
/// section 6.11); rendering needs the user's SMPL body model (FourM's `SMPLModel`).
public struct HumanPose: Sendable, Equatable, Hashable {
    /// The four groups that follow the box, named by their keyword.
    public enum Group: String, Sendable, CaseIterable, Hashable {
        /// `pose` + the 8 pose-tokenizer ids.
        case pose
        /// `global` + the 9 entries of the 3×3 global orientation.
        case global
        /// `camera` + the 3 camera values.
        case camera
        /// `shape` + the 10 SMPL betas.
        case shape

        /// How many values follow the keyword.
        public var valueCount: Int {
            switch self {
            case .pose: return 8
            case .global: return 9
            case .camera: return 3
            case .shape: return 10
            }
        }
    }

    /// Left edge of the person's box, normalized to [0, 1].
    public var xmin: Double
    /// Top edge, [0, 1].
    public var ymin: Double
    /// Right edge, [0, 1].
    public var xmax: Double
    /// Bottom edge, [0, 1].
    public var ymax: Double
    /// The 8 ids of the pose tokenizer, each in 0…1023.
    public var poseTokenIds: [Int]
    /// The 3×3 global orientation, row-major (9 values in [−1, 1]).
    public var globalOrientation: [Double]
    /// The 3 camera values (the reference clamps them to [−1, 19]).
    public var camera: [Double]
    /// The 10 SMPL shape parameters (betas, in [−3, 3]).
    public var betas: [Double]
    /// The order of the groups after the box (the reference draws a random permutation).
    public var groupOrder: [Group]

    /// Creates a person.
    /// - Parameters:
    ///   - xmin: Left edge, [0, 1].
    ///   - ymin: Top edge, [0, 1].
    ///   - xmax: Right edge, [0, 1].
    ///   - ymax: Bottom edge, [0, 1].
    ///   - poseTokenIds: 8 pose-tokenizer ids.
    ///   - globalOrientation: 9 values, row-major 3×3.
    ///   - camera: 3 values.
    ///   - betas: 10 values.
    ///   - groupOrder: A permutation of the four groups.
    public init(
        xmin: Double, ymin: Double, xmax: Double, ymax: Double, poseTokenIds: [Int],
        globalOrientation: [Double], camera: [Double], betas: [Double],
        groupOrder: [Group] = [.pose, .global, .camera, .shape]
    ) {
        self.xmin = xmin
        self.ymin = ymin
        self.xmax = xmax
        self.ymax = ymax
        self.poseTokenIds = poseTokenIds
        self.globalOrientation = globalOrientation
        self.camera = camera
        self.betas = betas
        self.groupOrder = groupOrder
    }

    /// The box in pixels of a square image, as the reference's decoder computes it
    /// (`value / 999 · 224` for the default size).
    /// - Parameter imageSize: The image side in pixels (224 in the reference).
    /// - Returns: `(xmin, ymin, xmax, ymax)` in pixels.
    public func pixelBox(imageSize: Double = 224) -> (
        xmin: Double, ymin: Double, xmax: Double, ymax: Double
    ) {
        (xmin * imageSize, ymin * imageSize, xmax * imageSize, ymax * imageSize)
    }
}
