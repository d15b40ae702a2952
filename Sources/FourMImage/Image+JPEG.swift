import Foundation
import FourMTensor

#if canImport(CTurboJPEG)
    import CTurboJPEG
#endif

// MARK: - JPEG through TurboJPEG
//
// libjpeg reports fatal errors through an `error_exit` callback that must not return, i.e. by
// longjmp, which Swift can neither set up nor survive. TurboJPEG (`turbojpeg.h`, the same
// libjpeg-turbo) does the setjmp inside C and returns error codes, so it is the safe entry
// point. It is linked as the system-library module `CTurboJPEG`; builds without it still
// check a JPEG's structure but then throw `unsupportedFormat`.
//
// Decoding settings equal Pillow's defaults (accurate integer IDCT, fancy upsampling), so
// pixels match Pillow's built on the same libjpeg-turbo generation.

extension Image {
    /// Whether this build links TurboJPEG (module `CTurboJPEG`) and so decodes JPEG.
    public static var isJPEGDecodingAvailable: Bool {
        #if canImport(CTurboJPEG)
            return true
        #else
            return false
        #endif
    }

    /// Decodes a JPEG held in memory: baseline or progressive, YCbCr/RGB → 3 channels,
    /// grayscale → 1 channel, CMYK/YCCK → RGB with Pillow's conversion (Adobe-inverted samples,
    /// as Pillow assumes). EXIF orientation is not applied (the reference does not apply it).
    ///
    /// Before decoding, the marker structure is walked: a segment or entropy-coded scan that runs
    /// past the end, or a missing EOI marker, is reported as truncation. libjpeg warnings on
    /// otherwise complete data (extraneous bytes, …) are tolerated, as Pillow tolerates them.
    /// - Parameters:
    ///   - jpegData: the whole file.
    ///   - name: the name used in error messages.
    /// - Throws: ``ImageError/empty(file:)``;
    ///   ``ImageError/unsupportedFormat(file:expected:actual:)``
    ///   for a non-JPEG signature or when ``isJPEGDecodingAvailable`` is false;
    ///   ``ImageError/truncated(file:format:expected:actual:)``;
    ///   ``ImageError/corrupt(file:format:reason:)`` (TurboJPEG's message);
    ///   ``ImageError/tooLarge(file:width:height:limit:)`` or
    ///   ``ImageError/sideTooLong(file:width:height:limit:)`` (checked from the header, before decoding);
    ///   ``ImageError/unsupportedLayout(file:expected:actual:)`` for an unknown colour space.
    public init(jpegData: Data, name: String = "<memory>") throws(ImageError) {
        guard !jpegData.isEmpty else { throw .empty(file: name) }
        guard ImageFormat(signatureOf: jpegData) == .jpeg else {
            throw .unsupportedFormat(
                file: name, expected: "JPEG signature FF D8 FF",
                actual: ImageFormat.describeSignature(jpegData))
        }
        try JPEGStructure.check(jpegData, name: name)
        #if canImport(CTurboJPEG)
            self = try JPEGCodec.decode(jpegData, name: name)
        #else
            throw .unsupportedFormat(
                file: name,
                expected:
                    "PNG (this build has no JPEG decoder: TurboJPEG, module CTurboJPEG, "
                    + "is not linked)",
                actual: "JPEG")
        #endif
    }
}

/// A walk over a JPEG's markers that needs no decoder.
enum JPEGStructure {
    /// Follows the segments from SOI to EOI, skipping each entropy-coded scan (stuffed `FF 00`
    /// bytes and restart markers belong to the scan). Stray bytes between segments are skipped
    /// the way libjpeg skips them.
    static func check(_ data: Data, name: String) throws(ImageError) {
        let problem: ImageError? = data.withUnsafeBytes { bytes in
            let n = bytes.count
            func truncated(_ expected: String) -> ImageError {
                .truncated(
                    file: name, format: "JPEG", expected: expected,
                    actual: "end of data at byte \(n)")
            }
            var i = 2  // after SOI
            while true {
                while i < n, bytes[i] != 0xFF { i += 1 }  // stray bytes (libjpeg warns, skips)
                while i < n, bytes[i] == 0xFF { i += 1 }  // fill bytes
                guard i < n else { return truncated("a marker (no EOI yet)") }
                let marker = bytes[i]
                i += 1
                switch marker {
                case 0xD9:  // EOI
                    return nil
                case 0x00, 0x01, 0xD0...0xD7:  // stuffed zero outside a scan, TEM, RSTn: no length
                    continue
                default:
                    guard i + 2 <= n else {
                        return truncated("the length of marker FF \(hex(marker))")
                    }
                    let length = Int(bytes[i]) << 8 | Int(bytes[i + 1])
                    guard length >= 2 else {
                        return .corrupt(
                            file: name, format: "JPEG",
                            reason:
                                "marker FF \(hex(marker)) at byte \(i - 2) has length \(length) < 2"
                        )
                    }
                    guard i + length <= n else {
                        return truncated(
                            "marker FF \(hex(marker)) segment of \(length) bytes "
                                + "ending at byte \(i + length)"
                        )
                    }
                    i += length
                    guard marker == 0xDA else { continue }
                    // SOS: skip the entropy-coded data up to the next real marker.
                    while true {
                        guard i < n else {
                            return truncated("the end of an entropy-coded scan (no EOI yet)")
                        }
                        if bytes[i] != 0xFF {
                            i += 1
                            continue
                        }
                        guard i + 1 < n else {
                            return truncated("the end of an entropy-coded scan (no EOI yet)")
                        }
                        let next = bytes[i + 1]
                        if next == 0x00 || (0xD0...0xD7).contains(next) {
                            i += 2
                            continue
                        }
                        if next == 0xFF {
                            i += 1
                            continue
                        }
                        break  // a marker: handled by the outer loop
                    }
                }
            }
        }
        if let problem { throw problem }
    }

