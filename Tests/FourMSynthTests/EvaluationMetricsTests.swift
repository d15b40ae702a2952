import Foundation
import FourMImage
@testable import FourMSynth
import FourMTokenizers
import Testing

// Tolerances: the metrics accumulate in Double; 1e-9 covers summation order, 1e-4 covers
// Float storage of standardised depth.

@Suite struct DepthMetricTests {
    @Test func standardizesWithTheRobustSpecFormula() {
        // Sorted 1…10 keeps indices 1..<9 = 2…9: mean 5.5, unbiased variance 42 / 7 = 6.
        let depth: [Float] = (1...10).map(Float.init)
        let expected = depth.map { ($0 - 5.5) / Float((6.0 + 1e-6).squareRoot()) }
        let got = SynthMetrics.standardizedDepth(depth)
        #expect(zip(got, expected).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    @Test func clampsSkyAndFarDepthTo20() {
        // inf and 35 both become 20, the largest values; of 11 values indices 1..<9 are
        // kept, which are 2…9 again.
        let depth: [Float] = [.infinity, 1, 2, 3, 4, 5, 6, 7, 8, 9, 35]
        let got = SynthMetrics.standardizedDepth(depth)
        let scale = Float((6.0 + 1e-6).squareRoot())
        #expect(abs(got[0] - (20 - 5.5) / scale) < 1e-4)
        #expect(got[0] == got[10])
        #expect(abs(got[1] - (1 - 5.5) / scale) < 1e-4)
    }

    @Test func standardizesDegenerateMaps() {
        #expect(SynthMetrics.standardizedDepth([]) == [])
        #expect(SynthMetrics.standardizedDepth([3]) == [0])
        #expect(SynthMetrics.standardizedDepth([.infinity, .infinity]) == [0, 0])
    }

    @Test func rmseIsZeroForAPerfectPrediction() throws {
        let scene = try SyntheticWorld(seed: 3).scene(at: 0)
        let truth = SynthMetrics.standardizedDepth(scene.depth)
        #expect(try SynthMetrics.depthRMSE(predicted: [truth], target: [truth]) == 0)
    }

    @Test func rmseIsPooledOverAllPixels() throws {
        #expect(try SynthMetrics.depthRMSE(predicted: [[0, 0, 0, 0]], target: [[1, 1, 1, 1]]) == 1)
        // (9 + 16) / 4 pixels → sqrt(6.25) = 2.5.
        #expect(try SynthMetrics.depthRMSE(predicted: [[0, 0], [3, 4]], target: [[0, 0], [0, 0]]) == 2.5)
        // One error of 1 among four pixels in two scenes of different sizes: sqrt(1/4).
        #expect(try SynthMetrics.depthRMSE(predicted: [[1], [0, 0, 0]], target: [[0], [0, 0, 0]]) == 0.5)
        #expect(try SynthMetrics.depthRMSE(predicted: [], target: []) == nil)
    }

    @Test func rmseThrowsOnMismatchedLengths() {
        #expect(throws: SynthMetricsError.lengthMismatch(metric: "depthRMSE", argument: "predicted", item: nil, expected: 2, actual: 1)) {
            try SynthMetrics.depthRMSE(predicted: [[0]], target: [[0], [0]])
        }
        #expect(throws: SynthMetricsError.lengthMismatch(metric: "depthRMSE", argument: "predicted", item: 1, expected: 3, actual: 2)) {
            try SynthMetrics.depthRMSE(predicted: [[0], [0, 0]], target: [[0], [0, 0, 0]])
        }
    }

    @Test func mismatchesDescribeThemselvesOnOneLine() {
        let scenes = SynthMetricsError.lengthMismatch(metric: "depthRMSE", argument: "predicted", item: nil, expected: 2, actual: 1)
        #expect(scenes.description == "depthRMSE: predicted has 1 element, expected 2 (one per target)")
        let map = SynthMetricsError.lengthMismatch(metric: "meanIoU", argument: "predicted", item: 3, expected: 16, actual: 15)
        #expect(map.description == "meanIoU: predicted[3] has 15 values, expected 16 (as many as the same scene's target)")
        let labels = SynthMetricsError.lengthMismatch(metric: "imageObjects", argument: "segmentation", item: nil, expected: 144, actual: 143)
        #expect(labels.description == "imageObjects: segmentation has 143 elements, expected 144 (one label per image pixel)")
        let normals = SynthMetricsError.lengthNotMultiple(metric: "normalAngularError", argument: "target", item: 0, factor: 3, actual: 4)
        #expect(normals.description == "normalAngularError: target[0] has 4 values, expected a multiple of 3 (3 components per pixel)")
        let gray = SynthMetricsError.tooFewChannels(metric: "imageObjects", argument: "rgb", expected: 3, actual: 1)
        #expect(gray.description == "imageObjects: rgb has 1 channel, expected at least 3")
    }
}

