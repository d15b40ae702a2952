import Foundation
import FourMImage

/// The image fixtures in `Resources/` (written once by `Resources/make_image_fixtures.py` with
/// Pillow; the tests never run Python) and what Pillow decoded from them.
enum ImageFixtures {
    /// This folder's `Resources/`, found from the source path (the test target declares no
    /// resources, so there is no bundle to look in).
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Resources")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func data(_ name: String) throws -> Data { try Data(contentsOf: url(name)) }

    struct Decoded: Decodable {
        let width: Int
        let height: Int
        let channels: Int
        let mode: String
        let pixels: String
        let values16: [Int]?
        var bytes: [UInt8] { [UInt8](Data(base64Encoded: pixels) ?? Data()) }
    }

    struct Resize: Decodable {
        let label: String
        let source: String
        let width: Int
        let height: Int
        let channels: Int
        let pixels: String
        var bytes: [UInt8] { [UInt8](Data(base64Encoded: pixels) ?? Data()) }
    }

    struct Normalize: Decodable {
        let label: String
        let size: Int
        let shape: [Int]
        let values: [Float]
    }

    struct Crop: Decodable {
        let left: Int
        let top: Int
        let size: Int
    }

    struct Expected: Decodable {
        let pillow: String
        let decoded: [String: Decoded]
        let resize: [Resize]
        let normalize: [Normalize]
        let crop: Crop
        let grayLuma: String

        enum CodingKeys: String, CodingKey {
            case pillow, decoded, resize, normalize, crop
            case grayLuma = "gray_luma"
        }
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: data("expected.json"))
    }

    /// A fresh temporary file URL under /tmp.
    static func temporaryURL(_ suffix: String) -> URL {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("fourm-image-\(UUID().uuidString)\(suffix)")
    }
}

/// A tiny explicit-seed generator for test pixels (64-bit LCG, high byte out).
struct PixelNoise {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt8 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in next() } }
}

extension Image {
    /// A deterministic noisy test image.
    static func noise(width: Int, height: Int, channels: Int, seed: UInt64) throws -> Image {
        var noise = PixelNoise(seed: seed)
        return try Image(
            width: width, height: height, channels: channels,
            pixels: noise.bytes(width * height * channels))
    }
}
