/// How a ``Pipeline`` turns caption and det text into a condition (spec/generation.md 1.2).
public enum TextConditioning: Sendable, Equatable {
    /// The reference demo's `custom_text`: the text's ids (no `[EOS]`) as encoder input, then a
    /// 50-slot `[S_1] [PAD]… [EOS]` tail hidden from the encoder. The default, so that outputs
    /// match the demo sampler's.
    case customText
    /// FourM's earlier form (`init_full_input_modality`): the text's ids then `[EOS]`, all
    /// visible to the encoder.
    case endOfSequence
}
