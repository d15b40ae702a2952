import FourMModels
import FourMSampling
import FourMTensor
import FourMTokenizers

/// A value given to the reference demo's setup for one domain (its `sample` dict).
public enum DemoSampleValue: Sendable {
    /// Text for `caption` or `det`: conditioned as `custom_text` does.
    case text(String)
    /// Normalised pixels `[1, C, H, W]` for `rgb@N`.
    case pixels(Tensor<Float>)
    /// Token ids `[1, L]` (image tokens, or a sequence that holds its own `[EOS]`).
    case tokens(Tensor<Int32>)
}

/// The reference demo sampler's setup (`fourm/demo_4M_sampler.py`, `Demo4MSampler`): which
/// domains are conditions and targets, the defaults table, the chained schedule and the
/// modality dictionary it builds, for the base pass and for the super-resolution pass.
/// Follows spec/generation.md 1.2 (`customText`, `initFullInput`, `initEmptyTarget`) and 2.1
/// (chained schedules); the fixtures' `workflow_setup_*` cases pin every field down.
///
/// ```swift
/// let setup = try DemoSetup(sample: [(.rgb224, .pixels(photo))], modelModalities: domains)
/// let built = try setup.build(textTokenizer: text)
/// let out = try generate(model, dictionary: built.dictionary, schedule: built.schedule, options: options)
/// ```
public struct DemoSetup: Sendable {
    /// The demo's chained generation order (`DEFAULT_ORDER`): `ModalityTable.defaultOrder` of
    /// `ModalityTable.reference`.
    public static let defaultOrder: [Modality] = ModalityTable.reference.defaultOrder
    /// The demo's super-resolution order (`DEFAULT_ORDER_SR`): the reference table's domains
    /// with `GenerationRecipe.superResolution` settings, at the super-resolution size.
    public static let defaultOrderSuperResolution: [Modality] = ModalityTable.reference.defaultOrder(.superResolution)
    /// Sequence slots of the span `custom_text` appends (`target_max_len`).
    public static let customTextTargetLength = 50

    /// The sample in the caller's order.
    public let sample: [(modality: Modality, value: DemoSampleValue)]
    /// The conditions: the sample's domains the model knows, in sample order (`cond_domains`).
    public let conditions: [Modality]
    /// The targets (`target_domains`): `DEFAULT_ORDER` minus the conditions, restricted to the
    /// model, without `tok_rgb@224` when RGB pixels are given; or the caller's list.
    public let targets: [Modality]
    /// `DEFAULTS_RGB2X` when `rgb@224` or `tok_rgb@224` is a condition, else `DEFAULTS_X2RGB`.
    public let table: DemoDefaultsTable
    /// Whether finished targets join the guidance conditions (`cfg_grow_conditioning`).
    public var growConditioning = true
    /// The modality table the order, the defaults and the kinds come from.
    public let modalities: ModalityTable

    /// Chooses conditions, targets and the defaults table as `__setup_conds_and_targets` does.
    /// - Parameters:
    ///   - sample: the given values in order (several values for one domain: the last wins).
    ///   - modelModalities: every domain of the model (encoder ∪ decoder).
    ///   - targets: overrides the default targets (`forward(..., target_modalities:)`).
    ///   - modalities: the table of order and defaults (default: the reference domains).
    public init(sample: [(Modality, DemoSampleValue)], modelModalities: Set<Modality>, targets: [Modality]? = nil, modalities: ModalityTable = .reference) {
        self.modalities = modalities
        var ordered: [(modality: Modality, value: DemoSampleValue)] = []
        for (m, v) in sample {
            if let i = ordered.firstIndex(where: { $0.modality == m }) { ordered[i].value = v } else { ordered.append((m, v)) }
        }
        self.sample = ordered
        let conditions = ordered.map(\.modality).filter { modelModalities.contains($0) }
        var defaults = modalities.defaultOrder.filter { !conditions.contains($0) && modelModalities.contains($0) }
        if conditions.contains(.rgb224) { defaults.removeAll { $0 == .tokRGB224 } }
        self.conditions = conditions
        self.targets = targets ?? defaults
        let rgbGiven = conditions.contains(.rgb224) || conditions.contains(.tokRGB224)
        if modalities == .reference {
            self.table = rgbGiven ? .rgbToX : .xToRGB
        } else {
            self.table = DemoDefaultsTable(rgbGiven ? .rgbToX : .xToRGB, modalities: modalities)
        }
    }

    /// The settings of every target, looked up in ``table``.
    /// - Throws: `.invalidInput` for a target the table has no entry for (the reference would
    ///   fail later on its `None` values).
    public func targetSettings() throws(FourMError) -> [TargetSettings] {
        try targets.map { (m: Modality) throws(FourMError) -> TargetSettings in
            guard let d = table.defaults(for: m) else {
                throw .invalidInput(modality: m.rawValue, expected: "a target listed in \(table.name) (\(table.entries.map(\.domains).joined(separator: ", ")))", actual: "no entry")
            }
            return d.target(m)
        }
    }

