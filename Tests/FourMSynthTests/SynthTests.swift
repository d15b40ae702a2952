import Foundation
import FourMSynth
import FourMTensor
import FourMImage
import FourMTokenizers
import Testing

@Suite struct SynthWorldTests {
    let world: SyntheticWorld

    init() throws {
        world = try SyntheticWorld(seed: 42)
    }

    @Test func sameSeedGivesIdenticalScenes() throws {
        let other = try SyntheticWorld(seed: 42)
        for i in 0..<5 {
            #expect(world.scene(at: i) == other.scene(at: i))
        }
        #expect(world.scene(at: 0) != (try SyntheticWorld(seed: 43)).scene(at: 0))
    }

    @Test func sceneDoesNotDependOnOtherScenes() {
        let alone = world.scene(at: 17)
        let afterOthers = (0..<18).map { world.scene(at: $0) }
        #expect(afterOthers[17] == alone)
        #expect(afterOthers[16] != alone)
    }

    @Test func rejectsBadConfiguration() {
        #expect(throws: SynthError.invalidConfiguration(argument: "width", expected: "8...4096", actual: "4")) {
            try SyntheticWorld(seed: 0, configuration: SynthConfiguration(width: 4))
        }
        #expect(throws: SynthError.self) {
            try SyntheticWorld(seed: 0, configuration: SynthConfiguration(objectCount: 1...5))
        }
    }

    @Test(arguments: 0..<24)
    func modalitiesAreConsistent(index: Int) throws {
        let scene = world.scene(at: index)
        let w = scene.width, h = scene.height
        #expect((1...4).contains(scene.objects.count))
        #expect(scene.rgb.width == w && scene.rgb.height == h && scene.rgb.channels == 3)
        #expect(scene.depth.count == w * h && scene.normals.count == w * h * 3)
        for p in 0..<(w * h) {
            let id = Int(scene.instances[p])
            // Background class exactly where no object is seen; infinite depth only on the sky.
            if id <= 0 {
                #expect(scene.semanticSegmentation[p] == 0)
            } else {
                #expect(Int(scene.semanticSegmentation[p]) == scene.objects[id - 1].shape.classIndex)
            }
            #expect(scene.depth[p].isInfinite == (id == -1))
            let n = (0..<3).map { scene.normals[p * 3 + $0] }
            let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).squareRoot()
            if id >= 0 {
                #expect(abs(length - 1) < 1e-4)
                #expect(scene.depth[p] > 0)
            } else {
                #expect(length == 0)
            }
        }
        // Boxes enclose exactly their object's pixels; every object is visible.
        #expect(scene.boxes.count == scene.objects.count)
        for (k, object) in scene.objects.enumerated() {
            #expect(object.visiblePixels > 0)
            let box = scene.boxes[k]
            #expect(box.className == object.shape.rawValue)
            #expect(0 <= box.xmin && box.xmin < box.xmax && box.xmax <= 1)
            #expect(0 <= box.ymin && box.ymin < box.ymax && box.ymax <= 1)
            var count = 0
            for y in 0..<h {
                for x in 0..<w where Int(scene.instances[y * w + x]) == k + 1 {
                    count += 1
                    let cx = (Double(x) + 0.5) / Double(w), cy = (Double(y) + 0.5) / Double(h)
                    #expect(box.xmin < cx && cx < box.xmax && box.ymin < cy && cy < box.ymax)
                }
            }
            #expect(count == object.visiblePixels)
            #expect(scene.caption.contains("\(object.color.rawValue) \(object.shape.rawValue)"))
            #expect(scene.caption.contains(object.phrase))
            #expect(scene.palette.contains { $0.name == object.color.rawValue && $0.rgb == object.color.rgb })
        }
        #expect(scene.palette.count == Set(scene.objects.map(\.color)).count)
        // Edges: binary, and set on both sides of every change of surface.
        #expect(scene.edges.allSatisfy { $0 <= 1 })
        for y in 0..<h {
            for x in 0..<(w - 1) where scene.instances[y * w + x] != scene.instances[y * w + x + 1] {
                #expect(scene.edges[y * w + x] == 1 && scene.edges[y * w + x + 1] == 1)
            }
        }
    }

    @Test func objectCountRangeIsHonouredAndSizeIsConfigurable() throws {
        let wide = try SyntheticWorld(seed: 3, configuration: SynthConfiguration(width: 48, height: 32, objectCount: 3...3))
        for i in 0..<6 {
            let scene = wide.scene(at: i)
            #expect(scene.width == 48 && scene.height == 32)
            #expect(scene.objects.count == 3)
            #expect(scene.caption.hasSuffix("from left to right"))
        }
    }

    @Test func captionGrammar() throws {
        let pairs = try SyntheticWorld(seed: 9, configuration: SynthConfiguration(objectCount: 2...2))
        let scene = pairs.scene(at: 0)
        #expect(scene.caption.components(separatedBy: " left of ").count == 2)
        let single = try SyntheticWorld(seed: 9, configuration: SynthConfiguration(objectCount: 1...1))
        #expect(single.scene(at: 0).caption == single.scene(at: 0).objects[0].phrase)
    }
}

