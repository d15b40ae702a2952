import ArgumentParser
import Foundation
import FourM
import FourMEvaluation

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a demo-world bundle on held-out synthetic scenes against trivial baselines and write a report.",
        discussion: """
            Renders --count scenes of the synthetic world with --seed (never the training seed 1) and runs, \
            through the Pipeline: rgb → depth, normal, semseg, caption, det (one chained rgb2all run, ROAR 1 step \
            for the maps, autoregressive sequences); caption → rgb (--rgb-scheme, --rgb-steps, --rgb-temperature, --rgb-guidance; default ROAR 16 steps, τ 1, guidance 3), \
            re-segmented with rgb → semseg; caption → det. Trivial baselines come from --baseline-scenes scenes \
            of the training world (seed 1). Prints the table, writes --report (Markdown) and example PNGs into \
            --examples. Runs are reproducible: every call's seed derives from --seed and the batch index.
            """)

    /// The world seed the demo model was trained on; evaluating on it would measure memorisation.
    static let trainingSeed = EvalSettings.trainingSeed

    @Option(help: "Bundle folder (bundle.json, or the released file names). Default: the demo model shipped with FourM.")
    var bundle: String?

    @Option(parsing: .unconditional, help: "Held-out scenes to evaluate (2...100000).")
    var count: Int = 500

    @Option(parsing: .unconditional, help: "World seed of the held-out scenes (the training seed 1 is refused).")
    var seed: UInt64 = 2

    @Option(help: "Markdown report to write.")
    var report: String = "Documentation/Quality.md"

    @Option(help: "Folder for the example PNGs the report shows.")
    var examples: String = "Documentation/Quality"

    @Option(parsing: .unconditional, help: "Training-world (seed 1) scenes the trivial baselines are built from (1...100000).")
    var baselineScenes: Int = 200

    @Option(parsing: .unconditional, help: "Scenes per model call (results depend on it, so it is part of the command).")
    var batch: Int = 8

    @Option(parsing: .unconditional, help: "How many scenes get example images (0...count).")
    var exampleCount: Int = 4

    @Option(help: "caption → rgb: decoding scheme of tok_rgb (maskgit or roar).")
    var rgbScheme: String = "roar"

    @Option(parsing: .unconditional, help: "caption → rgb: decoding steps (1...tokens).")
    var rgbSteps: Int = 16

    @Option(parsing: .unconditional, help: "caption → rgb: sampling temperature (constant).")
    var rgbTemperature: Double = 1

    @Option(parsing: .unconditional, help: "caption → rgb: classifier-free guidance scale.")
    var rgbGuidance: Double = 3

    @Option(help: "Arithmetic of the model's linear layers: fp32 (default, the parity path) or bf16 (oneDNN; falls back to fp32 on CPUs without AVX-512).")
    var precision: ComputePrecision = .fp32

    func validate() throws {
        guard seed != Self.trainingSeed else {
            throw ValidationError("--seed 1 is the training world; evaluate on held-out scenes (any other seed, default 2)")
        }
        guard (2...100_000).contains(count) else { throw ValidationError("--count: got \(count), expected 2...100000") }
        guard (1...100_000).contains(baselineScenes) else {
            throw ValidationError("--baseline-scenes: got \(baselineScenes), expected 1...100000")
        }
        guard (1...256).contains(batch) else { throw ValidationError("--batch: got \(batch), expected 1...256") }
        guard (0...count).contains(exampleCount) else { throw ValidationError("--example-count: got \(exampleCount), expected 0...\(count)") }
        guard !report.isEmpty, !examples.isEmpty else { throw ValidationError("--report and --examples must be non-empty paths") }
        guard ["maskgit", "roar"].contains(rgbScheme) else { throw ValidationError("--rgb-scheme: got '\(rgbScheme)', expected maskgit or roar") }
        guard rgbSteps >= 1 else { throw ValidationError("--rgb-steps: got \(rgbSteps), expected at least 1") }
        guard rgbTemperature.isFinite, rgbTemperature >= 0 else { throw ValidationError("--rgb-temperature: got \(rgbTemperature), expected a non-negative number") }
        guard rgbGuidance.isFinite else { throw ValidationError("--rgb-guidance: got \(rgbGuidance), expected a finite number") }
    }

    func run() async throws {
        do { try execute() } catch let error as FourMError { throw CLIError(error.description) } catch let error as EvalError {
            throw CLIError(error.description)
        }
    }

    /// The library settings of these options.
    var settings: EvalSettings {
        EvalSettings(
            count: count, seed: seed, baselineScenes: baselineScenes, batch: batch, rgbScheme: rgbScheme == "maskgit" ? .maskGIT : .roar, rgbSteps: rgbSteps,
            rgbTemperature: rgbTemperature, rgbGuidance: rgbGuidance, precision: precision)
    }

    // MARK: - The run (FourMEvaluation does the work; this prints and times it)

    func execute() throws {
        let started = Date()
        // Outputs are checked before the (long) evaluation runs.
        try prepareOutputFolder(examples, option: "--examples")
        try prepareOutputFolder(URL(fileURLWithPath: report).deletingLastPathComponent().path, option: "--report")
        let files = try bundle.map { path throws(FourMError) in try ModelBundle(directory: URL(fileURLWithPath: path)) } ?? ModelBundle.demo()
        let runner = try EvalRunner(bundle: files, settings: settings)
        let side = runner.modalities.side
        note("loaded \(files.model.path) (\(side)×\(side) images) in \(seconds(since: started))")
        let baseline = try runner.baselines()
        note("built baselines from \(baselineScenes) training scenes (seed \(Self.trainingSeed))")

        let loopStarted = Date()
        let (scenes, predictions) = try runner.predict { done in
            let elapsed = Date().timeIntervalSince(loopStarted)
            let left = elapsed / Double(done) * Double(count - done)
            note("eval: \(done)/\(count) scenes, \(Int(elapsed.rounded())) s elapsed, ~\(Int(left.rounded())) s left")
        }

        let table: EvalTable
        do { table = try EvalTable(scenes: scenes, predictions: predictions, baseline: baseline, seed: seed) } catch { throw EvalError.metrics(error) }
        let wallTime = Date().timeIntervalSince(started)
        print(table.markdown)
        let writer = EvalReport(settings: settings, reportPath: report, examplesFolder: examples, command: command, bundleName: bundle)
        let examplePaths = try writer.writeExamples(scenes: Array(scenes.prefix(exampleCount)), predictions: Array(predictions.prefix(exampleCount)))
        try writer.writeReport(table: table, examples: examplePaths, scenes: scenes, wallTime: wallTime)
        note("wrote \(report) and \(examplePaths.count) example scenes to \(examples) (\(Int(wallTime.rounded())) s)")
    }

    /// The command that regenerates the report, every option spelled out.
    var command: String {
        let arguments = (bundle.map { ["--bundle", $0] } ?? []) + [
            "--count", "\(count)", "--seed", "\(seed)", "--baseline-scenes", "\(baselineScenes)",
            "--batch", "\(batch)", "--example-count", "\(exampleCount)", "--rgb-scheme", rgbScheme, "--rgb-steps", "\(rgbSteps)",
            "--rgb-temperature", "\(rgbTemperature)", "--rgb-guidance", "\(rgbGuidance)", "--report", report, "--examples", examples,
        ] + (precision == .fp32 ? [] : ["--precision", precision.rawValue])
        return "swift run -c release fourm eval " + arguments.map(Self.shellQuoted).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=@:,+".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    func seconds(since date: Date) -> String {
        String(format: "%.1f s", Date().timeIntervalSince(date))
    }
}