    /// The chained schedule (`build_chained_generation_schedules` with the table's values).
    /// - Throws: `.invalidInput` for targets without defaults, `.generation` for settings the
    ///   schedule builder rejects.
    public func schedule() throws(FourMError) -> [GenerationStep] {
        do { return try buildChainedSchedule(conditions: conditions, targets: try targetSettings(), growConditioning: growConditioning) } catch let error as GenerationError {
            throw .generation(error)
        } catch let error as FourMError { throw error } catch { throw .invalidInput(modality: "schedule", expected: "a buildable schedule", actual: "\(error)") }
    }

    /// The modality dictionary of `__setup_sample_and_schedule`: caption then det through
    /// `custom_text` (text ids without `[EOS]`, then `[S_1] [PAD]… [EOS]` as target), the other
    /// given values through `init_full_input_modality` in sample order, then one empty target
    /// per target with the table's token count.
    /// - Parameters:
    ///   - textTokenizer: the WordPiece tokenizer (needed for text values).
    ///   - patchSize: the pixel patch size of `rgb@N` (16 in every released model).
    /// - Throws: `.missingTokenizers` for text without a tokenizer, `.invalidInput` for text
    ///   given to a domain other than caption/det, a value of the wrong kind or a patch size
    ///   below 1, `.specialToken` when the tokenizer lacks a special token a sequence domain needs.
    public func dictionary(textTokenizer: WordPieceTokenizer?, patchSize: Int = 16) throws(FourMError) -> ModalityDictionary {
        var dictionary = ModalityDictionary()
        // The sampler writes [PAD]/[EOS]/[S_k] by id: the tokenizer must agree.
        if let textTokenizer { try modalities.checkSpecialTokens(of: sample.map(\.modality) + targets, in: textTokenizer) }
        let customText = Self.customTextModalities(modalities)
        for key in customText {
            guard let entry = sample.first(where: { $0.modality == key }) else { continue }
            guard case .text(let text) = entry.value else {
                throw .invalidInput(modality: key.rawValue, expected: "text (the demo conditions \(key.rawValue) through custom_text)", actual: "\(entry.value)")
            }
            guard let textTokenizer else { throw .missingTokenizers(bundle: "demo setup", modalities: [key.rawValue]) }
            dictionary[key] = .textCondition(textTokenizer.encode(text), targetLength: Self.customTextTargetLength)
        }
        for (m, value) in sample where !customText.contains(m) {
            let state: ModalityState
            switch value {
            case .pixels(let pixels):
                guard pixels.rank == 4 else { throw .invalidInput(modality: m.rawValue, expected: "pixels [1, C, H, W]", actual: "\(pixels.shape)") }
                guard patchSize > 0 else { throw .invalidInput(modality: m.rawValue, expected: "a positive patch size", actual: "\(patchSize)") }
                state = ModalityState(pixels: pixels, patchSize: patchSize)
            case .tokens(let ids):
                guard ids.rank == 2 else { throw .invalidInput(modality: m.rawValue, expected: "token ids [1, L]", actual: "\(ids.shape)") }
                state = ModalityState(tokens: ids)
            case .text:
                throw .invalidInput(modality: m.rawValue, expected: "pixels or token ids (the demo takes text only for caption and det)", actual: "text")
            }
            dictionary[m] = Self.fullInput(state, isSequence: modalities.info(for: m)?.kind == .sequence)
        }
        for t in try targetSettings() {
            let isSequence = modalities.info(for: t.modality)?.kind == .sequence
            dictionary[t.modality] = isSequence ? .emptySequenceTarget(batch: 1, tokens: t.tokens) : .emptyImageTarget(batch: 1, tokens: t.tokens)
        }
        return dictionary
    }

    /// The domains whose text is conditioned through `custom_text` (caption, then det), in
    /// table order (`ModalitySpec.customTextCondition`).
    public static func customTextModalities(_ modalities: ModalityTable = .reference) -> [Modality] {
        modalities.specs.filter(\.customTextCondition).map { $0.modality(resolution: modalities.baseResolution) }
    }

    /// `init_full_input_modality` (spec/generation.md 1.2) exactly as the reference applies it:
    /// images fully visible; a sequence visible up to and including the first `[EOS]` of the
    /// flattened batch, and when there is none, its first token **overwritten** by `[EOS]` and
    /// only that token visible. Existing decoder attention masks are kept, missing ones are zeros.
    public static func fullInput(_ state: ModalityState, isSequence: Bool) -> ModalityState {
        var out = state
        let (batch, length) = (state.batchSize, state.length)
        if out.decoderAttentionMask == nil { out.decoderAttentionMask = Tensor(zeros: [batch, length]) }
        out.targetMask = Tensor(repeating: true, shape: [batch, length])
        guard isSequence, let ids = state.tokens else {
            out.inputMask = Tensor(repeating: false, shape: [batch, length])
            return out
        }
        let eosColumn: Int
        if let flat = ids.scalars.firstIndex(of: SpecialTokens.eos) {
            eosColumn = flat % max(length, 1)
        } else {
            var scalars = ids.scalars
            for b in 0..<batch where length > 0 { scalars[b * length] = SpecialTokens.eos }
            out.content = .tokens(Tensor(shape: ids.shape, scalars: scalars))
            eosColumn = 0
        }
        out.inputMask = Tensor(shape: [batch, length], scalars: (0..<(batch * length)).map { $0 % length > eosColumn })
        return out
    }
}

