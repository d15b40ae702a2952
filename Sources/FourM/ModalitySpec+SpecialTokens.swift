import FourMModels
import FourMSampling
import FourMTokenizers

extension ModalitySpec {
    /// The ids of the special tokens this modality's codec needs (`ModalitySpec.specialTokens`),
    /// read from the loaded text tokenizer (spec/generation.md 0.2).
    ///
    /// Tokens the sampler also writes itself (`[PAD]`, `[EOS]`, `[S_k]`, whose ids `SpecialTokens`
    /// fixes for the reference vocabulary) must have those ids in the tokenizer, or the generated
    /// sequences would not decode.
    /// - Parameter tokenizer: the bundle's WordPiece tokenizer.
    /// - Returns: id by token text.
    /// - Throws: `.specialToken` naming the modality and the token that is missing or whose id
    ///   differs from the sampler's.
    public func specialTokenIds(in tokenizer: WordPieceTokenizer) throws(FourMError) -> [String: Int32] {
        var ids: [String: Int32] = [:]
        for token in specialTokens {
            guard let id = tokenizer.id(of: token) else {
                throw .specialToken(modality: name, token: token, expected: "a token of the vocabulary", actual: "missing")
            }
            if let fixed = SpecialTokens.id(of: token), fixed != id {
                throw .specialToken(modality: name, token: token, expected: "id \(fixed) (the sampler's, spec/generation.md 0.2)", actual: "id \(id)")
            }
            ids[token] = id
        }
        return ids
    }
}

extension ModalityTable {
    /// Checks every special token that the sequence domains of `modalities` need against the
    /// loaded text tokenizer (`ModalitySpec.specialTokenIds(in:)`).
    /// - Throws: `.specialToken` for the first token that is missing or has another id.
    public func checkSpecialTokens(of modalities: [Modality], in tokenizer: WordPieceTokenizer) throws(FourMError) {
        for m in modalities {
            guard let spec = spec(for: m) else { continue }
            _ = try spec.specialTokenIds(in: tokenizer)
        }
    }
}
