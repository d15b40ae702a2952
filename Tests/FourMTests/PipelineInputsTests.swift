import Foundation
import FourM
import FourMTestSupport
import Testing

/// Any image-like modality in: pictures through VQ-VAE and DiVAE tokenizers, semantic label
/// maps, token ids; bad inputs give one typed error each. Sizes come from the bundle's model.
@Suite struct PipelineInputsTests {
    static let photo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FourMImageTests/Resources/photo.png")

    @Test func picturesAndLabelMapsAreTokenizedByTheirTokenizers() throws {
        guard let dir = try FixtureBundle.make() else { return }
        let pipeline = try Pipeline(bundle: dir, outputs: ["tok_semseg@224"])
        let rgbTokens = try #require(pipeline.model.configuration.info("tok_rgb@224"))
        let photo = try Image(contentsOf: Self.photo)
        // tok_rgb is a DiVAE in this bundle: its ViT VQ encoder tokenizes the picture.
        let values = try pipeline.tokenizerValues("tok_rgb@224", image: photo)
        let side = values.shape[2]
        #expect(values.shape == [1, 3, side, side] && values.scalars.allSatisfy { $0 >= -1 && $0 <= 1 })
        let ids = try pipeline.tokenize("tok_rgb@224", values: values)
        #expect(ids.shape == [1, rgbTokens.tokenCount])
        let state = try pipeline.condition("tok_rgb@224", .image(photo))
        #expect(state.tokens?.scalars == ids.scalars && state.inputMask.scalars.allSatisfy { !$0 })

        let semseg = try #require(pipeline.model.configuration.info("tok_semseg@224"))
        let tokenizer = try #require(pipeline.imageTokenizers["tok_semseg@224"])
        let labelSide = semseg.gridSize * tokenizer.configuration.patchSize
        let labelCount = tokenizer.configuration.labels ?? 1
        let labels = Tensor<Int32>(shape: [labelSide, labelSide], scalars: (0..<(labelSide * labelSide)).map { Int32(($0 / 37) % labelCount) })
        let labelled = try pipeline.condition("tok_semseg@224", .labels(labels))
        #expect(labelled.tokens?.shape == [1, semseg.tokenCount])

        let tooBig = Tensor<Int32>(shape: [labelSide, labelSide], scalars: [Int32](repeating: Int32(labelCount), count: labelSide * labelSide))
        #expect(throws: FourMError.imageTokenizer(.labelOutOfRange(label: Int32(labelCount), labelCount: labelCount))) {
            try pipeline.condition("tok_semseg@224", .labels(tooBig))
        }
        let wrongSize = Tensor<Int32>(shape: [labelSide / 2, labelSide], scalars: [Int32](repeating: 0, count: labelSide * labelSide / 2))
        #expect(throws: FourMError.self) { try pipeline.condition("tok_semseg@224", .labels(wrongSize)) }
        #expect { try pipeline.condition("tok_semseg@224", .tokens([1, 2, 3])) } throws: { error in
            guard case .invalidInput(let m, _, let actual) = error as? FourMError else { return false }
            return m == "tok_semseg@224" && actual == "3 ids"
        }
        #expect { try pipeline.condition("tok_semseg@224", .image(photo)) } throws: { error in
            guard case .invalidInput(_, let expected, _) = error as? FourMError else { return false }
            return expected.contains(".labels")
        }
    }
}
