import FourMImage
import FourMTokenizers

// MARK: - Detection

extension SynthMetrics {
    /// Intersection over union of two boxes in normalised coordinates; a box whose minimum
    /// exceeds its maximum has zero area.
    static func intersectionOverUnion(_ a: DetectedBox, _ b: SynthBox) -> Double {
        a.box.intersectionOverUnion(b.box)
    }

    /// Mean average precision at an IoU threshold, PASCAL VOC style (all-point interpolated
    /// AP per class, mean over the classes that have ground truth).
    ///
    /// Per class, the predictions of every scene are ranked by `DetectedBox.score`,
    /// highest first; predictions without a score rank after every scored one, by their
    /// position in their scene's list and then by scene (so with no scores at all, every
    /// scene's first box outranks every second box, and the given order decides). In rank
    /// order, each prediction takes the true box of its class and scene with the highest IoU;
    /// it is a true positive when that IoU is at least `iouThreshold` and the box is not taken
    /// yet, otherwise a false positive (VOC's greedy rule). AP is the area under the
    /// precision–recall curve after making precision monotonically decreasing from the right.
    /// Predicted classes without ground truth do not enter the mean.
    /// - Parameters:
    ///   - predicted: the detections of every scene, in the order the model gave them.
    ///   - target: the true boxes of every scene (``SynthScene/boxes``).
    ///   - iouThreshold: the IoU a match needs (default 0.5).
    /// - Returns: the AP of every class with ground truth, keyed by class name, and their mean.
    /// - Throws: ``SynthMetricsError/lengthMismatch(metric:argument:item:expected:actual:)``
    ///   when `predicted` and `target` hold different numbers of scenes.
    public static func detectionMAP(
        predicted: [[DetectedBox]], target: [[SynthBox]], iouThreshold: Double = 0.5
    ) throws(SynthMetricsError) -> SynthClassScores {
        try checkSceneCount(metric: "detectionMAP", predicted: predicted.count, target: target.count)
        var classes: [String] = []
        for boxes in target {
            for box in boxes where !classes.contains(box.className) { classes.append(box.className) }
        }
        var scores: [String: Double] = [:]
        for name in classes {
            scores[name] = averagePrecision(
                of: name, predicted: predicted, target: target, iouThreshold: iouThreshold)
        }
        return SynthClassScores(perClass: scores)
    }

    /// VOC all-point interpolated AP of one class.
    static func averagePrecision(
        of name: String, predicted: [[DetectedBox]], target: [[SynthBox]], iouThreshold: Double
    ) -> Double {
        struct Candidate {
            let scene: Int, position: Int
            let box: DetectedBox
        }
        var candidates: [Candidate] = []
        for (scene, boxes) in predicted.enumerated() {
            for (position, box) in boxes.enumerated() where box.className == name {
                candidates.append(Candidate(scene: scene, position: position, box: box))
            }
        }
        candidates.sort { a, b in
            switch (a.box.score, b.box.score) {
            case let (x?, y?): return x != y ? x > y : (a.position, a.scene) < (b.position, b.scene)
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return (a.position, a.scene) < (b.position, b.scene)
            }
        }
        let truth = target.map { $0.filter { $0.className == name } }
        let positives = truth.reduce(0) { $0 + $1.count }
        guard positives > 0 else { return 0 }
        var taken = truth.map { [Bool](repeating: false, count: $0.count) }
        var recall: [Double] = [], precision: [Double] = []
        var truePositives = 0, falsePositives = 0
        for candidate in candidates {
            var best = -1
            var bestIoU = 0.0
            for (k, box) in truth[candidate.scene].enumerated() {
                let iou = intersectionOverUnion(candidate.box, box)
                if iou > bestIoU { bestIoU = iou; best = k }
            }
            if best >= 0, bestIoU >= iouThreshold, !taken[candidate.scene][best] {
                taken[candidate.scene][best] = true
                truePositives += 1
            } else {
                falsePositives += 1
            }
            recall.append(Double(truePositives) / Double(positives))
            precision.append(Double(truePositives) / Double(truePositives + falsePositives))
        }
        // All-point interpolation (VOC 2010+): pad, take the right-to-left precision maximum,
        // and sum precision × recall steps.
        let r = [0.0] + recall + [1.0]
        var p = [0.0] + precision + [0.0]
        for i in stride(from: p.count - 2, through: 0, by: -1) { p[i] = max(p[i], p[i + 1]) }
        var ap = 0.0
        for i in 1..<r.count where r[i] != r[i - 1] { ap += (r[i] - r[i - 1]) * p[i] }
        return ap
    }
}
