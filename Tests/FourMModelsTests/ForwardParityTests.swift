import Foundation
@_spi(Parity) import FourMModels
import FourMTensor
import FourMTestSupport
import Testing

/// Golden parity with the reference forward passes: every `fm_forward` and `sampler_forward`
/// case of the fixture manifest (spec/model.md 5.3–5.7). Tolerances come from each case:
/// `|swift − ref| ≤ float_atol + float_rtol·|ref|`, where `float_atol` is 20× the measured
/// float32-vs-float64 discrepancy of the reference itself (at least 1e-5), so it bounds
/// accumulation-order differences and nothing more. Ids, positions and masks are exact.
@Suite struct ForwardParityTests {
    static let cases = Fixtures.caseNames(kinds: ["fm_forward", "sampler_forward"])

    @Test func manifestIsReadable() {
        #expect(Fixtures.manifestProblem == nil, "\(Fixtures.manifestProblem ?? "")")
        if Fixtures.directory != nil { #expect(!Self.cases.isEmpty, "fixture folder has no fm_forward/sampler_forward cases") }
    }

    @Test(arguments: cases)
    func matchesReference(_ name: String) throws {
        let fixture = try CaseTensors(name)
        let kind = fixture.object["kind"] as? String ?? ""
        let model = try fixture.model()
        let states = try fixture.modalityDictionary(prefix: "in", order: fixture.settings["mod_dict_order"] as? [String] ?? [])
        let (atol, rtol) = fixture.tolerance

        if kind == "sampler_forward" {
            let target = Modality(rawValue: try string(fixture.settings["target_domain"], "settings.target_domain"))
            let pass = try model.maskedTargetPass(states, target: target)
            try checkEncoder(fixture, pass.encoder, pass.encoderOutput, pass.context, atol: atol, rtol: rtol)
            expectClose(pass.decoderTokens, try fixture.float("dec.tokens"), atol: atol, rtol: rtol, "\(name) dec.tokens")
            expectClose(pass.decoderEmbeddings, try fixture.float("dec.emb"), atol: atol, rtol: rtol, "\(name) dec.emb")
            expectClose(pass.decoderTokens + pass.decoderEmbeddings, try fixture.float("dec.input"), atol: atol, rtol: rtol, "\(name) dec.input")
            #expect(pass.positions.scalars == (try fixture.int("dec.positions")).scalars, "\(name) dec.positions")
            expectClose(pass.decoderOutput, try fixture.float("dec.output"), atol: atol, rtol: rtol, "\(name) dec.output")
            let v = pass.logits.shape[2]
            try fixture.checkLogits(prefix: "logits.\(target.rawValue)", rows: pass.logits.reshaped([-1, v]), atol: atol, rtol: rtol)
        } else {
            let encoderTokens = try int(fixture.settings["num_encoder_tokens"], "settings.num_encoder_tokens")
            let decoderTokens = try int(fixture.settings["num_decoder_tokens"], "settings.num_decoder_tokens")
            let order = (fixture.settings["decoder_modality_order"] as? [String])?.map { Modality(rawValue: $0) }
            let result = try model.trainingForward(states, encoderTokens: encoderTokens, decoderTokens: decoderTokens, decoderOrder: order)
            try checkEncoder(fixture, result.encoder, result.encoderOutput, result.context, atol: atol, rtol: rtol)
            let dec = result.decoder
            expectClose(dec.tokens, try fixture.float("dec.tokens"), atol: atol, rtol: rtol, "\(name) dec.tokens")
            expectClose(dec.embeddings, try fixture.float("dec.emb"), atol: atol, rtol: rtol, "\(name) dec.emb")
            expectClose(dec.tokens + dec.embeddings, try fixture.float("dec.input"), atol: atol, rtol: rtol, "\(name) dec.input")
            #expect(dec.paddingMask.scalars == (try fixture.bool("dec.mask")).scalars, "\(name) dec.mask")
            #expect(dec.targetIDs.scalars == (try fixture.int("dec.target_ids")).scalars, "\(name) dec.target_ids")
            #expect(dec.modalityIDs.scalars == (try fixture.int("dec.mod_mask")).scalars, "\(name) dec.mod_mask")
            #expect(dec.selfAttentionMask.scalars == (try fixture.bool("dec.self_attn_mask")).scalars, "\(name) dec.self_attn_mask")
            expectClose(result.decoderOutput, try fixture.float("dec.output"), atol: atol, rtol: rtol, "\(name) dec.output")
            // Every modality with stored logits must be produced, and no other.
            let stored = Set(fixture.keys.filter { $0.hasPrefix("logits.") && $0.hasSuffix(".argmax") }.map { String($0.dropFirst(7).dropLast(7)) })
            #expect(Set(result.logits.keys.map(\.rawValue)) == stored, "\(name) modalities with logits")
            var losses: [Float] = []
            for m in order ?? [] where fixture.has("loss.\(m.rawValue)") {
                guard let logits = result.logits[m] else {
                    losses.append(0)
                    expectClose([0], try fixture.float("loss.\(m.rawValue)").scalars, atol: atol, rtol: rtol, "\(name) loss.\(m)")
                    continue
                }
                let prefix = "logits.\(m.rawValue)"
                #expect(logits.positions.scalars == (try fixture.int("\(prefix).positions")).scalars, "\(name) \(prefix).positions")
                #expect(logits.targetIDs.scalars == (try fixture.int("\(prefix).target_ids")).scalars, "\(name) \(prefix).target_ids")
                try fixture.checkLogits(prefix: prefix, rows: logits.values, atol: atol, rtol: rtol)
                let loss = crossEntropy(logits.values, logits.targetIDs)
                losses.append(loss)
                expectClose([loss], try fixture.float("loss.\(m.rawValue)").scalars, atol: atol, rtol: rtol, "\(name) loss.\(m)")
            }
            if fixture.has("loss.total"), !losses.isEmpty {
                expectClose([losses.reduce(0, +) / Float(losses.count)], try fixture.float("loss.total").scalars, atol: atol, rtol: rtol, "\(name) loss.total")
            }
        }
    }

    /// spec/model.md 5.6: with the separate-modality mask the reference gives the same
    /// per-modality results whatever order `random.sample` draws for the decoder records. Every
    /// `fm_forward` case is rerun under other decoder orders (all of them up to 4 records, else
    /// the reversal and every rotation); each modality's target ids must equal the recorded
    /// order's run exactly, and its logits must equal that run's and the fixture's at the case's
    /// tolerance (reordering moves rows inside the matrix products, which changes float32
    /// rounding by a few 1e-6, well inside it).
    @Test(arguments: Fixtures.caseNames(kinds: ["fm_forward"]))
    func decoderOrderDoesNotMatter(_ name: String) throws {
        let fixture = try CaseTensors(name)
        let model = try fixture.model()
        let states = try fixture.modalityDictionary(prefix: "in", order: fixture.settings["mod_dict_order"] as? [String] ?? [])
        let (atol, rtol) = fixture.tolerance
        let encoderTokens = try int(fixture.settings["num_encoder_tokens"], "settings.num_encoder_tokens")
        let decoderTokens = try int(fixture.settings["num_decoder_tokens"], "settings.num_decoder_tokens")
        let recorded = try #require((fixture.settings["decoder_modality_order"] as? [String])?.map { Modality(rawValue: $0) },
                                    "\(name): settings.decoder_modality_order missing")
        let reference = try model.trainingForward(states, encoderTokens: encoderTokens, decoderTokens: decoderTokens, decoderOrder: recorded)
        for order in Self.otherOrders(of: recorded) {
            let label = "\(name) decoder order \(order.map(\.rawValue))"
            let result = try model.trainingForward(states, encoderTokens: encoderTokens, decoderTokens: decoderTokens, decoderOrder: order)
            #expect(Set(result.logits.keys) == Set(reference.logits.keys), "\(label): modalities with logits")
            for (m, expected) in reference.logits {
                guard let got = result.logits[m] else { continue }
                #expect(got.targetIDs.scalars == expected.targetIDs.scalars, "\(label): \(m.rawValue) target ids")
                expectClose(got.values, expected.values, atol: atol, rtol: rtol, "\(label): \(m.rawValue) logits")
                #expect(got.positions.shape == expected.positions.shape, "\(label): \(m.rawValue) row count")
                try fixture.checkLogits(prefix: "logits.\(m.rawValue)", rows: got.values, atol: atol, rtol: rtol)
            }
        }
    }

