// Few-row products over bf16 / int8 weights and a read-bandwidth probe (see fourm_kernels.h).
//
// Each fast path is compiled for AVX2 + FMA through a `target` attribute (no global compiler
// flags) and chosen at run time with __builtin_cpu_supports; the plain C loops are the fallback
// on other CPUs and the behaviour the fast paths must match (tests compare both with a Double
// reference in Swift).

#include "fourm_kernels.h"

// Never fuse a multiply and an add the source writes apart: the exact twins below must round
// like FourM's Swift kernels.
#pragma STDC FP_CONTRACT OFF

#include <stddef.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define FOURM_X86 1
#include <immintrin.h>
#endif

// MARK: - CPU detection

static int detected_isa = -1;

int fourm_kernels_isa(void) {
    int isa = __atomic_load_n(&detected_isa, __ATOMIC_RELAXED);
    if (isa >= 0) return isa;
    isa = 0;
#ifdef FOURM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = 2;
#endif
    __atomic_store_n(&detected_isa, isa, __ATOMIC_RELAXED);
    return isa;
}

// MARK: - plain C

static float bf16_to_f32(uint16_t bits) {
    uint32_t wide = (uint32_t)bits << 16;
    float value;
    memcpy(&value, &wide, sizeof value);
    return value;
}

static void gemv_bf16_plain(const float *x, long rows, long k, const uint16_t *w, const float *bias, float *y, long n,
                            long j0, long j1) {
    for (long j = j0; j < j1; j++) {
        const uint16_t *wj = w + j * k;
        for (long r = 0; r < rows; r++) {
            const float *xr = x + r * k;
            float sum = 0;
            for (long p = 0; p < k; p++) sum += xr[p] * bf16_to_f32(wj[p]);
            y[r * n + j] = sum + (bias ? bias[j] : 0.0f);
        }
    }
}

static void gemv_i8_plain(const float *x, long rows, long k, const int8_t *w, const float *scale, const float *bias,
                          float *y, long n, long j0, long j1) {
    for (long j = j0; j < j1; j++) {
        const int8_t *wj = w + j * k;
        for (long r = 0; r < rows; r++) {
            const float *xr = x + r * k;
            float sum = 0;
            for (long p = 0; p < k; p++) sum += xr[p] * (float)wj[p];
            y[r * n + j] = scale[j] * sum + (bias ? bias[j] : 0.0f);
        }
    }
}

// MARK: - AVX2 + FMA

#ifdef FOURM_X86
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Eight bf16 values (128 bits) widened to f32.
AVX2 static inline __m256 bf16x8(__m128i bits) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
}

// Eight int8 values (the low 64 bits) widened to f32.
AVX2 static inline __m256 i8x8(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)); }

// One output column j for R (1...4, a constant after inlining) rows: U = 4 accumulators per
// row for R <= 2 (32 weights per step), 2 for R > 2 (16 weights per step; 16 registers), so
// that independent FMA chains hide the FMA latency.
#define FOURM_GEMV_COLUMN(NAME, WTYPE, LOAD16)                                                                        \
    AVX2 static inline __attribute__((always_inline)) void NAME(const float *x, int R, long k, const WTYPE *wj,   \
                                                                float out[4]) {                                    \
        const int U = R <= 2 ? 4 : 2;                                                                              \
        __m256 acc[4][4];                                                                                          \
        for (int r = 0; r < 4; r++)                                                                                \
            for (int u = 0; u < 4; u++) acc[r][u] = _mm256_setzero_ps();                                           \
        long p = 0;                                                                                                \
        for (; p + 8 * U <= k; p += 8 * U) {                                                                       \
            for (int h = 0; h < U; h += 2) {                                                                       \
                __m256 w0, w1;                                                                                     \
                LOAD16(wj + p + 8 * h, w0, w1);                                                                    \
                for (int r = 0; r < R; r++) {                                                                      \
                    acc[r][h] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * k + p + 8 * h), acc[r][h]);            \
                    acc[r][h + 1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + r * k + p + 8 * h + 8), acc[r][h + 1]); \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        for (; p + 16 <= k; p += 16) {                                                                             \
            __m256 w0, w1;                                                                                         \
            LOAD16(wj + p, w0, w1);                                                                                \
            for (int r = 0; r < R; r++) {                                                                          \
                acc[r][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * k + p), acc[r][0]);                        \
                acc[r][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + r * k + p + 8), acc[r][1]);                    \
            }                                                                                                      \
        }                                                                                                          \
        for (int r = 0; r < R; r++)                                                                                \
            out[r] = hsum256(_mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3]))); \
        for (; p < k; p++) {                                                                                       \
            float wv = LOAD1(wj[p]);                                                                               \
            for (int r = 0; r < R; r++) out[r] += x[r * k + p] * wv;                                               \
        }                                                                                                          \
    }

