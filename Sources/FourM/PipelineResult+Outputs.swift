import FourMModels
import FourMSampling
import FourMTensor
import FourMTokenizers

// MARK: - Every output as the reference demo shows it (plotting_utils.decode_dict)

extension PipelineResult {
    /// The merged text of a sequence (visible part with its spans filled in, special tokens
    /// kept), as the reference's `decode_text` gives it to the demo's decoders.
    /// - Throws: `.rowOutOfRange`, `.unknownModality`, `.missingTokenizers` without a text
    ///   tokenizer, `.tokenizer` for unknown ids.
    public func mergedText(_ modality: Modality, row: Int = 0) throws(FourMError) -> String? {
        guard let state = try state(modality, row: row) else { return nil }
        guard let tokenizer = pipeline.textTokenizer else { throw .missingTokenizers(bundle: pipeline.bundleName, modalities: [modality.rawValue]) }
        return try state.mergedText(row: row, using: tokenizer)
    }

    /// The SAM instances of a `sam_instance` output, decoded as the reference demo does
    /// (``SAMInstanceMap``): boxes, masks through the SAM-instance tokenizer, merged groups and
    /// the coloured instance map.
    /// - Parameters:
    ///   - row: the batch row.
    ///   - side: the map's side in pixels (the reference: 224).
    /// - Throws: `.missingTokenizers` without the text or SAM-instance tokenizer, `.imageTokenizer`.
    public func samInstances(row: Int = 0, side: Int = 224) throws(FourMError) -> SAMInstanceMap? {
        guard let text = try mergedText(.samInstance, row: row) else { return nil }
        guard let tokenizer = pipeline.sequenceTokenizers[.samInstance] else { throw .missingTokenizers(bundle: pipeline.bundleName, modalities: [Modality.samInstance.rawValue]) }
        do { return try SAMInstanceMap(text: text, tokenizer: tokenizer, side: side) } catch { throw .imageTokenizer(error) }
    }

    /// The people of a `human_poses` output with their SMPL parameters and decoded body poses
    /// (``HumanPoseParameters``); `issues` lists the persons that did not parse.
    /// - Throws: `.missingTokenizers` without the text or pose tokenizer, `.imageTokenizer`.
    public func humanPoses(row: Int = 0, side: Int = 224) throws(FourMError) -> (people: [HumanPoseParameters], issues: [String])? {
        guard let text = try mergedText(.humanPoses, row: row) else { return nil }
        guard let tokenizer = pipeline.sequenceTokenizers[.humanPoses] else { throw .missingTokenizers(bundle: pipeline.bundleName, modalities: [Modality.humanPoses.rawValue]) }
        do { return try HumanPoseParameters.decode(text: text, tokenizer: tokenizer, side: side) } catch { throw .imageTokenizer(error) }
    }

    /// The PCA picture of a feature-map output (`tok_clip`, `tok_dinov2`, `tok_imagebind`; the
    /// values themselves are ``decodedValues(_:)``).
    /// - Throws: `.missingTokenizers`, `.imageTokenizer`.
    public func featurePCA(_ modality: Modality, row: Int = 0) throws(FourMError) -> FeatureMapPCA? {
        guard try decodedRow(modality, row: row) != nil, let values = try decodedValues(modality) else { return nil }
        do { return try FeatureMapPCA(features: values, row: row) } catch { throw .imageTokenizer(error) }
    }

    /// The `metadata` output as typed entries (key → bin and its approximate value); what could
    /// not be parsed is in `issues`.
    /// - Throws: `.missingTokenizers` without a text tokenizer.
    public func metadata(row: Int = 0) throws(FourMError) -> SequenceDecoding<[MetadataEntry]>? {
        try decodeSequence(.metadata, row: row, MetadataCodec())
    }

    /// The `color_palette` output as colours; what could not be parsed is in `issues`.
    /// - Throws: `.missingTokenizers` without a text tokenizer.
    public func colorPalette(row: Int = 0) throws(FourMError) -> SequenceDecoding<[PaletteColor]>? {
        try decodeSequence(.colorPalette, row: row, ColorPaletteCodec())
    }

