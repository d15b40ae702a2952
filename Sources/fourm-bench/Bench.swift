import Foundation
import FourMModels
import FourMTensor

/// Timing of one benchmark case: every repetition in seconds.
struct Timing {
    let samples: [Double]
    var mean: Double { samples.reduce(0, +) / Double(samples.count) }
    var min: Double { samples.min() ?? 0 }
    var std: Double {
        let m = mean
        return (samples.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(samples.count - 1, 1))).squareRoot()
    }
}

/// Warm up, then repeat `body` until `repeats` runs or `budget` seconds have passed.
func measure(warmup: Int = 1, repeats: Int = 10, budget: Double = 3, _ body: () throws -> Void) rethrows -> Timing {
    for _ in 0..<warmup { try body() }
    var samples: [Double] = []
    let start = DispatchTime.now().uptimeNanoseconds
    while samples.count < repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        if Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 > budget && samples.count >= 3 { break }
    }
    return Timing(samples: samples)
}

/// Runs each body in turn, round after round (interleaved, so that load changes on a shared
/// machine hit every body alike), and returns one ``Timing`` per body.
func measureInterleaved(warmup: Int = 1, repeats: Int = 5, budget: Double = 10, _ bodies: [() throws -> Void]) throws -> [Timing] {
    for _ in 0..<warmup { for body in bodies { try body() } }
    var samples = [[Double]](repeating: [], count: bodies.count)
    let start = DispatchTime.now().uptimeNanoseconds
    while samples[0].count < repeats {
        for (i, body) in bodies.enumerated() {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            samples[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        if Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 > budget && samples[0].count >= 3 { break }
    }
    return samples.map { Timing(samples: $0) }
}

/// One row of the results table (and of the JSON output).
struct Row {
    var name: String
    var timing: Timing
    var flops: Double?
    var note: String = ""

    var gflops: Double? { flops.map { $0 / timing.mean / 1e9 } }

    var markdown: String {
        let g = gflops.map { String(format: "%.1f", $0) } ?? "—"
        return String(format: "| %@ | %.4f ± %.4f | %.4f | %@ | %@ |", name, timing.mean, timing.std, timing.min, g, note)
    }

    var json: [String: Any] {
        var out: [String: Any] = ["name": name, "mean_s": jsonNumber(timing.mean), "std_s": jsonNumber(timing.std), "min_s": jsonNumber(timing.min), "runs": timing.samples.count]
        if let gflops { out["gflops"] = jsonNumber(gflops) }
        if !note.isEmpty { out["note"] = note }
        return out
    }
}

func cpuName() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
        return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }
    return "unknown"
}

func gitCommit() -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "rev-parse", "--short", "HEAD"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return "unknown" }
    process.waitUntilExit()
    return String(data: pipe.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
}
