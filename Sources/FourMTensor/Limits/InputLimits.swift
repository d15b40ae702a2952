/// Upper bounds on every size FourM reads from outside (files, configs, presets, images,
/// tokenizers, command-line arguments).
///
/// A value past a limit is rejected with a typed error that names the file, the key, the
/// limit and the value, before anything is allocated for it. The limits sit far above every
/// released 4M / 4M-21 model and tokenizer, and far below what would overflow `Int` or
/// exhaust memory. `Documentation/Reliability.md` lists them with the error each one raises.
public enum InputLimits {
    /// Largest safetensors JSON header, in bytes: 100 MB, the cap of the format's own reader.
    public static let maximumSafeTensorsHeaderBytes = 100_000_000
    /// Most tensors one safetensors file may declare (the largest 4M-21 checkpoint has a few
    /// thousand; an empty tensor still costs a header entry and a dictionary slot).
    public static let maximumTensorCount = 100_000
    /// Most dimensions of one stored tensor.
    public static let maximumTensorRank = 8
    /// Largest image side, in pixels, of a modality resolution (`rgb@N`), a config's
    /// `image_size`, or a decoded PNG or JPEG.
    public static let maximumImageSide = 16_384
    /// Most pixels of one decoded image (8192 × 8192), checked from the image header before
    /// any pixel is decoded.
    public static let maximumImagePixels = 8_192 * 8_192
    /// Widest layer a config or preset may declare (model width × MLP ratio, channel
    /// counts): 2^20 features.
    public static let maximumLayerWidth = 1 << 20
    /// Largest token id a tokenizer file may use.
    public static let maximumTokenId = 1 << 24
    /// Most id slots beyond the number of entries a tokenizer's id table may have, so the
    /// table stays proportional to the file: a vocabulary of n tokens may use ids below
    /// `2·n + maximumTokenIdSlack`.
    public static let maximumTokenIdSlack = 65_536
}
