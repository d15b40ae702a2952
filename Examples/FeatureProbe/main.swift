// FeatureProbe: 4M's encoder as a feature extractor (the paper's transfer use). Fits a linear
// probe (softmax regression) that predicts a scene's object count from the demo model's pooled
// encoder features, and the same probe on raw pixels as a baseline; prints held-out accuracy.
// Run:   swift run fourm synth --out scenes --count 600 && swift run -c release FeatureProbe scenes
// Needs: nothing to download (the demo model ships with FourM).
import Foundation
import FourM

guard CommandLine.arguments.count >= 2 else {
    print("usage: FeatureProbe <folder written by fourm synth>")
    exit(2)
}
let folder = URL(fileURLWithPath: CommandLine.arguments[1])
do {
    let pipeline = try Pipeline()
    let rgb = pipeline.model.inputModalities.first { $0.baseName == "rgb" } ?? .rgb224
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".rgb.png") }.sorted()
    var encoder: [[Float]] = [], pixels: [[Float]] = [], labels: [Int] = []
    for name in names {
        let stem = String(name.dropLast(".rgb.png".count))
        let json = try JSONSerialization.jsonObject(with: try Data(contentsOf: folder.appendingPathComponent("\(stem).json"))) as? [String: Any]
        guard let count = (json?["metadata"] as? [String: Any])?["object_count"] as? Int else { continue }
        let image = try Image(contentsOf: folder.appendingPathComponent(name))
        encoder.append(try pipeline.features(from: [rgb: .image(image)]).pooled.scalars)
        pixels.append(try image.resizedNearest(width: 8, height: 8).rgb().pixels.map { Float($0) / 255 })
        labels.append(count)
    }
    let classes = (labels.max() ?? 0) + 1
    let split = labels.count * 4 / 5
    print("\(labels.count) scenes (\(split) to fit, \(labels.count - split) held out), object counts \(Set(labels).sorted())")
    for (kind, x) in [("encoder features", encoder), ("raw pixels 8x8", pixels)] {
        print("\(kind): held-out accuracy \(String(format: "%.3f", probe(x, labels, classes: classes, split: split)))")
    }
} catch {
    print("error: \(error)")
    exit(1)
}

/// Softmax regression on standardised features, full-batch gradient descent with weight
/// decay; returns the accuracy on the rows after `split`.
func probe(_ x: [[Float]], _ y: [Int], classes: Int, split: Int) -> Double {
    let d = x.first?.count ?? 0
    let train = Array(x[..<split])
    let mean = (0..<d).map { j in train.map { $0[j] }.reduce(0, +) / Float(split) }
    let std = (0..<d).map { j in max(sqrtf(train.map { ($0[j] - mean[j]) * ($0[j] - mean[j]) }.reduce(0, +) / Float(split)), 1e-6) }
    let z = x.map { row in (0..<d).map { (row[$0] - mean[$0]) / std[$0] } + [1] }
    var w = [[Float]](repeating: [Float](repeating: 0, count: d + 1), count: classes)
    for _ in 0..<300 {
        var grad = [[Float]](repeating: [Float](repeating: 0, count: d + 1), count: classes)
        for i in 0..<split {
            let logits = w.map { wc in zip(wc, z[i]).reduce(0) { $0 + $1.0 * $1.1 } }
            let top = logits.max() ?? 0
            let e = logits.map { expf($0 - top) }, s = e.reduce(0, +)
            for c in 0..<classes {
                let g = e[c] / s - (c == y[i] ? 1 : 0)
                for j in 0...d { grad[c][j] += g * z[i][j] }
            }
        }
        for c in 0..<classes { for j in 0...d { w[c][j] -= 0.5 * (grad[c][j] / Float(split) + 1e-3 * w[c][j]) } }
    }
    let correct = (split..<y.count).filter { i in
        let logits = w.map { wc in zip(wc, z[i]).reduce(0) { $0 + $1.0 * $1.1 } }
        return logits.firstIndex(of: logits.max() ?? 0) == y[i]
    }.count
    return Double(correct) / Double(max(y.count - split, 1))
}