    func decodeSequence<C: SequenceCodec>(_ modality: Modality, row: Int, _ codec: C) throws(FourMError) -> SequenceDecoding<C.Value>? {
        guard let state = try state(modality, row: row) else { return nil }
        guard let tokenizer = pipeline.textTokenizer else { throw .missingTokenizers(bundle: pipeline.bundleName, modalities: [modality.rawValue]) }
        return codec.decode(ids: state.mergedSequence(row: row), using: tokenizer)
    }

    /// A picture of any output, as the reference demo plots it: ``image(_:row:)`` for maps,
    /// the PCA of feature maps, the SAM instance map, each person's box, the palette swatch,
    /// boxes on `background` for det, and text tiles for caption and metadata.
    /// - Parameters:
    ///   - modality: the output.
    ///   - row: the batch row.
    ///   - background: the picture det boxes and poses are drawn on (white when nil).
    ///   - side: the side of text and box pictures.
    /// - Throws: the errors of the accessors it uses, `.image` for drawing.
    public func picture(_ modality: Modality, row: Int = 0, background: Image? = nil, side: Int = 224) throws(FourMError) -> Image? {
        do {
            let canvas = try background.map { (b: Image) throws(ImageError) -> Image in try b.rgb().resized(width: side, height: side) } ?? Image(width: side, height: side, filledWith: .white)
            switch pipeline.model.configuration.modalities.spec(for: modality)?.renderer {
            case .featurePCA?:
                return try featurePCA(modality, row: row)?.image(scale: 1)
            case .samInstances?:
                return try samInstances(row: row, side: side)?.image
            case .humanPoses?:
                guard let people = try humanPoses(row: row, side: side)?.people else { return nil }
                let boxes = people.map { p in
                    Visualization.Box(xmin: p.box[0] / Float(side), ymin: p.box[1] / Float(side), xmax: p.box[2] / Float(side), ymax: p.box[3] / Float(side), label: "person")
                }
                return try Visualization.boxes(boxes, on: canvas)
            case .colorPalette?:
                guard let colors = try colorPalette(row: row)?.value, !colors.isEmpty else { return try Visualization.text("(no colours)", side: side) }
                return try Visualization.colorPalette(colors.map { Image.Color(red: UInt8(clamping: $0.red), green: UInt8(clamping: $0.green), blue: UInt8(clamping: $0.blue)) })
            case .boxes?:
                guard let parsed = try boxes(modality, row: row) else { return nil }
                return try Visualization.boxes(parsed.value.map { Visualization.Box(xmin: Float($0.xmin), ymin: Float($0.ymin), xmax: Float($0.xmax), ymax: Float($0.ymax), label: $0.className) }, on: canvas)
            case .metadata?:
                guard let entries = try metadata(row: row)?.value else { return nil }
                if entries.isEmpty { return try Visualization.text("(no entries)", side: side) }
                return try Visualization.text(entries.map { "\($0.key.name): \(($0.approximateValue * 100).rounded() / 100)" }.joined(separator: "\n"), side: side)
            case .text?:
                guard let text = try text(modality, row: row) else { return nil }
                return try Visualization.text(text, side: side)
            default:
                return try image(modality, row: row)
            }
        } catch let error as FourMError { throw error } catch let error as ImageError { throw .image(error) } catch {
            throw .invalidInput(modality: modality.rawValue, expected: "a picture", actual: "\(error)")
        }
    }

    /// One composite of the given inputs and every output of the result, in dictionary order
    /// (the reference demo's `plot_modalities`).
    /// - Parameters:
    ///   - inputs: pictures of the inputs by modality (a photo for `rgb@N`); they come first.
    ///   - row: the batch row.
    ///   - tileSize: each cell's side.
    /// - Throws: the errors of ``picture(_:row:background:side:)``.
    public func grid(inputs: [Modality: Image] = [:], row: Int = 0, tileSize: Int = 224) throws(FourMError) -> Image {
        var tiles: [Visualization.Tile] = []
        for m in dictionary.modalities where inputs[m] != nil {
            if let image = inputs[m] { tiles.append(Visualization.Tile(title: m.rawValue, image: image)) }
        }
        let background = inputs.first { $0.key.baseName == "rgb" }?.value
        for m in dictionary.modalities where inputs[m] == nil {
            if let image = try picture(m, row: row, background: background, side: tileSize) {
                tiles.append(Visualization.Tile(title: m.rawValue, image: image))
            }
        }
        do { return try Visualization.grid(tiles, tileSize: tileSize) } catch { throw .image(error) }
    }
}
