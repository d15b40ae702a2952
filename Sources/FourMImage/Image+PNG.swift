import CPNG
import Foundation
import FourMTensor

// MARK: - PNG through libpng's simplified API
//
// libpng reports errors by longjmp, which must never cross Swift frames. The simplified API
// (`png_image_*`) catches its own longjmps inside C and returns an error code plus a message,
// so it is safe to call from Swift. Before handing bytes to libpng we walk the chunk list
// ourselves, so truncation is reported as such rather than as whatever libpng says first.

extension Image {
    /// Decodes a PNG held in memory.
    ///
    /// Every PNG colour type and bit depth is accepted and converted to 8 bits: gray stays 1
    /// channel, RGB 3, anything with alpha (RGBA, gray + alpha, a palette with `tRNS`) becomes
    /// RGBA, palettes expand to RGB; Adam7 interlacing is undone. 16-bit samples are scaled to
    /// 8 bits by libpng (`round(v / 257)`), where Pillow keeps the high byte (`v >> 8`): the two
    /// differ by at most 1. libpng applies the file's `gAMA` chunk when it differs from sRGB;
    /// Pillow ignores it (files without `gAMA`, or with 1/2.2, decode identically).
    /// - Parameters:
    ///   - pngData: the whole file.
    ///   - name: the name used in error messages.
    /// - Throws: ``ImageError/empty(file:)``,
    ///   ``ImageError/unsupportedFormat(file:expected:actual:)``
    ///   (no PNG signature), ``ImageError/truncated(file:format:expected:actual:)``,
    ///   ``ImageError/corrupt(file:format:reason:)`` (libpng's message),
    ///   ``ImageError/tooLarge(file:width:height:limit:)`` or
    ///   ``ImageError/sideTooLong(file:width:height:limit:)`` (checked from the header, before decoding).
    public init(pngData: Data, name: String = "<memory>") throws(ImageError) {
        guard !pngData.isEmpty else { throw .empty(file: name) }
        guard ImageFormat(signatureOf: pngData) == .png else {
            throw .unsupportedFormat(
                file: name, expected: "PNG signature 89 50 4E 47 0D 0A 1A 0A",
                actual: ImageFormat.describeSignature(pngData))
        }
        try PNGCodec.checkChunks(pngData, name: name)
        self = try PNGCodec.decode(pngData, name: name)
    }

    /// Encodes the image as PNG (8-bit gray, RGB or RGBA, non-interlaced).
    /// - Returns: the PNG file's bytes.
    /// - Throws: ``ImageError/writeFailed(file:reason:)`` with libpng's message.
    public func pngData() throws(ImageError) -> Data {
        try PNGCodec.encode(self)
    }

    /// Writes the image as a PNG file (atomically).
    /// - Parameter url: destination file.
    /// - Throws: ``ImageError/writeFailed(file:reason:)`` when encoding or writing fails.
    public func writePNG(to url: URL) throws(ImageError) {
        let data: Data
        do { data = try pngData() } catch {
            throw .writeFailed(file: url.path, reason: error.description)
        }
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw .writeFailed(file: url.path, reason: fileErrorReason(error))
        }
    }
}

/// PNG reading and writing; see ``Image/init(pngData:name:)``.
enum PNGCodec {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Walks the chunk list: every chunk's length, type, data and CRC must lie inside the data,
    /// the first chunk must be `IHDR` and the list must reach `IEND`. Bytes after `IEND` are
    /// ignored, as by libpng and Pillow.
    static func checkChunks(_ data: Data, name: String) throws(ImageError) {
        let problem: ImageError? = data.withUnsafeBytes { bytes in
            var offset = signature.count
            var index = 0
            while true {
                guard offset + 8 <= bytes.count else {
                    return .truncated(
                        file: name, format: "PNG",
                        expected: "a chunk header at byte \(offset) (no IEND yet)",
                        actual: "end of data at byte \(bytes.count)")
                }
                let length =
                    Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16
                    | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
                guard length <= 0x7FFF_FFFF else {
                    return .corrupt(
                        file: name, format: "PNG",
                        reason:
                            "chunk '\(type)' at byte \(offset) declares length \(length) > 2^31 - 1"
                    )
                }
                if index == 0, type != "IHDR" {
                    return .corrupt(
                        file: name, format: "PNG",
                        reason: "first chunk is '\(type)', expected 'IHDR'")
                }
                let end = offset + 12 + length
                guard end <= bytes.count else {
                    return .truncated(
                        file: name, format: "PNG",
                        expected: "chunk '\(type)' of \(length) bytes ending at byte \(end)",
                        actual: "end of data at byte \(bytes.count)")
                }
                if type == "IEND" { return nil }
                offset = end
                index += 1
            }
        }
        if let problem { throw problem }
    }

