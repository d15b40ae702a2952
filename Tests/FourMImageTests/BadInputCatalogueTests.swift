import Foundation
import FourMImage
import FourMTensor
import Testing

/// The bad-input catalogue for image files (issue 15): each hostile input is generated here and
/// must give its exact typed error, quickly and without large allocations.
@Suite struct ImageBadInputCatalogueTests {
    /// A 351-byte CMYK JPEG declaring 56072×255 decoded to 167 MB. The header is now checked
    /// against InputLimits.maximumImageSide before decoding. Built from the CMYK fixture with
    /// the SOF0 size patched and the file cut to 351 bytes.
    @Test func jpegDeclaringAHugeSideIsRejectedBeforeDecoding() throws {
        var jpeg = [UInt8](try ImageFixtures.data("cmyk.jpg"))
        let sof = try #require((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg[sof + 5...sof + 8] = [0x00, 0xFF, 0xDB, 0x08]  // height 255, width 56072
        let cut = Array(jpeg.prefix(349)) + [0xFF, 0xD9]
        #expect(cut.count == 351)
        #expect(throws: ImageError.sideTooLong(file: "<memory>", width: 56072, height: 255, limit: 16_384)) {
            try Image(jpegData: Data(cut))
        }
        jpeg[sof + 5...sof + 8] = [0x30, 0x00, 0x30, 0x00]  // 12288 × 12288: sides fine, too many pixels
        #expect(throws: ImageError.tooLarge(file: "<memory>", width: 12288, height: 12288, limit: InputLimits.maximumImagePixels)) {
            try Image(jpegData: Data(jpeg))
        }
    }

    @Test func pngDeclaringTooManyPixelsIsRejectedBeforeDecoding() throws {
        var png = [UInt8](try Image(width: 1, height: 1, channels: 1, pixels: [0]).pngData())
        png[16...23] = [0, 0, 0x30, 0, 0, 0, 0x30, 0]  // 12288 × 12288
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in png[12..<29] {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc = ~crc
        png[29...32] = [UInt8(crc >> 24), UInt8((crc >> 16) & 255), UInt8((crc >> 8) & 255), UInt8(crc & 255)]
        #expect(throws: ImageError.tooLarge(file: "<memory>", width: 12288, height: 12288, limit: InputLimits.maximumImagePixels)) {
            try Image(pngData: Data(png))
        }
    }
}