@Suite struct NormalMetricTests {
    @Test func perfectPredictionHasZeroError() throws {
        let scene = try SyntheticWorld(seed: 3).scene(at: 1)
        let error = try #require(try SynthMetrics.normalAngularError(predicted: [scene.normals], target: [scene.normals]))
        #expect(error < 1e-4)
    }

    @Test func oppositeNormalsAre180Degrees() throws {
        let error = try #require(try SynthMetrics.normalAngularError(predicted: [[0, 0, 1, 0, -1, 0]], target: [[0, 0, -1, 0, 1, 0]]))
        #expect(abs(error - 180) < 1e-9)
    }

    @Test func normalisesAndSkipsZeroVectors() throws {
        // Pixel 0: (2, 2, 0) vs (1, 0, 0) → 45°. Pixel 1: (0, 0, -3) vs (0, 1, 0) → 90°.
        // Pixel 2: sky (zero truth), skipped. Pixel 3: zero prediction, skipped.
        let predicted: [Float] = [2, 2, 0, 0, 0, -3, 0.5, 0.5, 0.5, 0, 0, 0]
        let target: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, -1]
        let error = try #require(try SynthMetrics.normalAngularError(predicted: [predicted], target: [target]))
        #expect(abs(error - 67.5) < 1e-9)
        #expect(try SynthMetrics.normalAngularError(predicted: [[0, 0, 0]], target: [[0, 0, 0]]) == nil)
    }

    @Test func throwsOnMismatchedOrNonVectorLengths() {
        #expect(throws: SynthMetricsError.lengthMismatch(metric: "normalAngularError", argument: "predicted", item: nil, expected: 1, actual: 2)) {
            try SynthMetrics.normalAngularError(predicted: [[0, 0, 1], [0, 0, 1]], target: [[0, 0, 1]])
        }
        #expect(throws: SynthMetricsError.lengthMismatch(metric: "normalAngularError", argument: "predicted", item: 0, expected: 3, actual: 6)) {
            try SynthMetrics.normalAngularError(predicted: [[0, 0, 1, 0, 0, 1]], target: [[0, 0, 1]])
        }
        #expect(throws: SynthMetricsError.lengthNotMultiple(metric: "normalAngularError", argument: "target", item: 1, factor: 3, actual: 4)) {
            try SynthMetrics.normalAngularError(predicted: [[0, 0, 1], [0, 0, 1, 0]], target: [[0, 0, 1], [0, 0, 1, 0]])
        }
    }
}

@Suite struct SegmentationMetricTests {
    @Test func perfectPredictionScoresOneOnPresentClasses() throws {
        let map: [UInt8] = [0, 0, 1, 3]
        let scores = try SynthMetrics.meanIoU(predicted: [map], target: [map])
        #expect(scores.perClass == ["background": 1, "sphere": 1, "cylinder": 1])
        #expect(scores.mean == 1)
    }

    @Test func fullyWrongPredictionScoresZero() throws {
        let scores = try SynthMetrics.meanIoU(predicted: [[1, 1, 1, 1]], target: [[0, 0, 0, 0]])
        #expect(scores.perClass == ["background": 0, "sphere": 0])
        #expect(scores.mean == 0)
    }