    /// libpng's message for a failed call, or a fallback.
    static func message(_ image: png_image) -> String {
        var copy = image.message
        let text = withUnsafeBytes(of: &copy) { raw -> String in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
        return text.isEmpty ? "libpng error \(image.warning_or_error)" : text
    }

    static func decode(_ data: Data, name: String) throws(ImageError) -> Image {
        let result: Result<Image, ImageError> = data.withUnsafeBytes { raw in
            var png = png_image()
            if let error = beginRead(&png, raw, name: name) { return .failure(error) }
            let width = Int(png.width)
            let height = Int(png.height)
            let source = png.format
            let color = source & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
            let alpha = source & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
            // Gray + alpha is widened to RGBA: the Image type holds 1, 3 or 4 channels.
            let channels = alpha ? 4 : (color ? 3 : 1)
            png.format =
                channels == 4
                ? UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
                : channels == 3 ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0
            if source & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0 {
                // 16-bit data without gAMA: treat as sRGB-encoded, so reducing to 8 bits only
                // rescales (the default would treat it as linear light and re-encode it).
                png.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
            }
            let stride = width * channels
            var pixels = [UInt8](repeating: 0, count: stride * height)
            let ok = pixels.withUnsafeMutableBytes { out in
                png_image_finish_read(&png, nil, out.baseAddress, Int32(stride), nil)
            }
            guard ok != 0 else {
                return .failure(.corrupt(file: name, format: "PNG", reason: message(png)))
            }
            return .success(Image(unchecked: width, height, channels, pixels))
        }
        return try result.get()
    }

    static func encode(_ image: Image) throws(ImageError) -> Data {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format =
            image.channels == 4
            ? UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
            : image.channels == 3 ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0
        let stride = Int32(image.width * image.channels)
        let result = image.pixels.withUnsafeBytes { src in
            Result { () throws(ImageError) -> Data in try write(png, rowStride: stride, samples: src) }
        }
        return try result.get()
    }

    /// Starts reading a PNG held in `raw`: the header is parsed and the size checked. On
    /// success `png` describes the file and the caller must finish the read (or free it).
    /// - Returns: nil on success, else the error (libpng's message, or the size limit).
    static func beginRead(_ png: inout png_image, _ raw: UnsafeRawBufferPointer, name: String) -> ImageError? {
        png.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_memory(&png, raw.baseAddress, raw.count) != 0 else {
            return .corrupt(file: name, format: "PNG", reason: message(png))
        }
        let width = Int(png.width), height = Int(png.height)
        if let problem = Image.checkDeclaredSize(width: width, height: height, name: name) {
            png_image_free(&png)
            return problem
        }
        return nil
    }

    /// Encodes samples laid out as `png` (width, height, format) describes: one pass to size
    /// the output, one to write it.
    /// - Parameters:
    ///   - png: the image description (its `version` is set here).
    ///   - rowStride: samples (not bytes) per row.
    ///   - samples: the rows.
    /// - Returns: the PNG file's bytes.
    /// - Throws: ``ImageError/writeFailed(file:reason:)`` with libpng's message.
    static func write(_ png: png_image, rowStride: Int32, samples: UnsafeRawBufferPointer) throws(ImageError) -> Data {
        var sizing = png
        sizing.version = UInt32(PNG_IMAGE_VERSION)
        var size: png_alloc_size_t = 0
        guard png_image_write_to_memory(&sizing, nil, &size, 0, samples.baseAddress, rowStride, nil) != 0, size > 0 else {
            throw .writeFailed(file: "<memory>", reason: message(sizing))
        }
        var writing = png_image()
        writing.version = UInt32(PNG_IMAGE_VERSION)
        writing.width = png.width
        writing.height = png.height
        writing.format = png.format
        var out = Data(count: Int(size))
        var written = size
        let ok = out.withUnsafeMutableBytes { dst in
            png_image_write_to_memory(&writing, dst.baseAddress, &written, 0, samples.baseAddress, rowStride, nil)
        }
        guard ok != 0 else { throw .writeFailed(file: "<memory>", reason: message(writing)) }
        out.count = Int(written)
        return out
    }
}
