/// The element types a safetensors file may declare that FourM can read.
public enum DType: String, Sendable, CaseIterable, Equatable {
    /// 32-bit IEEE float, used in place.
    case f32 = "F32"
    /// 16-bit IEEE float, converted to `Float` at load.
    case f16 = "F16"
    /// bfloat16, converted to `Float` at load.
    case bf16 = "BF16"
    /// 64-bit signed integer.
    case i64 = "I64"
    /// 32-bit signed integer.
    case i32 = "I32"
    /// 8-bit unsigned integer.
    case u8 = "U8"
    /// One byte per boolean.
    case bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i64: return 8
        case .u8, .bool: return 1
        }
    }

    /// True for the floating-point types.
    public var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 }
}
