import Foundation
import FourM
import FourMModels
import FourMTestSupport
import Testing

/// The demo's super-resolution pass: a base run on the fixture bundle, then a tiny random
/// SR model (4M-7-SR domains) that turns the generated 224 map into its 448 twin.
@Suite struct SuperResolutionTests {
    @Test func superResolvesTheBaseOutputsAt448() throws {
        guard let dir = try FixtureBundle.make(), let srDir = try FixtureBundle.makeSuperResolution(from: dir) else { return }
        let pipeline = try Pipeline(bundle: dir, outputs: ["tok_semseg@224"])
        let photo = try Image(contentsOf: PipelineInputsTests.photo)
        let semseg = try #require(pipeline.model.configuration.info("tok_semseg@224"))
        let preset = SchedulePreset(targets: [TargetSettings("tok_semseg@224", scheme: .roar, tokens: semseg.tokenCount, steps: 1, temperature: 0.01, guidance: .scale(2))])
        let base = try pipeline.generate(from: ["rgb@224": .image(photo)], preset: preset, seed: 7)
        let sr = try Pipeline(bundle: srDir, outputs: ["tok_semseg@448"])
        #expect(sr.superResolutionTargets(after: base) == ["tok_semseg@448"])
        var steps: [StepReport] = []
        let high = try sr.superResolve(base, seed: 8) { steps.append($0) }
        let info = try #require(sr.model.configuration.info("tok_semseg@448"))
        #expect(high.tokens("tok_semseg@448")?.shape == [1, info.tokenCount])
        let defaults = try #require(DemoDefaultsTable.superResolution.defaults(for: "tok_semseg@448"))
        #expect(steps.count == defaults.steps && steps.allSatisfy { $0.step.scheme == defaults.scheme && $0.step.guidance == .scale(defaults.guidance) })
        #expect(steps.first?.step.guidanceConditions == ["rgb@224", "tok_semseg@224"])
        let picture = try #require(try high.image("tok_semseg@448"))
        #expect(picture.width == info.gridSize * 16)

        // A "super-resolution" bundle without any 448 twin of the base outputs is rejected.
        #expect { try pipeline.superResolve(base) } throws: { error in
            guard case .invalidInput(let what, _, _) = error as? FourMError else { return false }
            return what == "super-resolution"
        }
    }
}

/// `Pipeline.generateAsDemo`: the demo's setup and run through the public API.
@Suite struct GenerateAsDemoTests {
    @Test func runsTheDemoSetup() throws {
        guard let dir = try FixtureBundle.make() else { return }
        let pipeline = try Pipeline(bundle: dir, outputs: ["tok_semseg@224"])
        let photo = try Image(contentsOf: PipelineInputsTests.photo)
        let result = try pipeline.generateAsDemo([("rgb@224", .image(photo)), ("caption", .text("a red bus"))], targets: ["tok_semseg@224"], seed: 3)
        // DEFAULTS_RGB2X: one guided ROAR step at τ 0.01 with guidance 2; caption (custom_text) first in the dictionary.
        #expect(result.steps.count == 1 && result.steps[0].step.temperature == 0.01 && result.steps[0].step.guidance == .scale(2))
        #expect(result.steps[0].step.guidanceConditions == ["rgb@224", "caption"])
        #expect(result.dictionary.modalities == ["caption", "rgb@224", "tok_semseg@224"])
        #expect(try result.text("caption") == "a red bus")
        #expect(try result.image("tok_semseg@224") != nil)
    }
}
