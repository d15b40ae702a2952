import Foundation
import FourMTensor

extension WordPieceTokenizer {
    /// Largest id accepted in a vocabulary: ids index a table, so an absurd id in a damaged
    /// file must be rejected instead of allocating gigabytes.
    static let maximumTokenId = InputLimits.maximumTokenId

    /// The exclusive id bound for a file with `entries` vocabulary and added-token entries:
    /// `2·entries + InputLimits.maximumTokenIdSlack`, at most `maximumTokenId`.
    static func idLimit(entries: Int) -> Int {
        min(maximumTokenId, 2 * entries + InputLimits.maximumTokenIdSlack)
    }

    /// Loads a Hugging Face `tokenizer.json` from disk.
    ///
    /// Supported (spec/tokenizers.md section 7.1): model `WordPiece`; normalizer `null` or
    /// `BertNormalizer`; pre-tokenizer `null` or `BertPreTokenizer`; decoder `null` or
    /// `WordPiece`; `post_processor`, `truncation` and `padding` `null`; `added_tokens`
    /// with their `single_word`, `lstrip`, `rstrip`, `normalized` and `special` flags.
    /// Anything else is rejected here, not at first use.
    /// - Parameter url: The file, e.g. `text_tokenizer_4m_wordpiece_30k.json`.
    /// - Throws: `TokenizerError.unreadable` when the file cannot be read, and every error of
    ///   ``init(json:file:)``.
    public init(contentsOf url: URL) throws(TokenizerError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadable(file: url.lastPathComponent, reason: fileErrorReason(error))
        }
        try self.init(json: data, file: url.lastPathComponent)
    }

    /// Builds the tokenizer from the bytes of a `tokenizer.json`.
    ///
    /// Ids of added tokens are resolved as the Rust loader does: a token whose text is in the
    /// WordPiece vocabulary gets that id; otherwise it gets the next free id after the
    /// vocabulary. (The `id` written in the JSON only triggers a warning in Rust, so it is
    /// read but not trusted.) Missing optional fields take the library defaults.
    /// - Parameters:
    ///   - json: The file contents.
    ///   - file: A name for error messages (usually the file name).
    /// - Throws: `TokenizerError.invalidJSON` (not JSON or not UTF-8),
    ///   `.missingKey` (for example `model.vocab`), `.invalidValue` (wrong type, negative or
    ///   duplicate id, unknown `unk_token`), `.unsupported` (another model, normalizer,
    ///   pre-tokenizer or decoder type, a non-null `post_processor`, `truncation` or
    ///   `padding`).
    public init(json: Data, file: String) throws(TokenizerError) {
        let root: JSONValue
        do {
            root = try JSONParser.parse(json)
        } catch {
            throw .invalidJSON(file: file, reason: error.message())
        }
        let reader = ConfigReader(file: file)
        guard case .object = root else {
            throw .invalidValue(
                file: file, key: "(root)", expected: "an object", actual: root.summary)
        }

        // Stages that must be absent.
        for key in ["truncation", "padding"] {
            if let value = root.member(key), !value.isNull {
                throw .unsupported(file: file, key: key, value: value.typeOrSummary)
            }
        }
        if let value = root.member("post_processor"), !value.isNull {
            throw .unsupported(file: file, key: "post_processor", value: value.typeOrSummary)
        }

        // Normalizer.
        var normalizer: BertNormalizer? = nil
        if let value = root.member("normalizer"), !value.isNull {
            let type = try reader.type(of: value, at: "normalizer")
            guard type == "BertNormalizer" else {
                throw .unsupported(file: file, key: "normalizer.type", value: type)
            }
            var bert = BertNormalizer()
            bert.cleanText = try reader.bool(value, "clean_text", at: "normalizer", default: true)
            bert.handleChineseChars = try reader.bool(
                value, "handle_chinese_chars", at: "normalizer", default: true)
            bert.lowercase = try reader.bool(value, "lowercase", at: "normalizer", default: true)
            if let strip = value.member("strip_accents"), !strip.isNull {
                guard case .bool(let b) = strip else {
                    throw .invalidValue(
                        file: file, key: "normalizer.strip_accents", expected: "a boolean or null",
                        actual: strip.summary)
                }
                bert.stripAccents = b
            }
            normalizer = bert
        }

        // Pre-tokenizer.
        var usesBert = false
        if let value = root.member("pre_tokenizer"), !value.isNull {
            let type = try reader.type(of: value, at: "pre_tokenizer")
            guard type == "BertPreTokenizer" else {
                throw .unsupported(file: file, key: "pre_tokenizer.type", value: type)
            }
            usesBert = true
        }

        // Decoder.
        var decoder: WordPieceDecoder? = nil
        if let value = root.member("decoder"), !value.isNull {
            let type = try reader.type(of: value, at: "decoder")
            guard type == "WordPiece" else {
                throw .unsupported(file: file, key: "decoder.type", value: type)
            }
            decoder = WordPieceDecoder(
                prefix: try reader.string(value, "prefix", at: "decoder", default: "##"),
                cleanup: try reader.bool(value, "cleanup", at: "decoder", default: true))
        }

        // Model.
        guard let modelValue = root.member("model") else {
            throw .missingKey(file: file, key: "model")
        }
        let modelType = try reader.type(of: modelValue, at: "model")
        guard modelType == "WordPiece" else {
            throw .unsupported(file: file, key: "model.type", value: modelType)
        }
        let unknownToken = try reader.string(modelValue, "unk_token", at: "model", default: "[UNK]")
        let prefix = try reader.string(
            modelValue, "continuing_subword_prefix", at: "model", default: "##")
        let maxChars = try reader.integer(
            modelValue, "max_input_chars_per_word", at: "model", default: 100)
        guard let vocabValue = modelValue.member("vocab") else {
            throw .missingKey(file: file, key: "model.vocab")
        }
        guard case .object(let vocabMembers) = vocabValue else {
            throw .invalidValue(
                file: file, key: "model.vocab", expected: "an object of token → id",
                actual: vocabValue.summary)
        }

        // Vocabulary: duplicate keys keep the last value (serde_json map semantics).
        // The id table is sized by the largest id, so ids are bounded by the entry count
        // (InputLimits.maximumTokenIdSlack): a tiny file cannot make it allocate gigabytes.
        let addedCount = root.member("added_tokens").map { value -> Int in
            if case .array(let items) = value { return items.count }
            return 0
        } ?? 0
        let idLimit = Self.idLimit(entries: vocabMembers.count + addedCount)
        var vocabulary = ScalarTrie()
        // A duplicated key replaces its earlier entry in place (last value wins, as in
        // serde_json); `slots` finds that entry in O(key length), so loading stays linear.
        var slots = ScalarTrie()
        var resolvedSlots: [(token: String, id: Int32)?] = []
        resolvedSlots.reserveCapacity(vocabMembers.count)
        for member in vocabMembers {
            let key = "model.vocab[\"\(member.key)\"]"
            guard let id = member.value.integer, id >= 0, id < idLimit else {
                throw .invalidValue(
                    file: file, key: key, expected: "an integer id in 0..<\(idLimit)",
                    actual: member.value.summary)
            }
            vocabulary.insert(member.key.unicodeScalars, value: Int32(id))
            if let previous = slots.insert(member.key.unicodeScalars, value: Int32(resolvedSlots.count)) {
                resolvedSlots[Int(previous)] = nil
            }
            resolvedSlots.append((member.key, Int32(id)))
        }
        let resolved = resolvedSlots.compactMap { $0 }
        var modelTokens: [String?] = []
        for entry in resolved {
            let index = Int(entry.id)
            if index >= modelTokens.count {
                modelTokens.append(
                    contentsOf: repeatElement(nil, count: index + 1 - modelTokens.count))
            }
            if let other = modelTokens[index] {
                throw .invalidValue(
                    file: file, key: "model.vocab[\"\(entry.token)\"]",
                    expected: "an id no other token uses",
                    actual: "id \(entry.id), already used by \"\(other)\"")
            }
            modelTokens[index] = entry.token
        }
        guard let unknownId = vocabulary.value(of: unknownToken.unicodeScalars) else {
            throw .invalidValue(
                file: file, key: "model.unk_token", expected: "a token of model.vocab",
                actual: "string \"\(unknownToken)\"")
        }
        guard maxChars >= 0 else {
            throw .invalidValue(
                file: file, key: "model.max_input_chars_per_word",
                expected: "a non-negative integer", actual: "number \(maxChars)")
        }
        let model = WordPieceModel(
            vocabulary: vocabulary, vocabularyCount: resolved.count, unknownId: unknownId,
            unknownToken: unknownToken,
            continuingSubwordPrefix: prefix, maxInputCharsPerWord: maxChars)

        // Added tokens, resolved like `AddedVocabulary::add_tokens` of tokenizers 0.23:
        // - a content already in the added map or the vocabulary keeps that id, a new content
        //   takes the next id from the vocabulary size on;
        // - an exact repeat is ignored, a repeat with other flags replaces the flags;
        // - `special` contents accumulate into the set that `skipSpecialTokens` tests against;
        // - a `normalized` token whose normalized text differs from its content is shown by
        //   `token(of:)` and `decode` in normalized form.
        var tokens: [AddedToken] = []  // final flags, in order of first appearance
        var slotById: [Int32: Int] = [:]
        var addedIds = ScalarTrie()
        var specialContents = ScalarTrie()
        var normalizedForms: [Int32: String] = [:]
        var nextId = Int32(resolved.count)
        if let list = root.member("added_tokens"), !list.isNull {
            guard case .array(let entries) = list else {
                throw .invalidValue(
                    file: file, key: "added_tokens", expected: "an array", actual: list.summary)
            }
            for (index, entry) in entries.enumerated() {
                let path = "added_tokens[\(index)]"
                guard case .object = entry else {
                    throw .invalidValue(
                        file: file, key: path, expected: "an object", actual: entry.summary)
                }
                guard let contentValue = entry.member("content") else {
                    throw .missingKey(file: file, key: "\(path).content")
                }
                guard case .string(let content) = contentValue else {
                    throw .invalidValue(
                        file: file, key: "\(path).content", expected: "a string",
                        actual: contentValue.summary)
                }
                // The file's id is checked but not used: Rust only warns when it differs.
                guard let idValue = entry.member("id") else {
                    throw .missingKey(file: file, key: "\(path).id")
                }
                guard let fileId = idValue.integer, fileId >= 0, fileId < Self.maximumTokenId else {
                    throw .invalidValue(
                        file: file, key: "\(path).id",
                        expected: "an integer id in 0..<\(Self.maximumTokenId)",
                        actual: idValue.summary)
                }
                var token = AddedToken(
                    id: 0, content: content,
                    singleWord: try reader.bool(entry, "single_word", at: path, default: false),
                    leftStrip: try reader.bool(entry, "lstrip", at: path, default: false),
                    rightStrip: try reader.bool(entry, "rstrip", at: path, default: false),
                    normalized: try reader.bool(entry, "normalized", at: path, default: true),
                    special: try reader.bool(entry, "special", at: path, default: false))
                if content.isEmpty { continue }
                let scalars = content.unicodeScalars
                if let known = addedIds.value(of: scalars), let slot = slotById[known] {
                    token.id = known
                    if tokens[slot] == token { continue }  // exact repeat
                    tokens[slot] = token
                } else {
                    if let known = vocabulary.value(of: scalars) {
                        token.id = known
                    } else {
                        token.id = nextId
                        nextId += 1
                        guard Int(token.id) < idLimit else {
                            throw .invalidValue(
                                file: file, key: "\(path).id",
                                expected: "an id below \(idLimit)",
                                actual: "id \(token.id)")
                        }
                    }
                    addedIds.insert(scalars, value: token.id)
                    if let slot = slotById[token.id] {
                        // A new id can land on a vocabulary id that an added token already
                        // uses (vocabularies with gaps): the last token stays, as in Rust.
                        tokens[slot] = token
                    } else {
                        slotById[token.id] = tokens.count
                        tokens.append(token)
                    }
                }
                if token.special { specialContents.insert(scalars, value: 1) }
                if token.normalized, let normalizer {
                    let form = normalizer.normalize(AlignedText(original: scalars, offset: 0))
                        .string
                    if !form.unicodeScalars.elementsEqual(scalars) {
                        normalizedForms[token.id] = form
                    }
                }
            }
        }

        // Id table: the vocabulary, then added tokens on top (normalized form where cached).
        var tokensById = modelTokens
        for token in tokens {
            let index = Int(token.id)
            if index >= tokensById.count {
                tokensById.append(
                    contentsOf: repeatElement(nil, count: index + 1 - tokensById.count))
            }
            tokensById[index] = normalizedForms[token.id] ?? token.content
        }
        let specialById = tokensById.map { text in
            text.map { specialContents.value(of: $0.unicodeScalars) != nil } ?? false
        }

        // Matchers. When two normalized tokens share a normalized pattern, Rust's winner
        // depends on hash-map order (it changes from run to run); here the first one wins.
        let raw = tokens.filter { !$0.normalized }.map { (token: $0, pattern: $0.content) }
        let normalizedEntries = tokens.filter(\.normalized).map { token in
            let pattern = normalizer.map {
                $0.normalize(AlignedText(original: token.content.unicodeScalars, offset: 0)).string
            }
            return (token: token, pattern: pattern ?? token.content)
        }

        self.init(
            model: model, normalizer: normalizer, usesBertPreTokenizer: usesBert, decoder: decoder,
            rawAddedTokens: AddedTokenSplitter(tokens: raw),
            normalizedAddedTokens: AddedTokenSplitter(tokens: normalizedEntries),
            tokensById: tokensById, modelTokensById: modelTokens, specialById: specialById,
            addedTokenIds: addedIds)
    }
}

