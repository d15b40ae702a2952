import ArgumentParser
import Foundation
import FourMSynth

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write seeded synthetic scenes (RGB, depth, normals, semseg, edges, caption, boxes, palette).")

    @Option(help: "Output folder (created if missing).")
    var out: String

    @Option(parsing: .unconditional, help: "Number of scenes to write (1...1000000).")
    var count: Int

    @Option(parsing: .unconditional, help: "World seed.")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Image width and height in pixels (8...4096).")
    var size: Int = 64

    @Option(parsing: .unconditional, help: "Index of the first scene written.")
    var start: Int = 0

    func validate() throws {
        guard (1...1_000_000).contains(count) else {
            throw CLIError("--count: got \(count), expected 1...1000000")
        }
        guard (8...4096).contains(size) else {
            throw CLIError("--size: got \(size), expected 8...4096")
        }
        guard start >= 0, start <= Int.max - count else {
            throw CLIError("--start: got \(start), expected >= 0")
        }
        guard !out.isEmpty else { throw CLIError("--out: got an empty path, expected a folder") }
    }

    func run() throws {
        try prepareOutputFolder(out, option: "--out")
        let world: SyntheticWorld
        do {
            world = try SyntheticWorld(seed: seed, configuration: SynthConfiguration(width: size, height: size))
        } catch { throw CLIError(error.description) }
        let writer = SynthSceneWriter(directory: URL(fileURLWithPath: out))
        for index in start..<(start + count) {
            do { try writer.write(world.scene(at: index)) } catch { throw CLIError(error.description) }
        }
        print("wrote \(count) scenes (seed \(seed), \(size)x\(size)) to \(out)")
    }
}
