import Foundation
import FourM

extension GenerateCommand {
    /// Reads a schedule file (JSON):
    /// `{"targets": [{"modality": "depth", "scheme": "roar", "steps": 8, "tokens": 196,
    /// "token_schedule": "linear", "temperature": 3, "temperature_schedule": "onex:0.5:0.5",
    /// "guidance": 2}], "top_p": 0.8, "top_k": 0, "grow_conditioning": true}`. Only `modality`
    /// is required; tokens default to the model's count (sequences: at most 256), schemes to
    /// ROAR for image-like targets and autoregressive for sequences.
    func readSchedule(_ path: String, model: FourMModel) throws -> SchedulePreset {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw CLIError("\(path): cannot read the schedule file (\(error.localizedDescription))") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw CLIError("\(path): expected a JSON object with \"targets\"") }
        guard let entries = root["targets"] as? [[String: Any]], !entries.isEmpty else { throw CLIError("\(path): \"targets\" must be a non-empty list of objects") }
        func number(_ object: [String: Any], _ key: String, _ at: String) throws -> Double? {
            guard let value = object[key] else { return nil }
            guard let n = value as? NSNumber, n.doubleValue.isFinite else { throw CLIError("\(path): \(at).\(key) is \(value), expected a number") }
            return n.doubleValue
        }
        var targets: [TargetSettings] = []
        for (i, entry) in entries.enumerated() {
            let at = "targets[\(i)]"
            guard let name = entry["modality"] as? String else { throw CLIError("\(path): \(at).modality is missing (a modality name such as \"depth\")") }
            let modality = try resolve(name, in: model.outputModalities, role: "target", modalities: model.configuration.modalities)
            guard let info = model.configuration.info(modality) else { throw CLIError("\(path): \(at).modality '\(name)' is not a 4M modality") }
            let isSequence = info.kind == .sequence
            var scheme: GenerationScheme = isSequence ? .autoregressive : .roar
            if let text = entry["scheme"] {
                guard let s = text as? String, let parsed = GenerationScheme(rawValue: s) else {
                    throw CLIError("\(path): \(at).scheme is \(text), expected one of \(GenerationScheme.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                scheme = parsed
            }
            var settings = TargetSettings(modality, scheme: scheme, tokens: isSequence ? min(256, info.tokenCount) : info.tokenCount)
            if let tokens = try number(entry, "tokens", at) { settings.tokens = Int(tokens) }
            if let steps = try number(entry, "steps", at) { settings.steps = Int(steps) }
            if let temperature = try number(entry, "temperature", at) { settings.temperature = temperature }
            if let guidance = try number(entry, "guidance", at) { settings.guidance = .scale(guidance) }
            if let text = entry["token_schedule"] {
                guard let s = text as? String, let parsed = TokenSchedule(rawValue: s) else { throw CLIError("\(path): \(at).token_schedule is \(text), expected cosine or linear") }
                settings.tokenSchedule = parsed
            }
            if let text = entry["temperature_schedule"] {
                guard let s = text as? String else { throw CLIError("\(path): \(at).temperature_schedule is \(text), expected a string") }
                do { settings.temperatureSchedule = try TemperatureSchedule(parsing: s) } catch { throw CLIError("\(path): \(at).temperature_schedule: \(error)") }
            }
            targets.append(settings)
        }
        var preset = SchedulePreset(targets: targets)
        if let topP = try number(root, "top_p", "schedule") { preset.filter.topP = topP }
        if let topK = try number(root, "top_k", "schedule") { preset.filter.topK = topK <= 0 ? .none : (topK < 1 ? .fraction(topK) : .count(Int(topK))) }
        if let grow = root["grow_conditioning"] {
            guard let flag = grow as? Bool else { throw CLIError("\(path): schedule.grow_conditioning is \(grow), expected true or false") }
            preset.growConditioning = flag
        }
        return preset
    }
}
