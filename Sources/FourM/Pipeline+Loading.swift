import Foundation
import FourMModels
import FourMTensor
import FourMTokenizers

// MARK: - Loading a bundle (model, text tokenizer, image-like and sequence tokenizers)

extension Pipeline {
    /// Loads the demo model shipped with the package (``ModelBundle/demo()``): a small 4M
    /// trained on synthetic 64×64 scenes, so that FourM runs without a download.
    /// - Parameters:
    ///   - outputs: the modalities you intend to decode (default: all).
    ///   - precision: the arithmetic of the model's linear layers (default fp32, the parity
    ///     path); see ``ComputePrecision``.
    /// - Throws: `.bundle` when the package resources are missing, or a load error.
    public init(outputs: [Modality]? = nil, precision: ComputePrecision = .fp32) throws(FourMError) {
        try self.init(bundle: try ModelBundle.demo(), outputs: outputs, precision: precision)
    }

    /// Loads the model and the tokenizers of a bundle.
    /// - Parameters:
    ///   - bundle: where the files are.
    ///   - outputs: the modalities you intend to decode (default: every output of the model);
    ///     each must have a tokenizer in the bundle.
    ///   - preloaded: the bundle's model when the caller already loaded it (it is not loaded
    ///     again, and keeps the precision it was loaded with).
    ///   - precision: the arithmetic of the model's linear layers when it is loaded here, and of
    ///     the diffusion decoders' convolutions and linear layers (default fp32, the parity
    ///     path); see ``ComputePrecision``. Other tokenizers stay fp32.
    /// - Throws: `.missingTokenizers` naming every output the bundle cannot decode, or the
    ///   error of the file that failed to load.
    public init(bundle: ModelBundle, outputs: [Modality]? = nil, model preloaded: FourMModel? = nil, precision: ComputePrecision = .fp32) throws(FourMError) {
        if let preloaded {
            model = preloaded
        } else {
            do { model = try FourMModel(path: bundle.model.path, precision: precision, modalities: bundle.modalities) } catch {
                switch error {
                case .weights(let e): throw .weights(e)
                case .configuration(let e): throw .configuration(e)
                default: throw .model(error)
                }
            }
        }
        let wanted = outputs ?? model.outputModalities
        for m in wanted where !model.outputModalities.contains(m) {
            throw .unknownModality(name: m.rawValue, role: "output", available: model.outputModalities.map(\.rawValue))
        }
        let missing = bundle.missingDecoders(for: wanted, imageSize: model.configuration.imageSize)
        if !missing.isEmpty { throw .missingTokenizers(bundle: bundle.directory.path, modalities: missing.map(\.rawValue)) }
        if let url = bundle.textTokenizer {
            let tokenizer: WordPieceTokenizer
            do { tokenizer = try WordPieceTokenizer(contentsOf: url) } catch { throw .tokenizer(error) }
            // The sampler writes [PAD]/[EOS]/[S_k] by id: the vocabulary must agree for every
            // sequence output asked for.
            try model.configuration.modalities.checkSpecialTokens(of: wanted, in: tokenizer)
            textTokenizer = tokenizer
        } else {
            textTokenizer = nil
        }
        var tokenizers: [Modality: any ImageTokenizer] = [:]
        for (m, url) in bundle.tokenizers where model.configuration.info(m)?.kind == .imageTokens {
            let tokenizer = try ImageTokenizerFactory.load(
                path: url.path, presets: bundle.tokenizerPresets, diffusionPresets: bundle.diffusionPresets, precision: precision)
            if let vocabulary = model.configuration.info(m)?.vocabularySize, tokenizer.vocabularySize != vocabulary {
                throw .bundle(path: url.path, reason: "tokenizer has \(tokenizer.vocabularySize) codes, the model's \(m.rawValue) vocabulary has \(vocabulary)")
            }
            tokenizers[m] = tokenizer
        }
        var sequence: [Modality: VQImageTokenizer] = [:]
        // Sequences whose codec ids decode through an image tokenizer (SAM instances, poses).
        let table = model.configuration.modalities
        for m in wanted where table.spec(for: m)?.codecTokenizer?.hasCheckpoint == true {
            guard let url = bundle.tokenizers[m] else { continue }
            do { sequence[m] = try VQImageTokenizer(path: url.path, presets: bundle.tokenizerPresets) } catch { throw .imageTokenizer(error) }
        }
        imageTokenizers = tokenizers
        sequenceTokenizers = sequence
        semanticClassNames = bundle.semanticClassNames ?? COCOSemanticClasses.names
        bundleName = bundle.directory.path
    }

    /// Loads the bundle in `directory` (see ``ModelBundle``), its model in `precision`
    /// (default fp32; see ``ComputePrecision``).
    public init(bundle directory: URL, outputs: [Modality]? = nil, precision: ComputePrecision = .fp32) throws(FourMError) {
        try self.init(bundle: try ModelBundle(directory: directory), outputs: outputs, precision: precision)
    }
}