    @Test func accumulatesIntersectionsAndUnionsOverTheSet() throws {
        // Scene 1: background I 1 / U 2, sphere I 2 / U 3. Scene 2: background I 2 / U 3,
        // cube I 1 / U 2. Summed: background 3/5, sphere 2/3, cube 1/2.
        let scores = try SynthMetrics.meanIoU(predicted: [[0, 1, 1, 1], [2, 0, 0, 0]], target: [[0, 0, 1, 1], [2, 2, 0, 0]])
        #expect(scores.perClass == ["background": 0.6, "sphere": 2.0 / 3, "cube": 0.5])
        let mean = try #require(scores.mean)
        #expect(abs(mean - (0.6 + 2.0 / 3 + 0.5) / 3) < 1e-12)
    }

    @Test func throwsOnMismatchedLengths() {
        #expect(throws: SynthMetricsError.lengthMismatch(metric: "meanIoU", argument: "predicted", item: nil, expected: 1, actual: 0)) {
            try SynthMetrics.meanIoU(predicted: [], target: [[0, 1]])
        }
        #expect(throws: SynthMetricsError.lengthMismatch(metric: "meanIoU", argument: "predicted", item: 0, expected: 2, actual: 3)) {
            try SynthMetrics.meanIoU(predicted: [[0, 1, 1]], target: [[0, 1]])
        }
    }
}

@Suite struct DetectionMetricTests {
    static func truth(_ name: String, _ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) -> SynthBox {
        SynthBox(className: name, xmin: x0, ymin: y0, xmax: x1, ymax: y1)
    }

    static func guess(_ name: String, _ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ score: Double? = nil) -> DetectedBox {
        DetectedBox(xmin: x0, ymin: y0, xmax: x1, ymax: y1, className: name, score: score)
    }

    @Test func perfectDetectionsScoreOne() throws {
        let scene = [Self.truth("sphere", 0.1, 0.1, 0.3, 0.3), Self.truth("cube", 0.5, 0.5, 0.9, 0.8)]
        let predicted = scene.map { Self.guess($0.className, $0.xmin, $0.ymin, $0.xmax, $0.ymax) }
        let scores = try SynthMetrics.detectionMAP(predicted: [predicted], target: [scene])
        #expect(scores.perClass == ["sphere": 1, "cube": 1])
    }

    @Test func misplacedOrMislabelledDetectionsScoreZero() throws {
        let scene = [Self.truth("sphere", 0.1, 0.1, 0.3, 0.3)]
        let predicted = [Self.guess("sphere", 0.6, 0.6, 0.9, 0.9), Self.guess("cube", 0.1, 0.1, 0.3, 0.3)]
        let scores = try SynthMetrics.detectionMAP(predicted: [predicted], target: [scene])
        // The cube has no ground truth, so only the sphere class counts.
        #expect(scores.perClass == ["sphere": 0])
        #expect(scores.mean == 0)
        #expect(try SynthMetrics.detectionMAP(predicted: [[]], target: [scene]).mean == 0)
        #expect(try SynthMetrics.detectionMAP(predicted: [[]], target: [[]]).mean == nil)
    }

    @Test func matchesTheVOCAllPointExample() throws {
        // Three spheres: a and b in scene 0, c in scene 1. Ranked predictions: a (TP), a miss
        // (FP), c (TP), a duplicate of a (FP). Recall 1/3, 1/3, 2/3, 2/3; precision 1, 1/2,
        // 2/3, 1/2; AP = 1/3 · 1 + 1/3 · 2/3 = 5/9.
        let a = Self.truth("sphere", 0, 0, 0.2, 0.2), b = Self.truth("sphere", 0.5, 0.5, 0.7, 0.7)
        let c = Self.truth("sphere", 0.3, 0.3, 0.6, 0.6)
        let scene0 = [Self.guess("sphere", 0, 0, 0.2, 0.19, 0.6), Self.guess("sphere", 0.01, 0, 0.2, 0.2, 0.9), Self.guess("sphere", 0.8, 0.8, 1, 1, 0.8)]
        let scene1 = [Self.guess("sphere", 0.3, 0.3, 0.6, 0.62, 0.7)]
        let scores = try SynthMetrics.detectionMAP(predicted: [scene0, scene1], target: [[a, b], [c]])
        let ap = scores.perClass["sphere"] ?? -1
        #expect(abs(ap - 5.0 / 9) < 1e-12)
    }

