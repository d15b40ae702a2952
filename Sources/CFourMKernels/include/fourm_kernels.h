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

/// The sum of `count` floats read once (a read-bandwidth probe).
double fourm_sum_f32(const float *p, long count);

#endif
