/// The arithmetic FourM uses for a model's linear layers and a diffusion decoder's
/// convolutions.
///
/// - ``fp32``: the default and the parity path: every product in 32-bit floats through
///   OpenBLAS; the fixture tolerances of `Documentation/Parity.md` hold for it.
/// - ``bf16``: linear layers round their inputs and weights to bfloat16 (8 significant bits)
///   and accumulate in 32-bit floats through oneDNN; weights are rounded once, at load (a BF16
///   file's weights are taken as stored), and a bf16 layer keeps only its bf16 weight. The
///   DiVAE decoders' convolutions run in bf16 through oneDNN too (weights reordered once).
///   A bf16 model's attention products (q·kᵀ and weights·v) run in bf16 too; norms and the
///   softmax stay in fp32. About twice as fast on CPUs with
///   native bf16 dot products (`avx512_bf16`, AMX); logits differ from fp32 by about 1%
///   (see `Documentation/Performance.md` for the measured error).
///
/// Where bf16 is unsupported (oneDNN's effective ISA lacks AVX-512), a model asked for
/// ``bf16`` loads in ``fp32``: ``resolved`` is the rule, and a loaded model reports the
/// precision it actually runs.
public enum ComputePrecision: String, Sendable, CaseIterable, Equatable {
    /// 32-bit floats everywhere (default).
    case fp32
    /// bfloat16 linear layers with 32-bit accumulation, through oneDNN.
    case bf16

    /// True when this CPU runs bf16 products through oneDNN (AVX-512 present).
    public static var bf16Supported: Bool { OneDNNRuntime.supportsBFloat16 }

    /// True when the CPU has native bf16 dot-product instructions (`avx512_bf16` or AMX);
    /// without them oneDNN emulates bf16 on AVX-512, correct but slower.
    public static var bf16Native: Bool { OneDNNRuntime.hasNativeBFloat16 }

    /// oneDNN's name for the instruction set it runs on this CPU (e.g. `avx512_core_bf16`).
    public static var oneDNNInstructionSet: String { OneDNNRuntime.isaName }

    /// The precision actually used when this one is asked for: ``bf16`` falls back to
    /// ``fp32`` where ``bf16Supported`` is false.
    public var resolved: ComputePrecision {
        self == .bf16 && !Self.bf16Supported ? .fp32 : self
    }
}