#define LOAD16_BF16(ptr, w0, w1)                                                  \
    do {                                                                          \
        __m256i bits = _mm256_loadu_si256((const __m256i *)(ptr));                \
        w0 = bf16x8(_mm256_castsi256_si128(bits));                                \
        w1 = bf16x8(_mm256_extracti128_si256(bits, 1));                           \
    } while (0)
#define LOAD16_I8(ptr, w0, w1)                                                    \
    do {                                                                          \
        __m128i bytes = _mm_loadu_si128((const __m128i *)(ptr));                  \
        w0 = i8x8(bytes);                                                         \
        w1 = i8x8(_mm_unpackhi_epi64(bytes, bytes));                              \
    } while (0)

#define LOAD1 bf16_to_f32
FOURM_GEMV_COLUMN(column_bf16, uint16_t, LOAD16_BF16)
#undef LOAD1
#define LOAD1 (float)
FOURM_GEMV_COLUMN(column_i8, int8_t, LOAD16_I8)
#undef LOAD1

#define FOURM_GEMV_ROWS(NAME, COLUMN, WTYPE, R)                                                                     \
    AVX2 static void NAME(const float *x, long k, const WTYPE *w, const float *scale, const float *bias, float *y,   \
                          long n, long j0, long j1) {                                                                \
        for (long j = j0; j < j1; j++) {                                                                             \
            float out[4];                                                                                            \
            COLUMN(x, R, k, w + j * k, out);                                                                         \
            float s = scale ? scale[j] : 1.0f, b = bias ? bias[j] : 0.0f;                                            \
            for (int r = 0; r < R; r++) y[r * n + j] = s * out[r] + b;                                               \
        }                                                                                                            \
    }

FOURM_GEMV_ROWS(bf16_r1, column_bf16, uint16_t, 1)
FOURM_GEMV_ROWS(bf16_r2, column_bf16, uint16_t, 2)
FOURM_GEMV_ROWS(bf16_r3, column_bf16, uint16_t, 3)
FOURM_GEMV_ROWS(bf16_r4, column_bf16, uint16_t, 4)
FOURM_GEMV_ROWS(i8_r1, column_i8, int8_t, 1)
FOURM_GEMV_ROWS(i8_r2, column_i8, int8_t, 2)
FOURM_GEMV_ROWS(i8_r3, column_i8, int8_t, 3)
FOURM_GEMV_ROWS(i8_r4, column_i8, int8_t, 4)

AVX2 static double sum_avx2(const float *p, long count) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    long i = 0;
    for (; i + 32 <= count; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    }
    double sum = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < count; i++) sum += p[i];
    return sum;
}
#endif

// MARK: - f32 → bf16

static uint16_t f32_to_bf16_plain(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if (value != value) return (uint16_t)((bits >> 16) | 0x40);
    return (uint16_t)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

#ifdef FOURM_X86
// Eight floats at a time: the same integer rounding as f32_to_bf16_plain.
AVX2 static void f32_to_bf16_avx2(const float *src, uint16_t *dst, long count, float scale) {
    const __m256 factor = _mm256_set1_ps(scale);
    const __m256i bias = _mm256_set1_epi32(0x7FFF), one = _mm256_set1_epi32(1), quiet = _mm256_set1_epi32(0x40);
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m256i packed[2];
        for (int half = 0; half < 2; half++) {
            __m256 v = _mm256_mul_ps(_mm256_loadu_ps(src + i + 8 * half), factor);
            __m256i bits = _mm256_castps_si256(v);
            __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), one);
            __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(bias, lsb)), 16);
            __m256i nan = _mm256_or_si256(_mm256_srli_epi32(bits, 16), quiet);
            __m256i isNaN = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            packed[half] = _mm256_blendv_epi8(rounded, nan, isNaN);
        }
        // Pack the two 8 × 32-bit halves into 16 × 16-bit (values fit: no saturation) in order.
        __m256i words = _mm256_packus_epi32(packed[0], packed[1]);
        words = _mm256_permute4x64_epi64(words, 0xD8);
        _mm256_storeu_si256((__m256i *)(dst + i), words);
    }
    for (; i < count; i++) dst[i] = f32_to_bf16_plain(src[i] * scale);
}
#endif

