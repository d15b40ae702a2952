import Foundation
import FourMImage
import Testing

/// PNG and JPEG decoding against what Pillow decodes from the same files, and PNG round trips.
@Suite struct ImageCodecTests {
    @Test(arguments: [
        "gray8.png", "rgb8.png", "rgba8.png", "gray_alpha8.png", "palette.png",
        "palette_trns.png", "interlaced.png",
    ])
    func pngDecodesLikePillow(name: String) throws {
        let expected = try #require(try ImageFixtures.expected().decoded[name])
        let image = try Image(contentsOf: ImageFixtures.url(name))
        #expect(image.width == expected.width)
        #expect(image.height == expected.height)
        #expect(image.channels == expected.channels)
        #expect(
            image.pixels == expected.bytes, "\(name) differs from Pillow's \(expected.mode) pixels")
    }

    /// 16-bit samples: libpng scales with `(v·255 + 32895) >> 16` (= round(v/257)); Pillow
    /// keeps the high byte. Tolerance 1 between the two, and libpng's formula exactly.
    @Test func png16BitGrayIsScaledToEightBits() throws {
        let expected = try #require(try ImageFixtures.expected().decoded["gray16.png"])
        let values = try #require(expected.values16)
        let image = try Image(contentsOf: ImageFixtures.url("gray16.png"))
        #expect(image.channels == 1 && image.width == 8 && image.height == 5)
        #expect(image.pixels == values.map { UInt8(($0 * 255 + 32895) >> 16) })
        let highByte = expected.bytes
        #expect(zip(image.pixels, highByte).allSatisfy { abs(Int($0) - Int($1)) <= 1 })
    }

    @Test func png16BitRGBIsWithinOneOfPillow() throws {
        let expected = try #require(try ImageFixtures.expected().decoded["rgb16.png"])
        let image = try Image(contentsOf: ImageFixtures.url("rgb16.png"))
        #expect(image.channels == 3 && image.width == 7 && image.height == 4)
        let worst = zip(image.pixels, expected.bytes).map { abs(Int($0) - Int($1)) }.max() ?? 99
        #expect(worst <= 1)
    }

    @Test(arguments: [1, 3, 4]) func pngRoundTripsEveryChannelCount(channels: Int) throws {
        let image = try Image.noise(
            width: 37, height: 11, channels: channels, seed: UInt64(channels))
        let data = try image.pngData()
        #expect(try Image(pngData: data) == image)
        #expect(try Image(data: data) == image)
    }

    @Test func writePNGThenReadBack() throws {
        let image = try Image.noise(width: 5, height: 9, channels: 4, seed: 99)
        let url = ImageFixtures.temporaryURL(".png")
        defer { try? FileManager.default.removeItem(at: url) }
        try image.writePNG(to: url)
        #expect(try Image(contentsOf: url) == image)
    }

    @Test func formatIsDetectedBySignatureNotExtension() throws {
        let image = try Image.noise(width: 4, height: 3, channels: 3, seed: 5)
        let url = ImageFixtures.temporaryURL(".jpg")  // PNG bytes under a .jpg name
        defer { try? FileManager.default.removeItem(at: url) }
        try image.pngData().write(to: url)
        #expect(try Image(contentsOf: url) == image)
    }

    @Test func conversionsFollowPillow() throws {
        let expected = try ImageFixtures.expected()
        let photo = try Image(contentsOf: ImageFixtures.url("photo.png"))
        #expect(photo.channels == 3)
        let luma = try #require(Data(base64Encoded: expected.grayLuma))
        #expect(photo.grayscale().pixels == [UInt8](luma))
        let gray = try Image(width: 2, height: 1, channels: 1, pixels: [7, 200])
        #expect(gray.rgb().pixels == [7, 7, 7, 200, 200, 200])
        #expect(gray.rgba().pixels == [7, 7, 7, 255, 200, 200, 200, 255])
        let rgba = try Image(width: 1, height: 1, channels: 4, pixels: [10, 20, 30, 0])
        #expect(rgba.rgb().pixels == [10, 20, 30])  // alpha dropped, no compositing
    }

    // MARK: JPEG

    static let jpegAvailable = Image.isJPEGDecodingAvailable

    @Test(
        .enabled(if: jpegAvailable),
        arguments: ["rgb.jpg", "progressive.jpg", "gray.jpg", "cmyk.jpg"])
    func jpegDecodesLikePillow(name: String) throws {
        let expected = try #require(try ImageFixtures.expected().decoded[name])
        let image = try Image(contentsOf: ImageFixtures.url(name))
        #expect(image.width == expected.width && image.height == expected.height)
        #expect(image.channels == expected.channels)
        // Same libjpeg-turbo IDCT (accurate integer) and fancy upsampling as Pillow: exact.
        #expect(image.pixels == expected.bytes, "\(name) differs from Pillow's decode")
    }

    @Test(.enabled(if: !jpegAvailable)) func jpegWithoutTurboJPEGIsUnsupported() throws {
        let name = ImageFixtures.url("rgb.jpg").path
        #expect(
            throws: ImageError.unsupportedFormat(
                file: name,
                expected:
                    "PNG (this build has no JPEG decoder: TurboJPEG, module CTurboJPEG, "
                    + "is not linked)",
                actual: "JPEG")
        ) {
            try Image(contentsOf: ImageFixtures.url("rgb.jpg"))
        }
    }
}