    @Test func ranksUnscoredPredictionsByPositionThenScene() throws {
        // Rank: scene 0 first (FP), scene 1 first (TP), scene 0 second (TP). Two positives:
        // recall 0, 1/2, 1; precision 0, 1/2, 2/3 → AP = 1/2 · 2/3 + 1/2 · 2/3 = 2/3.
        let t0 = Self.truth("cone", 0.1, 0.1, 0.4, 0.4), t1 = Self.truth("cone", 0.5, 0.1, 0.9, 0.5)
        let scene0 = [Self.guess("cone", 0.6, 0.6, 0.9, 0.9), Self.guess("cone", 0.1, 0.1, 0.4, 0.4)]
        let scene1 = [Self.guess("cone", 0.5, 0.1, 0.9, 0.5)]
        let ap = try SynthMetrics.detectionMAP(predicted: [scene0, scene1], target: [[t0], [t1]]).perClass["cone"] ?? -1
        #expect(abs(ap - 2.0 / 3) < 1e-12)
    }

    @Test func requiresIoUOfAtLeastTheThreshold() throws {
        // [0, 0.5] vs [0, 1] wide, same height: IoU exactly 0.5.
        let truth = [Self.truth("cube", 0, 0, 1, 1)]
        #expect(try SynthMetrics.detectionMAP(predicted: [[Self.guess("cube", 0, 0, 0.5, 1)]], target: [truth]).mean == 1)
        #expect(try SynthMetrics.detectionMAP(predicted: [[Self.guess("cube", 0, 0, 0.49, 1)]], target: [truth]).mean == 0)
        // A box with min > max has no area.
        #expect(try SynthMetrics.detectionMAP(predicted: [[Self.guess("cube", 1, 1, 0, 0)]], target: [truth]).mean == 0)
    }

    @Test func throwsOnMismatchedSceneCounts() {
        let truth = [Self.truth("cube", 0, 0, 1, 1)]
        #expect(throws: SynthMetricsError.lengthMismatch(metric: "detectionMAP", argument: "predicted", item: nil, expected: 2, actual: 1)) {
            try SynthMetrics.detectionMAP(predicted: [[]], target: [truth, truth])
        }
    }
}

