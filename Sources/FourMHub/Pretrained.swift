import Foundation
import FourM
import FourMModels
import FourMTensor

/// The Hub organisation of the released 4M tokenizers (`EPFL-VILAB/4M_tokenizers_*`).
public let releasedTokenizerOrganization = "EPFL-VILAB"

extension HubClient {
    /// Fetches a 4M model by Hub id, with the tokenizers of the outputs you ask for (and no
    /// others) and the text tokenizer, and returns it as a `ModelBundle` in the cache.
    ///
    /// Two repository layouts are understood:
    /// - **released** (`EPFL-VILAB/4M-21_B`, …): `model.safetensors` (+ `config.json`); the
    ///   tokenizer of each image-like output comes from `EPFL-VILAB/<folder>` where
    ///   `ModelBundle.releasedTokenizerFolders` names the folder (`model.safetensors`,
    ///   + `config.json`);
    /// - **bundle** (any repository with a `bundle.json`, see `ModelBundle`): the files it
    ///   names, paths relative to the repository root; only the tokenizers of the requested
    ///   outputs are fetched.
    ///
    /// The text tokenizer is `textTokenizer` when given, else the repository's (`bundle.json`'s
    /// `text_tokenizer`, `text_tokenizer_4m_wordpiece_30k.json` or `tokenizer.json`), else the
    /// reference's `text_tokenizer_4m_wordpiece_30k.json` shipped with FourMHub (it is not on the
    /// Hub; Apache-2.0, from apple/ml-4m).
    /// - Parameters:
    ///   - id: the model repository, `ORG/NAME`.
    ///   - revision: branch, tag or commit of the model repository (tokenizers use `main`).
    ///   - outputs: the modalities you will decode; nil means every output of the model.
    ///   - textTokenizer: a WordPiece `tokenizer.json` to use instead.
    ///   - progress: download progress, per repository.
    /// - Throws: `HubError` (the download's, or `.bundle` when the files do not form a bundle).
    public func modelBundle(_ id: String, revision: String = "main", outputs: [Modality]? = nil, textTokenizer: URL? = nil,
                            progress: HubProgressHandler? = nil) async throws(HubError) -> ModelBundle {
        do {
            return try await fetchBundle(id, revision: revision, outputs: outputs, textTokenizer: textTokenizer, progress: progress)
        } catch {
            // The files are fetched at the resolved commit; name the revision the caller gave.
            if case let .offlineMissing(repo, _, missing, cache) = error, repo == id { throw .offlineMissing(repo: repo, revision: revision, missing: missing, cache: cache) }
            throw error
        }
    }

    func fetchBundle(_ id: String, revision: String, outputs: [Modality]?, textTokenizer: URL?, progress: HubProgressHandler?) async throws(HubError) -> ModelBundle {
        let (commit, listing, fromCache) = try await fileList(id, revision: revision)
        if listing.contains("bundle.json") {
            return try await bundleLayout(id, commit: commit, revision: revision, listing: fromCache ? nil : listing, outputs: outputs,
                                          textTokenizer: textTokenizer, progress: progress)
        }
        guard listing.contains("model.safetensors") else {
            if fromCache { throw .offlineMissing(repo: id, revision: revision, missing: ["model.safetensors (or a bundle.json)"], cache: cache.root.path) }
            throw .fileNotFound(repo: id, revision: revision, file: "model.safetensors (or a bundle.json)")
        }
        let modelFiles = ["model.safetensors", "config.json"].filter { listing.contains($0) }
        let snapshot = try await self.snapshot(id, revision: commit, files: modelFiles, progress: progress)
        try cache.writeRef(repo: id, revision: revision, commit: commit)
        let model = snapshot.url(for: "model.safetensors")
        let configuration = try readConfiguration(model)
        var text = textTokenizer
        if text == nil, let name = ["text_tokenizer_4m_wordpiece_30k.json", "tokenizer.json"].first(where: listing.contains) {
            text = try await self.snapshot(id, revision: commit, files: [name], progress: progress).url(for: name)
        }
        let base = ModelBundle(directory: snapshot.folder, model: model, textTokenizer: text ?? Self.shippedTextTokenizer, tokenizers: [:])
        let wanted = outputs ?? configuration.domainsOut
        var tokenizers: [Modality: URL] = [:]
        for modality in base.missingDecoders(for: wanted, imageSize: configuration.imageSize) {
            guard let folder = base.tokenizerFolder(for: modality) else { continue }
            let repo = "\(releasedTokenizerOrganization)/\(folder)"
            let fetched = try await self.snapshot(repo, matching: ["model.safetensors", "config.json"], progress: progress)
            guard fetched.files.contains("model.safetensors") else { throw .fileNotFound(repo: repo, revision: "main", file: "model.safetensors") }
            tokenizers[modality] = fetched.url(for: "model.safetensors")
        }
        return ModelBundle(directory: snapshot.folder, model: model, textTokenizer: base.textTokenizer, tokenizers: tokenizers)
    }

    /// The repository's commit and file names: from the Hub, or from the cache (then only the
    /// files cached so far; `fromCache` says so) when offline or when the Hub cannot be reached.
    func fileList(_ id: String, revision: String) async throws(HubError) -> (commit: String, files: [String], fromCache: Bool) {
        if !offline {
            do {
                let info = try await repoInfo(id, revision: revision)
                return (info.commit, info.files.map(\.path), false)
            } catch {
                guard case .network = error, let commit = try? cache.commit(repo: id, revision: revision) else { throw error }
                return (commit, try cache.snapshotFiles(repo: id, commit: commit), true)
            }
        }
        let snapshot = try cachedSnapshot(id, revision: revision)
        return (snapshot.commit, snapshot.files, true)
    }

