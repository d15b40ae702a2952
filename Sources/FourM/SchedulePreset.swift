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

    /// The reference's chained order of outputs (demo sampler `DEFAULT_ORDER`), as base names:
    /// `ModalityTable.defaultOrder` of the reference table.
    public static let defaultOrder: [String] = ModalityTable.reference.defaultOrder.map(\.baseName)

    /// FourM's earlier RGB → all preset, kept as a named variant: like ``rgbToAll(_:excluding:)``
    /// but det at τ 0.7, every sequence given the model's maximum slots, and the global
    /// embedding outputs (`tok_dinov2_global`, …) included. The settings are each spec's
    /// `GenerationRecipe.fourMRGBToAll` defaults in the model's table; an image-like output
    /// whose spec declares none (a domain a user added) gets one guided ROAR step at τ 0.01,
    /// a sequence τ 0.3, and `tok_rgb` (declared without one) is not a target.
    public static func rgbToAllFourM(_ model: FourMModel, excluding inputs: [Modality] = []) -> SchedulePreset {
        let table = model.configuration.modalities
        var targets: [TargetSettings] = []
        for m in orderedOutputs(model, excluding: inputs) {
            guard let info = model.configuration.info(m), let spec = table.spec(for: m) else { continue }
            if let d = spec.defaults[.fourMRGBToAll] {
                targets.append(TargetSettings(m, tokens: min(d.tokens ?? info.tokenCount, info.tokenCount), defaults: d))
            } else if !spec.defaults.isEmpty {
                continue  // declared, but not a target of this recipe (tok_rgb)
            } else if info.kind == .sequence {
                targets.append(TargetSettings(m, scheme: .autoregressive, tokens: info.tokenCount, temperature: 0.3))
            } else if info.kind == .imageTokens {
                targets.append(TargetSettings(m, scheme: .roar, tokens: info.tokenCount, steps: 1, tokenSchedule: .linear, temperature: 0.01, guidance: .scale(2)))
            }
        }
        return SchedulePreset(targets: targets)
    }

    /// FourM's earlier caption → images preset, kept as a named variant: only the image-like
    /// outputs (global embeddings included, no sequences), CLIP first (ROAR 50 steps, τ 5
    /// onex:0.5:0.5, guidance 3), then depth/normal/semseg (8 steps, τ 3), RGB (25 steps, τ 3),
    /// DINOv2/ImageBind (at most 8 steps, τ 0.01), guidance 2: each spec's
    /// `GenerationRecipe.fourMCaptionToImages` defaults, steps capped at the token count; a
    /// spec that declares none gets the maps' settings (8 steps, τ 3 onex, guidance 2).
    public static func captionToImages(_ model: FourMModel, excluding inputs: [Modality] = []) -> SchedulePreset {
        let table = model.configuration.modalities
        var targets: [TargetSettings] = []
        for m in orderedOutputs(model, excluding: inputs) {
            guard let info = model.configuration.info(m), info.kind == .imageTokens else { continue }
            let fallback = TargetDefaults(scheme: .roar, steps: 8, tokenSchedule: .cosine, temperature: 3,
                                          temperatureSchedule: .onex(minimum: 0.5, power: 0.5), guidance: 2)
            var d = table.spec(for: m)?.defaults[.fourMCaptionToImages] ?? fallback
            d.steps = min(d.steps ?? 1, info.tokenCount)
            targets.append(TargetSettings(m, tokens: info.tokenCount, defaults: d))
        }
        return SchedulePreset(targets: targets)
    }

    /// Caption → CLIP → RGB (`run_generation`'s `T2CR_roar49-25_cfg3_t6-0.5`), token counts
    /// from the reference table at `resolution`.
    public static func captionToCLIPToRGB(resolution: Int = 224) -> SchedulePreset {
        let clip = Modality(rawValue: "tok_clip@\(resolution)"), rgb = Modality(rawValue: "tok_rgb@\(resolution)")
        let clipTokens = ModalityTable.reference.info(for: clip)?.tokenCount ?? 0
        let rgbTokens = ModalityTable.reference.info(for: rgb)?.tokenCount ?? 0
        return SchedulePreset(
            targets: [TargetSettings(clip, scheme: .roar, tokens: clipTokens, steps: 49, temperature: 6, temperatureSchedule: .onex(minimum: 0.5, power: 0.5), guidance: .scale(3)),
                      TargetSettings(rgb, scheme: .roar, tokens: rgbTokens, steps: 25, temperature: 0.5, guidance: .scale(3))],
            filter: SamplingFilter(topP: 0.9))
    }

    /// The model's outputs without `inputs`, in its table's chained order (`ModalityTable.defaultOrder`
    /// by base name), then the domains outside that order by name.
    static func orderedOutputs(_ model: FourMModel, excluding inputs: [Modality]) -> [Modality] {
        let order = model.configuration.modalities.defaultOrder.map(\.baseName)
        let outputs = model.outputModalities.filter { !inputs.contains($0) }
        return outputs.sorted { a, b in
            (order.firstIndex(of: a.baseName) ?? order.count, a.rawValue) < (order.firstIndex(of: b.baseName) ?? order.count, b.rawValue)
        }
    }
}