void fourm_f32_to_bf16(const float *src, uint16_t *dst, long count, float scale) {
#ifdef FOURM_X86
    if (fourm_kernels_isa() == 2) {
        f32_to_bf16_avx2(src, dst, count, scale);
        return;
    }
#endif
    for (long i = 0; i < count; i++) dst[i] = f32_to_bf16_plain(src[i] * scale);
}

// MARK: - softmax

// e^x: clamp, split x·log2(e) into an integer n and a remainder r, a degree-7 polynomial in r,
// times 2^n (the constants of FourM's Swift polynomialExp).
static float exp_plain(float x) {
    if (x != x) return x;
    int low = x < -87.33654f;
    float c = low ? -87.33654f : x;
    c = c > 88.0f ? 88.0f : c;
    const float magic = 12582912.0f;
    float shifted = c * 1.44269504f + magic;
    float n = shifted - magic;
    float r = c - n * 0.693359375f;
    r = r - n * -2.1219444e-4f;
    float p = 1.98756915e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t shiftedBits, magicBits;
    memcpy(&shiftedBits, &shifted, sizeof shiftedBits);
    memcpy(&magicBits, &magic, sizeof magicBits);
    int32_t scaleBits = (int32_t)((uint32_t)(shiftedBits - magicBits + 127) << 23);
    float scale;
    memcpy(&scale, &scaleBits, sizeof scale);
    return low ? 0.0f : p * scale;
}

static void softmax_rows_plain(float *x, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        float *row = x + r * cols;
        float m = row[0];
        for (long j = 1; j < cols; j++) if (row[j] > m) m = row[j];
        float sum = 0;
        for (long j = 0; j < cols; j++) { row[j] = exp_plain(row[j] - m); sum += row[j]; }
        float inv = 1.0f / sum;
        for (long j = 0; j < cols; j++) row[j] *= inv;
    }
}

#ifdef FOURM_X86
AVX2 static inline __m256 exp_avx2(__m256 x) {
    const __m256 lowBound = _mm256_set1_ps(-87.33654f), magic = _mm256_set1_ps(12582912.0f);
    __m256 low = _mm256_cmp_ps(x, lowBound, _CMP_LT_OQ);
    __m256 c = _mm256_min_ps(_mm256_max_ps(x, lowBound), _mm256_set1_ps(88.0f));
    __m256 shifted = _mm256_fmadd_ps(c, _mm256_set1_ps(1.44269504f), magic);
    __m256 n = _mm256_sub_ps(shifted, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), c);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.1219444e-4f), r);
    __m256 p = _mm256_set1_ps(1.98756915e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i nBits = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_castps_si256(magic));
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(nBits, _mm256_set1_epi32(127)), 23));
    __m256 result = _mm256_andnot_ps(low, _mm256_mul_ps(p, scale));
    // NaN in, NaN out (the clamps above would have replaced it).
    __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
    return _mm256_blendv_ps(result, x, nan);
}

