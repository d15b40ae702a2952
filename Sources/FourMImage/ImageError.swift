/// Errors raised while reading, writing, converting or rendering an ``Image``.
///
/// File cases name the file (or `<memory>` for in-memory data) and say what was expected and
/// what was found, so every message tells where, what, and expected versus actual on one line.
public enum ImageError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file could not be read (missing, a directory, no permission).
    case unreadable(file: String, reason: String)
    /// The file or data holds zero bytes.
    case empty(file: String)
    /// The bytes are not a format this build decodes. `actual` describes what was found (the
    /// first bytes in hex, or "JPEG (TurboJPEG not linked)").
    case unsupportedFormat(file: String, expected: String, actual: String)
    /// The data ends before the image does (a PNG chunk or a JPEG segment runs past the end,
    /// or the end marker is missing).
    case truncated(file: String, format: String, expected: String, actual: String)
    /// The decoder rejected the data: bad chunk, bad CRC, bad Huffman table, …; `reason` is
    /// the decoder's own message.
    case corrupt(file: String, format: String, reason: String)
    /// The image declares more pixels than ``Image/maximumPixelCount``; nothing was allocated.
    case tooLarge(file: String, width: Int, height: Int, limit: Int)
    /// A file's header declares a side longer than `limit` pixels
    /// (`InputLimits.maximumImageSide`); rejected before decoding, nothing was allocated.
    case sideTooLong(file: String, width: Int, height: Int, limit: Int)
    /// The pixel layout is not one this type holds, e.g. a JPEG colour space we cannot
    /// convert, or a pixel buffer with 2 channels.
    case unsupportedLayout(file: String, expected: String, actual: String)
    /// A pixel buffer does not match the stated size: wrong count, zero width, bad channels.
    case invalidPixels(expected: String, actual: String)
    /// A tensor handed to a converter or renderer has the wrong shape or a value out of range.
    /// `argument` names the parameter.
    case invalidTensor(argument: String, expected: String, actual: String)
    /// Another argument is out of range (a zero output size, an empty batch, a crop outside
    /// the image). `argument` names the parameter.
    case invalidArgument(argument: String, expected: String, actual: String)
    /// Encoding or writing failed; `reason` is the encoder's or the file system's message.
    case writeFailed(file: String, reason: String)

    /// One line: where, what, expected versus actual.
    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read image: \(reason)"
        case .empty(let file):
            return "\(file): image data is empty (0 bytes)"
        case .unsupportedFormat(let file, let expected, let actual):
            return "\(file): unsupported image format: got \(actual), expected \(expected)"
        case .truncated(let file, let format, let expected, let actual):
            return "\(file): truncated \(format): expected \(expected), got \(actual)"
        case .corrupt(let file, let format, let reason):
            return "\(file): corrupt \(format): \(reason)"
        case .tooLarge(let file, let width, let height, let limit):
            return
                "\(file): image is \(width)x\(height) = \(width * height) pixels, limit is \(limit)"
        case .sideTooLong(let file, let width, let height, let limit):
            return "\(file): image header declares \(width)x\(height), but a side may be at most \(limit) pixels"
        case .unsupportedLayout(let file, let expected, let actual):
            return "\(file): unsupported pixel layout \(actual), expected \(expected)"
        case .invalidPixels(let expected, let actual):
            return "pixel buffer: got \(actual), expected \(expected)"
        case .invalidTensor(let argument, let expected, let actual):
            return "\(argument): got \(actual), expected \(expected)"
        case .invalidArgument(let argument, let expected, let actual):
            return "\(argument): got \(actual), expected \(expected)"
        case .writeFailed(let file, let reason):
            return "\(file): cannot write image: \(reason)"
        }
    }
}