@Suite struct CaptionMetricTests {
    @Test func parsesEveryGrammarForm() {
        #expect(SynthMetrics.parseCaption("an empty ground") == [])
        #expect(SynthMetrics.parseCaption("a small red sphere") == [SynthCaptionObject(shape: .sphere, color: .red, size: .small)])
        #expect(
            SynthMetrics.parseCaption("a large gray cube left of a small white cone")
                == [SynthCaptionObject(shape: .cube, color: .gray, size: .large), SynthCaptionObject(shape: .cone, color: .white, size: .small)])
        let four = SynthMetrics.parseCaption("a small red sphere, a large blue cube, a small green cylinder and a large yellow cone from left to right")
        #expect(four.map(\.shape) == [.sphere, .cube, .cylinder, .cone])
        #expect(four.map(\.color) == [.red, .blue, .green, .yellow])
        #expect(four.map(\.size) == [.small, .large, .small, .large])
    }

    @Test func parsesImperfectCaptionsAsFarAsTheyGo() {
        #expect(
            SynthMetrics.parseCaption("  A small  red , an orange cube and ")
                == [SynthCaptionObject(shape: nil, color: .red, size: .small), SynthCaptionObject(shape: .cube, color: .orange, size: nil)])
    }

    @Test(arguments: 0..<12)
    func parsesTheWorldsCaptionsInLeftToRightOrder(index: Int) throws {
        let scene = try SyntheticWorld(seed: 5).scene(at: index)
        let ordered = scene.objects.sorted { $0.base[0] / $0.base[2] < $1.base[0] / $1.base[2] }
        let expected = ordered.map { SynthCaptionObject(shape: $0.shape, color: $0.color, size: $0.size) }
        #expect(SynthMetrics.parseCaption(scene.caption) == expected)
    }

    @Test func perfectCaptionsScoreOne() throws {
        let captions = ["a small red sphere left of a large blue cube", "an empty ground"]
        let accuracy = try SynthMetrics.captionAccuracy(predicted: captions, target: captions)
        #expect(accuracy == SynthCaptionAccuracy(captions: 2, objects: 2, count: 1, shape: 1, color: 1, size: 1))
    }

    @Test func missingObjectsCountAsWrong() throws {
        let accuracy = try SynthMetrics.captionAccuracy(predicted: ["a small green cone"], target: ["a small red sphere left of a large blue cube"])
        #expect(accuracy == SynthCaptionAccuracy(captions: 1, objects: 2, count: 0, shape: 0, color: 0, size: 0.5))
        let nothing = try SynthMetrics.captionAccuracy(predicted: ["an empty ground"], target: ["a small red sphere"])
        #expect(nothing == SynthCaptionAccuracy(captions: 1, objects: 1, count: 0, shape: 0, color: 0, size: 0))
    }

    @Test func scoresAttributesPerPosition() throws {
        // Count right; shapes sphere ✓ cube→cone ✗; colours red→blue ✗ blue ✓; sizes ✓ ✓.
        // Second caption: count wrong (3 vs 1), its one object fully right.
        let accuracy = try SynthMetrics.captionAccuracy(
            predicted: ["a small blue sphere left of a large blue cone", "a small red sphere, a small red sphere and a small red sphere from left to right"],
            target: ["a small red sphere left of a large blue cube", "a small red sphere"])
        #expect(accuracy == SynthCaptionAccuracy(captions: 2, objects: 3, count: 0.5, shape: 2.0 / 3, color: 2.0 / 3, size: 1))
    }

    @Test func accuracyThrowsOnMismatchedCaptionCounts() {
        #expect(throws: SynthMetricsError.lengthMismatch(metric: "captionAccuracy", argument: "predicted", item: nil, expected: 1, actual: 2)) {
            try SynthMetrics.captionAccuracy(predicted: ["a small red sphere", "an empty ground"], target: ["a small red sphere"])
        }
    }
}

@Suite struct ConsistencyMetricTests {
    /// A 12×12 image filled with ground gray and the given label, with `blocks` painted in.
    static func picture(_ blocks: [(x: Range<Int>, y: Range<Int>, rgb: [UInt8], label: UInt8)]) throws -> (Image, [UInt8]) {
        let side = 12
        var pixels = [UInt8](repeating: 150, count: side * side * 3)
        var labels = [UInt8](repeating: 0, count: side * side)
        for block in blocks {
            for y in block.y {
                for x in block.x {
                    labels[y * side + x] = block.label
                    for c in 0..<3 { pixels[(y * side + x) * 3 + c] = block.rgb[c] }
                }
            }
        }
        return (try Image(width: side, height: side, channels: 3, pixels: pixels), labels)
    }

    @Test func readsShadedColoursByScaledMatching() throws {
        // A white cube's front face at shading 0.61 is (146, 146, 146): nearer plain gray
        // (128) than white (240) unscaled, but exactly white at s = 0.61. A gray sphere at 0.7
        // is (90, 90, 90): white would need s = 0.375 < 0.5. Orange at 0.6 is (147, 84, 18).
        let (image, labels) = try Self.picture([
            (0..<4, 0..<4, [146, 146, 146], 2), (6..<10, 0..<4, [90, 90, 90], 1), (0..<4, 6..<10, [147, 84, 18], 4),
        ])
        let found = try SynthMetrics.imageObjects(rgb: image, segmentation: labels, minimumPixels: 12)
        #expect(Set(found) == [SynthCaptionObject(shape: .cube, color: .white), SynthCaptionObject(shape: .sphere, color: .gray), SynthCaptionObject(shape: .cone, color: .orange)])
    }

