import Foundation
import FourM
import FourMModels
import FourMSampling
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// Shared reading of the `workflow` fixture cases (fixture README "workflow_*").
enum WorkflowFixture {
    /// The case's JSON side file.
    static func json(_ f: CaseTensors) throws -> [String: Any] {
        guard let file = f.object["json_file"] as? String else { throw FixtureError("\(f.object["name"] ?? "?"): json_file missing") }
        let data = try Data(contentsOf: try Fixtures.url(file))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw FixtureError("\(file): not a JSON object") }
        return object
    }

    /// The WordPiece tokenizer the case names (`settings.tokenizer_file`).
    static func textTokenizer(_ f: CaseTensors) throws -> WordPieceTokenizer {
        guard let file = f.settings["tokenizer_file"] as? String else { throw FixtureError("\(f.object["name"] ?? "?"): tokenizer_file missing") }
        return try WordPieceTokenizer(contentsOf: try Fixtures.url(file))
    }

    /// Compares a built dictionary with `out.*` in `settings.out_order`: same keys in the same
    /// order, every stored field exact (pixels are passed through, so floats are exact too).
    static func expectDictionary(_ dictionary: ModalityDictionary, _ f: CaseTensors, prefix: String, order: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let name = f.object["name"] as? String ?? "?"
        #expect(dictionary.modalities.map(\.rawValue) == order, "\(name): dictionary order", sourceLocation: sourceLocation)
        for m in order {
            let key = "\(prefix).\(m)"
            guard let state = dictionary[Modality(rawValue: m)] else {
                Issue.record("\(name): \(m) missing", sourceLocation: sourceLocation)
                continue
            }
            if f.dtype("\(key).tensor") == "float32" {
                guard case .pixels(let pixels) = state.content else {
                    Issue.record("\(name): \(m) is not pixels", sourceLocation: sourceLocation)
                    continue
                }
                let expected = try f.float("\(key).tensor")
                #expect(pixels.shape == expected.shape && pixels.scalars == expected.scalars, "\(name): \(key).tensor", sourceLocation: sourceLocation)
            } else {
                let expected = try f.int("\(key).tensor")
                #expect(state.tokens?.shape == expected.shape, "\(name): \(key).tensor shape", sourceLocation: sourceLocation)
                #expect(state.tokens?.scalars == expected.scalars, "\(name): \(key).tensor", sourceLocation: sourceLocation)
            }
            let input = try f.bool("\(key).input_mask"), target = try f.bool("\(key).target_mask")
            #expect(state.inputMask.shape == input.shape && state.inputMask.scalars == input.scalars, "\(name): \(key).input_mask", sourceLocation: sourceLocation)
            #expect(state.targetMask.shape == target.shape && state.targetMask.scalars == target.scalars, "\(name): \(key).target_mask", sourceLocation: sourceLocation)
            if f.has("\(key).decoder_attention_mask") {
                let expected = try f.int("\(key).decoder_attention_mask")
                #expect(state.decoderAttentionMask?.scalars == expected.scalars, "\(name): \(key).decoder_attention_mask", sourceLocation: sourceLocation)
            } else {
                #expect(state.decoderAttentionMask == nil, "\(name): \(key) has a decoder_attention_mask the reference does not build", sourceLocation: sourceLocation)
            }
        }
    }

    /// Compares a schedule with the JSON `schedule`: target, scheme, token count and guidance
    /// domains exact; temperature and guidance scale to 1e-12 (the fixture's stated tolerance:
    /// both sides compute the same double-precision expressions).
    static func expectSchedule(_ schedule: [GenerationStep], _ expected: [[String: Any]], _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(schedule.count == expected.count, "\(name): \(schedule.count) steps, expected \(expected.count)", sourceLocation: sourceLocation)
        for (i, (mine, theirs)) in zip(schedule, expected).enumerated() {
            let label = "\(name): schedule step \(i)"
            #expect(mine.target.rawValue == theirs["target_domain"] as? String, "\(label) target", sourceLocation: sourceLocation)
            #expect(mine.scheme.rawValue == theirs["scheme"] as? String, "\(label) scheme", sourceLocation: sourceLocation)
            #expect(mine.tokenCount == (theirs["num_tokens"] as? NSNumber)?.intValue, "\(label) num_tokens", sourceLocation: sourceLocation)
            let temperature = (theirs["temperature"] as? NSNumber)?.doubleValue ?? .nan
            #expect(abs(mine.temperature - temperature) <= 1e-12, "\(label) temperature \(mine.temperature) vs \(temperature)", sourceLocation: sourceLocation)
            let scale = (theirs["cfg_scale"] as? NSNumber)?.doubleValue ?? .nan
            #expect(mine.guidance == .scale(scale), "\(label) cfg_scale", sourceLocation: sourceLocation)
            #expect(mine.guidanceConditions.map(\.rawValue) == theirs["cfg_cond_domains"] as? [String], "\(label) cfg_cond_domains", sourceLocation: sourceLocation)
        }
    }

    /// Compares the per-target settings with the JSON `builder_kwargs` lists.
    static func expectBuilderArguments(_ settings: [TargetSettings], _ kwargs: [String: Any], _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let tokens = (kwargs["tokens_per_target"] as? [NSNumber])?.map(\.intValue)
        #expect(settings.map(\.tokens) == tokens, "\(name): tokens_per_target", sourceLocation: sourceLocation)
        #expect(settings.map(\.scheme.rawValue) == kwargs["autoregression_schemes"] as? [String], "\(name): autoregression_schemes", sourceLocation: sourceLocation)
        let temps = (kwargs["temps"] as? [NSNumber])?.map(\.doubleValue)
        #expect(settings.map(\.temperature) == temps, "\(name): temps", sourceLocation: sourceLocation)
        #expect(settings.map { "\($0.temperatureSchedule)" } == kwargs["temp_schedules"] as? [String], "\(name): temp_schedules", sourceLocation: sourceLocation)
        let steps = (kwargs["decoding_steps"] as? [Any])?.map { ($0 as? NSNumber)?.intValue }
        #expect(settings.map { $0.scheme == .autoregressive ? nil : $0.steps } == steps, "\(name): decoding_steps", sourceLocation: sourceLocation)
    }
}

