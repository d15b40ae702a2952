import FourMImage
import Testing

/// The shared box type and the drawn box that wraps it.
@Suite struct ImageBoxTests {
    @Test func intersectionOverUnionOfOverlappingAndEmptyBoxes() {
        let a = ImageBox(xmin: 0, ymin: 0, xmax: 2, ymax: 1)
        let b = ImageBox(xmin: 1, ymin: 0, xmax: 3, ymax: 1)
        #expect(a.area == 2)
        #expect(a.intersectionOverUnion(b) == 1.0 / 3.0)
        #expect(a.intersectionOverUnion(a) == 1)
        // An inverted box has zero area; two empty boxes have IoU 0, not NaN.
        let inverted = ImageBox(xmin: 0.5, ymin: 0.5, xmax: 0.25, ymax: 0.75)
        #expect(inverted.area == 0)
        #expect(inverted.intersectionOverUnion(inverted) == 0)
        #expect(a.intersectionOverUnion(ImageBox(xmin: 5, ymin: 5, xmax: 6, ymax: 6)) == 0)
    }

    @Test func drawnBoxFromImageBoxMatchesFloatCorners() throws {
        let canvas = try Image(width: 40, height: 30, filledWith: .white)
        let corners = ImageBox(xmin: 0.1, ymin: 0.2, xmax: 0.7, ymax: 0.9)
        let wrapped = Visualization.Box(corners, label: "dog")
        // Drawing rounds corners to Float, as callers converting Double corners always did.
        let floats = Visualization.Box(
            xmin: Float(corners.xmin), ymin: Float(corners.ymin), xmax: Float(corners.xmax),
            ymax: Float(corners.ymax), label: "dog")
        #expect(wrapped.xmin == Float(0.1) && floats.xmin == wrapped.xmin)
        #expect(try Visualization.boxes([wrapped], on: canvas) == Visualization.boxes([floats], on: canvas))
        var moved = wrapped
        moved.xmax = 0.5
        #expect(moved.box.xmax == 0.5 && moved.box.xmin == 0.1)
    }
}
