import Foundation
import FourMImage
import FourMTensor
import Testing

/// Corrupt, truncated, empty and unsupported inputs, each asserting the exact typed error.
@Suite struct ImageErrorTests {
    static let jpegAvailable = Image.isJPEGDecodingAvailable

    @Test func missingFileIsUnreadable() {
        let url = ImageFixtures.temporaryURL(".png")
        #expect {
            try Image(contentsOf: url)
        } throws: { error in
            guard case .unreadable(let file, _) = error as? ImageError else { return false }
            return file == url.path
        }
    }

    @Test func directoryIsUnreadable() {
        let folder = FileManager.default.temporaryDirectory
        #expect {
            try Image(contentsOf: folder)
        } throws: { error in
            guard case .unreadable(let file, _) = error as? ImageError else { return false }
            return file == folder.path
        }
    }

    @Test func zeroByteFileIsEmpty() throws {
        let url = ImageFixtures.temporaryURL(".png")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data().write(to: url)
        #expect(throws: ImageError.empty(file: url.path)) { try Image(contentsOf: url) }
        #expect(throws: ImageError.empty(file: "<memory>")) { try Image(pngData: Data()) }
        #expect(throws: ImageError.empty(file: "<memory>")) { try Image(jpegData: Data()) }
    }

    @Test func otherFormatsAreUnsupported() {
        let gif = Data("GIF89a\u{1}\u{0}".utf8)
        #expect(
            throws: ImageError.unsupportedFormat(
                file: "x.gif", expected: "PNG or JPEG",
                actual: "first bytes 47 49 46 38 39 61 01 00 (GIF)")
        ) {
            try Image(data: gif, name: "x.gif")
        }
        #expect(
            throws: ImageError.unsupportedFormat(
                file: "<memory>", expected: "PNG signature 89 50 4E 47 0D 0A 1A 0A",
                actual: "first bytes FF D8 FF E0")
        ) {
            try Image(pngData: Data([0xFF, 0xD8, 0xFF, 0xE0]))
        }
    }

    @Test func truncatedPNGIsTruncated() throws {
        // 90 bytes: IHDR, IDAT (33 bytes, ends at byte 78), IEND.
        let png = try ImageFixtures.data("rgb8.png")
        // Cut inside the IDAT chunk.
        #expect(
            throws: ImageError.truncated(
                file: "<memory>", format: "PNG",
                expected: "chunk 'IDAT' of 33 bytes ending at byte 78",
                actual: "end of data at byte 60")
        ) {
            try Image(pngData: png.prefix(60))
        }
        // Cut right after IDAT: no IEND.
        #expect(
            throws: ImageError.truncated(
                file: "<memory>", format: "PNG",
                expected: "a chunk header at byte 78 (no IEND yet)",
                actual: "end of data at byte 78")
        ) {
            try Image(pngData: png.prefix(78))
        }
        // Only the signature.
        #expect(
            throws: ImageError.truncated(
                file: "<memory>", format: "PNG", expected: "a chunk header at byte 8 (no IEND yet)",
                actual: "end of data at byte 8")
        ) {
            try Image(pngData: png.prefix(8))
        }
    }

    @Test func corruptPNGIsCorrupt() throws {
        let original = [UInt8](try ImageFixtures.data("rgb8.png"))
        var badCRC = original
        badCRC[77] ^= 0xFF  // last byte of the IDAT chunk's CRC
        #expect(
            throws: ImageError.corrupt(file: "<memory>", format: "PNG", reason: "IDAT: CRC error")
        ) {
            try Image(pngData: Data(badCRC))
        }
        // Damaged compressed data: the decoder's message varies with zlib, so only the case and
        // the file are pinned.
        var badData = original
        badData[45] ^= 0xFF
        #expect {
            try Image(pngData: Data(badData))
        } throws: { error in
            guard case .corrupt(file: "<memory>", format: "PNG", let reason) = error as? ImageError
            else { return false }
            return !reason.isEmpty
        }
        var notIHDR = [UInt8](try ImageFixtures.data("rgb8.png"))
        notIHDR[12...15] = Array("iHDR".utf8)[...]
        #expect(
            throws: ImageError.corrupt(
                file: "<memory>", format: "PNG", reason: "first chunk is 'iHDR', expected 'IHDR'")
        ) {
            try Image(pngData: Data(notIHDR))
        }
    }

    @Test func truncatedJPEGIsTruncated() throws {
        let jpeg = try ImageFixtures.data("rgb.jpg")
        #expect {
            try Image(jpegData: jpeg.prefix(jpeg.count - 40))
        } throws: { error in
            error as? ImageError
                == .truncated(
                    file: "<memory>", format: "JPEG",
                    expected: "the end of an entropy-coded scan (no EOI yet)",
                    actual: "end of data at byte \(jpeg.count - 40)")
        }
        #expect(
            throws: ImageError.truncated(
                file: "<memory>", format: "JPEG",
                expected: "marker FF E0 segment of 16 bytes ending at byte 20",
                actual: "end of data at byte 10")
        ) {
            try Image(jpegData: jpeg.prefix(10))
        }
        #expect(
            throws: ImageError.truncated(
                file: "<memory>", format: "JPEG", expected: "a marker (no EOI yet)",
                actual: "end of data at byte 3")
        ) {
            try Image(jpegData: Data([0xFF, 0xD8, 0xFF]))
        }
    }

    @Test(.enabled(if: jpegAvailable)) func corruptJPEGIsCorrupt() throws {
        var jpeg = [UInt8](try ImageFixtures.data("rgb.jpg"))
        // Break the first Huffman table's class/id byte so the table is invalid.
        let dht = try #require(
            (0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC4 })
        jpeg[dht + 4] = 0x7F
        #expect {
            try Image(jpegData: Data(jpeg))
        } throws: { error in
            guard case .corrupt(file: "<memory>", format: "JPEG", let reason) = error as? ImageError
            else { return false }
            return !reason.isEmpty
        }
    }

    @Test func pixelBuffersMustFit() {
        #expect(
            throws: ImageError.invalidPixels(expected: "1, 3 or 4 channels", actual: "2 channels")
        ) {
            try Image(width: 2, height: 2, channels: 2, pixels: [UInt8](repeating: 0, count: 8))
        }
        #expect(throws: ImageError.invalidPixels(expected: "2x2x3 = 12 bytes", actual: "11 bytes"))
        {
            try Image(width: 2, height: 2, channels: 3, pixels: [UInt8](repeating: 0, count: 11))
        }
        #expect(throws: ImageError.invalidPixels(expected: "width and height >= 1", actual: "0x5"))
        {
            try Image(width: 0, height: 5, channels: 1, pixels: [])
        }
    }

    @Test func badArgumentsThrow() throws {
        let image = try Image.noise(width: 4, height: 4, channels: 3, seed: 1)
        #expect(
            throws: ImageError.invalidArgument(
                argument: "size", expected: "1 <= width·height <= 178956970", actual: "0x4")
        ) {
            try image.resized(width: 0, height: 4)
        }
        #expect(
            throws: ImageError.invalidArgument(
                argument: "crop", expected: "a non-empty window inside 4x4", actual: "2x2 at (3, 0)"
            )
        ) {
            try image.cropped(x: 3, y: 0, width: 2, height: 2)
        }
        #expect(
            throws: ImageError.invalidArgument(
                argument: "images", expected: "at least one image", actual: "0 images")
        ) {
            try Image.batchTensor([], size: 8)
        }
    }

    @Test func hugeDeclaredSizeIsRejectedBeforeAllocating() throws {
        // A valid 1x1 PNG whose IHDR claims 100000 x 100000 (CRC recomputed).
        var png = [UInt8](try Image(width: 1, height: 1, channels: 1, pixels: [0]).pngData())
        png[16...23] = [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0]
        let crc = crc32(Array(png[12..<29]))
        png[29...32] = [
            UInt8(crc >> 24), UInt8((crc >> 16) & 255), UInt8((crc >> 8) & 255), UInt8(crc & 255),
        ]
        #expect(
            throws: ImageError.sideTooLong(
                file: "<memory>", width: 100_000, height: 100_000, limit: 16_384)
        ) {
            try Image(pngData: Data(png))
        }
    }

    @Test func zeroWidthIHDRIsCorrupt() throws {
        var png = [UInt8](try Image(width: 1, height: 1, channels: 1, pixels: [0]).pngData())
        png[16...19] = [0, 0, 0, 0]  // width 0, CRC recomputed so libpng reaches the check
        let crc = crc32(Array(png[12..<29]))
        png[29...32] = [
            UInt8(crc >> 24), UInt8((crc >> 16) & 255), UInt8((crc >> 8) & 255), UInt8(crc & 255),
        ]
        #expect {
            try Image(pngData: Data(png))
        } throws: { error in
            guard case .corrupt(file: "<memory>", format: "PNG", let reason) = error as? ImageError
            else { return false }
            return reason.contains("IHDR")  // libpng 1.6: "Invalid IHDR data"
        }
    }

    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
