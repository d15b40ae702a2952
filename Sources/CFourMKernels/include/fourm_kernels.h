#ifndef FOURM_KERNELS_H
#define FOURM_KERNELS_H

#include <stdint.h>

/// Small C kernels that Swift cannot vectorise to the memory-bandwidth limit without
/// target-specific code generation (FourM builds without unsafe flags, so each fast path is a
/// function compiled with a `target` attribute and chosen at run time by CPU detection).

/// The instruction set the kernels below run on this CPU: 2 = AVX2 + FMA, 0 = plain C.
int fourm_kernels_isa(void);

/// Few-row products over compact weights, for autoregressive decoding:
/// `y[r * n + j] = scale[j] * Σ_p x[r * k + p] · w[j * k + p] + bias[j]` for `r < rows` and
/// `j0 <= j < j1` (other columns of `y` are not touched). `x` is `[rows, k]` f32, `y` `[rows, n]`
/// f32, `bias` `[n]` or NULL. Accumulation in f32. Every weight is read once per call.

/// `w` is `[n, k]` bfloat16 bits (the upper half of an f32); no scale.
void fourm_gemv_bf16(const float *x, long rows, long k, const uint16_t *w, const float *bias, float *y, long n,
                     long j0, long j1);

/// `w` is `[n, k]` int8, `scale` `[n]` (symmetric per output row).
void fourm_gemv_i8(const float *x, long rows, long k, const int8_t *w, const float *scale, const float *bias,
                   float *y, long n, long j0, long j1);

/// `dst[i] = bf16(src[i] * scale)` for `i < count`: the bfloat16 bits of each scaled float,
/// rounded to nearest, ties to even, a NaN kept a quiet NaN (`(bits >> 16) | 0x40`), subnormals
/// rounded like any other value. `scale` 1 converts exactly the inputs. Bit-identical on every
/// path (integer rounding, not the CPU's bf16 conversion instruction, which flushes subnormals).
void fourm_f32_to_bf16(const float *src, uint16_t *dst, long count, float scale);

/// In-place softmax over each row of `x` (`[rows, cols]`): the row's max subtracted, e^x by the
/// same clamped polynomial as FourM's Swift `polynomialExp` (max relative error ~1e-7; inputs
/// below −87.34 give 0, NaN stays NaN), then divided by the row's sum. The vector path sums in
/// eight interleaved partial sums, so results differ from a sequential sum by float rounding;
/// FourM uses it where that is acceptable (the bf16 attention), not on the fp32 parity path.
void fourm_softmax_rows(float *x, long rows, long cols);

/// SwiGLU in place: `gate[i] = gate[i] / (1 + e^(−gate[i])) * linear[i]`, e^x as in
/// `fourm_softmax_rows`. Bit-identical to FourM's Swift `swigluKernel` on every path (the same
/// operations in the same order, no fused multiply-adds).
void fourm_swiglu(float *gate, const float *linear, long count);

/// LayerNorm over rows of `x` (`[rows, dim]`) into `out`: population variance, f32, `weight` and
/// `bias` (`[dim]`) optional. The vector path sums in interleaved partial sums, so results differ
/// from FourM's sequential Swift kernel by float rounding (the bf16 path uses it, not fp32).
void fourm_layer_norm(const float *x, float *out, long rows, long dim, const float *weight, const float *bias, float eps);

/// The sum of `count` floats read once (a read-bandwidth probe).
double fourm_sum_f32(const float *p, long count);

#endif
