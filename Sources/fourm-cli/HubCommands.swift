import ArgumentParser
import Foundation
import FourMHub

struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Fetch Hugging Face Hub repositories into the cache shared with Python (HF_HUB_CACHE or HF_HOME/hub).",
        discussion: """
            Downloads resume after interruptions and are checked against the Hub's SHA-256 before they \
            appear in the cache. HF_TOKEN authorises private or gated repositories, HF_ENDPOINT picks the \
            server, HF_HUB_OFFLINE=1 only checks the cache.
            """)

    @Argument(help: "Repository ids, ORG/NAME (for example EPFL-VILAB/4M-21_B).")
    var ids: [String]

    @Option(help: "Branch, tag or commit.")
    var revision: String = "main"

    @Option(name: .customLong("include"), help: "Only files matching this glob (repeatable; '*' also matches '/').")
    var include: [String] = []

    func validate() throws {
        if ids.isEmpty { throw ValidationError("name at least one repository id") }
    }

    func run() async throws {
        let hub = HubClient()
        let bar = DownloadProgressBar()
        for id in ids {
            do {
                let snapshot = try await hub.snapshot(id, revision: revision, matching: include, progress: bar.handler)
                bar.finish()
                print("\(id)@\(snapshot.commit.prefix(10)): \(snapshot.files.count) files in \(snapshot.folder.path)")
            } catch {
                bar.finish()
                throw CLIError(error.description)
            }
        }
    }
}

struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Show, check and clean the Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub).",
        subcommands: [List.self, Verify.self, Prune.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List cached repositories with their size, revisions and partial downloads.")

        func run() async throws {
            let cache = HubCache()
            let repos = cache.repos()
            print("cache: \(cache.root.path)")
            for repo in repos {
                let refs = repo.refs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.prefix(10))" }.joined(separator: " ")
                var line = "\(repo.repo)  \(formatBytes(Int(repo.size)))  \(repo.blobCount) blobs  \(repo.commits.count) snapshot\(repo.commits.count == 1 ? "" : "s")"
                if !refs.isEmpty { line += "  refs: \(refs)" }
                if repo.incompleteSize > 0 { line += "  partial: \(formatBytes(Int(repo.incompleteSize)))" }
                print(line)
            }
            let total = repos.reduce(Int64(0)) { $0 + $1.size }
            print("\(repos.count) repositor\(repos.count == 1 ? "y" : "ies"), \(formatBytes(Int(total)))")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-hash every blob against its name and check every snapshot link; exit 1 on problems.")

        @Option(help: "Only this repository, ORG/NAME.")
        var repo: String?

        func run() async throws {
            let issues: [CacheIssue]
            do {
                issues = try HubCache().verify(repo: repo) { repo, blob in
                    FileHandle.standardError.write(Data("checking \(repo) \(blob.prefix(16))…\n".utf8))
                }
            } catch { throw CLIError(error.description) }
            for issue in issues { print(issue.description) }
            if !issues.isEmpty { throw CLIError("\(issues.count) problem\(issues.count == 1 ? "" : "s") in the cache") }
            print("cache ok")
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove blobs no snapshot links to and partial downloads nobody is writing.")

        @Flag(help: "Only list what would be removed.")
        var dryRun = false

        func run() async throws {
            let result: (files: [URL], bytes: Int64)
            do { result = try HubCache().prune(dryRun: dryRun) } catch { throw CLIError(error.description) }
            for file in result.files { print((dryRun ? "would remove " : "removed ") + file.path) }
            print("\(dryRun ? "would free" : "freed") \(formatBytes(Int(result.bytes))) in \(result.files.count) file\(result.files.count == 1 ? "" : "s")")
        }
    }
}
