import Foundation
import FourMTensor
import FourMTestSupport
import FourMTokenizers
import Testing

/// Golden parity with Hugging Face `tokenizers` 0.23.3: every `text_tokenizer` case of the
/// fixture manifest (spec/tokenizers.md section 7). Everything is exact: ids, token strings,
/// offsets, normalizer and pre-tokenizer output and both decodes. Strings are compared
/// scalar for scalar (Swift's `==` on `String` is canonical equivalence, which would hide a
/// composed/decomposed difference).
@Suite struct WordPieceParityTests {
    static let cases = Fixtures.caseNames(kinds: ["text_tokenizer"])

    @Test func manifestIsReadable() {
        #expect(Fixtures.manifestProblem == nil, "\(Fixtures.manifestProblem ?? "")")
        if Fixtures.directory != nil {
            #expect(!Self.cases.isEmpty, "fixture folder has no text_tokenizer case")
        }
    }

    @Test(arguments: cases)
    func matchesReference(_ name: String) throws {
        let fixture = try CaseTensors(name)
        let tokenizerFile = try string(
            fixture.settings["tokenizer_file"], "settings.tokenizer_file")
        let tokenizer = try WordPieceTokenizer(contentsOf: try Fixtures.url(tokenizerFile))
        let jsonFile = try string(fixture.object["json_file"], "json_file")
        let data = try Data(contentsOf: try Fixtures.url(jsonFile))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError("\(jsonFile) is not a JSON object")
        }

        // Vocabulary size.
        let vocabSize = try int(json["vocab_size"], "vocab_size")
        #expect(tokenizer.vocabularySize == vocabSize, "vocabulary size")

        // Special token ids, both directions.
        let specialIds = try dictionary(json["special_ids"], "special_ids")
        #expect(!specialIds.isEmpty, "special_ids is empty")
        for (token, value) in specialIds {
            let id = Int32(try int(value, "special_ids.\(token)"))
            #expect(tokenizer.id(of: token) == id, "id(of: \(token))")
            expectSameText(tokenizer.token(of: id), token, "token(of: \(id))")
        }

        // Sentinels: [S_i] at index i.
        let sentinels = try fixture.int("sentinel_ids").scalars
        #expect(!sentinels.isEmpty, "sentinel_ids is empty")
        for (i, id) in sentinels.enumerated() {
            #expect(tokenizer.id(of: "[S_\(i)]") == id, "sentinel [S_\(i)]")
        }