    @Test func separatesRegionsAndIgnoresSmallOnes() throws {
        // Two red cones apart (4×4 each), a blue cone of 3×3 = 9 pixels (< 12): two objects.
        let (image, labels) = try Self.picture([
            (0..<4, 0..<4, [200, 36, 36], 4), (8..<12, 0..<4, [200, 36, 36], 4), (0..<3, 8..<11, [36, 72, 200], 4),
        ])
        let found = try SynthMetrics.imageObjects(rgb: image, segmentation: labels, minimumPixels: 12)
        #expect(found == [SynthCaptionObject(shape: .cone, color: .red), SynthCaptionObject(shape: .cone, color: .red)])
        // Fragments all under the minimum but 12 pixels together: one object.
        let (split, splitLabels) = try Self.picture([(0..<2, 0..<3, [200, 36, 36], 1), (5..<7, 0..<3, [200, 36, 36], 1)])
        #expect(try SynthMetrics.imageObjects(rgb: split, segmentation: splitLabels, minimumPixels: 12) == [SynthCaptionObject(shape: .sphere, color: .red)])
    }

    @Test func findsTheObjectsOfRenderedScenes() throws {
        // On exact renders with exact labels the reader is right for almost every object it
        // can see; what it misses are objects under 12 visible pixels or touching objects of
        // one shape (measured ~0.90 on 400 scenes).
        let world = try SyntheticWorld(seed: 11)
        let scenes = (0..<40).map { world.scene(at: $0) }
        let found = try scenes.map { try SynthMetrics.imageObjects(rgb: $0.rgb, segmentation: $0.semanticSegmentation) }
        let score = try SynthMetrics.captionConsistency(captions: scenes.map(\.caption), found: found)
        #expect((score.shapeAndColor ?? 0) >= 0.8)
        #expect((score.shape ?? 0) >= (score.shapeAndColor ?? 1))
    }

    @Test func matchesCaptionObjectsAsMultisets() throws {
        let caption = "a small red sphere left of a large blue cube"
        let red = SynthCaptionObject(shape: .sphere, color: .red), blueSphere = SynthCaptionObject(shape: .sphere, color: .blue)
        let blueCube = SynthCaptionObject(shape: .cube, color: .blue)
        #expect(try SynthMetrics.captionConsistency(captions: [caption], found: [[red, blueCube]]) == SynthConsistency(objects: 2, shapeAndColor: 1, shape: 1))
        #expect(try SynthMetrics.captionConsistency(captions: [caption], found: [[]]) == SynthConsistency(objects: 2, shapeAndColor: 0, shape: 0))
        #expect(try SynthMetrics.captionConsistency(captions: [caption], found: [[blueSphere, red, red]]) == SynthConsistency(objects: 2, shapeAndColor: 0.5, shape: 0.5))
        // Two red spheres asked for, one found: one matches.
        let twice = "a small red sphere left of a large red sphere"
        #expect(try SynthMetrics.captionConsistency(captions: [twice, caption], found: [[red], [blueSphere, blueCube]]) == SynthConsistency(objects: 4, shapeAndColor: 0.5, shape: 0.75))
    }

    @Test func throwsOnMismatchedLengthsOrGrayImages() throws {
        let (image, labels) = try Self.picture([])
        #expect(throws: SynthMetricsError.lengthMismatch(metric: "imageObjects", argument: "segmentation", item: nil, expected: 144, actual: 143)) {
            try SynthMetrics.imageObjects(rgb: image, segmentation: Array(labels.dropLast()))
        }
        let gray = try Image(width: 12, height: 12, channels: 1, pixels: [UInt8](repeating: 150, count: 144))
        #expect(throws: SynthMetricsError.tooFewChannels(metric: "imageObjects", argument: "rgb", expected: 3, actual: 1)) {
            try SynthMetrics.imageObjects(rgb: gray, segmentation: labels)
        }
        #expect(throws: SynthMetricsError.lengthMismatch(metric: "captionConsistency", argument: "found", item: nil, expected: 2, actual: 1)) {
            try SynthMetrics.captionConsistency(captions: ["a small red sphere", "an empty ground"], found: [[]])
        }
    }
}
