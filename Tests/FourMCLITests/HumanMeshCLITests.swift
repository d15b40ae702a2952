import Foundation
import FourMTestSupport
import FourMImage
import FourMTokenizers
import Testing

/// `fourm generate --smpl FILE.npz` also writes `human_poses_mesh.png`; a bad SMPL file is one
/// line before any generation. Uses the tiny synthetic SMPL model of FourMTests (no SMPL data).
@Suite struct HumanMeshCLITests {
    let cli = CLITests()
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    @Test func writesTheMeshOverlayWithSMPLAndNamesBadFiles() throws {
        guard let bundle = try FixtureBundle.make() else { return }
        let photo = Self.tests.appendingPathComponent("FourMImageTests/Resources/photo.png").path
        let smpl = Self.tests.appendingPathComponent("FourMTests/SMPLFixtures/tiny_smpl_compressed.npz").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smpl-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("out").path
        let ok = try cli.run(["generate", "--bundle", bundle.path, "--input", "rgb=\(photo)", "--target", "poses", "--sequence-tokens", "12", "--seed", "3",
                              "--smpl", smpl, "--out", out])
        #expect(ok.status == 0, "\(ok.stderr)")
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [])
        #expect(files.isSuperset(of: ["human_poses.json", "human_poses.png", "human_poses_mesh.png"]), "\(files)")
        let mesh = try Image(contentsOf: URL(fileURLWithPath: "\(out)/human_poses_mesh.png"))
        #expect(mesh.width == 224 && mesh.height == 224)

        // Without --smpl nothing changes: no mesh file.
        let plainOut = dir.appendingPathComponent("plain").path
        let plain = try cli.run(["generate", "--bundle", bundle.path, "--input", "rgb=\(photo)", "--target", "poses", "--sequence-tokens", "12", "--seed", "3", "--out", plainOut])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(plainOut)/human_poses_mesh.png"))

        let truncated = dir.appendingPathComponent("truncated.npz")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: smpl))
        try bytes.prefix(bytes.count / 3).write(to: truncated)
        for (path, message) in [(dir.appendingPathComponent("absent.npz").path, "cannot read the SMPL model"), (truncated.path, "not a readable .npz")] {
            let bad = try cli.run(["generate", "--bundle", bundle.path, "--input", "rgb=\(photo)", "--target", "poses", "--smpl", path, "--out", dir.appendingPathComponent("bad").path])
            #expect(bad.status != 0 && bad.stderr.contains("--smpl \(path)") && bad.stderr.contains(message), "\(bad.stderr)")
            #expect(bad.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "one line: \(bad.stderr)")
        }
    }
}