        // Every string.
        let strings = try array(json["strings"], "strings")
        let flat = try fixture.int("ids_flat").scalars
        let offsets = try fixture.int("ids_offsets").scalars.map(Int.init)
        #expect(
            offsets.count == strings.count + 1,
            "ids_offsets has \(offsets.count) entries for \(strings.count) strings")
        #expect(offsets.last == flat.count, "ids_offsets must end at ids_flat.count")
        for (index, item) in strings.enumerated() {
            let entry = try dictionary(item, "strings[\(index)]")
            let text = try string(entry["text"], "strings[\(index)].text")
            let label =
                "strings[\(index)] \(entry["kind"] ?? "") \(text.debugDescription.prefix(60))"

            let expectedIds = try intArray(entry["ids"], "\(label).ids").map(Int32.init)
            let ids = tokenizer.encode(text)
            #expect(ids == expectedIds, "\(label): ids")
            if index + 1 < offsets.count, offsets[index] <= offsets[index + 1],
                offsets[index + 1] <= flat.count
            {
                #expect(
                    ids == Array(flat[offsets[index]..<offsets[index + 1]]),
                    "\(label): ids vs ids_flat")
            }

            let detailed = tokenizer.encodeDetailed(text)
            #expect(detailed.map(\.id) == expectedIds, "\(label): encodeDetailed ids")
            let expectedTokens = try stringArray(entry["tokens"], "\(label).tokens")
            expectSameTexts(detailed.map(\.token), expectedTokens, "\(label): tokens")
            let expectedOffsets = try array(entry["offsets"], "\(label).offsets").map {
                pair -> Range<Int> in
                let bounds = try intArray(pair, "\(label).offsets[]")
                guard bounds.count == 2, bounds[0] <= bounds[1] else {
                    throw FixtureError("\(label): bad offsets pair \(bounds)")
                }
                return bounds[0]..<bounds[1]
            }
            #expect(detailed.map(\.offsets) == expectedOffsets, "\(label): offsets")

            expectSameText(
                tokenizer.normalize(text), try string(entry["normalized"], "\(label).normalized"),
                "\(label): normalized")
            let normalized = try string(entry["normalized"], "\(label).normalized")
            expectSameTexts(
                tokenizer.preTokenize(normalized),
                try stringArray(entry["pre_tokenized"], "\(label).pre_tokenized"),
                "\(label): pre_tokenized")

            expectSameText(
                try tokenizer.decode(expectedIds, skipSpecialTokens: false),
                try string(entry["decode_keep_special"], "\(label).decode_keep_special"),
                "\(label): decode (keep special)")
            expectSameText(
                try tokenizer.decode(expectedIds, skipSpecialTokens: true),
                try string(entry["decode_default"], "\(label).decode_default"),
                "\(label): decode (skip special)")
        }

        // Decode-only id lists.
        let decodeOnly = try array(json["decode_only"], "decode_only")
        for (index, item) in decodeOnly.enumerated() {
            let label = "decode_only[\(index)]"
            let entry = try dictionary(item, label)
            let ids = try intArray(entry["ids"], "\(label).ids").map(Int32.init)
            expectSameText(
                try tokenizer.decode(ids, skipSpecialTokens: false),
                try string(entry["decode_keep_special"], "\(label).decode_keep_special"),
                "\(label): decode (keep special)")
            expectSameText(
                try tokenizer.decode(ids, skipSpecialTokens: true),
                try string(entry["decode_default"], "\(label).decode_default"),
                "\(label): decode (skip special)")
            if entry["tokens"] != nil {
                let expected = try stringArray(entry["tokens"], "\(label).tokens")
                expectSameTexts(
                    ids.map { tokenizer.token(of: $0) ?? "<nil>" }, expected, "\(label): token(of:)"
                )
            }
        }
    }
}

// MARK: - Helpers

/// Scalar-exact string comparison with a readable failure.
func expectSameText(
    _ actual: String?, _ expected: String, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let same = actual.map { Array($0.unicodeScalars) == Array(expected.unicodeScalars) } ?? false
    #expect(
        same,
        "\(label): got \(actual?.debugDescription ?? "nil"), expected \(expected.debugDescription)",
        sourceLocation: sourceLocation)
}

/// Scalar-exact comparison of string lists.
func expectSameTexts(
    _ actual: [String], _ expected: [String], _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let same = actual.map { Array($0.unicodeScalars) } == expected.map { Array($0.unicodeScalars) }
    #expect(same, "\(label): got \(actual), expected \(expected)", sourceLocation: sourceLocation)
}

private func string(_ value: Any?, _ key: String) throws -> String {
    guard let s = value as? String else {
        throw FixtureError("fixture key '\(key)' is not a string")
    }
    return s
}

private func int(_ value: Any?, _ key: String) throws -> Int {
    guard let n = value as? NSNumber else {
        throw FixtureError("fixture key '\(key)' is not a number")
    }
    return n.intValue
}

private func array(_ value: Any?, _ key: String) throws -> [Any] {
    guard let a = value as? [Any] else {
        throw FixtureError("fixture key '\(key)' is not an array")
    }
    return a
}

private func dictionary(_ value: Any?, _ key: String) throws -> [String: Any] {
    guard let d = value as? [String: Any] else {
        throw FixtureError("fixture key '\(key)' is not an object")
    }
    return d
}

private func intArray(_ value: Any?, _ key: String) throws -> [Int] {
    try array(value, key).enumerated().map { try int($0.element, "\(key)[\($0.offset)]") }
}

private func stringArray(_ value: Any?, _ key: String) throws -> [String] {
    try array(value, key).enumerated().map { try string($0.element, "\(key)[\($0.offset)]") }
}
