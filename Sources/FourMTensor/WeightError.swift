/// Errors raised while reading, validating or consuming a safetensors file.
///
/// Every case names the file and, where one is involved, the tensor key, with the expected
/// and the actual value.
public enum WeightError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file could not be opened or mapped.
    case unreadable(file: String, reason: String)
    /// The file is shorter than the 8-byte header length field.
    case truncated(file: String, expectedAtLeast: Int, actual: Int)
    /// The header length field points past the end of the file.
    case headerPastEnd(file: String, headerLength: UInt64, fileSize: Int)
    /// The header is not a JSON object of the safetensors form.
    case invalidHeader(file: String, reason: String)
    /// A tensor entry is malformed (missing field, negative extent, bad offsets).
    case invalidEntry(file: String, key: String, reason: String)
    /// A tensor uses a dtype this reader does not know.
    case unknownDType(file: String, key: String, dtype: String)
    /// A tensor's byte range lies (partly) outside the data section.
    case offsetsOutOfBounds(file: String, key: String, end: Int, dataSize: Int)
    /// A tensor's byte range does not equal shape × dtype size.
    case sizeMismatch(file: String, key: String, expectedBytes: Int, actualBytes: Int)
    /// Two tensors share bytes.
    case overlappingTensors(file: String, first: String, second: String)
    /// A tensor the model needs is absent.
    case missingTensor(file: String, key: String)
    /// A tensor has another shape than the model expects.
    case shapeMismatch(file: String, key: String, expected: [Int], actual: [Int])
    /// A tensor's dtype cannot be converted to what the caller asked for.
    case dtypeMismatch(file: String, key: String, expected: String, actual: String)
    /// An integer tensor holds a value outside the range of the requested type.
    case valueOutOfRange(file: String, key: String, value: Int64)
    /// Tensors were left over after the model took what it needs.
    case unusedTensors(file: String, keys: [String], total: Int)
    /// Two tensors that must hold the same values (tied or shared weights) differ.
    case tiedTensorsDiffer(file: String, first: String, second: String)
    /// Writing a file failed.
    case writeFailed(file: String, reason: String)
    /// A key appears twice in the header (a tensor name, `__metadata__`, or a field).
    case duplicateKey(file: String, key: String)
    /// A size read from the file is beyond one of the ``InputLimits``.
    case limitExceeded(file: String, what: String, limit: Int, actual: Int)
    /// A tensor's shape × dtype size does not fit in `Int`.
    case shapeOverflow(file: String, key: String, shape: [Int], dtype: String)
    /// Bytes between two tensors (or before the first) belong to no tensor.
    case hole(file: String, key: String, expectedBegin: Int, actualBegin: Int)
    /// Bytes after the last tensor belong to no tensor.
    case trailingBytes(file: String, dataEnd: Int, fileSize: Int)
    /// A floating-point tensor holds NaN or an infinity.
    case nonFiniteValue(file: String, key: String, index: Int, value: Float)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read file: \(reason)"
        case let .truncated(file, expected, actual):
            return "\(file): truncated: expected at least \(expected) bytes, file has \(actual)"
        case let .headerPastEnd(file, length, size):
            return "\(file): header length \(length) runs past the end of the file (\(size) bytes)"
        case let .invalidHeader(file, reason):
            return "\(file): invalid safetensors header: \(reason)"
        case let .invalidEntry(file, key, reason):
            return "\(file): tensor '\(key)': \(reason)"
        case let .unknownDType(file, key, dtype):
            return "\(file): tensor '\(key)' has unknown dtype '\(dtype)', expected one of F32, F16, BF16, I64, I32, U8, BOOL"
        case let .offsetsOutOfBounds(file, key, end, dataSize):
            return "\(file): tensor '\(key)' ends at byte \(end), past the data section of \(dataSize) bytes"
        case let .sizeMismatch(file, key, expected, actual):
            return "\(file): tensor '\(key)' spans \(actual) bytes, expected \(expected) (shape × dtype size)"
        case let .overlappingTensors(file, first, second):
            return "\(file): tensors '\(first)' and '\(second)' overlap"
        case let .missingTensor(file, key):
            return "\(file): missing tensor '\(key)'"
        case let .shapeMismatch(file, key, expected, actual):
            return "\(file): tensor '\(key)' has shape \(actual), expected \(expected)"
        case let .dtypeMismatch(file, key, expected, actual):
            return "\(file): tensor '\(key)' has dtype \(actual), expected \(expected)"
        case let .valueOutOfRange(file, key, value):
            return "\(file): tensor '\(key)' holds \(value), outside the Int32 range"
        case let .unusedTensors(file, keys, total):
            let more = total > keys.count ? " and \(total - keys.count) more" : ""
            return "\(file): \(total) tensor(s) not used by the model: \(keys.joined(separator: ", "))\(more)"
        case let .tiedTensorsDiffer(file, first, second):
            return "\(file): tied tensors '\(first)' and '\(second)' differ"
        case let .writeFailed(file, reason):
            return "\(file): cannot write: \(reason)"
        case let .duplicateKey(file, key):
            return "\(file): header key '\(key)' appears more than once"
        case let .limitExceeded(file, what, limit, actual):
            return "\(file): \(what) is \(actual), above the limit of \(limit)"
        case let .shapeOverflow(file, key, shape, dtype):
            return "\(file): tensor '\(key)' of shape \(shape) and dtype \(dtype) is larger than any file can hold"
        case let .hole(file, key, expected, actual):
            return "\(file): tensor '\(key)' starts at data byte \(actual), expected \(expected) (a hole no tensor covers)"
        case let .trailingBytes(file, dataEnd, fileSize):
            return "\(file): \(fileSize - dataEnd) byte(s) after the last tensor (tensors end at byte \(dataEnd), file has \(fileSize))"
        case let .nonFiniteValue(file, key, index, value):
            return "\(file): tensor '\(key)' holds \(value) at element \(index), expected finite values"
        }
    }
}