// MARK: - Typed field access

/// Reads typed fields of JSON objects, naming `file` and the dotted key path in errors.
struct ConfigReader {
    let file: String

    /// The `type` string of the stage object at `path`.
    func type(of value: JSONValue, at path: String) throws(TokenizerError) -> String {
        guard case .object = value else {
            throw .invalidValue(
                file: file, key: path, expected: "an object or null", actual: value.summary)
        }
        guard let type = value.member("type") else {
            throw .missingKey(file: file, key: "\(path).type")
        }
        guard case .string(let name) = type else {
            throw .invalidValue(
                file: file, key: "\(path).type", expected: "a string", actual: type.summary)
        }
        return name
    }

    func bool(_ object: JSONValue, _ key: String, at path: String, default fallback: Bool)
        throws(TokenizerError) -> Bool
    {
        guard let value = object.member(key) else { return fallback }
        guard case .bool(let b) = value else {
            throw .invalidValue(
                file: file, key: "\(path).\(key)", expected: "a boolean", actual: value.summary)
        }
        return b
    }

    func string(_ object: JSONValue, _ key: String, at path: String, default fallback: String)
        throws(TokenizerError) -> String
    {
        guard let value = object.member(key) else { return fallback }
        guard case .string(let s) = value else {
            throw .invalidValue(
                file: file, key: "\(path).\(key)", expected: "a string", actual: value.summary)
        }
        return s
    }

    func integer(_ object: JSONValue, _ key: String, at path: String, default fallback: Int)
        throws(TokenizerError) -> Int
    {
        guard let value = object.member(key) else { return fallback }
        guard let n = value.integer else {
            throw .invalidValue(
                file: file, key: "\(path).\(key)", expected: "an integer", actual: value.summary)
        }
        return n
    }
}

extension JSONValue {
    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The `type` of a stage object when it has one, else the summary.
    var typeOrSummary: String {
        if case .string(let type)? = member("type") { return type }
        return summary
    }
}