AVX2 static void softmax_rows_avx2(float *x, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        float *row = x + r * cols;
        long j = 0;
        __m256 m8 = _mm256_set1_ps(row[0]);
        for (; j + 8 <= cols; j += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(row + j));
        float lanes[8];
        _mm256_storeu_ps(lanes, m8);
        float m = lanes[0];
        for (int l = 1; l < 8; l++) if (lanes[l] > m) m = lanes[l];
        for (; j < cols; j++) if (row[j] > m) m = row[j];
        const __m256 mv = _mm256_set1_ps(m);
        __m256 s8 = _mm256_setzero_ps();
        float sum = 0;
        for (j = 0; j + 8 <= cols; j += 8) {
            __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(row + j), mv));
            _mm256_storeu_ps(row + j, e);
            s8 = _mm256_add_ps(s8, e);
        }
        for (; j < cols; j++) { row[j] = exp_plain(row[j] - m); sum += row[j]; }
        sum += hsum256(s8);
        const __m256 inv = _mm256_set1_ps(1.0f / sum);
        for (j = 0; j + 8 <= cols; j += 8) _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), inv));
        for (; j < cols; j++) row[j] *= 1.0f / sum;
    }
}
#endif

void fourm_softmax_rows(float *x, long rows, long cols) {
    if (cols <= 0) return;
#ifdef FOURM_X86
    if (fourm_kernels_isa() == 2) {
        softmax_rows_avx2(x, rows, cols);
        return;
    }
#endif
    softmax_rows_plain(x, rows, cols);
}

// MARK: - SwiGLU and LayerNorm

static void swiglu_plain(float *gate, const float *linear, long count) {
    for (long i = 0; i < count; i++) {
        float v = gate[i];
        float e = exp_plain(-v);
        float denominator = 1.0f + e;
        float s = v / denominator;
        gate[i] = s * linear[i];
    }
}

static void layer_norm_plain(const float *x, float *out, long rows, long dim, const float *weight, const float *bias,
                             float eps) {
    float n = (float)dim;
    for (long r = 0; r < rows; r++) {
        const float *src = x + r * dim;
        float *dst = out + r * dim;
        float sum = 0;
        for (long j = 0; j < dim; j++) sum += src[j];
        float mean = sum / n;
        float squares = 0;
        for (long j = 0; j < dim; j++) { float d = src[j] - mean; squares += d * d; }
        float inv = 1.0f / sqrtf(squares / n + eps);
        for (long j = 0; j < dim; j++) {
            float v = (src[j] - mean) * inv;
            if (weight) v *= weight[j];
            if (bias) v += bias[j];
            dst[j] = v;
        }
    }
}

#ifdef FOURM_X86
// The Swift polynomialExp operation for operation: separate multiplies and adds, no FMA.
AVX2 static inline __m256 exp_avx2_exact(__m256 x) {
    const __m256 lowBound = _mm256_set1_ps(-87.33654f), magic = _mm256_set1_ps(12582912.0f);
    __m256 low = _mm256_cmp_ps(x, lowBound, _CMP_LT_OQ);
    __m256 c = _mm256_blendv_ps(x, lowBound, low);
    c = _mm256_blendv_ps(c, _mm256_set1_ps(88.0f), _mm256_cmp_ps(c, _mm256_set1_ps(88.0f), _CMP_GT_OQ));
    __m256 shifted = _mm256_add_ps(_mm256_mul_ps(c, _mm256_set1_ps(1.44269504f)), magic);
    __m256 n = _mm256_sub_ps(shifted, magic);
    __m256 r = _mm256_sub_ps(c, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(-2.1219444e-4f)));
    __m256 p = _mm256_set1_ps(1.98756915e-4f);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p, _mm256_mul_ps(r, r)), r), _mm256_set1_ps(1.0f));
    __m256i nBits = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_castps_si256(magic));
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(nBits, _mm256_set1_epi32(127)), 23));
    __m256 result = _mm256_andnot_ps(low, _mm256_mul_ps(p, scale));
    return _mm256_blendv_ps(result, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

AVX2 static void swiglu_avx2(float *gate, const float *linear, long count) {
    const __m256 one = _mm256_set1_ps(1.0f), signBit = _mm256_set1_ps(-0.0f);
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_loadu_ps(gate + i);
        __m256 e = exp_avx2_exact(_mm256_xor_ps(v, signBit));
        __m256 s = _mm256_div_ps(v, _mm256_add_ps(one, e));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(s, _mm256_loadu_ps(linear + i)));
    }
    swiglu_plain(gate + i, linear + i, count - i);
}

