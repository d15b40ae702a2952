/// Why an SMPL model file could not be used, naming the file, the array and what was expected.
///
/// SMPL files come from outside (the user's own download), so every check that fails throws
/// one of these instead of trapping: a truncated or foreign zip, an `.npy` header FourM does not
/// read, a missing array, a wrong or oversized shape, a NaN, a kinematic tree that is not a tree.
public enum SMPLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read at all.
    case unreadable(file: String, reason: String)
    /// The zip container is broken: `reason` says where (no end record, an entry out of bounds…).
    case malformedArchive(file: String, reason: String)
    /// An archive entry is compressed with a method other than stored (0) or deflate (8), or
    /// is encrypted.
    case unsupportedCompression(file: String, entry: String, method: Int)
    /// An entry's bytes do not inflate to its declared size or fail its CRC-32.
    case corruptEntry(file: String, entry: String, reason: String)
    /// An array the model needs is not in the archive.
    case missingArray(file: String, array: String, available: [String])
    /// An `.npy` header FourM cannot read (magic, version, header text, byte count).
    case malformedArray(file: String, array: String, reason: String)
    /// An element type other than little-endian `f4`, `f8`, `i4`, `i8`, `u4`, `u8`.
    case unsupportedDType(file: String, array: String, dtype: String)
    /// The array's shape is not the one the model needs.
    case wrongShape(file: String, array: String, expected: String, actual: [Int])
    /// The array declares more elements than FourM accepts (`limit`), or its size overflows.
    case tooLarge(file: String, array: String, shape: [Int], limit: Int)
    /// A NaN or infinity at flat index `index` (C order).
    case nonFinite(file: String, array: String, index: Int)
    /// A joint whose parent is not an earlier joint (`kintree_table` must list parents first).
    case invalidKinematicTree(file: String, joint: Int, parent: Int)
    /// A face refers to a vertex that does not exist.
    case invalidFace(file: String, face: Int, vertex: Int, vertexCount: Int)
    /// Parameters handed to ``SMPLModel/forward(betas:globalOrientation:bodyPose:)`` of the
    /// wrong length.
    case parameterCount(name: String, expected: String, actual: Int)

    /// One line: where, what, expected and actual.
    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read the SMPL model (\(reason))"
        case let .malformedArchive(file, reason): return "\(file): not a readable .npz (zip) archive: \(reason)"
        case let .unsupportedCompression(file, entry, method):
            return "\(file): entry '\(entry)' uses zip method \(method), expected stored (0) or deflate (8) without encryption; save it with numpy.savez or savez_compressed"
        case let .corruptEntry(file, entry, reason): return "\(file): entry '\(entry)' is corrupt: \(reason)"
        case let .missingArray(file, array, available):
            return "\(file): array '\(array)' is missing (the archive has \(available.isEmpty ? "none" : available.joined(separator: ", "))); see Documentation/HumanPoseMeshes.md to convert SMPL_NEUTRAL.pkl"
        case let .malformedArray(file, array, reason): return "\(file): array '\(array)' is not a readable .npy: \(reason)"
        case let .unsupportedDType(file, array, dtype):
            return "\(file): array '\(array)' has dtype '\(dtype)', expected little-endian f4, f8, i4, i8, u4 or u8 (densify sparse and chumpy arrays first)"
        case let .wrongShape(file, array, expected, actual): return "\(file): array '\(array)' has shape \(actual), expected \(expected)"
        case let .tooLarge(file, array, shape, limit): return "\(file): array '\(array)' declares shape \(shape), more than the \(limit) elements FourM accepts"
        case let .nonFinite(file, array, index): return "\(file): array '\(array)' has a non-finite value at flat index \(index)"
        case let .invalidKinematicTree(file, joint, parent):
            return "\(file): array 'kintree_table' gives joint \(joint) the parent \(parent), expected an earlier joint (0…\(max(joint - 1, 0)))"
        case let .invalidFace(file, face, vertex, vertexCount): return "\(file): array 'f' face \(face) uses vertex \(vertex), expected 0…\(vertexCount - 1)"
        case let .parameterCount(name, expected, actual): return "SMPL \(name) has \(actual) values, expected \(expected)"
        }
    }
}
