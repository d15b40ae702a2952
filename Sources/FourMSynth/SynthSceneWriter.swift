import Foundation
import FourMImage
import FourMTensor
import FourMTokenizers

/// Writes scenes as flat files that Python reads with Pillow/`json`/`struct` alone.
///
/// For scene index `i` (zero-padded to 6 digits) the writer creates, in one folder:
///
/// | File | Content |
/// |---|---|
/// | `scene_000123.rgb.png` | 8-bit RGB image |
/// | `scene_000123.semseg.png` | 8-bit grey, class index per pixel (0 background, 1 sphere, 2 cube, 3 cylinder, 4 cone) |
/// | `scene_000123.edges.png` | 8-bit grey, 255 on edges, 0 elsewhere |
/// | `scene_000123.depth.png` | 8-bit grey preview: 0 sky, else `255 - round(min(z, 20) / 20 · 254)` |
/// | `scene_000123.normals.png` | 8-bit RGB preview: `round((n + 1) / 2 · 255)` per component |
/// | `scene_000123.geometry.safetensors` | exact float32 `depth` `[H, W]` (inf on sky) and `normals` `[H, W, 3]` |
/// | `scene_000123.json` | ``SynthSceneRecord`` with snake_case keys |
public struct SynthSceneWriter: Sendable {
    /// The format identifier stored in every JSON file's `metadata.format`.
    public static let formatVersion = "fourm-synth/1"
    /// The depth (world units) mapped to grey 1 in the depth preview; deeper values clamp.
    public static let depthPreviewRange = 20.0

    /// The folder scenes are written into.
    public let directory: URL

    /// Creates a writer for a folder (created on the first write if missing).
    /// - Parameter directory: the output folder.
    public init(directory: URL) {
        self.directory = directory
    }

    /// The path of one of a scene's files.
    /// - Parameters:
    ///   - index: the scene index.
    ///   - suffix: the part after the index, e.g. `"rgb.png"` or `"json"`.
    /// - Returns: `directory/scene_NNNNNN.suffix`.
    public func url(index: Int, suffix: String) -> URL {
        directory.appendingPathComponent(String(format: "scene_%06d.%@", index, suffix))
    }

    /// Writes all files of one scene.
    /// - Parameter scene: the scene to write.
    /// - Returns: the URLs written, in the order of the table above.
    /// - Throws: ``SynthError/writeFailed(file:reason:)`` naming the file that failed.
    @discardableResult
    public func write(_ scene: SynthScene) throws(SynthError) -> [URL] {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed(file: directory.path, reason: fileErrorReason(error))
        }
        let w = scene.width, h = scene.height
        let depthPreview = scene.depth.map { z -> UInt8 in
            guard z.isFinite else { return 0 }
            let scaled = (min(Double(z), Self.depthPreviewRange) / Self.depthPreviewRange * 254).rounded()
            return UInt8(255 - Int(scaled))
        }
        let normalPreview = scene.normals.map { UInt8(min(255, max(0, ((Double($0) + 1) / 2 * 255).rounded()))) }
        let images: [(String, Int, [UInt8])] = [
            ("semseg.png", 1, scene.semanticSegmentation),
            ("edges.png", 1, scene.edges.map { $0 == 0 ? 0 : 255 }),
            ("depth.png", 1, depthPreview),
            ("normals.png", 3, normalPreview),
        ]
        var written: [URL] = []
        let rgbURL = url(index: scene.index, suffix: "rgb.png")
        do { try scene.rgb.writePNG(to: rgbURL) } catch {
            throw .writeFailed(file: rgbURL.path, reason: error.description)
        }
        written.append(rgbURL)
        for (suffix, channels, pixels) in images {
            let target = url(index: scene.index, suffix: suffix)
            do {
                try Image(width: w, height: h, channels: channels, pixels: pixels).writePNG(to: target)
            } catch {
                throw .writeFailed(file: target.path, reason: error.description)
            }
            written.append(target)
        }
        let geometryURL = url(index: scene.index, suffix: "geometry.safetensors")
        var tensors = SafeTensorsWriter(metadata: ["format": Self.formatVersion])
        tensors.add("depth", Tensor(shape: [h, w], scalars: scene.depth))
        tensors.add("normals", Tensor(shape: [h, w, 3], scalars: scene.normals))
        do { try tensors.write(to: geometryURL.path) } catch {
            throw .writeFailed(file: geometryURL.path, reason: error.description)
        }
        written.append(geometryURL)
        let jsonURL = url(index: scene.index, suffix: "json")
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(scene.record).write(to: jsonURL, options: .atomic) } catch {
            throw .writeFailed(file: jsonURL.path, reason: fileErrorReason(error))
        }
        written.append(jsonURL)
        return written
    }
}

extension SynthSceneRecord {
    /// Reads a scene's JSON file written by ``SynthSceneWriter``.
    /// - Parameter url: the `scene_NNNNNN.json` path.
    /// - Throws: ``SynthError/unreadable(file:reason:)`` when the file is missing or malformed.
    public init(contentsOf url: URL) throws(SynthError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadable(file: url.path, reason: fileErrorReason(error))
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do { self = try decoder.decode(SynthSceneRecord.self, from: data) } catch let error as DecodingError {
            throw .unreadable(file: url.path, reason: Self.describe(error))
        } catch {
            throw .unreadable(file: url.path, reason: fileErrorReason(error))
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            let path = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            return "missing key '\(path)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "'\(path)': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