    static func hex(_ byte: UInt8) -> String { String(format: "%02X", byte) }
}

#if canImport(CTurboJPEG)
    /// JPEG decoding through TurboJPEG; see ``Image/init(jpegData:name:)``.
    enum JPEGCodec {
        static func decode(_ data: Data, name: String) throws(ImageError) -> Image {
            guard let handle = tjInitDecompress() else {
                throw .corrupt(
                    file: name, format: "JPEG", reason: "TurboJPEG could not create a decompressor")
            }
            defer { tjDestroy(handle) }
            func reason() -> String {
                guard let text = tjGetErrorStr2(handle) else { return "TurboJPEG error" }
                return String(cString: text)
            }
            let result: Result<Image, ImageError> = data.withUnsafeBytes { raw in
                guard let source = raw.bindMemory(to: UInt8.self).baseAddress else {
                    return .failure(.empty(file: name))
                }
                var width: Int32 = 0
                var height: Int32 = 0
                var subsampling: Int32 = 0
                var colorspace: Int32 = 0
                guard
                    tjDecompressHeader3(
                        handle, source, UInt(raw.count), &width, &height, &subsampling, &colorspace)
                        == 0
                else {
                    return .failure(.corrupt(file: name, format: "JPEG", reason: reason()))
                }
                let w = Int(width)
                let h = Int(height)
                if let problem = Image.checkDeclaredSize(width: w, height: h, name: name) {
                    return .failure(problem)
                }
                let channels: Int
                let pixelFormat: Int32
                switch colorspace {
                case Int32(TJCS_GRAY.rawValue):
                    (channels, pixelFormat) = (1, Int32(TJPF_GRAY.rawValue))
                case Int32(TJCS_CMYK.rawValue), Int32(TJCS_YCCK.rawValue):
                    (channels, pixelFormat) = (4, Int32(TJPF_CMYK.rawValue))
                case Int32(TJCS_RGB.rawValue), Int32(TJCS_YCbCr.rawValue):
                    (channels, pixelFormat) = (3, Int32(TJPF_RGB.rawValue))
                default:
                    return .failure(
                        .unsupportedLayout(
                            file: name,
                            expected: "JPEG colour space gray, RGB, YCbCr, CMYK or YCCK",
                            actual: "TurboJPEG colour space \(colorspace)"))
                }
                var decoded = [UInt8](repeating: 0, count: w * h * channels)
                let status = decoded.withUnsafeMutableBufferPointer { out in
                    tjDecompress2(
                        handle, source, UInt(raw.count), out.baseAddress, width, 0, height,
                        pixelFormat, TJFLAG_LIMITSCANS)
                }
                // A warning (recoverable libjpeg message) still returns a complete image.
                if status != 0, tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) {
                    return .failure(.corrupt(file: name, format: "JPEG", reason: reason()))
                }
                guard channels == 4 else {
                    return .success(Image(unchecked: w, h, channels, decoded))
                }
                let rgb = decoded.withUnsafeBufferPointer { src in
                    [UInt8](unsafeUninitializedCapacity: w * h * 3) { dst, n in
                        cmykToRGBKernel(
                            src.baseAddress!, inverted: true, dst.baseAddress!, pixels: w * h)
                        n = w * h * 3
                    }
                }
                return .success(Image(unchecked: w, h, 3, rgb))
            }
            return try result.get()
        }
    }
#endif
