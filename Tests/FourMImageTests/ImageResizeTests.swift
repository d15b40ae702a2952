import Foundation
import FourMImage
import FourMTensor
import FourMTestSupport
import Testing

/// Pillow-bicubic resizing, centre cropping and normalisation (spec/model.md 7.1 step 1, 6.13)
/// against values Pillow computed (`Resources/expected.json`).
@Suite struct ImageResizeTests {
    /// Pillow's 8-bit integer arithmetic is reproduced step by step, so the tolerance is 0.
    @Test func resizeMatchesPillowBicubicExactly() throws {
        let expected = try ImageFixtures.expected()
        let photo = try Image(contentsOf: ImageFixtures.url("photo.png"))
        #expect(photo.width == 50 && photo.height == 47)
        let cropped = photo.centerCroppedToSquare()
        #expect(
            cropped
                == (try photo.cropped(
                    x: expected.crop.left, y: expected.crop.top,
                    width: expected.crop.size, height: expected.crop.size)))
        for reference in expected.resize {
            let source: Image
            switch reference.source {
            case "crop": source = cropped
            case "corner": source = try photo.cropped(x: 0, y: 0, width: 12, height: 10)
            case "gray": source = photo.grayscale()
            default: source = photo
            }
            let resized = try source.resized(width: reference.width, height: reference.height)
            #expect(resized.channels == reference.channels)
            let bytes = reference.bytes
            let differing = zip(resized.pixels, bytes).filter { $0 != $1 }.count
            let worst = zip(resized.pixels, bytes).map { abs(Int($0) - Int($1)) }.max() ?? 0
            let summary = "\(reference.label): \(differing) of \(bytes.count) values differ"
            #expect(
                resized.pixels.count == bytes.count && differing == 0,
                "\(summary), worst by \(worst)")
        }
    }

    /// to_tensor + normalize in Float, in PyTorch's order: the same Float operations, so the
    /// values are equal; 1e-6 absolute only guards against a compiler contracting to FMA.
    @Test func normalisationMatchesTorchvision() throws {
        let expected = try ImageFixtures.expected()
        let photo = try Image(contentsOf: ImageFixtures.url("photo.png"))
        for reference in expected.normalize {
            let normalization: PixelNormalization =
                reference.label == "imagenet" ? .imageNet : .symmetric
            let tensor = try photo.normalizedTensor(
                size: reference.size, normalization: normalization)
            #expect(tensor.shape == reference.shape)
            expectClose(tensor.scalars, reference.values, atol: 1e-6, reference.label)
        }
    }

    @Test(arguments: [(1, 1, 1, 1), (7, 5, 33, 2), (33, 7, 1, 257), (257, 3, 19, 33), (9, 9, 9, 4)])
    func kernelMatchesReference(inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int) throws {
        for channels in [1, 3, 4] {
            let image = try Image.noise(
                width: inWidth, height: inHeight, channels: channels, seed: 11)
            let fast = image.pixels.withUnsafeBufferPointer {
                pilBicubicResizeKernel(
                    $0, inWidth: inWidth, inHeight: inHeight, channels: channels,
                    outWidth: outWidth, outHeight: outHeight)
            }
            let reference = pilBicubicResizeReference(
                image.pixels, inWidth: inWidth, inHeight: inHeight,
                channels: channels, outWidth: outWidth, outHeight: outHeight)
            #expect(
                fast == reference,
                "\(inWidth)x\(inHeight) → \(outWidth)x\(outHeight), C=\(channels)")
        }
    }

    @Test func resizingToTheSameSizeIsIdentity() throws {
        let image = try Image.noise(width: 13, height: 6, channels: 3, seed: 3)
        #expect(try image.resized(width: 13, height: 6) == image)
        // One axis unchanged: Pillow skips that pass.
        #expect(try image.resized(width: 13, height: 3).width == 13)
    }

    @Test func constantImagesStayConstant() throws {
        let image = try Image(
            width: 31, height: 17, filledWith: .init(red: 12, green: 250, blue: 0))
        let resized = try image.resized(width: 7, height: 40)
        let expected = try Image(
            width: 7, height: 40, filledWith: .init(red: 12, green: 250, blue: 0))
        #expect(resized == expected)
    }

    @Test func nearestResizeCopiesPixels() throws {
        let labels = try Image(width: 4, height: 1, channels: 1, pixels: [1, 2, 3, 4])
        #expect(try labels.resizedNearest(width: 8, height: 1).pixels == [1, 1, 2, 2, 3, 3, 4, 4])
        #expect(try labels.resizedNearest(width: 2, height: 2).pixels == [2, 4, 2, 4])
        #expect(try labels.resizedNearest(width: 3, height: 1).pixels == [1, 3, 4])
    }

    /// torchvision rounds the margin half-to-even; the dataset crop floors it.
    @Test(arguments: [
        (50, 47, 2, 1), (52, 47, 2, 2), (54, 47, 4, 3), (47, 47, 0, 0), (48, 47, 0, 0),
    ])
    func centreCropOffsets(width: Int, height: Int, torchvisionLeft: Int, floorLeft: Int) throws {
        let image = try Image.noise(width: width, height: height, channels: 1, seed: 1)
        let torchvision = image.centerCroppedToSquare()
        let floor = image.centerCroppedToSquare(offset: .floor)
        #expect(torchvision == (try image.cropped(x: torchvisionLeft, y: 0, width: 47, height: 47)))
        #expect(floor == (try image.cropped(x: floorLeft, y: 0, width: 47, height: 47)))
        let tall = try Image.noise(width: height, height: width, channels: 3, seed: 2)
        #expect(
            tall.centerCroppedToSquare()
                == (try tall.cropped(x: 0, y: torchvisionLeft, width: 47, height: 47)))
    }

    @Test func preprocessingShapesAndBatches() throws {
        let wide = try Image.noise(width: 300, height: 200, channels: 4, seed: 8)
        let gray = try Image.noise(width: 20, height: 90, channels: 1, seed: 9)
        let one = try wide.normalizedTensor()
        #expect(one.shape == [1, 3, 224, 224])
        let batch = try Image.batchTensor([wide, gray], size: 32, normalization: .symmetric)
        #expect(batch.shape == [2, 3, 32, 32])
        #expect(
            batch.slice(1..<2) == (try gray.normalizedTensor(size: 32, normalization: .symmetric)))
        #expect(batch.scalars.allSatisfy { $0 >= -1 && $0 <= 1 })
        // A gray image gives three equal planes.
        let planes = try gray.normalizedTensor(size: 8, normalization: .symmetric).scalars
        #expect(Array(planes[0..<64]) == Array(planes[64..<128]))
        let planar = try Image(width: 2, height: 1, channels: 3, pixels: [0, 255, 51, 255, 0, 102])
            .planarTensor(normalization: .symmetric)
        #expect(planar.shape == [1, 3, 1, 2])
        expectClose(planar.scalars, [-1, 1, 1, -1, -0.6, -0.2], atol: 1e-6)
    }
}
