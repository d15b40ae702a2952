import FourMModels
import FourMSampling

/// Generation settings as the reference's recipes give them (spec/generation.md 5, 6.4).
public struct SchedulePreset: Sendable {
    /// Per-target settings.
    public var targets: [TargetSettings]
    /// Top-k / top-p of every step.
    public var filter: SamplingFilter
    /// Whether finished non-autoregressive targets join the guidance conditions.
    public var growConditioning: Bool

    /// Creates a preset.
    public init(targets: [TargetSettings], filter: SamplingFilter = SamplingFilter(topP: 0.8), growConditioning: Bool = true) {
        self.targets = targets
        self.filter = filter
        self.growConditioning = growConditioning
    }

    /// The reference's chained order of outputs (demo sampler `DEFAULT_ORDER`).
    public static let defaultOrder: [String] = [
        "tok_clip", "tok_dinov2", "tok_imagebind", "tok_depth", "tok_normal", "tok_semseg", "tok_canny_edge", "tok_sam_edge", "tok_rgb",
        "caption", "det", "human_poses", "sam_instance", "color_palette", "metadata",
    ]

    /// FourM's earlier RGB → all preset, kept as a named variant: like ``rgbToAll(_:excluding:)``
    /// but det at τ 0.7, every sequence given the model's maximum slots, and the global
    /// embedding outputs (`tok_dinov2_global`, …) included.
    public static func rgbToAllFourM(_ model: FourMModel, excluding inputs: [Modality] = []) -> SchedulePreset {
        let temperatures: [String: Double] = ["caption": 0.3, "det": 0.7, "human_poses": 0.1, "sam_instance": 0.01, "color_palette": 0.1, "metadata": 0.1]
        var targets: [TargetSettings] = []
        for m in orderedOutputs(model, excluding: inputs) {
            guard let info = model.configuration.info(m) else { continue }
            if info.kind == .sequence {
                targets.append(TargetSettings(m, scheme: .autoregressive, tokens: info.tokenCount, temperature: temperatures[m.baseName] ?? 0.3))
            } else if m.baseName != "tok_rgb" {
                targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: 1, tokenSchedule: .linear, temperature: 0.01, guidance: .scale(2)))
            }
        }
        return SchedulePreset(targets: targets)
    }

    /// FourM's earlier caption → images preset, kept as a named variant: only the image-like
    /// outputs (global embeddings included, no sequences), CLIP first (ROAR 50 steps, τ 5
    /// onex:0.5:0.5, guidance 3), then depth/normal/semseg (8 steps, τ 3), RGB (25 steps, τ 3),
    /// DINOv2/ImageBind (at most 8 steps, τ 0.01), guidance 2.
    public static func captionToImages(_ model: FourMModel, excluding inputs: [Modality] = []) -> SchedulePreset {
        var targets: [TargetSettings] = []
        for m in orderedOutputs(model, excluding: inputs) {
            guard let info = model.configuration.info(m), info.kind == .imageTokens else { continue }
            let onex = TemperatureSchedule.onex(minimum: 0.5, power: 0.5)
            switch m.baseName {
            case "tok_clip": targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: 50, temperature: 5, temperatureSchedule: onex, guidance: .scale(3)))
            case "tok_rgb": targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: 25, temperature: 3, temperatureSchedule: onex, guidance: .scale(2)))
            case "tok_dinov2", "tok_imagebind", "tok_dinov2_global", "tok_imagebind_global":
                targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: min(8, info.tokenCount), temperature: 0.01, guidance: .scale(2)))
            default: targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: 8, temperature: 3, temperatureSchedule: onex, guidance: .scale(2)))
            }
        }
        return SchedulePreset(targets: targets)
    }

    /// Caption → CLIP → RGB (`run_generation`'s `T2CR_roar49-25_cfg3_t6-0.5`).
    public static func captionToCLIPToRGB(resolution: Int = 224) -> SchedulePreset {
        let clip = Modality(rawValue: "tok_clip@\(resolution)"), rgb = Modality(rawValue: "tok_rgb@\(resolution)")
        let tokens = (resolution / 16) * (resolution / 16)
        return SchedulePreset(
            targets: [TargetSettings(clip, scheme: .roar, tokens: tokens, steps: 49, temperature: 6, temperatureSchedule: .onex(minimum: 0.5, power: 0.5), guidance: .scale(3)),
                      TargetSettings(rgb, scheme: .roar, tokens: tokens, steps: 25, temperature: 0.5, guidance: .scale(3))],
            filter: SamplingFilter(topP: 0.9))
    }

    static func orderedOutputs(_ model: FourMModel, excluding inputs: [Modality]) -> [Modality] {
        let outputs = model.outputModalities.filter { !inputs.contains($0) }
        let ranked = outputs.sorted { a, b in
            (defaultOrder.firstIndex(of: a.baseName) ?? 99, a.rawValue) < (defaultOrder.firstIndex(of: b.baseName) ?? 99, b.rawValue)
        }
        return ranked
    }
}
