// Few-row products over bf16 / int8 weights and a read-bandwidth probe (see fourm_kernels.h).
//
// Each fast path is compiled for AVX2 + FMA through a `target` attribute (no global compiler
// flags) and chosen at run time with __builtin_cpu_supports; the plain C loops are the fallback
// on other CPUs and the behaviour the fast paths must match (tests compare both with a Double
// reference in Swift).

#include "fourm_kernels.h"

#include <stddef.h>
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

// MARK: - entry points

void fourm_gemv_bf16(const float *x, long rows, long k, const uint16_t *w, const float *bias, float *y, long n,
                     long j0, long j1) {
#ifdef FOURM_X86
    if (fourm_kernels_isa() == 2) {
        // Four rows at a time (the register budget: 8 accumulators + 2 weight vectors).
        for (long r0 = 0; r0 < rows; r0 += 4) {
            long left = rows - r0;
            const float *xr = x + r0 * k;
            float *yr = y + r0 * n;
            switch (left >= 4 ? 4 : left) {
            case 1: bf16_r1(xr, k, w, NULL, bias, yr, n, j0, j1); break;
            case 2: bf16_r2(xr, k, w, NULL, bias, yr, n, j0, j1); break;
            case 3: bf16_r3(xr, k, w, NULL, bias, yr, n, j0, j1); break;
            default: bf16_r4(xr, k, w, NULL, bias, yr, n, j0, j1); break;
            }
        }
        return;
    }
#endif
    gemv_bf16_plain(x, rows, k, w, bias, y, n, j0, j1);
}

void fourm_gemv_i8(const float *x, long rows, long k, const int8_t *w, const float *scale, const float *bias,
                   float *y, long n, long j0, long j1) {
#ifdef FOURM_X86
    if (fourm_kernels_isa() == 2) {
        for (long r0 = 0; r0 < rows; r0 += 4) {
            long left = rows - r0;
            const float *xr = x + r0 * k;
            float *yr = y + r0 * n;
            switch (left >= 4 ? 4 : left) {
            case 1: i8_r1(xr, k, w, scale, bias, yr, n, j0, j1); break;
            case 2: i8_r2(xr, k, w, scale, bias, yr, n, j0, j1); break;
            case 3: i8_r3(xr, k, w, scale, bias, yr, n, j0, j1); break;
            default: i8_r4(xr, k, w, scale, bias, yr, n, j0, j1); break;
            }
        }
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