extension DemoSetup {
    /// The super-resolution conditions and targets of `__setup_sr_conds_and_targets`: the base
    /// result's domains the SR model knows (in result order), and the `DEFAULT_ORDER_SR`
    /// entries the SR model knows whose `@224` twin is a condition.
    /// - Parameters:
    ///   - base: the base pass's output dictionary.
    ///   - superResolutionModalities: every domain of the SR model.
    ///   - modalities: the table of order and resolutions (default: the reference domains).
    public static func superResolutionDomains(base: ModalityDictionary, superResolutionModalities: Set<Modality>,
                                              modalities: ModalityTable = .reference) -> (conditions: [Modality], targets: [Modality]) {
        let conditions = base.modalities.filter { superResolutionModalities.contains($0) }
        let targets = modalities.defaultOrder(.superResolution).filter { m in
            guard let twin = modalities.spec(for: m)?.modality(resolution: modalities.baseResolution) else { return false }
            return conditions.contains(twin) && superResolutionModalities.contains(m)
        }
        return (conditions, targets)
    }

    /// ``superResolution(base:superResolutionModalities:textTokenizer:growConditioning:modalities:)``
    /// with the reference modality table (`ModalityTable.reference`).
    /// - Throws: the errors of the table-taking variant.
    public static func superResolution(base: ModalityDictionary, superResolutionModalities: Set<Modality>, textTokenizer: WordPieceTokenizer?,
                                       growConditioning: Bool = true) throws(FourMError) -> (dictionary: ModalityDictionary, schedule: [GenerationStep], conditions: [Modality], targets: [Modality]) {
        try superResolution(base: base, superResolutionModalities: superResolutionModalities, textTokenizer: textTokenizer,
                            growConditioning: growConditioning, modalities: .reference)
    }

    /// The super-resolution dictionary and schedule of `__setup_sr_sample_and_schedule`
    /// (`DEFAULTS_SR`): a caption or det of at most one token becomes `custom_text('[S_1]')`,
    /// every condition goes through ``fullInput(_:isSequence:)`` (so a `custom_text` caption
    /// becomes visible up to its `[EOS]`, tail included), domains the SR model does not know stay
    /// as they are, and the 448 targets are appended.
    /// - Parameters:
    ///   - base: the base pass's output dictionary.
    ///   - superResolutionModalities: every domain of the SR model.
    ///   - textTokenizer: encodes the `[S_1]` fallback.
    ///   - growConditioning: `cfg_grow_conditioning_sr`.
    ///   - modalities: the table of order, defaults and kinds (default: the reference domains).
    /// - Throws: `.missingTokenizers` when a fallback is needed without a tokenizer,
    ///   `.generation` for a schedule the builder rejects.
    public static func superResolution(base: ModalityDictionary, superResolutionModalities: Set<Modality>, textTokenizer: WordPieceTokenizer?,
                                       growConditioning: Bool = true, modalities: ModalityTable) throws(FourMError) -> (dictionary: ModalityDictionary, schedule: [GenerationStep], conditions: [Modality], targets: [Modality]) {
        let (conditions, targets) = superResolutionDomains(base: base, superResolutionModalities: superResolutionModalities, modalities: modalities)
        let table = modalities == .reference ? DemoDefaultsTable.superResolution : DemoDefaultsTable(.superResolution, modalities: modalities)
        var settings: [TargetSettings] = []
        for m in targets {
            guard let d = table.defaults(for: m) else { throw .invalidInput(modality: m.rawValue, expected: "a target listed in \(table.name)", actual: "no entry") }
            settings.append(d.target(m))
        }
        let schedule: [GenerationStep]
        do { schedule = try buildChainedSchedule(conditions: conditions, targets: settings, growConditioning: growConditioning) } catch { throw .generation(error) }
        var dictionary = base
        for key in customTextModalities(modalities) where conditions.contains(key) {
            guard let state = dictionary[key], state.length <= 1 else { continue }
            guard let textTokenizer else { throw .missingTokenizers(bundle: "super-resolution setup", modalities: [key.rawValue]) }
            dictionary[key] = .textCondition(textTokenizer.encode("[S_1]"), targetLength: customTextTargetLength)
        }
        for m in conditions {
            guard let state = dictionary[m] else { continue }
            dictionary[m] = fullInput(state, isSequence: modalities.info(for: m)?.kind == .sequence)
        }
        for t in settings {
            dictionary[t.modality] = .emptyImageTarget(batch: 1, tokens: t.tokens)
        }
        return (dictionary, schedule, conditions, targets)
    }
}
