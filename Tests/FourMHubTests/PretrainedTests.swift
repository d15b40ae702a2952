import Foundation
import FourM
import FourMModels
import FourMTestSupport
import Testing

@testable import FourMHub

/// Bundles by id against the Hub stand-in: only the tokenizers of the requested outputs are
/// fetched, and the result loads (online, then offline).
@Suite(.timeLimit(.minutes(15))) struct PretrainedTests {
    static func client(_ server: HubStandIn, _ cache: URL, offline: Bool = false) -> HubClient {
        HubClient(endpoint: server.endpoint, cache: HubCache(root: cache), offline: offline,
                  retry: RetryPolicy(attempts: 2, initialDelay: 0.02, maxDelay: 0.1), timeout: 10)
    }

    /// A repository with a `bundle.json` (the demo model): `Pipeline(pretrained:)` fetches the
    /// model, the text tokenizer and the depth tokenizer only, then loads offline from the cache.
    @Test func loadsABundleRepositoryByID() async throws {
        let server = try HubStandIn()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("hub-cache-\(UUID())")
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        try server.addRepo("acme/fourm-demo", copying: try ModelBundle.demo().directory)
        let depth: Modality = "tok_depth@64"
        let pipeline = try await Pipeline(pretrained: "acme/fourm-demo", outputs: [depth, .caption], hub: Self.client(server, cache))
        #expect(pipeline.model.outputModalities.contains(depth))
        let gets = try #require(try await server.stats()["gets"] as? [String: Any])
        #expect(Set(gets.keys) == ["acme/fourm-demo/bundle.json", "acme/fourm-demo/fourm_demo.safetensors",
                                    "acme/fourm-demo/text_tokenizer_demo.json", "acme/fourm-demo/tok_depth.safetensors"])
        server.stop()
        let offline = try await Pipeline(pretrained: "acme/fourm-demo", outputs: [depth], hub: Self.client(server, cache, offline: true))
        #expect(offline.model.outputModalities == pipeline.model.outputModalities)
        // Asking offline for an output whose tokenizer was never fetched names it.
        await #expect {
            _ = try await Pipeline(pretrained: "acme/fourm-demo", outputs: ["tok_rgb@64"], hub: Self.client(server, cache, offline: true))
        } throws: { error in
            guard case .offlineMissing("acme/fourm-demo", _, ["tok_rgb.safetensors"], _) = error as? HubError else { return false }
            return true
        }
    }

    /// A repository in the released layout (`model.safetensors`, config in the header): the
    /// tokenizer repositories come from `ModelBundle.releasedTokenizerFolders`, one per image-like
    /// output asked for; the text tokenizer is the shipped reference vocabulary.
    @Test func fetchesOnlyTheReleasedTokenizersARequestNeeds() async throws {
        let server = try HubStandIn()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("hub-cache-\(UUID())")
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        let configuration = try #require(RandomCheckpoint.configuration(dim: 16, depth: 1, heads: 2, domainsIn: RandomCheckpoint.fourM21In, domainsOut: RandomCheckpoint.fourM21Out))
        let model = server.root.appendingPathComponent("EPFL-VILAB/4M-21_T/model.safetensors")
        try FileManager.default.createDirectory(at: model.deletingLastPathComponent(), withIntermediateDirectories: true)
        try RandomCheckpoint.writer(for: configuration, seed: 1, fast: true).write(to: model.path)
        for folder in ["4M_tokenizers_depth_8k_224-448", "4M_tokenizers_rgb_16k_224-448", "4M_tokenizers_normal_8k_224-448"] {
            try server.addRepo("EPFL-VILAB/\(folder)", files: ["model.safetensors": Data("tokenizer \(folder)".utf8), "README.md": Data("# \(folder)\n".utf8)])
        }
        let bundle = try await Self.client(server, cache).modelBundle("EPFL-VILAB/4M-21_T", outputs: [.tokDepth224, .caption])
        #expect(Set(bundle.tokenizers.keys) == [.tokDepth224])
        #expect(try String(contentsOf: try #require(bundle.tokenizers[.tokDepth224]), encoding: .utf8) == "tokenizer 4M_tokenizers_depth_8k_224-448")
        #expect(bundle.textTokenizer == HubClient.shippedTextTokenizer && bundle.textTokenizer != nil)
        let gets = try #require(try await server.stats()["gets"] as? [String: Any])
        #expect(Set(gets.keys) == ["EPFL-VILAB/4M-21_T/model.safetensors", "EPFL-VILAB/4M_tokenizers_depth_8k_224-448/model.safetensors"])
        #expect(bundle.missingDecoders(for: [.tokDepth224, .caption]).isEmpty)
        #expect(bundle.missingDecoders(for: [.tokRGB224]) == [.tokRGB224])
    }

    /// A repository whose `bundle.json` is broken gets the same strict, typed messages as a
    /// local bundle: the byte offset of a syntax error, a repeated key, a `model` of the wrong
    /// type described as found.
    @Test func aBrokenRepositoryManifestIsReportedLikeALocalOne() async throws {
        let server = try HubStandIn()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("hub-cache-\(UUID())")
        defer { server.stop(); try? FileManager.default.removeItem(at: cache) }
        let cases: [(manifest: String, expected: String)] = [
            ("{\"model\": \"m.safetensors\",", "invalid JSON"),
            ("{\"model\": \"a\", \"model\": \"b\"}", "key 'model' appears more than once"),
            ("{\"model\": 7}", "key 'model' is number 7"),
            ("[1, 2]", "the top level is"),
        ]
        for (i, c) in cases.enumerated() {
            let repo = "acme/broken-\(i)"
            try server.addRepo(repo, files: ["bundle.json": Data(c.manifest.utf8), "m.safetensors": Data("x".utf8)])
            await #expect {
                _ = try await Self.client(server, cache).modelBundle(repo, outputs: [.caption])
            } throws: { error in
                guard case .bundle(let inner) = error as? HubError else { return false }
                let message = "\(inner)"
                return message.contains("bundle.json") && message.contains(c.expected)
            }
        }
    }

    @Test func shipsTheReferenceTextTokenizer() throws {
        let url = try #require(HubClient.shippedTextTokenizer)
        let tokenizer = try WordPieceTokenizer(contentsOf: url)
        #expect(tokenizer.encode("a red bus").count >= 3)
    }
}
