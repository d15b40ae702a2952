/// The 80 COCO detection class names as the 4M text vocabulary holds them: added tokens
/// 4204 … 4283 in alphabetical order, normalized (lower case), multi-word names with one space
/// (spec/tokenizers.md section 7.2; spec/generation.md section 0.2).
///
/// These are the class names of `det` sequences (spec/tokenizers.md section 8.4). The
/// semantic-segmentation classes (`COCOSemanticClasses` in FourMImage) are a different, 134-label list.
public enum COCODetectionClasses {
    /// The id of the first class token (`airplane`).
    public static let firstTokenId: Int32 = 4204

    /// The class names, in id order: `names[i]` has id `4204 + i`.
    public static let names: [String] = [
        "airplane", "apple", "backpack", "banana", "baseball bat", "baseball glove", "bear",
        "bed", "bench", "bicycle", "bird", "boat", "book", "bottle", "bowl", "broccoli", "bus",
        "cake", "car", "carrot", "cat", "cell phone", "chair", "clock", "couch", "cow", "cup",
        "dining table", "dog", "donut", "elephant", "fire hydrant", "fork", "frisbee",
        "giraffe", "hair drier", "handbag", "horse", "hot dog", "keyboard", "kite", "knife",
        "laptop", "microwave", "motorcycle", "mouse", "orange", "oven", "parking meter",
        "person", "pizza", "potted plant", "refrigerator", "remote", "sandwich", "scissors",
        "sheep", "sink", "skateboard", "skis", "snowboard", "spoon", "sports ball",
        "stop sign", "suitcase", "surfboard", "teddy bear", "tennis racket", "tie", "toaster",
        "toilet", "toothbrush", "traffic light", "train", "truck", "tv", "umbrella", "vase",
        "wine glass", "zebra",
    ]

    private static let indexByName: [String: Int] = Dictionary(
        uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })

    /// The vocabulary spelling of a class name, matched case-insensitively (the tokenizer
    /// lower-cases class names before matching them, spec/tokenizers.md section 7.3 step 3).
    /// - Parameter name: A class name such as `"Traffic Light"`.
    /// - Returns: The vocabulary spelling (`"traffic light"`), or nil for other names.
    public static func canonicalName(_ name: String) -> String? {
        let lowered = name.lowercased()
        return indexByName[lowered] == nil ? nil : lowered
    }

    /// The token id of a class name (case-insensitive), or nil.
    /// - Parameter name: A class name.
    /// - Returns: `4204 + index`.
    public static func tokenId(of name: String) -> Int32? {
        indexByName[name.lowercased()].map { firstTokenId + Int32($0) }
    }
}
