import Foundation
import FourMTensor

// MARK: - Reading files: format detection by signature

/// The encodings ``Image`` reads, recognised by their first bytes.
enum ImageFormat: Equatable {
    case png
    case jpeg

    /// The format whose signature starts `data`, or `nil`.
    init?(signatureOf data: Data) {
        let head = [UInt8](data.prefix(8))
        if head == PNGCodec.signature {
            self = .png
        } else if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF {
            self = .jpeg
        } else {
            return nil
        }
    }

    /// "first bytes 47 49 46 38 (GIF)": what an unsupported file starts with, for messages.
    static func describeSignature(_ data: Data) -> String {
        let head = [UInt8](data.prefix(8))
        let hex = head.map { String(format: "%02X", $0) }.joined(separator: " ")
        var kind = ""
        if head.starts(with: Array("GIF8".utf8)) {
            kind = " (GIF)"
        } else if head.starts(with: Array("BM".utf8)) {
            kind = " (BMP)"
        } else if head.starts(with: Array("RIFF".utf8)) {
            kind = " (RIFF: WebP?)"
        } else if head.starts(with: [0x49, 0x49, 0x2A, 0x00])
            || head.starts(with: [0x4D, 0x4D, 0x00, 0x2A])
        {
            kind = " (TIFF)"
        } else if head.count >= 4, Array(head[0..<4]) == Array(PNGCodec.signature[0..<4]) {
            kind = " (damaged PNG signature)"
        }
        return "first bytes \(hex)\(kind)"
    }
}

extension Image {
    /// Reads a PNG or JPEG file, recognised by its signature (the extension is ignored).
    ///
    /// ```swift
    /// let photo = try Image(contentsOf: URL(filePath: "photo.jpg"))
    /// print(photo.width, photo.height, photo.channels)
    /// ```
    /// - Parameter url: a file URL.
    /// - Throws: ``ImageError/unreadable(file:reason:)`` when the file cannot be read, otherwise
    ///   the errors of ``init(data:name:)`` with the file's path as `file`.
    public init(contentsOf url: URL) throws(ImageError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadable(file: url.path, reason: fileErrorReason(error))
        }
        try self.init(data: data, name: url.path)
    }

    /// Decodes PNG or JPEG bytes, recognised by their signature.
    /// - Parameters:
    ///   - data: the whole encoded file.
    ///   - name: the name used in error messages.
    /// - Throws: ``ImageError/empty(file:)``;
    ///   ``ImageError/unsupportedFormat(file:expected:actual:)``
    ///   for other formats (and for JPEG when ``isJPEGDecodingAvailable`` is false); the
    ///   decoding errors of ``init(pngData:name:)`` and ``init(jpegData:name:)``.
    public init(data: Data, name: String = "<memory>") throws(ImageError) {
        guard !data.isEmpty else { throw .empty(file: name) }
        switch ImageFormat(signatureOf: data) {
        case .png: try self.init(pngData: data, name: name)
        case .jpeg: try self.init(jpegData: data, name: name)
        case nil:
            throw .unsupportedFormat(
                file: name, expected: "PNG or JPEG", actual: ImageFormat.describeSignature(data))
        }
    }
}
