import Foundation
import FourM
import FourMTensor
import Yams

extension GenerateCommand {
    /// Reads a schedule file, JSON or (for `.yaml`/`.yml`) YAML, with the same keys:
    /// `{"targets": [{"modality": "depth", "scheme": "roar", "steps": 8, "tokens": 196,
    /// "token_schedule": "linear", "temperature": 3, "temperature_schedule": "onex:0.5:0.5",
    /// "guidance": 2}], "top_p": 0.8, "top_k": 0, "grow_conditioning": true}`. Only `modality`
    /// is required; tokens default to the model's count (sequences: at most 256), schemes to
    /// ROAR for image-like targets and autoregressive for sequences. Unknown keys, repeated
    /// keys, non-integral or out-of-range counts and non-finite numbers are errors naming the
    /// file and the key.
    func readSchedule(_ path: String, model: FourMModel) throws -> SchedulePreset {
        let file = ScheduleFile(path: path)
        let root = try file.read()
        let targetKeys: Set<String> = ["modality", "scheme", "steps", "tokens", "token_schedule", "temperature", "temperature_schedule", "guidance"]
        try file.checkKeys(root, allowed: ["targets", "top_p", "top_k", "grow_conditioning"], at: "schedule")
        guard case .array(let entries)? = root.member("targets"), !entries.isEmpty else {
            throw CLIError("\(path): schedule.targets is \(root.member("targets")?.summary ?? "missing"), expected a non-empty array of target objects")
        }
        var targets: [TargetSettings] = []
        for (i, entry) in entries.enumerated() {
            let at = "targets[\(i)]"
            try file.checkKeys(entry, allowed: targetKeys, at: at)
            guard let name = try file.string(entry, "modality", at) else {
                throw CLIError("\(path): \(at).modality is missing (a modality name such as \"depth\")")
            }
            let modality = try resolve(name, in: model.outputModalities, role: "target", modalities: model.configuration.modalities)
            guard let info = model.configuration.info(modality) else { throw CLIError("\(path): \(at).modality '\(name)' is not a 4M modality") }
            let isSequence = info.kind == .sequence
            var scheme: GenerationScheme = isSequence ? .autoregressive : .roar
            if let text = try file.string(entry, "scheme", at) {
                guard let parsed = GenerationScheme(rawValue: text) else {
                    throw CLIError("\(path): \(at).scheme is '\(text)', expected one of \(GenerationScheme.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                scheme = parsed
            }
            var settings = TargetSettings(modality, scheme: scheme, tokens: isSequence ? min(256, info.tokenCount) : info.tokenCount)
            if let tokens = try file.count(entry, "tokens", at, range: 1...info.tokenCount) { settings.tokens = tokens }
            if let steps = try file.count(entry, "steps", at, range: 1...max(1, info.tokenCount)) { settings.steps = steps }
            if let temperature = try file.number(entry, "temperature", at) { settings.temperature = temperature }
            if let guidance = try file.number(entry, "guidance", at) { settings.guidance = .scale(guidance) }
            if let text = try file.string(entry, "token_schedule", at) {
                guard let parsed = TokenSchedule(rawValue: text) else { throw CLIError("\(path): \(at).token_schedule is '\(text)', expected cosine or linear") }
                settings.tokenSchedule = parsed
            }
            if let text = try file.string(entry, "temperature_schedule", at) {
                do { settings.temperatureSchedule = try TemperatureSchedule(parsing: text) } catch { throw CLIError("\(path): \(at).temperature_schedule: \(error)") }
            }
            targets.append(settings)
        }
        var preset = SchedulePreset(targets: targets)
        if let topP = try file.number(root, "top_p", "schedule") { preset.filter.topP = topP }
        if let topK = try file.number(root, "top_k", "schedule") {
            if topK <= 0 {
                preset.filter.topK = .none
            } else if topK < 1 {
                preset.filter.topK = .fraction(topK)
            } else {
                guard let count = Int(exactly: topK) else {
                    throw CLIError("\(path): schedule.top_k is \(topK), expected a whole number of tokens, a fraction below 1, or 0")
                }
                preset.filter.topK = .count(count)
            }
        }
        if let grow = root.member("grow_conditioning") {
            guard case .bool(let flag) = grow else { throw CLIError("\(path): schedule.grow_conditioning is \(grow.summary), expected true or false") }
            preset.growConditioning = flag
        }
        return preset
    }
}

/// A schedule file read into one value tree, whichever its syntax: JSON through FourM's strict
/// parser (byte offsets in errors, repeated keys rejected), YAML through Yams, converted to
/// the same tree so both are checked by the same code.
struct ScheduleFile {
    let path: String

    var isYAML: Bool {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        return ext == "yaml" || ext == "yml"
    }

    /// Reads and parses the file; the root must be an object (a mapping).
    func read() throws -> JSONValue {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CLIError("\(path): cannot read the schedule file (\(fileErrorReason(error)))")
        }
        guard data.count <= 1 << 20 else { throw CLIError("\(path): the schedule file is \(data.count) bytes, expected at most 1 MiB") }
        let root: JSONValue
        if isYAML {
            guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(path): not UTF-8 text") }
            let node: Node?
            do { node = try Yams.compose(yaml: text) } catch { throw CLIError("\(path): invalid YAML: \(Self.yamlReason(error))") }
            guard let node else { throw CLIError("\(path): the YAML document is empty, expected a mapping with \"targets\"") }
            var budget = Self.maximumNodes
            root = try convert(node, at: "schedule", budget: &budget)
        } else {
            do { root = try JSONParser.parse(data) } catch { throw CLIError("\(path): invalid JSON: \(error.message())") }
            try rejectRepeatedKeys(root, at: "schedule")
        }
        guard case .object = root else { throw CLIError("\(path): the schedule is \(root.summary), expected an object with \"targets\"") }
        return root
    }

    /// Yams's own description spans several lines (the document line and a caret under it);
    /// an error message is one line: the problem, then its line and column.
    static func yamlReason(_ error: any Error) -> String {
        let oneLine = "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
        guard let yaml = error as? YamlError else { return oneLine }
        switch yaml {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let inside = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return "\(problem) at line \(mark.line), column \(mark.column)\(inside)"
        case let .reader(problem, offset, _, _):
            return problem + (offset.map { " at byte \($0)" } ?? "")
        default:
            return oneLine
        }
    }

    /// At most this many YAML nodes after aliases are expanded: a few hundred bytes of nested
    /// aliases (a "billion laughs" document) would otherwise expand exponentially.
    static let maximumNodes = 100_000

    /// YAML nodes as JSON values: mappings with string keys, sequences, and scalars resolved by
    /// YAML's core schema (null, bool, int, float, string).
    private func convert(_ node: Node, at: String, budget: inout Int) throws -> JSONValue {
        budget -= 1
        guard budget >= 0 else {
            throw CLIError("\(path): the schedule expands to more than \(Self.maximumNodes) YAML nodes (aliases included)")
        }
        switch node {
        case .mapping(let mapping):
            var members: [(key: String, value: JSONValue)] = []
            var seen: Set<String> = []
            for (key, value) in mapping {
                guard case .scalar(let scalar) = key else { throw CLIError("\(path): \(at) has a key that is not a plain string") }
                guard seen.insert(scalar.string).inserted else { throw CLIError("\(path): \(at).\(scalar.string) appears more than once") }
                members.append((scalar.string, try convert(value, at: "\(at).\(scalar.string)", budget: &budget)))
            }
            return .object(members)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for (i, element) in sequence.enumerated() { items.append(try convert(element, at: "\(at)[\(i)]", budget: &budget)) }
            return .array(items)
        case .scalar(let scalar):
            // The resolved tag decides, so a quoted "2" stays a string as in JSON.
            let tag = node.tag.description
            switch tag {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: if let flag = node.bool { return .bool(flag) }
            case Tag.Name.int.rawValue: if let integer = node.int { return .number(String(integer)) }
            case Tag.Name.float.rawValue: if let value = node.float { return .number("\(value)") }
            case Tag.Name.str.rawValue, Tag.Name.implicit.rawValue, Tag.Name.nonSpecific.rawValue: return .string(scalar.string)
            default: break
            }
            throw CLIError("\(path): \(at) is '\(scalar.string)' (\(tag)), expected a number, a string or true/false")
        }
    }

    private func rejectRepeatedKeys(_ value: JSONValue, at: String) throws {
        switch value {
        case .object(let members):
            var seen: Set<String> = []
            for member in members {
                guard seen.insert(member.key).inserted else { throw CLIError("\(path): \(at).\(member.key) appears more than once") }
                try rejectRepeatedKeys(member.value, at: "\(at).\(member.key)")
            }
        case .array(let items):
            for (i, item) in items.enumerated() { try rejectRepeatedKeys(item, at: "\(at)[\(i)]") }
        default: break
        }
    }

    /// Fails on a key outside `allowed` (a misspelt key would otherwise be ignored silently).
    func checkKeys(_ object: JSONValue, allowed: Set<String>, at: String) throws {
        guard case .object(let members) = object else { throw CLIError("\(path): \(at) is \(object.summary), expected an object") }
        for member in members where !allowed.contains(member.key) {
            throw CLIError("\(path): \(at).\(member.key) is not a schedule key (expected one of \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// A number finite in single precision (the precision sampling runs in), or nil when the
    /// key is absent.
    func number(_ object: JSONValue, _ key: String, _ at: String) throws -> Double? {
        guard let number = try anyNumber(object, key, at) else { return nil }
        guard Float(number).isFinite else {
            throw CLIError("\(path): \(at).\(key) is \(number), expected a number within ±\(Float.greatestFiniteMagnitude)")
        }
        return number
    }

    private func anyNumber(_ object: JSONValue, _ key: String, _ at: String) throws -> Double? {
        guard let value = object.member(key) else { return nil }
        guard case .number(let literal) = value, let number = Double(literal), number.isFinite else {
            throw CLIError("\(path): \(at).\(key) is \(value.summary), expected a finite number")
        }
        return number
    }

    /// A whole number within `range`, or nil when the key is absent.
    func count(_ object: JSONValue, _ key: String, _ at: String, range: ClosedRange<Int>) throws -> Int? {
        guard let number = try anyNumber(object, key, at) else { return nil }
        guard let value = Int(exactly: number), range.contains(value) else {
            throw CLIError("\(path): \(at).\(key) is \(number), expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A string, or nil when the key is absent.
    func string(_ object: JSONValue, _ key: String, _ at: String) throws -> String? {
        guard let value = object.member(key) else { return nil }
        guard case .string(let text) = value else { throw CLIError("\(path): \(at).\(key) is \(value.summary), expected a string") }
        return text
    }
}