/// The demo sampler's setups (`workflow_setup_*`, `workflow_setup_sr*`): conditions, targets,
/// defaults table, the whole modality dictionary and every schedule step. Every integer, mask
/// and domain list is exact; temperatures and scales to 1e-12.
@Suite struct WorkflowSetupParityTests {
    static let setupCases = Fixtures.cases.compactMap { c -> String? in
        guard c["kind"] as? String == "workflow", let s = c["settings"] as? [String: Any], s["workflow_part"] as? String == "setup" else { return nil }
        return c["name"] as? String
    }
    static let superResolutionCases = Fixtures.cases.compactMap { c -> String? in
        guard c["kind"] as? String == "workflow", let s = c["settings"] as? [String: Any], s["workflow_part"] as? String == "sr_setup" else { return nil }
        return c["name"] as? String
    }

    @Test func everyWorkflowCaseHasAKnownPart() {
        #expect(Fixtures.manifestProblem == nil, "\(Fixtures.manifestProblem ?? "")")
        let known: Set<String> = ["setup", "sr_setup", "run", "decode_sam_instances", "decode_human_poses", "feature_pca"]
        for c in Fixtures.cases where c["kind"] as? String == "workflow" {
            let part = (c["settings"] as? [String: Any])?["workflow_part"] as? String ?? "?"
            #expect(known.contains(part), "\(c["name"] ?? "?"): workflow_part '\(part)' has no test")
        }
    }

