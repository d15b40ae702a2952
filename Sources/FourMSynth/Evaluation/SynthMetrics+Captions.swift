import Foundation

// MARK: - Captions

extension SynthMetrics {
    /// Reads the objects of a caption written in the world's grammar (``SynthScene/caption``),
    /// in caption order (left to right).
    ///
    /// `"an empty ground"` has no objects. Otherwise a trailing `"from left to right"` is
    /// dropped, the text is split into phrases at commas, `" and "` and `" left of "`, and each
    /// phrase that holds a word other than `a`/`an` is one object whose shape, colour and size
    /// are the first words naming one (``SynthShape``, ``SynthColor`` and ``SynthSize`` raw
    /// values); a missing word leaves that attribute nil. Case and extra spaces are ignored, so
    /// imperfect generated captions still parse as far as they go.
    /// - Parameter caption: the caption text.
    /// - Returns: the objects in caption order.
    public static func parseCaption(_ caption: String) -> [SynthCaptionObject] {
        let words = caption.lowercased().split(whereSeparator: \.isWhitespace)
        var text = " " + words.joined(separator: " ") + " "
        if text.contains(" empty ground ") { return [] }
        text = text.replacingOccurrences(of: " from left to right ", with: " ")
        for separator in [",", " and ", " left of "] {
            text = text.replacingOccurrences(of: separator, with: " | ")
        }
        var objects: [SynthCaptionObject] = []
        for phrase in text.split(separator: "|") {
            let words = phrase.split(separator: " ").map(String.init).filter { $0 != "a" && $0 != "an" }
            guard !words.isEmpty else { continue }
            objects.append(
                SynthCaptionObject(
                    shape: words.lazy.compactMap(SynthShape.init(rawValue:)).first,
                    color: words.lazy.compactMap(SynthColor.init(rawValue:)).first,
                    size: words.lazy.compactMap(SynthSize.init(rawValue:)).first))
        }
        return objects
    }

    /// Compares generated captions with the true ones: whether each lists the right number of
    /// objects, and per true object (position `i` of the true caption against position `i` of
    /// the generated one, both parsed with ``parseCaption(_:)``) whether its shape, colour and
    /// size are right. A true object without a generated counterpart is wrong on all three.
    /// - Parameters:
    ///   - predicted: one generated caption per scene.
    ///   - target: one true caption per scene (``SynthScene/caption``).
    /// - Returns: the count accuracy over captions and the attribute accuracies over objects.
    /// - Throws: ``SynthMetricsError/lengthMismatch(metric:argument:item:expected:actual:)``
    ///   when `predicted` and `target` hold different numbers of captions.
    public static func captionAccuracy(
        predicted: [String], target: [String]
    ) throws(SynthMetricsError) -> SynthCaptionAccuracy {
        try checkSceneCount(metric: "captionAccuracy", predicted: predicted.count, target: target.count)
        var rightCount = 0, objects = 0, shape = 0, color = 0, size = 0
        for (p, t) in zip(predicted, target) {
            let generated = parseCaption(p), truth = parseCaption(t)
            if generated.count == truth.count { rightCount += 1 }
            objects += truth.count
            for (i, object) in truth.enumerated() where i < generated.count {
                if object.shape != nil, generated[i].shape == object.shape { shape += 1 }
                if object.color != nil, generated[i].color == object.color { color += 1 }
                if object.size != nil, generated[i].size == object.size { size += 1 }
            }
        }
        func fraction(_ n: Int, _ d: Int) -> Double? { d > 0 ? Double(n) / Double(d) : nil }
        return SynthCaptionAccuracy(
            captions: target.count, objects: objects, count: fraction(rightCount, target.count),
            shape: fraction(shape, objects), color: fraction(color, objects), size: fraction(size, objects))
    }
}
