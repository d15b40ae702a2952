import CPNG
import Foundation
import FourMTensor

/// Depth maps as 4M's depth tokenizer takes them (spec/tokenizers.md 6.2, 8.2): read from a
/// single-channel PNG, then robustly standardised.
///
/// ```swift
/// let raw = try DepthMap.readPNG(URL(fileURLWithPath: "depth.png"))   // [1, 1, H, W], v / 65535
/// let input = DepthMap.standardized(raw)                               // the tokenizer's input
/// let state = try pipeline.condition("tok_depth@224", .tensor(input))
/// ```
public enum DepthMap {
    /// Reads a single-channel PNG depth map (see ``decodePNG(_:name:)``).
    /// - Parameter url: the PNG file.
    /// - Returns: `[1, 1, H, W]` values in [0, 1].
    /// - Throws: ``ImageError/unreadable(file:reason:)`` and the errors of
    ///   ``decodePNG(_:name:)``.
    public static func readPNG(_ url: URL) throws(ImageError) -> Tensor<Float> {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(file: url.path, reason: fileErrorReason(error)) }
        return try decodePNG(data, name: url.path)
    }

    /// Decodes a single-channel PNG depth map. A 16-bit file gives `v / 65535` (the released
    /// depth data's convention, spec/tokenizers.md 8.2) with no gamma applied; an 8-bit file
    /// gives `v / 255`.
    /// - Parameters:
    ///   - data: the whole file.
    ///   - name: the name used in error messages.
    /// - Returns: `[1, 1, H, W]` values in [0, 1].
    /// - Throws: ``ImageError/unsupportedLayout(file:expected:actual:)`` for a colour or alpha
    ///   PNG, and the PNG errors of ``Image/init(pngData:name:)``.
    public static func decodePNG(_ data: Data, name: String = "<memory>") throws(ImageError) -> Tensor<Float> {
        guard !data.isEmpty else { throw .empty(file: name) }
        guard ImageFormat(signatureOf: data) == .png else {
            throw .unsupportedFormat(file: name, expected: "PNG signature 89 50 4E 47 0D 0A 1A 0A", actual: ImageFormat.describeSignature(data))
        }
        try PNGCodec.checkChunks(data, name: name)
        let result: Result<Tensor<Float>, ImageError> = data.withUnsafeBytes { raw in
            var png = png_image()
            if let error = PNGCodec.beginRead(&png, raw, name: name) { return .failure(error) }
            let width = Int(png.width), height = Int(png.height)
            let source = png.format
            guard source & UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA) == 0 else {
                png_image_free(&png)
                return .failure(.unsupportedLayout(file: name, expected: "a single-channel (gray) depth PNG", actual: "a PNG with colour or alpha"))
            }
            let sixteen = source & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0
            var values = [Float](repeating: 0, count: width * height)
            if sixteen {
                // Linear 16-bit out of a 16-bit file: libpng passes the samples through unchanged.
                png.format = UInt32(PNG_FORMAT_FLAG_LINEAR)
                var samples = [UInt16](repeating: 0, count: width * height)
                let ok = samples.withUnsafeMutableBytes { out in
                    png_image_finish_read(&png, nil, out.baseAddress, Int32(width), nil)
                }
                guard ok != 0 else { return .failure(.corrupt(file: name, format: "PNG", reason: PNGCodec.message(png))) }
                for i in values.indices { values[i] = Float(samples[i]) / 65535 }
            } else {
                png.format = 0
                var samples = [UInt8](repeating: 0, count: width * height)
                let ok = samples.withUnsafeMutableBytes { out in
                    png_image_finish_read(&png, nil, out.baseAddress, Int32(width), nil)
                }
                guard ok != 0 else { return .failure(.corrupt(file: name, format: "PNG", reason: PNGCodec.message(png))) }
                for i in values.indices { values[i] = Float(samples[i]) / 255 }
            }
            return .success(Tensor(shape: [1, 1, height, width], scalars: values))
        }
        return try result.get()
    }

    /// Encodes a depth map as a 16-bit gray PNG: `round(clamp(v, 0, 1) · 65535)`, the inverse
    /// of ``decodePNG(_:name:)`` up to that rounding.
    /// - Parameter depth: `[H, W]`, `[1, H, W]` or `[1, 1, H, W]` values in [0, 1].
    /// - Returns: the PNG file's bytes.
    /// - Throws: ``ImageError/invalidTensor(argument:expected:actual:)`` for another shape,
    ///   ``ImageError/writeFailed(file:reason:)`` with libpng's message.
    public static func pngData(_ depth: Tensor<Float>) throws(ImageError) -> Data {
        let shape = depth.shape
        guard shape.count >= 2, shape.dropLast(2).allSatisfy({ $0 == 1 }), shape.count <= 4, let width = shape.last, width > 0, shape[shape.count - 2] > 0 else {
            throw .invalidTensor(argument: "depth", expected: "[H, W], [1, H, W] or [1, 1, H, W]", actual: "\(shape)")
        }
        let height = shape[shape.count - 2]
        let samples = depth.scalars.map { UInt16((min(max($0.isNaN ? 0 : $0, 0), 1) * 65535).rounded()) }
        var png = png_image()
        png.width = UInt32(width)
        png.height = UInt32(height)
        png.format = UInt32(PNG_FORMAT_FLAG_LINEAR)
        let result = samples.withUnsafeBytes { raw in
            Result { () throws(ImageError) -> Data in try PNGCodec.write(png, rowStride: Int32(width), samples: raw) }
        }
        return try result.get()
    }

    /// Robust standardisation of spec/tokenizers.md 8.2, applied to each `[H, W]` plane of
    /// `depth` on its own: sort the plane's `n` values, keep indices
    /// `floor(0.1·n) ..< floor(0.9·n)`, take their mean `μ` and unbiased variance `σ²`, and map
    /// every value to `(d − μ) / sqrt(σ² + 1e-6)`. With fewer than two kept values all values
    /// are used; a single value maps to 0. Non-finite values are the caller's to replace first.
    /// - Parameter depth: `[..., H, W]`.
    /// - Returns: the standardised maps, same shape.
    public static func standardized(_ depth: Tensor<Float>) -> Tensor<Float> {
        let plane = depth.shape.count >= 2 ? depth.shape[depth.shape.count - 1] * depth.shape[depth.shape.count - 2] : depth.count
        guard plane > 0 else { return depth }
        let values = depth.scalars
        var out: [Float] = []
        out.reserveCapacity(values.count)
        for start in stride(from: 0, to: values.count, by: plane) {
            out += standardizedValues(values[start..<min(start + plane, values.count)])
        }
        return Tensor(shape: depth.shape, scalars: out)
    }

    /// ``standardized(_:)`` for one plane given as a flat list of values.
    /// - Parameter values: one depth map's values, any order.
    /// - Returns: the standardised values, in the same order.
    public static func standardizedValues<C: Collection>(_ values: C) -> [Float] where C.Element == Float {
        let n = values.count
        guard n > 0 else { return [] }
        let sorted = values.sorted()
        var kept = sorted[(n / 10)..<(9 * n / 10)]
        if kept.count < 2 { kept = sorted[...] }
        let mean = kept.reduce(0.0) { $0 + Double($1) } / Double(kept.count)
        let squares = kept.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
        let variance = kept.count > 1 ? squares / Double(kept.count - 1) : 0
        let scale = (variance + 1e-6).squareRoot()
        return values.map { Float((Double($0) - mean) / scale) }
    }
}