@Suite struct SynthWriterTests {
    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("fourm-synth-\(UUID().uuidString)")
    }

    @Test func roundTrip() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let scene = try SyntheticWorld(seed: 5).scene(at: 123)
        let writer = SynthSceneWriter(directory: directory)
        let urls = try writer.write(scene)
        #expect(urls.map(\.lastPathComponent) == [
            "scene_000123.rgb.png", "scene_000123.semseg.png", "scene_000123.edges.png",
            "scene_000123.depth.png", "scene_000123.normals.png",
            "scene_000123.geometry.safetensors", "scene_000123.json",
        ])
        let rgb = try Image(contentsOf: writer.url(index: 123, suffix: "rgb.png"))
        #expect(rgb == scene.rgb)
        let semseg = try Image(contentsOf: writer.url(index: 123, suffix: "semseg.png"))
        #expect(semseg.channels == 1 && semseg.pixels == scene.semanticSegmentation)
        let edges = try Image(contentsOf: writer.url(index: 123, suffix: "edges.png"))
        #expect(edges.pixels == scene.edges.map { $0 * 255 })
        let depth = try Image(contentsOf: writer.url(index: 123, suffix: "depth.png"))
        for p in 0..<depth.pixels.count {
            #expect((depth.pixels[p] == 0) == scene.depth[p].isInfinite)
        }
        let record = try SynthSceneRecord(contentsOf: writer.url(index: 123, suffix: "json"))
        #expect(record == scene.record)
        #expect(record.metadata.index == 123 && record.metadata.seed == 5)
        #expect(record.metadata.objectCount == scene.objects.count)
        let json = try String(contentsOf: writer.url(index: 123, suffix: "json"), encoding: .utf8)
        #expect(json.contains("\"class_name\"") && json.contains("\"object_count\""))
        let geometry = try Data(contentsOf: writer.url(index: 123, suffix: "geometry.safetensors"))
        let expectedBytes = 8 + (scene.width * scene.height * 4) * 4
        #expect(geometry.count > expectedBytes)
    }

    @Test func writesIdenticalBytesForTheSameSeed() throws {
        let a = temporaryDirectory(), b = temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: a)
            try? FileManager.default.removeItem(at: b)
        }
        let first = try SynthSceneWriter(directory: a).write(try SyntheticWorld(seed: 11).scene(at: 2))
        let second = try SynthSceneWriter(directory: b).write(try SyntheticWorld(seed: 11).scene(at: 2))
        for (x, y) in zip(first, second) {
            #expect(try Data(contentsOf: x) == Data(contentsOf: y), "\(x.lastPathComponent)")
        }
    }

    @Test func missingRecordNamesTheFile() {
        let url = temporaryDirectory().appendingPathComponent("scene_000000.json")
        #expect(throws: SynthError.self) { try SynthSceneRecord(contentsOf: url) }
        do {
            _ = try SynthSceneRecord(contentsOf: url)
        } catch {
            #expect(error.description.hasPrefix(url.path))
        }
    }

    /// `SynthBox` wraps the shared `ImageBox` but a scene file still holds one flat object.
    @Test func boxesKeepTheirFlatSceneFileFormat() throws {
        let box = SynthBox(className: "cube", xmin: 0.25, ymin: 0, xmax: 0.5, ymax: 1)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(box), as: UTF8.self)
        #expect(json == #"{"class_name":"cube","xmax":0.5,"xmin":0.25,"ymax":1,"ymin":0}"#)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let read = try decoder.decode(SynthBox.self, from: Data(json.utf8))
        #expect(read == box && read.box == ImageBox(xmin: 0.25, ymin: 0, xmax: 0.5, ymax: 1))
    }
}