AVX2 static void layer_norm_avx2(const float *x, float *out, long rows, long dim, const float *weight, const float *bias,
                                 float eps) {
    if (dim % 8 != 0) {
        layer_norm_plain(x, out, rows, dim, weight, bias, eps);
        return;
    }
    const float n = (float)dim;
    for (long r = 0; r < rows; r++) {
        const float *src = x + r * dim;
        float *dst = out + r * dim;
        __m256 s8 = _mm256_setzero_ps();
        for (long j = 0; j < dim; j += 8) s8 = _mm256_add_ps(s8, _mm256_loadu_ps(src + j));
        const float mean = hsum256(s8) / n;
        const __m256 mv = _mm256_set1_ps(mean);
        __m256 q8 = _mm256_setzero_ps();
        for (long j = 0; j < dim; j += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(src + j), mv);
            q8 = _mm256_fmadd_ps(d, d, q8);
        }
        const __m256 inv = _mm256_set1_ps(1.0f / sqrtf(hsum256(q8) / n + eps));
        for (long j = 0; j < dim; j += 8) {
            __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(src + j), mv), inv);
            if (weight) v = _mm256_mul_ps(v, _mm256_loadu_ps(weight + j));
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
            _mm256_storeu_ps(dst + j, v);
        }
    }
}
#endif

void fourm_swiglu(float *gate, const float *linear, long count) {
#ifdef FOURM_X86
    if (fourm_kernels_isa() == 2) {
        swiglu_avx2(gate, linear, count);
        return;
    }
#endif
    swiglu_plain(gate, linear, count);
}

void fourm_layer_norm(const float *x, float *out, long rows, long dim, const float *weight, const float *bias, float eps) {
#ifdef FOURM_X86
    if (fourm_kernels_isa() == 2) {
        layer_norm_avx2(x, out, rows, dim, weight, bias, eps);
        return;
    }
#endif
    layer_norm_plain(x, out, rows, dim, weight, bias, eps);
}

// MARK: - entry points

#ifdef FOURM_X86
// Four rows at a time (the register budget: 8 accumulators + 2 weight vectors); R1...R4 are
// one format's row kernels.
#define FOURM_GEMV_DISPATCH(R1, R2, R3, R4, SCALE)                                       \
    for (long r0 = 0; r0 < rows; r0 += 4) {                                              \
        long left = rows - r0;                                                           \
        const float *xr = x + r0 * k;                                                    \
        float *yr = y + r0 * n;                                                          \
        switch (left >= 4 ? 4 : left) {                                                  \
        case 1: R1(xr, k, w, SCALE, bias, yr, n, j0, j1); break;                         \
        case 2: R2(xr, k, w, SCALE, bias, yr, n, j0, j1); break;                         \
        case 3: R3(xr, k, w, SCALE, bias, yr, n, j0, j1); break;                         \
        default: R4(xr, k, w, SCALE, bias, yr, n, j0, j1); break;                        \
        }                                                                                \
    }
#endif

void fourm_gemv_bf16(const float *x, long rows, long k, const uint16_t *w, const float *bias, float *y, long n,
                     long j0, long j1) {
#ifdef FOURM_X86
    if (fourm_kernels_isa() == 2) {
        FOURM_GEMV_DISPATCH(bf16_r1, bf16_r2, bf16_r3, bf16_r4, NULL)
        return;
    }
#endif
    gemv_bf16_plain(x, rows, k, w, bias, y, n, j0, j1);
}

void fourm_gemv_i8(const float *x, long rows, long k, const int8_t *w, const float *scale, const float *bias,
                   float *y, long n, long j0, long j1) {
#ifdef FOURM_X86
    if (fourm_kernels_isa() == 2) {
        FOURM_GEMV_DISPATCH(i8_r1, i8_r2, i8_r3, i8_r4, scale)
        return;
    }
#endif
    gemv_i8_plain(x, rows, k, w, scale, bias, y, n, j0, j1);
}

double fourm_sum_f32(const float *p, long count) {
#ifdef FOURM_X86
    if (fourm_kernels_isa() == 2) return sum_avx2(p, count);
#endif
    double sum = 0;
    for (long i = 0; i < count; i++) sum += p[i];
    return sum;
}
