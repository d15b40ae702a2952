import Foundation
import FourM
import FourMTestSupport
import Testing

/// `Pipeline.features(from:)`: encoder embeddings per token and pooled, on the demo model.
@Suite struct EncoderFeaturesTests {
    @Test func poolsTheValidEncoderTokens() throws {
        let pipeline = try Pipeline()
        let rgb = try #require(pipeline.model.inputModalities.first { $0.baseName == "rgb" })
        let info = try #require(pipeline.model.configuration.info(rgb))
        let photo = try Image(contentsOf: PipelineInputsTests.photo)
        let features = try pipeline.features(from: [rgb: .image(photo)])
        let width = features.tokens.shape[2]
        #expect(features.tokens.shape == [1, info.tokenCount, width])
        #expect(features.pooled.shape == [1, width] && features.paddingMask.scalars.allSatisfy { !$0 })
        // The pooled vector is the mean of the tokens (float32 sums: 1e-5 covers the rounding of `tokenCount` additions).
        let mean = (0..<width).map { d in (0..<info.tokenCount).map { features.tokens[0, $0, d] }.reduce(0, +) / Float(info.tokenCount) }
        expectClose(features.pooled.scalars, mean, atol: 1e-5, "pooled")
        // A caption adds its tokens; another photo gives other features.
        let both = try pipeline.features(from: [rgb: .image(photo), "caption": .text("a red cube")])
        #expect(both.tokens.shape[1] > info.tokenCount)
        #expect(throws: FourMError.self) { try pipeline.features(from: [:]) }
    }
}
