import FourMModels
import FourMSampling

extension SchedulePreset {
    /// RGB → every other output, exactly as the reference demo sets it up (`DEFAULTS_RGB2X`,
    /// `DEFAULT_ORDER`; see ``DemoSetup``): each image-like map in one guided ROAR step at
    /// τ 0.01 with guidance 2 (growing conditions), then caption, det (τ 0.3), human poses
    /// (τ 0.1), SAM instances (τ 0.01), colour palette and metadata (τ 0.1) autoregressively,
    /// top-p 0.8. `tok_rgb` is not generated. Models at other resolutions use their own token
    /// counts; sequences get the demo's slots, capped at the model's maximum.
    public static func rgbToAll(_ model: FourMModel, excluding inputs: [Modality] = []) -> SchedulePreset {
        // tok_rgb has no DEFAULTS_RGB2X settings in the table, so it is not a target here.
        demo(model, recipe: .rgbToX, excluding: inputs)
    }

    /// Caption (or det) → every other output, exactly as the reference demo sets it up
    /// (`DEFAULTS_X2RGB`, `DEFAULT_ORDER`): CLIP in 50 ROAR steps (τ 5, onex:0.5:0.5, guidance 3),
    /// DINOv2 / ImageBind in 8 (τ 0.01), depth, normals, segmentation and edges in 8 and RGB in
    /// 25 (τ 3, onex, guidance 2), then the remaining sequences autoregressively; top-p 0.8.
    public static func captionToAll(_ model: FourMModel, excluding inputs: [Modality] = []) -> SchedulePreset {
        demo(model, recipe: .xToRGB, excluding: inputs)
    }

    /// The demo's targets for `model` in its table's chained order (`DEFAULT_ORDER`, matched by
    /// base name, so any resolution), with the settings `recipe` gives their base-resolution name
    /// in the model's table (`FourMConfiguration.modalities`).
    static func demo(_ model: FourMModel, recipe: GenerationRecipe, excluding inputs: [Modality]) -> SchedulePreset {
        let modalities = model.configuration.modalities
        let table = modalities == .reference ? (recipe == .rgbToX ? DemoDefaultsTable.rgbToX : .xToRGB) : DemoDefaultsTable(recipe, modalities: modalities)
        var targets: [TargetSettings] = []
        for entry in modalities.defaultOrder {
            for m in model.outputModalities where m.baseName == entry.baseName && !inputs.contains(m) {
                guard let info = model.configuration.info(m), let d = table.defaults(for: entry) else { continue }
                var settings = d.target(m)
                settings.tokens = info.kind == .sequence ? min(d.tokens, info.tokenCount) : info.tokenCount
                targets.append(settings)
            }
        }
        return SchedulePreset(targets: targets)
    }
}
