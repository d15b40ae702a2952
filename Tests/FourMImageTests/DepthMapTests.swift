import Foundation
import FourMTensor
import Testing

@testable import FourMImage

/// `DepthMap`: 16-bit PNG round trips without gamma, 8-bit and colour files, and the robust
/// standardisation of spec/tokenizers.md 8.2.
@Suite struct DepthMapTests {
    @Test func sixteenBitPNGRoundTripsExactly() throws {
        let samples: [UInt16] = [0, 1, 257, 1000, 32768, 65534, 65535, 12345]
        let depth = Tensor<Float>(shape: [1, 1, 2, 4], scalars: samples.map { Float($0) / 65535 })
        let data = try DepthMap.pngData(depth)
        let back = try DepthMap.decodePNG(data)
        #expect(back.shape == [1, 1, 2, 4])
        #expect(back.scalars.map { UInt16(($0 * 65535).rounded()) } == samples, "16-bit samples must pass through libpng unchanged")
    }

    @Test func eightBitGrayScalesBy255AndColourIsRefused() throws {
        let gray = try Image(width: 3, height: 1, channels: 1, pixels: [0, 128, 255]).pngData()
        #expect(try DepthMap.decodePNG(gray).scalars == [0, 128 / 255, 1])
        let colour = try Image(width: 1, height: 1, channels: 3, pixels: [1, 2, 3]).pngData()
        #expect(throws: ImageError.self) { try DepthMap.decodePNG(colour, name: "c.png") }
        #expect(throws: ImageError.self) { try DepthMap.decodePNG(Data([1, 2, 3]), name: "x.png") }
        #expect(throws: ImageError.self) { try DepthMap.pngData(Tensor<Float>(shape: [2, 1, 1], scalars: [0, 1])) }
    }

    @Test func standardizationTrimsTheTailsAndUsesTheUnbiasedVariance() {
        // 10 values: kept indices 1..<9 of the sorted list = 1...8, mean 4.5, unbiased var 6.
        let values: [Float] = [9, 0, 1, 2, 3, 4, 5, 6, 7, 8]
        let out = DepthMap.standardizedValues(values)
        let scale = (6.0 + 1e-6).squareRoot()
        for (o, v) in zip(out, values) { #expect(abs(Double(o) - (Double(v) - 4.5) / scale) < 1e-6) }
        // Each plane on its own; the shape is kept.
        let planes = Tensor<Float>(shape: [2, 1, 2, 5], scalars: values + values.map { $0 * 10 + 3 })
        let both = DepthMap.standardized(planes)
        #expect(both.shape == planes.shape)
        for (a, b) in zip(both.scalars.prefix(10), both.scalars.suffix(10)) { #expect(abs(a - b) < 1e-5, "scale and shift do not matter") }
        #expect(DepthMap.standardizedValues([Float]()) == [])
        #expect(DepthMap.standardizedValues([Float(3)]) == [0])
    }
}
