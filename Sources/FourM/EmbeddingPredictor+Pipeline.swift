import FourMModels
import FourMRetrieval
import FourMTokenizers

extension Pipeline {
    /// The model-level conditions of user values: ``condition(_:_:)`` for each.
    /// - Throws: the errors of ``condition(_:_:)``.
    public func conditions(_ inputs: [Modality: PipelineInput]) throws(FourMError) -> [Modality: ModalityState] {
        var out: [Modality: ModalityState] = [:]
        for (modality, input) in inputs { out[modality] = try condition(modality, input) }
        return out
    }

    /// A predictor of `target`'s global embedding (spec/generation.md 8) over this pipeline's
    /// model and the bundle's tokenizer of `target`; give it ``conditions(_:)`` to embed photos
    /// or captions, or hand it to a ``RetrievalEngine``.
    /// - Throws: `.missingTokenizers` when the bundle has no tokenizer for `target`,
    ///   `.retrieval` when `target` is not a global-embedding output of the model.
    public func embeddingPredictor(_ target: Modality = .tokDINOv2Global, settings: EmbeddingPredictor.Settings = .reference) throws(FourMError) -> EmbeddingPredictor {
        guard let loaded = imageTokenizers[target] else { throw .missingTokenizers(bundle: bundleName, modalities: [target.rawValue]) }
        // Global embeddings decode through a bottleneck-MLP VQ tokenizer, never by diffusion.
        guard let tokenizer = loaded as? VQImageTokenizer else {
            throw .retrieval(.invalidArgument(name: "tokenizer", expected: "a VQ (MLP) tokenizer for \(target.rawValue)", actual: "a \(loaded.kind) tokenizer"))
        }
        do throws(RetrievalError) {
            return try EmbeddingPredictor(model: model, tokenizer: tokenizer, target: target, settings: settings)
        } catch {
            throw .retrieval(error)
        }
    }
}
