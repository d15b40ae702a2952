import Foundation
import FourMTestSupport
import FourMTokenizers

/// One string of the `text_tokenizer` fixture case (its JSON `strings` entries).
struct SequenceFixtureString: Sendable {
    var index: Int
    var kind: String
    var text: String
    var ids: [Int32]
    var decodeKeepSpecial: String

    var label: String { "strings[\(index)] (\(kind)) \(text.debugDescription.prefix(50))" }
}

/// The golden strings of the reference serialisation transforms and the tokenizer they were
/// encoded with, read through the manifest (`cases[kind == text_tokenizer]`).
struct SequenceFixture: Sendable {
    var tokenizer: WordPieceTokenizer
    var strings: [SequenceFixtureString]

    func strings(ofKind kind: String) -> [SequenceFixtureString] {
        strings.filter { $0.kind == kind }
    }

    /// The loaded fixture: `.success(nil)` when there is no fixture folder, a failure when a
    /// folder exists but does not hold what the sequence tests need.
    static let shared: Result<SequenceFixture?, FixtureError> = {
        guard Fixtures.directory != nil else { return .success(nil) }
        do {
            return .success(try load())
        } catch let error as FixtureError {
            return .failure(error)
        } catch {
            return .failure(FixtureError("\(error)"))
        }
    }()

    /// The fixture, or nil without a fixture folder; throws when the folder does not match.
    static func require() throws -> SequenceFixture? { try shared.get() }

    /// The tokenizer alone (nil without fixtures).
    static var tokenizer: WordPieceTokenizer? { (try? shared.get())??.tokenizer }

    private static func load() throws -> SequenceFixture {
        if let problem = Fixtures.manifestProblem { throw FixtureError(problem) }
        let names = Fixtures.caseNames(kinds: ["text_tokenizer"])
        guard let name = names.first else {
            throw FixtureError("manifest has no case of kind text_tokenizer")
        }
        let object = try Fixtures.caseObject(name)
        guard let settings = object["settings"] as? [String: Any],
            let tokenizerFile = settings["tokenizer_file"] as? String
        else { throw FixtureError("\(name): settings.tokenizer_file missing") }
        let tokenizer = try WordPieceTokenizer(contentsOf: try Fixtures.url(tokenizerFile))
        guard let jsonFile = object["json_file"] as? String else {
            throw FixtureError("\(name): json_file missing")
        }
        let data = try Data(contentsOf: try Fixtures.url(jsonFile))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let entries = json["strings"] as? [Any]
        else { throw FixtureError("\(jsonFile): no 'strings' array") }
        var strings: [SequenceFixtureString] = []
        for (index, item) in entries.enumerated() {
            guard let entry = item as? [String: Any], let kind = entry["kind"] as? String,
                let text = entry["text"] as? String, let ids = entry["ids"] as? [NSNumber],
                let decoded = entry["decode_keep_special"] as? String
            else {
                throw FixtureError(
                    "\(jsonFile): strings[\(index)] lacks kind/text/ids/decode_keep_special")
            }
            strings.append(
                SequenceFixtureString(
                    index: index, kind: kind, text: text, ids: ids.map { $0.int32Value },
                    decodeKeepSpecial: decoded))
        }
        return SequenceFixture(tokenizer: tokenizer, strings: strings)
    }
}

/// Scalar-exact equality (Swift's `==` on `String` is canonical equivalence).
func sameScalars(_ a: String, _ b: String) -> Bool {
    Array(a.unicodeScalars) == Array(b.unicodeScalars)
}
