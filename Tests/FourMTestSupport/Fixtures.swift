import Foundation
import FourMTensor
import Testing

/// Locates the golden fixtures: `$FOURM_FIXTURES`, else `../shared/fixtures` beside the package.
public enum Fixtures {
    /// The fixture folder, or nil when it does not exist (then parity suites have no cases).
    public static let directory: URL? = {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["FOURM_FIXTURES"], !env.isEmpty {
            return URL(fileURLWithPath: env)  // must exist: a missing folder fails `manifest`
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let candidate = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
        return fm.fileExists(atPath: candidate.path) ? candidate : nil
    }()

    /// The parsed manifest.json, or nil when there is no fixture folder. A folder without a
    /// readable manifest is a hard error (reported by ``manifestProblem``).
    nonisolated(unsafe) public static let manifest: [String: Any]? = {
        guard let directory else { return nil }
        let url = directory.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object
    }()

    /// Non-nil when a fixture folder exists but its manifest cannot be read.
    public static var manifestProblem: String? {
        guard let directory else { return nil }
        return manifest == nil ? "\(directory.path)/manifest.json is missing or not a JSON object" : nil
    }

    /// Every case object of the manifest.
    public static var cases: [[String: Any]] { manifest?["cases"] as? [[String: Any]] ?? [] }

    /// Names of the cases whose `kind` is one of `kinds`, in manifest order.
    public static func caseNames(kinds: Set<String>) -> [String] {
        cases.compactMap { c in
            guard let kind = c["kind"] as? String, kinds.contains(kind) else { return nil }
            return c["name"] as? String
        }
    }

    /// The case object named `name`.
    public static func caseObject(_ name: String) throws -> [String: Any] {
        guard let found = cases.first(where: { ($0["name"] as? String) == name }) else {
            throw FixtureError("case '\(name)' not in manifest")
        }
        return found
    }

    /// The model entry (`models[]`) named `name`.
    public static func modelObject(_ name: String) throws -> [String: Any] {
        let models = manifest?["models"] as? [[String: Any]] ?? []
        guard let found = models.first(where: { ($0["name"] as? String) == name }) else {
            throw FixtureError("model '\(name)' not in manifest")
        }
        return found
    }

    /// Absolute URL of a path relative to the fixture folder.
    public static func url(_ relative: String) throws -> URL {
        guard let directory else { throw FixtureError("no fixture folder") }
        return directory.appendingPathComponent(relative)
    }
}

/// A problem with the fixture data itself (not with FourM).
public struct FixtureError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// Wraps a message.
    public init(_ message: String) { description = message }
}

/// Reads the tensors a manifest case lists, by their manifest `key`, caching opened files.
public final class CaseTensors {
    /// The case object.
    public let object: [String: Any]
    private var entries: [String: [String: Any]] = [:]
    private var files: [String: SafeTensorsFile] = [:]

    /// Loads the case named `name` from the manifest.
    public init(_ name: String) throws {
        object = try Fixtures.caseObject(name)
        for entry in object["tensors"] as? [[String: Any]] ?? [] {
            if let key = entry["key"] as? String { entries[key] = entry }
        }
    }

    /// All tensor keys of the case.
    public var keys: [String] { entries.keys.sorted() }

    /// True when the case lists `key`.
    public func has(_ key: String) -> Bool { entries[key] != nil }

    /// The manifest settings object.
    public var settings: [String: Any] { object["settings"] as? [String: Any] ?? [:] }

    /// `float_atol` and `float_rtol` of the case's tolerance.
    public var tolerance: (atol: Float, rtol: Float) {
        let t = object["tolerance"] as? [String: Any] ?? [:]
        let atol = (t["float_atol"] as? NSNumber)?.floatValue ?? 1e-5
        let rtol = (t["float_rtol"] as? NSNumber)?.floatValue ?? 1e-4
        return (atol, rtol)
    }

    private func location(_ key: String) throws -> (SafeTensorsFile, String) {
        guard let entry = entries[key], let file = entry["file"] as? String, let name = entry["name"] as? String else {
            throw FixtureError("\(object["name"] ?? "?"): no tensor '\(key)'")
        }
        if let open = files[file] { return (open, name) }
        let opened = try SafeTensorsFile(url: try Fixtures.url(file))
        files[file] = opened
        return (opened, name)
    }

    /// A float tensor by manifest key.
    public func float(_ key: String) throws -> Tensor<Float> {
        let (file, name) = try location(key)
        return try file.floatTensor(name)
    }

    /// An integer tensor by manifest key.
    public func int(_ key: String) throws -> Tensor<Int32> {
        let (file, name) = try location(key)
        return try file.intTensor(name)
    }

    /// A boolean tensor by manifest key.
    public func bool(_ key: String) throws -> Tensor<Bool> {
        let (file, name) = try location(key)
        return try file.boolTensor(name)
    }

    /// The manifest dtype of a key ("float32", "int64", "uint8").
    public func dtype(_ key: String) -> String? { entries[key]?["dtype"] as? String }

    /// True when the manifest marks the key as boolean.
    public func isBool(_ key: String) -> Bool { (entries[key]?["bool"] as? Bool) ?? false }
}