    /// `listing` is nil when only the cache is known: then a missing file is reported by the
    /// snapshot as `.offlineMissing`.
    func bundleLayout(_ id: String, commit: String, revision: String, listing: [String]?, outputs: [Modality]?, textTokenizer: URL?,
                      progress: HubProgressHandler?) async throws(HubError) -> ModelBundle {
        let manifest = try await self.snapshot(id, revision: commit, files: ["bundle.json"], progress: progress)
        let manifestURL = manifest.url(for: "bundle.json")
        let object: [String: Any], model: String
        do { (object, _, model) = try ModelBundle.readManifest(manifestURL) } catch { throw .bundle(error) }
        func listed(_ path: String, _ key: String) throws(HubError) -> String {
            try validateFileName(path, repo: id)
            guard listing?.contains(path) ?? true else { throw .fileNotFound(repo: id, revision: revision, file: "\(path) (bundle.json '\(key)')") }
            return path
        }
        var files = [try listed(model, "model")]
        let modelFolder = model.split(separator: "/").dropLast().joined(separator: "/")
        let config = modelFolder.isEmpty ? "config.json" : "\(modelFolder)/config.json"
        if listing?.contains(config) ?? FileManager.default.fileExists(atPath: manifest.folder.appendingPathComponent(config).path) { files.append(config) }
        if textTokenizer == nil, let text = object["text_tokenizer"] as? String { files.append(try listed(text, "text_tokenizer")) }
        let snapshot = try await self.snapshot(id, revision: commit, files: files, progress: progress)
        let configuration = try readConfiguration(snapshot.url(for: model))
        let wanted = Set(outputs ?? configuration.domainsOut)
        var tokenizerFiles: [String] = []
        for (name, path) in (object["tokenizers"] as? [String: String]) ?? [:] where wanted.contains(Modality(rawValue: name)) {
            tokenizerFiles.append(try listed(path, "tokenizers.\(name)"))
        }
        if !tokenizerFiles.isEmpty { _ = try await self.snapshot(id, revision: commit, files: tokenizerFiles.sorted(), progress: progress) }
        try cache.writeRef(repo: id, revision: revision, commit: commit)
        let bundle: ModelBundle
        do { bundle = try ModelBundle(directory: snapshot.folder, skippingMissingTokenizers: true) } catch { throw .bundle(error) }
        guard let textTokenizer else { return bundle }
        return ModelBundle(directory: bundle.directory, model: bundle.model, textTokenizer: textTokenizer, tokenizers: bundle.tokenizers,
                           tokenizerPresets: bundle.tokenizerPresets, diffusionPresets: bundle.diffusionPresets,
                           semanticClassNames: bundle.semanticClassNames)
    }

    /// The model's configuration as `FourMModel` reads it: the header's `__metadata__`, or a
    /// sibling `config.json` when the header has none.
    func readConfiguration(_ model: URL) throws(HubError) -> FourMConfiguration {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: model.path) } catch { throw .bundle(.weights(error)) }
        do {
            let json = model.deletingLastPathComponent().appendingPathComponent("config.json")
            if file.metadata["domains_in"] == nil, let data = FileManager.default.contents(atPath: json.path) {
                return try FourMConfiguration(jsonData: data, file: json.path)
            }
            return try FourMConfiguration(metadata: file.metadata, file: model.path)
        } catch { throw .bundle(.configuration(error)) }
    }

    /// The reference's WordPiece vocabulary (`text_tokenizer_4m_wordpiece_30k.json`, 30k
    /// entries, from apple/ml-4m under Apache-2.0), shipped with FourMHub because the
    /// reference keeps it in its GitHub repository rather than on the Hub.
    public static var shippedTextTokenizer: URL? {
        Bundle.module.url(forResource: "TextTokenizer", withExtension: nil)?.appendingPathComponent("text_tokenizer_4m_wordpiece_30k.json")
    }
}

extension Pipeline {
    /// Loads a 4M model by Hugging Face Hub id, downloading what is not in the cache: the
    /// model, the tokenizer of each output you ask for (only those), and the text tokenizer
    /// (see ``HubClient/modelBundle(_:revision:outputs:textTokenizer:progress:)``).
    ///
    /// ```swift
    /// import FourMHub
    /// let pipeline = try await Pipeline(pretrained: "EPFL-VILAB/4M-21_B", outputs: [.tokDepth224, .caption])
    /// ```
    /// - Parameters:
    ///   - id: the model repository, `ORG/NAME`.
    ///   - revision: branch, tag or commit.
    ///   - outputs: the modalities you will decode (default: all outputs of the model, which
    ///     fetches every tokenizer).
    ///   - textTokenizer: a WordPiece `tokenizer.json` to use instead of the repository's or the
    ///     shipped one.
    ///   - hub: the client (default: configured from `HF_*` environment variables).
    ///   - progress: download progress.
    /// - Throws: `HubError`; `.bundle` wraps the `FourMError` of a file that does not load.
    public init(pretrained id: String, revision: String = "main", outputs: [Modality]? = nil, textTokenizer: URL? = nil,
                hub: HubClient = HubClient(), progress: HubProgressHandler? = nil) async throws(HubError) {
        let bundle = try await hub.modelBundle(id, revision: revision, outputs: outputs, textTokenizer: textTokenizer, progress: progress)
        do { try self.init(bundle: bundle, outputs: outputs) } catch { throw .bundle(error) }
    }
}
