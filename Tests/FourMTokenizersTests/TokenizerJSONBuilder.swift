import Foundation
import FourMTokenizers

/// Builds small `tokenizer.json` documents in memory for loader and behaviour tests.
struct TokenizerJSONBuilder {
    /// Vocabulary in id order.
    var vocab: [String] = ["[PAD]", "[UNK]", "[EOS]"]
    /// `added_tokens` entries.
    var added: [[String: Any]] = []
    var normalizer: Any =
        [
            "type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
            "strip_accents": NSNull(), "lowercase": true,
        ] as [String: Any]
    var preTokenizer: Any = ["type": "BertPreTokenizer"]
    var postProcessor: Any = NSNull()
    var decoder: Any = ["type": "WordPiece", "prefix": "##", "cleanup": true] as [String: Any]
    var modelType: String? = "WordPiece"
    var includeVocab = true
    var maxInputCharsPerWord = 100
    /// Extra top-level keys (or replacements).
    var extra: [String: Any] = [:]

    /// Adds an added token for the vocabulary entry `content` (appended to the vocabulary
    /// when absent).
    mutating func addToken(
        _ content: String, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false,
        normalized: Bool = false, special: Bool = true
    ) {
        if !vocab.contains(where: { Array($0.unicodeScalars) == Array(content.unicodeScalars) }) {
            vocab.append(content)
        }
        let id = vocab.firstIndex { Array($0.unicodeScalars) == Array(content.unicodeScalars) } ?? 0
        added.append([
            "id": id, "content": content, "single_word": singleWord, "lstrip": lstrip,
            "rstrip": rstrip,
            "normalized": normalized, "special": special,
        ])
    }

    var json: Data {
        var model: [String: Any] = [
            "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": maxInputCharsPerWord,
        ]
        if let modelType { model["type"] = modelType }
        if includeVocab {
            var map: [String: Int] = [:]
            for (i, token) in vocab.enumerated() { map[token] = i }
            model["vocab"] = map
        }
        var root: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": normalizer, "pre_tokenizer": preTokenizer,
            "post_processor": postProcessor,
            "decoder": decoder, "model": model,
        ]
        for (key, value) in extra { root[key] = value }
        // Sorted keys: deterministic output.
        return (try? JSONSerialization.data(withJSONObject: root, options: [.sortedKeys])) ?? Data()
    }

    func build() throws(TokenizerError) -> WordPieceTokenizer {
        try WordPieceTokenizer(json: json, file: "test.json")
    }
}
