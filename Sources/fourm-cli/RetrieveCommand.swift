import ArgumentParser
import Foundation
import FourM

struct RetrieveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieve",
        abstract: "Index a folder of images by their predicted global embedding and query it by caption or image.",
        discussion: """
            Each image is embedded the way the 4M-21 retrieval notebook does: the model predicts the 16 \
            tok_dinov2_global (or tok_imagebind_global) tokens (ROAR, 1 step, τ 0.1, top-p 0.8, seed 0) \
            and the global tokenizer decodes them to a vector. Queries go through the same path.
            """)

    enum Global: String, ExpressibleByArgument, CaseIterable { case dinov2, imagebind }
    enum Metric: String, ExpressibleByArgument, CaseIterable { case cosine, l2 }

    @Option(help: "Bundle folder (needs the global tokenizer and, for caption queries, the text tokenizer).")
    var bundle: String

    @Option(help: "Folder of PNG/JPEG images to index.")
    var images: String?

    @Option(help: "Read a saved index instead of --images.")
    var loadIndex: String?

    @Option(help: "Write the index here (safetensors).")
    var saveIndex: String?

    @Option(help: "Query by a caption.")
    var queryCaption: String?

    @Option(help: "Query by an image.")
    var queryImage: String?

    @Option(parsing: .unconditional, help: "Number of results.")
    var k: Int = 5

    @Option(help: "Global embedding.")
    var global: Global = .dinov2

    @Option(help: "Similarity.")
    var metric: Metric = .cosine

    func validate() throws {
        if (images == nil) == (loadIndex == nil) { throw ValidationError("give exactly one of --images and --load-index") }
        if queryCaption != nil && queryImage != nil { throw ValidationError("give at most one of --query-caption and --query-image") }
        if k < 1 { throw ValidationError("--k must be at least 1, got \(k)") }
    }

    func run() async throws {
        do { try execute() } catch let error as FourMError { throw CLIError(error.description)
        } catch let error as RetrievalError { throw CLIError(error.description) }
    }

    func execute() throws {
        if let saveIndex { try prepareOutputFile(saveIndex, option: "--save-index") }
        let target: Modality = global == .dinov2 ? .tokDINOv2Global : .tokImageBindGlobal
        let pipeline = try Pipeline(bundle: URL(fileURLWithPath: bundle), outputs: [target])
        guard let rgb = pipeline.model.inputModalities.first(where: { $0.baseName == "rgb" }) else {
            throw CLIError("\(bundle): the model takes no RGB pixels")
        }
        let predictor = try pipeline.embeddingPredictor(target)
        var engine: RetrievalEngine
        if let loadIndex {
            engine = RetrievalEngine(predictor: predictor, index: try EmbeddingIndex.load(from: loadIndex))
        } else {
            let folder = images ?? ""
            let files: [String]
            do {
                files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { [".png", ".jpg", ".jpeg"].contains(where: $0.lowercased().hasSuffix) }.sorted()
            } catch { throw CLIError("\(folder): cannot list the folder") }
            guard !files.isEmpty else { throw CLIError("\(folder): no PNG or JPEG images") }
            engine = RetrievalEngine(predictor: predictor, metric: metric == .cosine ? .cosine : .l2)
            for file in files {
                let image: Image
                do { image = try Image(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent(file)) } catch { throw FourMError.image(error) }
                try engine.add(try pipeline.conditions([rgb: .image(image)]), label: file)
                FileHandle.standardError.write(Data("indexed \(file)\n".utf8))
            }
        }
        guard let index = engine.index else { throw CLIError("nothing indexed") }
        if let saveIndex { try index.save(to: saveIndex) }
        var query: [Modality: PipelineInput]? = nil
        if let queryCaption { query = [.caption: .text(queryCaption)] }
        if let queryImage {
            do { query = [rgb: .image(try Image(contentsOf: URL(fileURLWithPath: queryImage)))] } catch { throw FourMError.image(error) }
        }
        guard let query else {
            print("indexed \(index.count) images (\(index.dimension)-d, \(index.metric.rawValue))")
            return
        }
        // --k above the gallery size lists the whole gallery.
        for hit in try engine.search(try pipeline.conditions(query), k: min(k, engine.count)) { print(String(format: "%.4f\t%@", hit.score, hit.label)) }
    }
}