    /// Every permutation of up to 4 records, else the reversal and every rotation.
    static func otherOrders(of order: [Modality]) -> [[Modality]] {
        func permutations(_ items: [Modality]) -> [[Modality]] {
            guard items.count > 1 else { return [items] }
            return items.indices.flatMap { i -> [[Modality]] in
                var rest = items
                let head = rest.remove(at: i)
                return permutations(rest).map { [head] + $0 }
            }
        }
        let all = order.count <= 4 ? permutations(order) : [order.reversed()] + (1..<order.count).map { Array(order[$0...] + order[..<$0]) }
        return all.filter { $0 != order }
    }

    // MARK: helpers

    func checkEncoder(_ f: CaseTensors, _ input: EncoderInput, _ output: Tensor<Float>, _ context: Tensor<Float>, atol: Float, rtol: Float) throws {
        let name = f.object["name"] as? String ?? "?"
        expectClose(input.tokens, try f.float("enc.tokens"), atol: atol, rtol: rtol, "\(name) enc.tokens")
        expectClose(input.embeddings, try f.float("enc.emb"), atol: atol, rtol: rtol, "\(name) enc.emb")
        expectClose(input.tokens + input.embeddings, try f.float("enc.input"), atol: atol, rtol: rtol, "\(name) enc.input")
        #expect(input.paddingMask.scalars == (try f.bool("enc.mask")).scalars, "\(name) enc.mask")
        #expect(input.modalityIDs.scalars == (try f.int("enc.mod_mask")).scalars, "\(name) enc.mod_mask")
        expectClose(output, try f.float("enc.output"), atol: atol, rtol: rtol, "\(name) enc.output")
        expectClose(context, try f.float("dec.context"), atol: atol, rtol: rtol, "\(name) dec.context")
    }

    func crossEntropy(_ logits: Tensor<Float>, _ targets: Tensor<Int32>) -> Float {
        let v = logits.shape[1]
        let values = logits.scalars
        var total = 0.0
        for (r, t) in targets.scalars.enumerated() {
            let row = values[(r * v)..<((r + 1) * v)].map(Double.init)
            let m = row.max() ?? 0
            total += m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) }) - row[Int(t)]
        }
        return Float(total / Double(max(targets.count, 1)))
    }

    func string(_ value: Any?, _ what: String) throws -> String {
        guard let s = value as? String else { throw FixtureError("manifest: \(what) is not a string") }
        return s
    }

    func int(_ value: Any?, _ what: String) throws -> Int {
        guard let n = value as? NSNumber else { throw FixtureError("manifest: \(what) is not a number") }
        return n.intValue
    }
}