    @Test(arguments: setupCases)
    func buildsTheDemoSetup(_ name: String) throws {
        let f = try CaseTensors(name)
        let settings = f.settings
        let json = try WorkflowFixture.json(f)
        let model = try f.model()
        let domains = Set(model.inputModalities + model.outputModalities)
        let texts = settings["sample_text"] as? [String: String] ?? [:]
        var sample: [(Modality, DemoSampleValue)] = []
        for domain in settings["sample_order"] as? [String] ?? [] {
            if let text = texts[domain] {
                sample.append((Modality(rawValue: domain), .text(text)))
            } else if f.dtype("in.\(domain).tensor") == "float32" {
                sample.append((Modality(rawValue: domain), .pixels(try f.float("in.\(domain).tensor"))))
            } else {
                sample.append((Modality(rawValue: domain), .tokens(try f.int("in.\(domain).tensor"))))
            }
        }
        let override = (settings["target_modalities"] as? [String])?.map { Modality(rawValue: $0) }
        let setup = DemoSetup(sample: sample, modelModalities: domains, targets: override)
        #expect(setup.conditions.map(\.rawValue) == settings["cond_domains"] as? [String], "\(name): cond_domains")
        #expect(setup.targets.map(\.rawValue) == settings["target_domains"] as? [String], "\(name): target_domains")
        #expect(DemoSetup(sample: sample, modelModalities: domains).targets.map(\.rawValue) == settings["default_target_domains"] as? [String], "\(name): default targets")
        #expect(setup.table.name == settings["defaults_table"] as? String, "\(name): defaults table")
        #expect(DemoSetup.defaultOrder.map(\.rawValue) == json["DEFAULT_ORDER"] as? [String], "\(name): DEFAULT_ORDER")
        try expectTable(setup.table, json["defaults_table"], name)
        WorkflowFixture.expectBuilderArguments(try setup.targetSettings(), json["builder_kwargs"] as? [String: Any] ?? [:], name)
        WorkflowFixture.expectSchedule(try setup.schedule(), json["schedule"] as? [[String: Any]] ?? [], name)
        let dictionary = try setup.dictionary(textTokenizer: try WorkflowFixture.textTokenizer(f))
        try WorkflowFixture.expectDictionary(dictionary, f, prefix: "out", order: settings["out_order"] as? [String] ?? [])
    }

    @Test(arguments: superResolutionCases)
    func buildsTheSuperResolutionSetup(_ name: String) throws {
        let f = try CaseTensors(name)
        let settings = f.settings
        let json = try WorkflowFixture.json(f)
        let base = try f.modalityDictionary(prefix: "in", order: settings["in_order"] as? [String] ?? [])
        let srDomains = Set((settings["mods_sr"] as? [String] ?? []).map { Modality(rawValue: $0) })
        let built = try DemoSetup.superResolution(base: base, superResolutionModalities: srDomains, textTokenizer: try WorkflowFixture.textTokenizer(f))
        #expect(built.conditions.map(\.rawValue) == settings["cond_domains_sr"] as? [String], "\(name): cond_domains_sr")
        #expect(built.targets.map(\.rawValue) == settings["target_domains_sr"] as? [String], "\(name): target_domains_sr")
        #expect(DemoSetup.defaultOrderSuperResolution.map(\.rawValue) == json["DEFAULT_ORDER_SR"] as? [String], "\(name): DEFAULT_ORDER_SR")
        try expectTable(.superResolution, json["defaults_table"], name)
        WorkflowFixture.expectSchedule(built.schedule, json["schedule"] as? [[String: Any]] ?? [], name)
        try WorkflowFixture.expectDictionary(built.dictionary, f, prefix: "out", order: settings["out_order"] as? [String] ?? [])
    }

    /// The Swift table equals the reference's, key by key and field by field.
    func expectTable(_ table: DemoDefaultsTable, _ value: Any?, _ name: String) throws {
        guard let reference = value as? [String: Any] else { throw FixtureError("\(name): defaults_table missing") }
        #expect(Set(table.entries.map(\.domains)) == Set(reference.keys), "\(name): \(table.name) keys")
        for entry in table.entries {
            guard let r = reference[entry.domains] as? [String: Any] else { continue }
            let d = entry.defaults
            #expect(d.tokens == (r["tokens_per_target"] as? NSNumber)?.intValue, "\(name): \(entry.domains) tokens_per_target")
            #expect(d.scheme.rawValue == r["autoregression_scheme"] as? String, "\(name): \(entry.domains) scheme")
            #expect(d.steps == (r["decoding_steps"] as? NSNumber)?.intValue, "\(name): \(entry.domains) decoding_steps")
            #expect(d.tokenSchedule?.rawValue == r["token_decoding_schedule"] as? String, "\(name): \(entry.domains) token schedule")
            #expect(d.temperature == (r["temp"] as? NSNumber)?.doubleValue, "\(name): \(entry.domains) temp")
            #expect("\(d.temperatureSchedule)" == r["temp_schedule"] as? String, "\(name): \(entry.domains) temp_schedule")
            #expect(d.guidance == (r["cfg_scale"] as? NSNumber)?.doubleValue, "\(name): \(entry.domains) cfg_scale")
            #expect(r["cfg_schedule"] as? String == "constant", "\(name): \(entry.domains) cfg_schedule")
        }
    }
}
